/**
 * The dashboard's credentials: the API key every data call sends as
 * `Authorization: Bearer <key>`, and who the server says that key is (GET /auth/me).
 *
 * The key arrives in the address, `…/dashboard/#key=<key>` (the link `cityos demo` prints),
 * and leaves the address bar at once (history.replaceState, as this module loads, before
 * any other code runs); or it is pasted into the sign-in prompt (signin.js). A fragment is
 * never sent to a server, so the key lands in no access log; the live streams send it as a
 * header too (live.js), never as a query parameter.
 *
 * It is kept in sessionStorage, not localStorage: an operations-centre key is a long-lived
 * credential, often an administrator's, on screens that several people use. sessionStorage
 * holds it for this tab only and forgets it when the tab closes, where localStorage would
 * leave it in the browser profile for whoever opens the dashboard next. The cost is one more
 * paste (or a click on the link) per tab.
 *
 * With the server's `--auth off` no key is needed: /auth/me answers {"auth": "off"} and the
 * dashboard works as before, asking for a key only if some call answers 401.
 */

const STORAGE_KEY = "cityos.key";
const ME = "/auth/me";
const listeners = new Set();

/** What the server said at the last check: {mode: "off"} or {mode: "on", who}; null: unknown. */
let current = null;

function read() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) || null;
  } catch {
    return null; // storage disabled: the key lives as long as the page
  }
}

let memory = read();

function keep(key) {
  memory = key;
  try {
    if (key) sessionStorage.setItem(STORAGE_KEY, key);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage disabled: memory only */
  }
}

/** `#key=<key>` in the address: keep the key, and take it out of the address bar now. */
function takeFromAddress() {
  const match = /^#key=([^&]*)$/.exec(location.hash);
  if (!match) return;
  let key = "";
  try {
    key = decodeURIComponent(match[1]).trim();
  } catch {
    /* a malformed escape: no key */
  }
  history.replaceState(history.state, "", location.pathname + location.search);
  if (key) keep(key);
}

takeFromAddress();

function emit(event, detail) {
  for (const fn of [...listeners]) {
    try {
      fn(event, detail);
    } catch (error) {
      console.warn("auth listener failed", error);
    }
  }
}

/** The key this tab signs in with, or null. */
export function key() {
  return memory;
}

/** The headers that carry the key ({} without one). */
export function headers() {
  return memory ? { Authorization: `Bearer ${memory}` } : {};
}

/** The last check's answer: {mode: "off"} | {mode: "on", who: {subject, roles, …}} | null. */
export function state() {
  return current;
}

/**
 * Ask the server who `candidate` (default: the kept key) is.
 * @returns {Promise<{status: number, body: object|null}>} status 0: the server cannot be reached
 */
async function whoIs(candidate) {
  const sent = candidate ? { Authorization: `Bearer ${candidate}` } : {};
  try {
    const response = await fetch(ME, { headers: { Accept: "application/json", ...sent }, cache: "no-store" });
    return { status: response.status, body: await response.json().catch(() => null) };
  } catch {
    return { status: 0, body: null };
  }
}

function settle(body) {
  current = body?.auth === "off" ? { mode: "off" } : { mode: "on", who: body };
  return current;
}

/**
 * Check the kept key (or its absence) with the server.
 * @returns {Promise<{mode: "off"|"on"|"needed"|"unknown", rejected?: boolean}>} needed: sign
 *   in (rejected: a key was kept but refused, and is forgotten now)
 */
export async function check() {
  const { status, body } = await whoIs(memory);
  if (status === 200) return settle(body);
  if (status === 401) {
    const rejected = Boolean(memory);
    keep(null);
    current = null;
    return { mode: "needed", rejected };
  }
  return { mode: "unknown" }; // offline or failing: the pages say so themselves
}

/**
 * Sign in with a pasted key: kept only if the server accepts it.
 * @returns {Promise<{ok: boolean, status: number}>}
 */
export async function signIn(candidate) {
  const trimmed = String(candidate || "").trim();
  if (!trimmed) return { ok: false, status: 401 };
  const { status, body } = await whoIs(trimmed);
  if (status !== 200) return { ok: false, status };
  keep(trimmed);
  settle(body);
  emit("signin", current);
  return { ok: true, status };
}

/** Forget the key; the shell asks for another. */
export function signOut() {
  keep(null);
  current = null;
  emit("signout");
}

/**
 * A call sent with `sent` (the key, or null) answered 401: the key is missing, revoked or
 * expired. It is forgotten, and the shell shows the sign-in prompt (once, however many calls
 * failed together). A late answer to a key replaced meanwhile changes nothing.
 */
export function refused(sent) {
  if ((sent || null) !== memory) return;
  const rejected = Boolean(memory);
  keep(null);
  current = null;
  emit("refused", { rejected });
}

/** fn(event, detail) on "signin", "signout" and "refused"; returns the function that stops it. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
