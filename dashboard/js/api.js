// REST client for meshd's /api/v1. Every call carries the API token when
// one is saved (reads need it too when mesh.auth_reads is on); a 401 asks
// the user for the token once and retries.

const TOKEN_KEY = 'meshd.token';
const TIMEOUT_MS = 8000;

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* private mode: the token lives for this page only */
  }
  memoryToken = token || '';
}

let memoryToken = '';
const currentToken = () => getToken() || memoryToken;

/** Set by the app: shows the token dialog, resolves to a token or null. */
let askForToken = async () => null;
export function onUnauthorized(fn) {
  askForToken = fn;
}

async function request(method, path, body, { retryOn401 = true, timeout = TIMEOUT_MS, signal, interactive = method !== 'GET' } = {}) {
  const headers = { Accept: 'application/json' };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  if (signal) signal.addEventListener('abort', () => controller.abort(), { once: true });
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'unreachable', `meshd is unreachable (${err.name === 'AbortError' ? 'timeout' : err.message})`);
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (res.ok) return data;
  const error = data && data.error ? data.error : {};
  if (res.status === 401 && retryOn401) {
    const fresh = await askForToken(error.message || 'this call needs the API token', { hadToken: Boolean(token), interactive });
    if (fresh) return request(method, path, body, { retryOn401: interactive, timeout, signal, interactive });
  }
  throw new ApiError(res.status, error.code || `http_${res.status}`, error.message || `${method} ${path}: HTTP ${res.status}`, data);
}

const enc = encodeURIComponent;

export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body, opts) => request('POST', path, body, opts),

  services: (opts) => request('GET', '/api/v1/services', undefined, opts),
  health: (opts) => request('GET', '/api/v1/health', undefined, opts),
  events: (since, limit = 500, opts) =>
    request('GET', `/api/v1/events?since=${since}&limit=${limit}`, undefined, opts),
  logs: (service, tail = 200, opts) =>
    request('GET', `/api/v1/services/${enc(service)}/logs?tail=${tail}`, undefined, opts),
  explain: (service, id) => request('GET', `/api/v1/services/${enc(service)}/instances/${enc(id)}/explain`),
  breakers: () => request('GET', '/api/v1/breakers'),
  nodes: (opts) => request('GET', '/api/v1/nodes', undefined, opts),

  serviceAction: (service, action) => request('POST', `/api/v1/services/${enc(service)}/${action}`),
  rolloutAction: (service, action) => request('POST', `/api/v1/services/${enc(service)}/rollout/${action}`),
  config: (opts) => request('GET', '/api/v1/config', undefined, opts),
  instanceAction: (service, id, action) => request('POST', `/api/v1/services/${enc(service)}/instances/${enc(id)}/${action}`),
  breakerAction: (service, id, action) => request('POST', `/api/v1/breakers/${enc(service)}/${enc(id)}/${action}`),
  runTests: (service) => request('POST', '/api/v1/tests/run', service ? { service } : {}, { timeout: 120000 }),
  lastTests: () => request('GET', '/api/v1/tests'),
};
