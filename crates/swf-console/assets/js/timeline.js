// The execution timeline, drawn in SVG as Temporal's UI draws it: one row per decision task,
// activity task, timer and child workflow, a bar from when it was scheduled (pale: waiting for a
// worker) through when it started to when it closed, coloured by its outcome; open ones run to now.
// Signals and markers are ticks on a row of their own.

import { h, duration, time } from './ui.js';

const ROW = 22;
const LABEL = 230;
const WIDTH = 1100;
const TOP = 28;

const attrsOf = (e) => e[e.eventType.charAt(0).toLowerCase() + e.eventType.slice(1) + 'EventAttributes'] || {};

/** The rows of the timeline: `{kind, label, scheduled, started, closed, outcome}`. */
export function rows(events) {
  const out = [];
  const bySched = new Map();
  const open = (key, row) => {
    bySched.set(key, row);
    out.push(row);
  };
  const close = (key, e, outcome) => {
    const r = bySched.get(key);
    if (r) {
      r.closed = e.eventTimestamp;
      r.outcome = outcome;
    }
  };
  const marks = [];
  for (const e of events) {
    const a = attrsOf(e);
    const t = e.eventTimestamp;
    switch (e.eventType) {
      case 'DecisionTaskScheduled':
        open(`d${e.eventId}`, { kind: 'decision', label: `Decision task ${e.eventId}`, scheduled: t, outcome: 'open' });
        break;
      case 'DecisionTaskStarted': {
        const r = bySched.get(`d${a.scheduledEventId}`);
        if (r) r.started = t;
        break;
      }
      case 'DecisionTaskCompleted': close(`d${a.scheduledEventId}`, e, 'completed'); break;
      case 'DecisionTaskTimedOut': close(`d${a.scheduledEventId}`, e, 'timedout'); break;
      case 'ActivityTaskScheduled':
        open(`a${e.eventId}`, { kind: 'activity', label: `Activity ${a.activityId} (${a.activityType.name})`, scheduled: t, outcome: 'open' });
        break;
      case 'ActivityTaskStarted': {
        const r = bySched.get(`a${a.scheduledEventId}`);
        if (r) r.started = t;
        break;
      }
      case 'ActivityTaskCompleted': close(`a${a.scheduledEventId}`, e, 'completed'); break;
      case 'ActivityTaskFailed': close(`a${a.scheduledEventId}`, e, 'failed'); break;
      case 'ActivityTaskTimedOut': close(`a${a.scheduledEventId}`, e, 'timedout'); break;
      case 'ActivityTaskCanceled': close(`a${a.scheduledEventId}`, e, 'canceled'); break;
      case 'TimerStarted':
        open(`t${e.eventId}`, { kind: 'timer', label: `Timer ${a.timerId} (${a.startToFireTimeout} s)`, scheduled: t, started: t, outcome: 'open' });
        break;
      case 'TimerFired': close(`t${a.startedEventId}`, e, 'completed'); break;
      case 'TimerCanceled': close(`t${a.startedEventId}`, e, 'canceled'); break;
      case 'StartChildWorkflowExecutionInitiated':
        open(`c${e.eventId}`, { kind: 'child', label: `Child ${a.workflowId}`, scheduled: t, outcome: 'open' });
        break;
      case 'ChildWorkflowExecutionStarted': {
        const r = bySched.get(`c${a.initiatedEventId}`);
        if (r) r.started = t;
        break;
      }
      case 'StartChildWorkflowExecutionFailed': close(`c${a.initiatedEventId}`, e, 'failed'); break;
      case 'ChildWorkflowExecutionCompleted': close(`c${a.initiatedEventId}`, e, 'completed'); break;
      case 'ChildWorkflowExecutionFailed': close(`c${a.initiatedEventId}`, e, 'failed'); break;
      case 'ChildWorkflowExecutionTimedOut': close(`c${a.initiatedEventId}`, e, 'timedout'); break;
      case 'ChildWorkflowExecutionCanceled': close(`c${a.initiatedEventId}`, e, 'canceled'); break;
      case 'ChildWorkflowExecutionTerminated': close(`c${a.initiatedEventId}`, e, 'failed'); break;
      case 'WorkflowExecutionSignaled': marks.push({ t, label: `signal ${a.signalName}` }); break;
      case 'MarkerRecorded': marks.push({ t, label: `marker ${a.markerName}` }); break;
      case 'WorkflowExecutionCancelRequested': marks.push({ t, label: 'cancel requested' }); break;
      default:
    }
  }
  return { rows: out, marks };
}

