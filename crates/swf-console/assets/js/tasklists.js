// Task lists of a domain: the decision and activity task lists its types name as defaults, plus any
// typed in; for each, the backlog (CountPendingDecisionTasks / CountPendingActivityTasks) and the
// pollers waiting on it now, the identities that polled it and when they last did (GET
// /console/api/pollers: the SWF API cannot tell these, and only the leader holds polls).

import { all, pollers, swf } from './api.js';
import { append, errorBox, field, h, qs, table } from './ui.js';

export async function render(main, params) {
  const domains = (await all('swf', 'ListDomains', { registrationStatus: 'REGISTERED', maximumPageSize: 1000 }, 'domainInfos')).map((d) => d.name);
  const domain = params.domain || domains[0];
  const form = h('form', {
    id: 'tasklist-form', class: 'filters',
    onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = '/tasklists' + qs(Object.fromEntries(new FormData(form).entries()));
    },
  },
  field('Domain', h('select', { name: 'domain', id: 'tasklist-domain' }, domains.map((d) => h('option', { value: d, selected: d === domain ? true : null }, d)))),
  field('Also show task list', h('input', { name: 'extra', id: 'tasklist-extra', value: params.extra || '' })),
  h('button', { type: 'submit' }, 'Show'));
  append(main, [h('h2', {}, 'Task lists'), form]);
  if (!domain) return;

  const lists = new Map();
  const add = (kind, name) => {
    if (name) lists.set(`${kind}/${name}`, { kind, name });
  };
  const [wf, ac] = await Promise.all([
    all('swf', 'ListWorkflowTypes', { domain, registrationStatus: 'REGISTERED', maximumPageSize: 1000 }, 'typeInfos'),
    all('swf', 'ListActivityTypes', { domain, registrationStatus: 'REGISTERED', maximumPageSize: 1000 }, 'typeInfos'),
  ]);
  const wfConf = await Promise.all(wf.map((t) => swf('DescribeWorkflowType', { domain, workflowType: t.workflowType }).catch(() => null)));
  const acConf = await Promise.all(ac.map((t) => swf('DescribeActivityType', { domain, activityType: t.activityType }).catch(() => null)));
  wfConf.forEach((d) => d && d.configuration.defaultTaskList && add('decision', d.configuration.defaultTaskList.name));
  acConf.forEach((d) => d && d.configuration.defaultTaskList && add('activity', d.configuration.defaultTaskList.name));
  let live = null;
  let liveError = null;
  try {
    live = await pollers(domain);
    for (const l of live.lists) add(l.kind, l.name);
  } catch (e) {
    liveError = e;
  }
  if (params.extra) {
    add('decision', params.extra);
    add('activity', params.extra);
  }
  const rows = await Promise.all([...lists.values()].map(async (l) => {
    const action = l.kind === 'decision' ? 'CountPendingDecisionTasks' : 'CountPendingActivityTasks';
    const count = await swf(action, { domain, taskList: { name: l.name } }).catch((e) => ({ error: e }));
    const p = live ? live.lists.find((x) => x.kind === l.kind && x.name === l.name) : null;
    return { ...l, count, p };
  }));
  rows.sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1));
  const ago = (s) => (s === null || s === undefined ? '' : s < 1 ? 'now' : `${Math.round(s)} s ago`);
  append(main, [
    liveError ? errorBox(liveError) : null,
    live && !live.leader ? h('p', { class: 'muted' }, `This node is not the leader (node ${live.leaderId ?? '?'}): polls wait on the leader, so pollers are shown there.`) : null,
    table([
      ['Kind', (r) => r.kind],
      ['Task list', (r) => h('span', { class: 'tasklist-name' }, r.name)],
      ['Backlog', (r) => (r.count.error ? r.count.error.type : h('span', { class: 'backlog' }, `${r.count.count}${r.count.truncated ? '+' : ''}`))],
      ['Waiting pollers', (r) => (r.p ? r.p.pollers : live ? 0 : '?')],
      ['Recent pollers (identity: last poll)', (r) => (r.p && r.p.identities.length
        ? h('span', { class: 'identities' }, r.p.identities.map((i, n) => [n ? ', ' : '', h('code', {}, i.identity), ` ${ago(i.secondsAgo)}`]))
        : '')],
      ['No pollers with backlog', (r) => (!r.count.error && r.count.count > 0 && live && !(r.p && r.p.pollers) ? h('span', { class: 'bad' }, 'stuck?') : '')],
    ], rows, { id: 'tasklists' })]);
}
