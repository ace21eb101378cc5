// The console's only way to the server: the same AWS JSON 1.0 API the SDKs use (POST / with
// X-Amz-Target), signed with SigV4 when auth is on, so each action is authorised like an API call;
// and two read-only JSON routes under /console/api (info, cluster). Keys live in sessionStorage only.

import { sign } from './sigv4.js';

const KEY = 'swfd-console-credentials';
const TARGET = { swf: 'SimpleWorkflowService.', sfn: 'AWSStepFunctions.' };
const SERVICE = { swf: 'swf', sfn: 'states' };
/** Error codes that mean "these keys (or no keys) are not accepted". */
const AUTH_ERRORS = new Set([
  'MissingAuthenticationTokenException', 'IncompleteSignatureException', 'InvalidSignatureException',
  'UnrecognizedClientException', 'ExpiredTokenException',
]);

/** An error answer of the API. */
export class ApiError extends Error {
  constructor(type, message, status) {
    super(`${type}: ${message}`);
    this.type = type;
    this.status = status;
    this.isAuth = AUTH_ERRORS.has(type);
  }
}

let info = null;

/** `{auth, region, adminService, nodeId}` of the server (fetched once). */
export async function serverInfo() {
  if (!info) {
    const r = await fetch('/console/api/info', { cache: 'no-store' });
    info = await r.json();
  }
  return info;
}

export function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

export function setCredentials(creds) {
  if (creds) sessionStorage.setItem(KEY, JSON.stringify(creds));
  else sessionStorage.removeItem(KEY);
}

async function signedHeaders(method, path, query, headers, body, service) {
  const i = await serverInfo();
  if (!i.auth) return headers;
  const creds = credentials();
  if (!creds) throw new ApiError('MissingAuthenticationTokenException', 'Sign in with an access key to use the console', 400);
  return { ...headers, ...sign({ method, host: location.host, path, query, headers, body, region: i.region, service, creds }) };
}

/** Calls `action` of `api` ('swf' or 'sfn') with the JSON `input`; the parsed output. */
export async function call(api, action, input = {}) {
  const body = JSON.stringify(input);
  const base = {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': TARGET[api] + action,
  };
  const headers = await signedHeaders('POST', '/', '', base, body, SERVICE[api]);
  const r = await fetch('/', { method: 'POST', headers, body, cache: 'no-store' });
  const text = await r.text();
  let out = {};
  try {
    out = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError('InternalFailure', text.slice(0, 200), r.status);
  }
  if (!r.ok) {
    const type = String(out.__type || `HTTP${r.status}`).split('#').pop();
    const err = new ApiError(type, out.message || out.Message || '', r.status);
    if (err.isAuth) window.dispatchEvent(new CustomEvent('console-auth', { detail: err }));
    throw err;
  }
  return out;
}

export const swf = (action, input) => call('swf', action, input);
export const sfn = (action, input) => call('sfn', action, input);

/** Every page of a paged List/Get call, concatenated (`key` names the array in each page). */
export async function all(api, action, input, key, limit = 5000) {
  let items = [];
  let token;
  do {
    const page = await call(api, action, token ? { ...input, nextPageToken: token } : input);
    items = items.concat(page[key] || []);
    token = page.nextPageToken;
  } while (token && items.length < limit);
  return items;
}

/** A GET of a read-only console route, signed for the admin service when auth is on. */
async function consoleGet(path, query = '') {
  const i = await serverInfo();
  const headers = await signedHeaders('GET', path, query, {}, '', i.adminService);
  const r = await fetch(path + (query ? '?' + query : ''), { headers, cache: 'no-store' });
  const out = await r.json();
  if (!r.ok) {
    const err = new ApiError(String(out.__type || r.status), out.message || '', r.status);
    if (err.isAuth) window.dispatchEvent(new CustomEvent('console-auth', { detail: err }));
    throw err;
  }
  return out;
}

/** The cluster view of the node serving the console. */
export const cluster = () => consoleGet('/console/api/cluster');

/** The pollers of a domain's task lists, as the node serving the console sees them. */
export const pollers = (domain) => consoleGet('/console/api/pollers', 'domain=' + encodeURIComponent(domain));
