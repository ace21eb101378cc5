// Executions: the filters of ListOpenWorkflowExecutions / ListClosedWorkflowExecutions (open or
// closed, close status, type, tag, workflow id, start- or close-time window) with paging. The
// filters live in the page's address, so a filtered list can be bookmarked; SWF allows only one
// of close status, type, tag and workflow id at a time, and its error says so.

import { all, swf } from './api.js';
import { append, badge, field, h, link, qs, table, time } from './ui.js';

const STATUSES = ['', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'];

const toEpoch = (v) => (v ? new Date(v).getTime() / 1000 : undefined);

export async function render(main, params) {
  const p = { state: 'open', timeField: 'start', pageSize: '50', ...params };
  const domains = (await all('swf', 'ListDomains', { registrationStatus: 'REGISTERED', maximumPageSize: 1000 }, 'domainInfos'))
    .map((d) => d.name);
  if (!p.domain && domains.length) p.domain = domains[0];
  const input = (name, attrs = {}) => h('input', { name, id: `filter-${name}`, value: p[name] || '', ...attrs });
  const select = (name, options) => h('select', { name, id: `filter-${name}` },
    options.map(([v, t]) => h('option', { value: v, selected: p[name] === v ? true : null }, t)));
  const form = h('form', {
    id: 'execution-filters', class: 'filters',
    onsubmit: (ev) => {
      ev.preventDefault();
      const data = Object.fromEntries(new FormData(form).entries());
      location.hash = '/executions' + qs(data);
    },
  },
  field('Domain', select('domain', domains.map((d) => [d, d]))),
  field('State', select('state', [['open', 'Open'], ['closed', 'Closed']])),
  field('Close status', select('closeStatus', STATUSES.map((s) => [s, s || 'any']))),
  field('Workflow id', input('workflowId')),
  field('Type name', input('typeName')),
  field('Type version', input('typeVersion')),
  field('Tag', input('tag')),
  field('Time', select('timeField', [['start', 'started'], ['close', 'closed']])),
  field('From', input('from', { type: 'datetime-local', step: 1 })),
  field('To', input('to', { type: 'datetime-local', step: 1 })),
  field('Page size', input('pageSize', { type: 'number', min: 1, max: 1000 })),
  field('Newest first', h('input', { type: 'checkbox', name: 'reverse', id: 'filter-reverse', value: '1', checked: p.reverse ? true : null })),
  h('button', { type: 'submit', id: 'filter-submit' }, 'Search'));
  append(main, [h('h2', {}, 'Executions'), form]);
  if (!p.domain) return;

  const closed = p.state === 'closed';
  const window_ = { oldestDate: toEpoch(p.from) ?? 0 };
  if (p.to) window_.latestDate = toEpoch(p.to);
  const req = { domain: p.domain, maximumPageSize: Number(p.pageSize) || 50 };
  req[closed && p.timeField === 'close' ? 'closeTimeFilter' : 'startTimeFilter'] = window_;
  if (p.reverse) req.reverseOrder = true;
  if (p.workflowId) req.executionFilter = { workflowId: p.workflowId };
  if (p.typeName) req.typeFilter = p.typeVersion ? { name: p.typeName, version: p.typeVersion } : { name: p.typeName };
  if (p.tag) req.tagFilter = { tag: p.tag };
  if (closed && p.closeStatus) req.closeStatusFilter = { status: p.closeStatus };
  if (p.page) req.nextPageToken = p.page;
  const out = await swf(closed ? 'ListClosedWorkflowExecutions' : 'ListOpenWorkflowExecutions', req);
  const rows = out.executionInfos || [];
  append(main, [table([
    ['Workflow id', (e) => link(e.execution.workflowId, '/execution' + qs({ domain: p.domain, workflowId: e.execution.workflowId, runId: e.execution.runId }), { class: 'execution-link' })],
    ['Run id', (e) => h('code', {}, e.execution.runId)],
    ['Type', (e) => `${e.workflowType.name} ${e.workflowType.version}`],
    ['Started', (e) => time(e.startTimestamp)],
    ['Closed', (e) => time(e.closeTimestamp)],
    ['Status', (e) => badge(e.closeStatus || e.executionStatus)],
    ['Tags', (e) => (e.tagList || []).join(', ')],
  ], rows, { id: 'executions' }),
  h('div', { class: 'pager' },
    p.page ? h('button', { id: 'page-prev', onclick: () => history.back() }, '← Previous') : null,
    out.nextPageToken ? link('Next page →', '/executions' + qs({ ...p, page: out.nextPageToken }), { id: 'page-next' }) : null)]);
}
