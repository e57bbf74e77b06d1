// The API client: bearer tokens kept for the browser tab (sessionStorage), one refresh on a
// 401, RFC 9457 problem documents turned into errors that say what went wrong.

const KEY = "silkguard.tokens";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function tokens() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

export function setTokens(pair) {
  if (pair) sessionStorage.setItem(KEY, JSON.stringify(pair));
  else sessionStorage.removeItem(KEY);
}

export async function login(username, password) {
  const res = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  setTokens(await res.json());
}

export async function logout() {
  const pair = tokens();
  if (pair) {
    try {
      await api("/auth/logout", { method: "POST", body: { refresh_token: pair.refresh_token } });
    } catch {
      // signing out locally is what matters
    }
  }
  setTokens(null);
}

async function problemOf(res) {
  try {
    return await res.json();
  } catch {
    return { title: res.statusText, status: res.status };
  }
}

async function refresh() {
  const pair = tokens();
  if (!pair?.refresh_token) return false;
  const res = await fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: pair.refresh_token }),
  });
  if (!res.ok) {
    setTokens(null);
    return false;
  }
  setTokens(await res.json());
  return true;
}

function headers(extra = {}) {
  const pair = tokens();
  const out = { ...extra };
  if (pair) out.Authorization = `Bearer ${pair.access_token}`;
  return out;
}

// api("/incidents", {query: {...}, method, body, accept, raw, headers}) -> parsed JSON
// (or the Response itself when raw is true).
export async function api(path, opts = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, one);
  }
  const send = () =>
    fetch(url, {
      method: opts.method || "GET",
      headers: headers({
        Accept: opts.accept || "application/json",
        ...(opts.body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(opts.headers || {}),
      }),
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
    });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  if (res.status === 401) {
    setTokens(null);
    window.dispatchEvent(new Event("silkguard:signed-out"));
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  if (opts.raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

// Server-sent events over fetch (EventSource cannot send the bearer token): calls
// onEvent(name, data) for each event until the stream ends or signal aborts.
export async function streamEvents(path, onEvent, signal) {
  const res = await api(path, { raw: true, accept: "text/event-stream", signal });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}
