// One workflow execution: the summary (DescribeWorkflowExecution and the start event), links to its
// parent and children, the pending activities and decision task (worked out from the history, as
// SWF has no call for them), the history as a table with each event's attributes, and the
// timeline; signal, request cancel and terminate, each after a confirmation.

import { all, swf } from './api.js';
import { append, badge, confirmDialog, errorBox, h, link, pretty, qs, table, time } from './ui.js';
import { timeline } from './timeline.js';

/** The attributes of an event (`<eventType>EventAttributes`, first letter lower-case). */
export function attrs(e) {
  return e[e.eventType.charAt(0).toLowerCase() + e.eventType.slice(1) + 'EventAttributes'] || {};
}

export async function render(main, { domain, workflowId, runId, tab = 'summary' }) {
  const execution = { workflowId, runId };
  const [desc, events] = await Promise.all([
    swf('DescribeWorkflowExecution', { domain, execution }),
    all('swf', 'GetWorkflowExecutionHistory', { domain, execution, maximumPageSize: 1000 }, 'events', 100000),
  ]);
  const info = desc.executionInfo;
  const conf = desc.executionConfiguration;
  const started = attrs(events.find((e) => e.eventType === 'WorkflowExecutionStarted') || { eventType: 'x' });
  const closing = [...events].reverse().find((e) => /^WorkflowExecution(Completed|Failed|TimedOut|Canceled|Terminated|ContinuedAsNew)$/.test(e.eventType));
  const isOpen = info.executionStatus === 'OPEN';
  const msg = h('div', { id: 'action-message' });
  const reload = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const act = async (title, text, fields, action, input) => {
    const values = await confirmDialog(title, text, fields);
    if (!values) return;
    try {
      await swf(action, { domain, workflowId, runId, ...input(values) });
      reload();
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  };
  const nonEmpty = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ''));
  const actions = isOpen ? h('div', { class: 'actions' },
    h('button', {
      id: 'signal',
      onclick: () => act('Signal this execution?', `Sends a signal to ${workflowId}.`, [['signalName', 'Signal name'], ['input', 'Input']],
        'SignalWorkflowExecution', (v) => nonEmpty({ signalName: v.signalName, input: v.input })),
    }, 'Signal'),
    h('button', {
      id: 'request-cancel',
      onclick: () => act('Request cancellation?', `Asks the deciders of ${workflowId} to cancel it.`, [], 'RequestCancelWorkflowExecution', () => ({})),
    }, 'Request cancel'),
    h('button', {
      id: 'terminate', class: 'danger',
      onclick: () => act('Terminate this execution?', `Closes ${workflowId} at once; its deciders are not asked.`,
        [['reason', 'Reason', 'terminated from the console'], ['details', 'Details']],
        'TerminateWorkflowExecution', (v) => nonEmpty({ reason: v.reason, details: v.details })),
    }, 'Terminate')) : null;

  const children = events.filter((e) => e.eventType === 'ChildWorkflowExecutionStarted').map((e) => attrs(e).workflowExecution);
  const execLink = (x) => link(x.workflowId, '/execution' + qs({ domain, workflowId: x.workflowId, runId: x.runId }));
  const kv = (rows) => h('dl', { class: 'kv' }, rows.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

  const summary = h('section', { id: 'summary' }, kv([
    ['Domain', link(domain, '/domain' + qs({ name: domain }))],
    ['Workflow id', h('span', { id: 'summary-workflow-id' }, workflowId)],
    ['Run id', h('code', {}, runId)],
    ['Type', `${info.workflowType.name} ${info.workflowType.version}`],
    ['Status', h('span', { id: 'execution-status' }, badge(info.executionStatus), info.closeStatus ? [' ', badge(info.closeStatus)] : null)],
    ['Started', time(info.startTimestamp)],
    ['Closed', time(info.closeTimestamp)],
    ['Task list', conf.taskList && conf.taskList.name],
    ['Timeouts', `execution ${conf.executionStartToCloseTimeout} s, decision task ${conf.taskStartToCloseTimeout} s`],
    ['Child policy', conf.childPolicy],
    ['Tags', (info.tagList || []).join(', ')],
    ['Parent', info.parent ? execLink(info.parent) : null],
    ['Children', children.length ? h('span', { id: 'children' }, children.map((c, i) => [i ? ', ' : '', execLink(c)])) : null],
    ['Open', `${desc.openCounts.openActivityTasks} activities, ${desc.openCounts.openDecisionTasks} decision tasks, ${desc.openCounts.openTimers} timers, ${desc.openCounts.openChildWorkflowExecutions} children`],
    ['Input', started.input],
    ['Latest context', desc.latestExecutionContext],
    ['Last activity task', time(desc.latestActivityTaskTimestamp)],
    ['Outcome', closing ? `${closing.eventType} ${pretty(attrs(closing))}` : null],
  ]));

  const tabs = ['summary', 'pending', 'history', 'timeline'];
  const titles = { summary: 'Summary', pending: 'Pending', history: 'History', timeline: 'Timeline' };
  const sections = {
    summary,
    pending: pendingSection(events),
    history: h('section', { id: 'history' }, table([
      ['Id', (e) => e.eventId],
      ['Time', (e) => time(e.eventTimestamp)],
      ['Type', (e) => h('span', { class: 'event-type' }, e.eventType)],
      ['Attributes', (e) => h('code', { class: 'attrs' }, pretty(attrs(e)))],
    ], events, { id: 'history-table' })),
    timeline: h('section', { id: 'timeline' }, timeline(events, info)),
  };
  const show = (t) => {
    for (const name of tabs) {
      sections[name].hidden = name !== t;
      document.getElementById(`tab-${name}`)?.classList.toggle('active', name === t);
    }
  };
  append(main, [
    h('h2', {}, 'Execution ', h('span', {}, workflowId), ' ', badge(info.closeStatus || info.executionStatus)),
    actions, msg,
    h('div', { class: 'tabs' }, tabs.map((t) => h('button', { id: `tab-${t}`, onclick: () => show(t) }, titles[t]))),
    tabs.map((t) => sections[t])]);
  show(tabs.includes(tab) ? tab : 'summary');
}

