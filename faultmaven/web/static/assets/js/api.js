// The console's only way to the server: the public /api/v1 with the caller's bearer token, if any.

export const API_BASE = '/api/v1';
const TOKEN_KEY = 'faultmaven.token';
const SESSION_KEY = 'faultmaven.session';

// sessionStorage: the token lives as long as the tab, never in a cookie the server would trust blindly.
export const credentials = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get sessionId() { return sessionStorage.getItem(SESSION_KEY); },
  save(token, sessionId) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (sessionId) sessionStorage.setItem(SESSION_KEY, sessionId);
    else sessionStorage.removeItem(SESSION_KEY);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(SESSION_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, detail, code, body = {}) {
    super(detail);
    this.status = status;
    this.code = code;
    this.body = body;
  }

  // A route the server does not have (yet): 404/405 for the path itself (not for a missing record) or 501.
  get featureMissing() {
    return this.status === 501 || (this.status === 404 && this.code === 'NOT_FOUND')
      || (this.status === 405 && this.code === 'METHOD_NOT_ALLOWED');
  }
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  if (credentials.token) headers.Authorization = `Bearer ${credentials.token}`;
  if (credentials.sessionId) headers['X-Session-Id'] = credentials.sessionId;
  return headers;
}

export async function errorFromResponse(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  const detail = typeof body.detail === 'string' ? body.detail : `${response.status} ${response.statusText}`;
  return errorFromBody(response.status, detail, body);
}

export function errorFromBody(status, detail, body) {
  const error = new ApiError(status, detail, body.code || '', body);
  if (status === 401) window.dispatchEvent(new CustomEvent('faultmaven:unauthorized'));
  return error;
}

// fetch() with auth headers and a JSON body; resolves to the Response, rejects with ApiError when not ok.
export async function request(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(API_BASE + path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The server cannot be reached. Is FaultMaven running?', 'NETWORK_ERROR');
  }
  if (!response.ok) throw await errorFromResponse(response);
  return response;
}

// The parsed JSON body (null for 204).
export async function api(path, options) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

// A list route: the bare array and its X-Total-Count.
export async function apiList(path, options) {
  const response = await request(path, options);
  const items = await response.json();
  const total = Number(response.headers.get('X-Total-Count') ?? items.length);
  return { items, total };
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const enc = encodeURIComponent;
