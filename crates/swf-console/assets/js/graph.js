// A Step Functions definition (Amazon States Language) drawn as a graph in SVG: states in layers
// by their distance from StartAt, transitions (Next, Choice rules and Default, Catch) as arrows,
// back edges curving round the right; Parallel and Map states as boxes holding their branches'
// states. Each state can carry a status class (succeeded, failed, caught, running, aborted) that
// colours it.

import { h } from './ui.js';

const W = 170;
const H = 38;
const GAP_Y = 46;
const GAP_X = 30;
const INNER_W = 140;
const INNER_H = 24;

/** The transitions out of a state: `[target, label, dashed]`. */
export function transitions(s) {
  const out = [];
  (s.Choices || []).forEach((c, i) => c.Next && out.push([c.Next, `rule ${i + 1}`, false]));
  if (s.Default) out.push([s.Default, 'default', false]);
  if (s.Next) out.push([s.Next, '', false]);
  (s.Catch || []).forEach((c) => c.Next && out.push([c.Next, 'catch', true]));
  return out;
}

const branchesOf = (s) => (s.Type === 'Parallel' ? s.Branches || [] : s.Type === 'Map' ? [s.ItemProcessor || s.Iterator].filter(Boolean) : []);

/** The states of a (sub)definition in BFS order from StartAt, unreachable ones last. */
function order(def) {
  const states = def.States || {};
  const seen = new Map();
  const queue = def.StartAt in states ? [[def.StartAt, 0]] : [];
  while (queue.length) {
    const [n, d] = queue.shift();
    if (seen.has(n) || !(n in states)) continue;
    seen.set(n, d);
    for (const [t] of transitions(states[n])) if (!seen.has(t)) queue.push([t, d + 1]);
  }
  let last = Math.max(0, ...seen.values());
  for (const n of Object.keys(states)) if (!seen.has(n)) seen.set(n, ++last);
  return seen;
}

/** Every state name of a definition, nested ones included (for tests and colouring). */
export function allStates(def, out = []) {
  for (const [n, s] of Object.entries(def.States || {})) {
    out.push(n);
    for (const b of branchesOf(s)) allStates(b, out);
  }
  return out;
}

