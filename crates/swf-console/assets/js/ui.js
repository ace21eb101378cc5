// Small DOM helpers shared by the pages: an element builder, tables, times, the confirmation
// dialog, links and the error banner. No framework: every page builds its DOM with `h`.

/** `h('div', {class: 'x', onclick: f}, child, ...)`: an element; children may be strings, nodes,
 * arrays, null. */
export function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'g', 'rect', 'line', 'path', 'text', 'circle', 'title', 'defs', 'marker', 'polygon'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' && !svg) el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A table: `columns` are `[title, row => cell]`. */
export function table(columns, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, columns.map(([t]) => h('th', {}, t)))),
    h('tbody', {}, rows.length
      ? rows.map((r) => h('tr', {}, columns.map(([, f]) => h('td', {}, f(r)))))
      : h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'Nothing here'))));
}

/** A time in seconds since the epoch (as SWF sends it) as local ISO-like text. */
export function time(t) {
  if (t === undefined || t === null) return '';
  const d = new Date(t * 1000);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** A duration in seconds, short. */
export function duration(s) {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** A link within the console (`#/...`). */
export function link(text, route, attrs = {}) {
  return h('a', { href: '#' + route, ...attrs }, text);
}

/** Query string of an object, skipping empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** A status badge. */
export function badge(text) {
  return h('span', { class: `badge badge-${String(text).toLowerCase()}` }, text);
}

/** The error banner of a page. */
export function errorBox(e) {
  return h('div', { class: 'error', role: 'alert' }, e && e.message ? e.message : String(e));
}

/**
 * Asks for confirmation in a modal dialog: resolves to the values of `fields` (`[name, label,
 * default]`) when confirmed, to null when cancelled.
 */
export function confirmDialog(title, text, fields = []) {
  return new Promise((resolve) => {
    const inputs = fields.map(([name, label, def]) =>
      h('label', {}, label, h('input', { name, id: `confirm-${name}`, value: def || '' })));
    const close = (v) => {
      overlay.remove();
      resolve(v);
    };
    const overlay = h('div', { class: 'overlay', id: 'confirm-dialog' },
      h('div', { class: 'dialog', role: 'dialog' },
        h('h3', {}, title),
        h('p', {}, text),
        inputs,
        h('div', { class: 'buttons' },
          h('button', { id: 'confirm-cancel', onclick: () => close(null) }, 'Cancel'),
          h('button', {
            id: 'confirm-ok', class: 'danger',
            onclick: () => close(Object.fromEntries(fields.map(([n], i) => [n, inputs[i].querySelector('input').value]))),
          }, 'Confirm'))));
    document.body.append(overlay);
  });
}

/** Pretty JSON of a value, or the text itself if it is not JSON. */
export function pretty(v) {
  return JSON.stringify(v, null, 1).replace(/\n\s*/g, ' ');
}

/** A form row: label and control. */
export function field(label, control) {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

/** The loading placeholder. */
export function loading() {
  return h('p', { class: 'loading' }, 'Loading…');
}
