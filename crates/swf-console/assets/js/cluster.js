// The cluster page: the serving node's view of the Raft cluster (GET /console/api/cluster): members
// with their role, the leader, the term, log and applied indexes, each member's matched index, lag
// and whether it is replicating (known on the leader only), health; refreshed every 2 s. Two live
// rates, each from two readings: the calls this node's gateway receives per second, and the log
// entries it applies per second (each write call is one entry or part of a batch).

import { cluster } from './api.js';
import { badge, errorBox, h, table } from './ui.js';

const REFRESH_MS = 2000;

/**
 * Calls per second this node's gateway received, from two readings of its call counter
 * (`calls_received`); null before the second reading. The hook for a rate from the metrics.
 */
export function callRate(c, last, now) {
  if (!last || last.calls === undefined || c.calls_received === undefined || now <= last.at) return null;
  return ((c.calls_received - last.calls) * 1000) / (now - last.at);
}

export async function render(main) {
  const body = h('div', { id: 'cluster' });
  main.append(h('h2', {}, 'Cluster'), body);
  let last = null;
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    try {
      const c = await cluster();
      const now = performance.now();
      let rate = null;
      if (last && c.last_applied !== null && last.applied !== null && now > last.at) {
        rate = ((c.last_applied - last.applied) * 1000) / (now - last.at);
      }
      const prev = last && last.replication;
      const calls = callRate(c, last, now);
      last = { at: now, applied: c.last_applied, replication: c.replication, calls: c.calls_received };
      body.replaceChildren(view(c, rate, prev, calls));
    } catch (e) {
      body.replaceChildren(errorBox(e));
      // A refusal (4xx) will not change by asking again; a node down or electing may.
      if (e.status >= 400 && e.status < 500) return;
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  };
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** How a member's replication stands, from two readings of the leader's view. */
function replicationState(now, before) {
  if (!now) return '';
  if (now.lag === 0) return 'up to date';
  if (now.matched === null) return 'not replicating';
  if (before && before.matched !== null && now.matched > before.matched) return 'catching up';
  if (before && before.matched === now.matched) return 'not replicating';
  return 'behind';
}

function view(c, rate, prev, calls) {
  const voters = new Set(c.voters || []);
  const members = Object.entries(c.members || {}).map(([id, addr]) => ({ id: Number(id), addr }));
  const rep = c.replication || {};
  const role = (m) => (m.id === c.leader_id ? 'Leader' : voters.has(m.id) ? 'Voter' : 'Learner');
  const healthy = c.serving && c.leader_id !== null;
  return h('div', {},
    h('div', { class: 'cards' },
      card('Health', h('span', { id: 'cluster-health' }, badge(healthy ? 'HEALTHY' : 'UNHEALTHY')),
        c.not_serving_reason ? h('div', { class: 'muted' }, c.not_serving_reason) : null),
      card('Leader', h('span', { id: 'cluster-leader' }, c.leader_id === null ? 'none' : `node ${c.leader_id}`)),
      card('Term', h('span', { id: 'cluster-term' }, c.term)),
      card('This node', `node ${c.node_id} (${c.role})`),
      card('Last log / applied', `${c.last_log_index ?? '–'} / ${c.last_applied ?? '–'}`),
      card('Applied entries/s', h('span', { id: 'cluster-rate' }, rate === null ? '…' : rate.toFixed(1))),
      card('Calls/s (this node)', h('span', { id: 'cluster-calls' }, calls === null ? '…' : calls.toFixed(1))),
      card('Waiting pollers', c.pollers),
    ),
    table([
      ['Node', (m) => `node ${m.id}`],
      ['gRPC address', (m) => m.addr],
      ['Role', (m) => badge(role(m))],
      ['Applied index', (m) => {
        const a = (c.applied || {})[m.id];
        if (!a) return '–';
        // A reading older than two probe timeouts means the node stopped answering.
        return h('span', { class: a.age_ms > 2000 ? 'bad' : null, title: `${a.age_ms} ms ago` }, a.applied);
      }],
      ['Matched index', (m) => (rep[m.id] ? rep[m.id].matched ?? '–' : m.id === c.node_id ? c.last_applied : '–')],
      ['Lag (entries)', (m) => (rep[m.id] ? h('span', { class: rep[m.id].lag > 100 ? 'bad' : null }, rep[m.id].lag) : '–')],
      ['Replication', (m) => {
        const state = replicationState(rep[m.id], prev && prev[m.id]);
        return h('span', { class: state === 'not replicating' ? 'bad' : null }, state);
      }],
    ], members, { id: 'members' }),
    c.replication ? null : h('p', { class: 'muted' },
      `Node ${c.node_id} is not the leader: matched indexes and lag are known by the leader (node ${c.leader_id ?? '?'}); open its console to see them.`),
    c.millis_since_quorum_ack !== null && c.millis_since_quorum_ack !== undefined
      ? h('p', { class: 'muted' }, `Last quorum acknowledgement ${c.millis_since_quorum_ack} ms ago.`) : null);
}

function card(title, ...content) {
  return h('div', { class: 'card stat' }, h('div', { class: 'stat-title' }, title), h('div', { class: 'stat-value' }, content));
}