/** The graph of `def` as an SVG element; `status` maps a state name to its status class. */
export function graph(def, status = new Map()) {
  const states = def.States || {};
  const layerOf = order(def);
  const layers = [];
  for (const [n, d] of layerOf) (layers[d] = layers[d] || []).push(n);
  const size = (n) => {
    const bs = branchesOf(states[n]);
    if (!bs.length) return [W, H];
    const rows = Math.max(1, ...bs.map((b) => Object.keys(b.States || {}).length));
    return [Math.max(W, bs.length * (INNER_W + 10) + 10), 30 + rows * (INNER_H + 6) + 6];
  };
  const pos = new Map();
  let y = 60;
  const layerWidths = layers.map((l) => (l || []).reduce((w, n) => w + size(n)[0], 0) + GAP_X * ((l || []).length - 1));
  const width = Math.max(W + 80, ...layerWidths) + 80;
  for (const l of layers) {
    if (!l) continue;
    let x = (width - layerWidths[layers.indexOf(l)]) / 2;
    const hMax = Math.max(...l.map((n) => size(n)[1]));
    for (const n of l) {
      const [w, hh] = size(n);
      pos.set(n, { x, y, w, h: hh });
      x += w + GAP_X;
    }
    y += hMax + GAP_Y;
  }
  const height = y + 40;
  const cx = width / 2;
  const parts = [];
  const edges = [];
  const arrow = (from, to, label, dashed, cls = 'edge') => {
    const a = pos.get(from);
    const b = pos.get(to);
    if (!a || !b) return;
    const x1 = a.x + a.w / 2;
    const y1 = a.y + a.h;
    const x2 = b.x + b.w / 2;
    const y2 = b.y;
    let d;
    if (b.y > a.y) {
      d = `M${x1},${y1} C${x1},${y1 + 25} ${x2},${y2 - 25} ${x2},${y2}`;
    } else {
      const xr = Math.max(a.x + a.w, b.x + b.w) + 30;
      d = `M${a.x + a.w},${a.y + a.h / 2} C${xr},${a.y + a.h / 2} ${xr},${b.y + b.h / 2} ${b.x + b.w},${b.y + b.h / 2}`;
    }
    edges.push(h('path', { d, class: cls + (dashed ? ' dashed' : ''), 'marker-end': 'url(#arrow)' }));
    if (label) edges.push(h('text', { x: (x1 + x2) / 2 + 4, y: b.y > a.y ? (y1 + y2) / 2 : (a.y + b.y + a.h) / 2, class: 'edge-label' }, label));
  };
  // Start and end.
  parts.push(h('circle', { cx, cy: 24, r: 10, class: 'terminal' }), h('text', { x: cx + 16, y: 28, class: 'edge-label' }, 'Start'));
  parts.push(h('circle', { cx, cy: height - 24, r: 10, class: 'terminal end' }), h('text', { x: cx + 16, y: height - 20, class: 'edge-label' }, 'End'));
  if (pos.has(def.StartAt)) {
    const s = pos.get(def.StartAt);
    edges.push(h('path', { d: `M${cx},34 L${s.x + s.w / 2},${s.y}`, class: 'edge', 'marker-end': 'url(#arrow)' }));
  }
  for (const [n, s] of Object.entries(states)) {
    for (const [t, label, dashed] of transitions(s)) arrow(n, t, label, dashed);
    if (s.End || s.Type === 'Succeed' || s.Type === 'Fail') {
      const p = pos.get(n);
      edges.push(h('path', { d: `M${p.x + p.w / 2},${p.y + p.h} L${cx},${height - 34}`, class: 'edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const [n, p] of pos) {
    const s = states[n];
    const st = status.get(n) || 'none';
    const inner = [];
    branchesOf(s).forEach((b, bi) => {
      const names = [...order(b).keys()];
      names.forEach((m, mi) => {
        const ist = status.get(m) || 'none';
        const ix = p.x + 10 + bi * (INNER_W + 10);
        const iy = p.y + 30 + mi * (INNER_H + 6);
        inner.push(h('g', { class: `state inner status-${ist}`, 'data-state': m, 'data-status': ist },
          h('rect', { x: ix, y: iy, width: INNER_W, height: INNER_H, rx: 4 }),
          h('text', { x: ix + INNER_W / 2, y: iy + 16, 'text-anchor': 'middle' }, clip(m, 20)),
          h('title', {}, `${m} (${b.States[m].Type}): ${ist}`)));
      });
    });
    parts.push(h('g', { class: `state status-${st}${inner.length ? ' container' : ''}`, 'data-state': n, 'data-status': st },
      h('rect', { x: p.x, y: p.y, width: p.w, height: p.h, rx: 6 }),
      h('text', { x: p.x + p.w / 2, y: inner.length ? p.y + 18 : p.y + 17, 'text-anchor': 'middle', class: 'state-name' }, clip(n, 24)),
      inner.length ? null : h('text', { x: p.x + p.w / 2, y: p.y + 31, 'text-anchor': 'middle', class: 'state-type' }, s.Type),
      h('title', {}, `${n} (${s.Type}): ${st}`)), inner);
  }
  return h('svg', { id: 'sfn-graph', width, height, viewBox: `0 0 ${width} ${height}`, class: 'graph' },
    h('defs', {}, h('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      h('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))),
    edges, parts);
}

function clip(s, n) {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/**
 * Each state's outcome in an execution, from its history: `succeeded` (entered and left),
 * `caught` (left after a failure it retried or caught), `failed`, `aborted`, `running`.
 */
export function statuses(events, executionStatus) {
  const out = new Map();
  const open = new Map();
  for (const e of events) {
    const t = e.type;
    if (t.endsWith('StateEntered')) {
      const n = e.stateEnteredEventDetails?.name;
      if (n === undefined) continue;
      open.set(n, false);
      out.set(n, t === 'FailStateEntered' ? 'failed' : 'running');
    } else if (t.endsWith('StateExited')) {
      const n = e.stateExitedEventDetails?.name;
      if (n === undefined) continue;
      out.set(n, open.get(n) ? 'caught' : 'succeeded');
      open.delete(n);
    } else if (/(Failed|TimedOut|Aborted)$/.test(t) && !t.startsWith('Execution')) {
      for (const n of open.keys()) open.set(n, true);
    }
  }
  if (executionStatus !== 'RUNNING') {
    for (const n of open.keys()) {
      if (out.get(n) === 'running') out.set(n, executionStatus === 'ABORTED' ? 'aborted' : 'failed');
    }
  }
  return out;
}
