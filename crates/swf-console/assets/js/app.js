// The console's shell: the hash router (`#/page?param=...`), the navigation bar, the sign-in form
// when auth is on, and the error banner. Each page is a module with `render(main, params)`, which
// may return a function to call when the page is left (e.g. to stop a refresh timer).

import { ApiError, credentials, serverInfo, setCredentials, swf } from './api.js';
import { errorBox, field, h } from './ui.js';
import * as cluster from './cluster.js';
import * as domains from './domains.js';
import * as executions from './executions.js';
import * as execution from './execution.js';
import * as tasklists from './tasklists.js';
import * as sfn from './sfn.js';

const PAGES = {
  '/cluster': [cluster.render, 'Cluster'],
  '/domains': [domains.render, 'Domains'],
  '/domain': [domains.renderDomain, null],
  '/executions': [executions.render, 'Executions'],
  '/execution': [execution.render, null],
  '/tasklists': [tasklists.render, 'Task lists'],
  '/sfn': [sfn.render, 'Step Functions'],
  '/sfn/machine': [sfn.renderMachine, null],
  '/sfn/execution': [sfn.renderExecution, null],
};

let leave = null;
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/domains';
  const [path, query] = raw.split('?');
  return [path, Object.fromEntries(new URLSearchParams(query || ''))];
}

function nav(current) {
  const i = credentials();
  return h('nav', {},
    h('span', { class: 'brand' }, 'swfd console'),
    Object.entries(PAGES)
      .filter(([, [, title]]) => title)
      .map(([path, [, title]]) => h('a', {
        href: '#' + path, id: `nav-${path.slice(1)}`,
        class: current === path || current.startsWith(path + '/') ? 'active' : null,
      }, title)),
    h('span', { class: 'spacer' }),
    i ? h('span', { class: 'who' }, i.accessKeyId, ' ',
      h('button', { id: 'sign-out', onclick: () => { setCredentials(null); route(); } }, 'Sign out')) : null);
}

async function route() {
  const mine = ++generation;
  if (leave) {
    try { leave(); } catch { /* the page is gone anyway */ }
    leave = null;
  }
  const [path, params] = parseHash();
  const header = document.getElementById('header');
  const main = document.getElementById('main');
  header.replaceChildren(nav(path));
  main.replaceChildren();
  const info = await serverInfo().catch(() => ({ auth: false }));
  if (info.auth && !credentials()) {
    signIn(main, null);
    return;
  }
  const page = PAGES[path];
  if (!page) {
    main.append(errorBox(`No page ${path}`));
    return;
  }
  try {
    const done = await page[0](main, params);
    if (mine === generation) leave = typeof done === 'function' ? done : null;
    else if (typeof done === 'function') done();
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.isAuth) signIn(main, e);
    else main.prepend(errorBox(e));
  }
}

/** The sign-in form: an access key id and secret (and a session token for a temporary key), kept
 * in sessionStorage for this tab only. */
function signIn(main, error) {
  const id = h('input', { id: 'access-key-id', autocomplete: 'username' });
  const secret = h('input', { id: 'secret-access-key', type: 'password', autocomplete: 'current-password' });
  const token = h('input', { id: 'session-token' });
  const msg = h('div', { id: 'login-error' }, error ? errorBox(error) : null);
  const form = h('form', {
    id: 'login-form', class: 'card',
    onsubmit: async (ev) => {
      ev.preventDefault();
      setCredentials({ accessKeyId: id.value.trim(), secretAccessKey: secret.value, sessionToken: token.value.trim() || undefined });
      try {
        await swf('ListDomains', { registrationStatus: 'REGISTERED', maximumPageSize: 1 });
      } catch (e) {
        // Keys that sign correctly but may not list domains still identify a principal.
        if (!(e instanceof ApiError) || e.isAuth) {
          setCredentials(null);
          msg.replaceChildren(errorBox(e));
          return;
        }
      }
      route();
    },
  },
  h('h2', {}, 'Sign in'),
  h('p', {}, 'This server checks a SigV4 signature on every call. Give an access key of its auth configuration; it stays in this browser tab (sessionStorage) and signs each request here.'),
  field('Access key id', id), field('Secret access key', secret), field('Session token (temporary keys)', token),
  h('button', { type: 'submit', id: 'sign-in' }, 'Sign in'), msg);
  main.replaceChildren(form);
}

window.addEventListener('hashchange', route);
window.addEventListener('console-auth', () => {
  if (credentials()) return; // a page shows the error itself
});
route();