/** The timeline of an execution as an SVG element. */
export function timeline(events, info) {
  if (!events.length) return h('p', {}, 'No events');
  const { rows: bars, marks } = rows(events);
  const t0 = events[0].eventTimestamp;
  const isOpen = info.executionStatus === 'OPEN';
  const end = isOpen ? Math.max(Date.now() / 1000, events[events.length - 1].eventTimestamp) : events[events.length - 1].eventTimestamp;
  const span = Math.max(end - t0, 0.001);
  const x = (t) => LABEL + ((t - t0) / span) * (WIDTH - LABEL - 10);
  const lines = [{ kind: 'workflow', label: `Workflow ${info.execution.workflowId}`, scheduled: t0, started: t0, closed: isOpen ? null : end, outcome: isOpen ? 'open' : (info.closeStatus || 'completed').toLowerCase() }]
    .concat(bars);
  const height = TOP + (lines.length + (marks.length ? 1 : 0)) * ROW + 8;
  const ticks = [];
  for (let i = 0; i <= 5; i++) {
    const t = t0 + (span * i) / 5;
    ticks.push(h('g', {},
      h('line', { x1: x(t), x2: x(t), y1: 18, y2: height, class: 'tick' }),
      h('text', { x: x(t), y: 12, class: 'tick-label', 'text-anchor': i === 5 ? 'end' : i ? 'middle' : 'start' }, `+${duration(t - t0)}`)));
  }
  const drawn = lines.map((r, i) => {
    const y = TOP + i * ROW;
    const closed = r.closed ?? end;
    const startedAt = r.started ?? closed;
    const tip = `${r.label}: scheduled ${time(r.scheduled)}${r.started ? `, started ${time(r.started)}` : ''}${r.closed ? `, closed ${time(r.closed)} (${r.outcome})` : ' (open)'}`;
    return h('g', { class: `row row-${r.kind}`, 'data-kind': r.kind, 'data-outcome': r.outcome },
      h('text', { x: 4, y: y + 14, class: 'row-label' }, r.label.length > 34 ? r.label.slice(0, 33) + '…' : r.label),
      r.started === undefined || startedAt > r.scheduled
        ? h('rect', { x: x(r.scheduled), y: y + 4, width: Math.max(x(startedAt) - x(r.scheduled), 1), height: ROW - 8, class: `bar wait outcome-${r.outcome}` }, h('title', {}, tip))
        : null,
      r.started !== undefined
        ? h('rect', { x: x(startedAt), y: y + 3, width: Math.max(x(closed) - x(startedAt), 2), height: ROW - 6, class: `bar run outcome-${r.outcome}` }, h('title', {}, tip))
        : null);
  });
  const markRow = TOP + lines.length * ROW;
  const drawnMarks = marks.length ? h('g', { class: 'row row-marks' },
    h('text', { x: 4, y: markRow + 14, class: 'row-label' }, 'Signals and markers'),
    marks.map((m) => h('polygon', {
      class: 'mark',
      points: `${x(m.t)},${markRow + 4} ${x(m.t) + 5},${markRow + 11} ${x(m.t)},${markRow + 18} ${x(m.t) - 5},${markRow + 11}`,
    }, h('title', {}, `${m.label} at ${time(m.t)}`)))) : null;
  return h('div', { class: 'timeline-wrap' },
    h('svg', { id: 'timeline-svg', width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}`, class: 'timeline' }, ticks, drawn, drawnMarks),
    h('p', { class: 'legend' },
      ['completed', 'failed', 'timedout', 'canceled', 'open'].map((o) => h('span', { class: `legend-item outcome-${o}` }, o)),
      h('span', { class: 'muted' }, ' pale: waiting for a worker (scheduled, not started)')));
}