/** The pending activity tasks and decision task, from the history. */
function pendingSection(events) {
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const activities = new Map();
  let decision = null;
  for (const e of events) {
    const a = attrs(e);
    switch (e.eventType) {
      case 'ActivityTaskScheduled':
        activities.set(e.eventId, { scheduled: e, started: null, cancelRequested: false });
        break;
      case 'ActivityTaskStarted':
        if (activities.has(a.scheduledEventId)) activities.get(a.scheduledEventId).started = e;
        break;
      case 'ActivityTaskCancelRequested':
        for (const p of activities.values()) if (attrs(p.scheduled).activityId === a.activityId) p.cancelRequested = true;
        break;
      case 'ActivityTaskCompleted': case 'ActivityTaskFailed': case 'ActivityTaskTimedOut': case 'ActivityTaskCanceled':
        activities.delete(a.scheduledEventId);
        break;
      case 'DecisionTaskScheduled':
        decision = { scheduled: e, started: null };
        break;
      case 'DecisionTaskStarted':
        if (decision) decision.started = e;
        break;
      case 'DecisionTaskCompleted': case 'DecisionTaskTimedOut':
        decision = null;
        break;
      default:
    }
  }
  const list = [...activities.values()];
  return h('section', { id: 'pending' },
    h('h3', {}, 'Pending activity tasks'),
    table([
      ['Activity id', (p) => attrs(p.scheduled).activityId],
      ['Type', (p) => `${attrs(p.scheduled).activityType.name} ${attrs(p.scheduled).activityType.version}`],
      ['Task list', (p) => attrs(p.scheduled).taskList?.name],
      ['Scheduled', (p) => time(p.scheduled.eventTimestamp)],
      ['State', (p) => badge(p.started ? 'STARTED' : 'SCHEDULED')],
      ['Worker', (p) => (p.started ? attrs(p.started).identity || '' : '')],
      ['Cancel requested', (p) => (p.cancelRequested ? 'yes' : '')],
    ], list, { id: 'pending-activities' }),
    h('h3', {}, 'Pending decision task'),
    decision ? h('p', { id: 'pending-decision' },
      `Scheduled ${time(decision.scheduled.eventTimestamp)} on ${attrs(decision.scheduled).taskList?.name}, `,
      decision.started ? `started ${time(decision.started.eventTimestamp)} by ${attrs(decision.started).identity || '?'}` : 'not started')
      : h('p', { id: 'pending-decision' }, 'None'),
    byId.size ? null : null);
}
