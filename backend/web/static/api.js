// The public REST API, as a browser should use it.
//
// The access token lives in memory only (never in storage a script could read later); the
// refresh token stays in its HttpOnly cookie, which only /api/v1/auth sees. A reload or a
// new tab gets a fresh access token from that cookie; a 401 triggers one refresh and one
// retry; signing out ends the session on the server.

// The API's origin: this page's own, unless the page names another (the app hosted apart
// from the API: see the README's "The web app").
const ORIGIN = (document.querySelector('meta[name="jobboard-api"]')?.getAttribute("content") || "").replace(/\/$/, "");
const API = `${ORIGIN}/api/v1`;

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && problem.detail) || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter;
  }

  // 422 problems list what was wrong with which field, said as a person would say it.
  fieldErrors() {
    const found = {};
    for (const error of this.problem.errors || []) {
      const name = String(error.loc[error.loc.length - 1]);
      if (!(name in found)) found[name] = plainMessage(error);
    }
    return found;
  }

  // What went wrong, for the place beside the form or button.
  describe() {
    const [first] = this.problem.errors || [];
    return first ? plainMessage(first) : this.message;
  }
}

function number(message) {
  const found = /(\d[\d,]*)/.exec(message);
  return found ? found[1] : null;
}

function sentence(text) {
  const trimmed = text.trim().replace(/\.$/, "");
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}.`;
}

// One 422 error (a pydantic error: `type`, `msg`) in the words of the form's reader.
export function plainMessage(error) {
  const message = String(error.msg || "");
  const limit = number(message);
  switch (error.type) {
    case "missing":
      return "Fill this in.";
    case "string_too_short":
      return limit === "1" ? "Fill this in." : `Use at least ${limit} characters.`;
    case "string_too_long":
      return `Use at most ${limit} characters.`;
    case "too_long":
      return `Give at most ${limit}.`;
    case "greater_than_equal":
      return `Enter ${limit} or more.`;
    case "less_than_equal":
      return `Enter ${limit} or less.`;
    case "int_type":
    case "int_parsing":
    case "int_from_float":
      return "Enter a whole number.";
    case "bool_type":
      return "Choose yes or no.";
    case "enum":
    case "literal_error":
      return "Choose one of the options.";
    case "url_parsing":
    case "url_scheme":
    case "url_type":
      return "Enter a web address that starts with https://.";
    case "datetime_from_date_parsing":
    case "datetime_parsing":
    case "timezone_aware":
      return "Enter a date and time.";
    default:
      break;
  }
  if (/email address/.test(message)) return "Enter an email address, such as name@example.com.";
  return sentence(message.replace(/^Value error, /, ""));
}

const state = { token: null, user: null };
// Whether this browser holds a session: not a secret (the refresh token stays in its
// HttpOnly cookie), only spares anonymous visitors a refresh that could only fail.
const MARK = "jobboard.signed-in";

function mark(signedIn) {
  try {
    if (signedIn) window.localStorage.setItem(MARK, "1");
    else window.localStorage.removeItem(MARK);
  } catch {
    // Storage may be off (private browsing): a refresh is then always tried.
  }
}

function marked() {
  try {
    return window.localStorage.getItem(MARK) !== null;
  } catch {
    return true;
  }
}
const listeners = new Set();
let refreshing = null;

export function currentUser() {
  return state.user;
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

function changed() {
  for (const listener of listeners) listener(state.user);
}

async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) return response.json();
  return response.text();
}

/**
 * What a request may carry: a JSON body, a form body, query parameters; whether it sends
 * the access token, and whether it belongs to the page shown (a read the next navigation
 * abandons).
 * @typedef {object} RequestOptions
 * @property {unknown} [json]
 * @property {Record<string, string>} [form]
 * @property {Record<string, unknown>} [params]
 * @property {boolean} [auth]
 * @property {boolean} [ownPage]
 * @property {Blob} [file] a file sent as the body itself
 * @property {boolean} [blob] the answer is a file: resolve to its Blob
 * @property {string} [ifMatch] the entity tag a change must apply to
 * @property {(tag: string | null) => void} [onTag] told the answer's entity tag
 */

/**
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} [options]
 */
async function send(method, path, { json, form, file, params, auth = true, ownPage = true, ifMatch } = {}) {
  const headers = { Accept: "application/json" };
  if (ifMatch) headers["If-Match"] = ifMatch;
  /** @type {BodyInit | undefined} */
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  } else if (file !== undefined) {
    // The server reads the kind from the content, whatever this says.
    headers["Content-Type"] = "application/octet-stream";
    body = file;
  }
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  let url = `${API}${path}`;
  if (params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null && item !== "") query.append(key, item);
      }
    }
    const text = query.toString();
    if (text) url += `?${text}`;
  }
  // A read belongs to the page that asked for it: leaving the page abandons it.
  const signal = method === "GET" && ownPage ? navigation.signal : undefined;
  return fetch(url, { method, headers, body, credentials: "include", signal });
}

// Each page shown is a navigation of its own: starting one aborts the reads of the last, so
// a late answer never lands on the page the reader moved to. A read so abandoned never
// settles: the old page's code stops where it awaited it, and renders nothing.
let navigation = new AbortController();
const abandoned = new Promise(() => {});

export function beginNavigation() {
  navigation.abort();
  navigation = new AbortController();
}

function wasAbandoned(error) {
  return error instanceof DOMException && error.name === "AbortError";
}

async function refreshToken() {
  // One refresh at a time: two requests failing at once share it.
  if (!refreshing) {
    refreshing = (async () => {
      const response = await send("POST", "/auth/refresh", { json: {}, auth: false });
      if (!response.ok) {
        state.token = null;
        mark(false);
        return false;
      }
      state.token = (await response.json()).access_token;
      mark(true);
      return true;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} [options]
 */
export async function request(method, path, options = {}) {
  try {
    return await exchange(method, path, options);
  } catch (error) {
    if (wasAbandoned(error)) return abandoned;
    throw error;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} options
 */
async function exchange(method, path, options) {
  let response = await send(method, path, options);
  if (response.status === 401 && state.token && options.auth !== false) {
    if (await refreshToken()) {
      response = await send(method, path, options);
    } else {
      state.user = null;
      changed();
    }
  }
  if (options.blob && response.ok) return response.blob();
  if (options.blob && response.ok) return response.blob();
  const data = await parse(response);
  if (!response.ok) {
    const wait = response.headers.get("Retry-After");
    throw new ApiError(response.status, typeof data === "object" ? data : null, wait);
  }
  if (options.onTag) options.onTag(response.headers.get("ETag"));
  return data;
}

export const get = (path, params) => request("GET", path, { params });
export const post = (path, json) => request("POST", path, { json });
export const patch = (path, json) => request("PATCH", path, { json });
export const remove = (path) => request("DELETE", path);
export const upload = (path, file, params) => request("POST", path, { file, params });
export const download = (path) => request("GET", path, { blob: true });

// Every item of a paginated list, following `next_cursor` to its end.
export async function allPages(path, params = {}) {
  const items = [];
  let cursor;
  do {
    const page = await get(path, { ...params, limit: 100, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

async function loadUser() {
  // The session's, not a page's: no navigation abandons it.
  state.user = await request("GET", "/users/me", { ownPage: false });
  changed();
  return state.user;
}

// On every page load: a session kept in the refresh cookie comes back.
export async function restore() {
  if (marked() && (await refreshToken())) {
    try {
      return await loadUser();
    } catch {
      state.token = null;
    }
  }
  state.user = null;
  changed();
  return null;
}

export async function signIn(email, password) {
  const response = await send("POST", "/auth/token", {
    form: { username: email, password },
    auth: false,
  });
  const data = await parse(response);
  if (!response.ok) {
    throw new ApiError(response.status, data, response.headers.get("Retry-After"));
  }
  state.token = data.access_token;
  mark(true);
  return loadUser();
}

export async function signOut() {
  try {
    if (state.token) await request("POST", "/auth/logout", { json: {} });
  } finally {
    state.token = null;
    state.user = null;
    mark(false);
    changed();
  }
}

// Every session of the account ends (and every pending mailed link): this one too.
export async function signOutEverywhere() {
  try {
    await request("POST", "/auth/logout-all", { json: {} });
  } finally {
    state.token = null;
    state.user = null;
    mark(false);
    changed();
  }
}

export async function reloadUser() {
  return loadUser();
}

// The API's choices and limits (GET /options), asked once per page load: forms offer what
// the API takes, and no list of values is copied here.
let loadedOptions = null;

export function options() {
  loadedOptions ??= request("GET", "/options", { ownPage: false }).catch((error) => {
    loadedOptions = null;
    throw error;
  });
  // Shared by every page, but what a page awaits is its own: once the reader has moved
  // on, the page that asked stops here, like at its own reads.
  const signal = navigation.signal;
  return loadedOptions.then((value) => (signal.aborted ? abandoned : value));
}
