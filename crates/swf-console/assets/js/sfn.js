// Step Functions: the state machines; one machine's definition drawn as a graph with its
// executions; one execution with the graph coloured by each state's outcome, and its history.

import { all, sfn } from './api.js';
import { append, badge, field, h, link, pretty, qs, table, time } from './ui.js';
import { graph, statuses } from './graph.js';

const STATUSES = ['', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

export async function render(main) {
  const machines = await all('sfn', 'ListStateMachines', { maxResults: 1000 }, 'stateMachines');
  append(main, [h('h2', {}, 'Step Functions state machines'), table([
    ['Name', (m) => link(m.name, '/sfn/machine' + qs({ arn: m.stateMachineArn }), { class: 'machine-link' })],
    ['Type', (m) => m.type],
    ['Created', (m) => time(m.creationDate)],
    ['ARN', (m) => h('code', {}, m.stateMachineArn)],
  ], machines, { id: 'state-machines' })]);
}

export async function renderMachine(main, { arn, status = '' }) {
  const m = await sfn('DescribeStateMachine', { stateMachineArn: arn });
  const def = JSON.parse(m.definition);
  const req = { stateMachineArn: arn, maxResults: 1000 };
  if (status) req.statusFilter = status;
  const execs = await all('sfn', 'ListExecutions', req, 'executions', 1000);
  const select = h('select', {
    id: 'sfn-status',
    onchange: () => { location.hash = '/sfn/machine' + qs({ arn, status: select.value }); },
  }, STATUSES.map((s) => h('option', { value: s, selected: s === status ? true : null }, s || 'any')));
  append(main, [
    h('h2', {}, 'State machine ', h('span', { id: 'machine-name' }, m.name), ' ', badge(m.status || 'ACTIVE')),
    h('p', { class: 'muted' }, m.stateMachineArn, def.Comment ? ` — ${def.Comment}` : ''),
    h('div', { class: 'split' },
      h('div', { class: 'graph-box' }, graph(def)),
      h('div', {},
        h('h3', {}, 'Executions'), field('Status', select),
        table([
          ['Name', (e) => link(e.name, '/sfn/execution' + qs({ arn: e.executionArn }), { class: 'sfn-execution-link' })],
          ['Status', (e) => badge(e.status)],
          ['Started', (e) => time(e.startDate)],
          ['Stopped', (e) => time(e.stopDate)],
        ], execs, { id: 'sfn-executions' }))),
    h('details', {}, h('summary', {}, 'Definition'), h('pre', {}, JSON.stringify(def, null, 2)))]);
}

export async function renderExecution(main, { arn }) {
  const [d, forExec, events] = await Promise.all([
    sfn('DescribeExecution', { executionArn: arn }),
    sfn('DescribeStateMachineForExecution', { executionArn: arn }),
    all('sfn', 'GetExecutionHistory', { executionArn: arn, maxResults: 1000 }, 'events', 100000),
  ]);
  const def = JSON.parse(forExec.definition);
  const st = statuses(events, d.status);
  const details = (e) => {
    const k = Object.keys(e).find((x) => x.endsWith('EventDetails'));
    return k ? pretty(e[k]) : '';
  };
  append(main, [
    h('h2', {}, 'Execution ', h('span', {}, d.name), ' ', h('span', { id: 'sfn-execution-status' }, badge(d.status))),
    h('p', {}, 'State machine ', link(forExec.name, '/sfn/machine' + qs({ arn: d.stateMachineArn })),
      `; started ${time(d.startDate)}`, d.stopDate ? `, stopped ${time(d.stopDate)}` : ''),
    d.error ? h('p', { class: 'bad' }, `${d.error}: ${d.cause || ''}`) : null,
    h('div', { class: 'split' },
      h('div', { class: 'graph-box' }, graph(def, st),
        h('p', { class: 'legend' }, ['succeeded', 'caught', 'failed', 'aborted', 'running', 'none'].map((s) =>
          h('span', { class: `legend-item status-${s}` }, s === 'none' ? 'not run' : s)))),
      h('div', {},
        h('h3', {}, 'Input'), h('pre', {}, d.input || ''),
        h('h3', {}, 'Output'), h('pre', {}, d.output || ''))),
    h('h3', {}, 'History'),
    table([
      ['Id', (e) => e.id],
      ['Time', (e) => time(e.timestamp)],
      ['Type', (e) => h('span', { class: 'event-type' }, e.type)],
      ['Details', (e) => h('code', { class: 'attrs' }, details(e))],
    ], events, { id: 'sfn-history' })]);
}
