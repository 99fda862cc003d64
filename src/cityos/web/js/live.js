/**
 * The live event stream: live.on(type, fn) calls fn(entity in keyValues) for every change
 * of an entity of that NGSI-LD type.
 *
 * Transport: NGSI-LD subscriptions whose endpoint is `urn:cityos:stream` (keyValues),
 * followed as Server-Sent Events at /ngsi-ld/v1/subscriptions/{id}/stream. Subscriptions are
 * created lazily and reused by id, so every tab and every visit shares them.
 *
 * The stream is read with fetch() and parsed by sse.js rather than opened with EventSource,
 * which cannot send the `Authorization` header (and the key must not go in the URL: it
 * would land in access logs). It reconnects as EventSource would: after a dropped
 * connection or a server restart, every few seconds, showing "connecting" meanwhile. A 401
 * hands over to the sign-in prompt and the stream comes back after signing in; a
 * subscription deleted meanwhile is made again.
 *
 * A browser keeps at most six HTTP/1.1 connections per server, and each stream holds one
 * open: one stream per type would starve the page's own requests as soon as a map shows
 * six layers. So the types wanted at any moment share ONE subscription and ONE stream:
 * its id is `urn:ngsi-ld:Subscription:dashboard-<Type>` for one type (as in the contract)
 * and `…dashboard-<TypeA>-<TypeB>…` (sorted) for several. When the wanted types change
 * the stream moves to the subscription of the new set.
 */

import * as auth from "./auth.js";
import { parser } from "./sse.js";

const NGSI = "/ngsi-ld/v1";
const STREAM = "urn:cityos:stream";
/** Registrations in one burst (a page mounting its layers) settle into one stream. */
const SETTLE_MS = 60;
const RETRY_MS = 5000;
/** After a stream dropped: EventSource's usual wait, unless the server sends `retry:`. */
const RECONNECT_MS = 3000;

const listeners = new Map(); // type → Set<fn>
const created = new Set(); // subscription ids known to exist
let source = null; // {id, controller: AbortController} of the open stream
let sourceId = null;
let timer = null;
let status = "idle";
const statusListeners = new Set();

function subscriptionId(types) {
  return `urn:ngsi-ld:Subscription:dashboard-${types.join("-")}`;
}

function setStatus(next) {
  if (next === status) return;
  status = next;
  for (const fn of [...statusListeners]) fn(status);
}

/**
 * The ids of the subscriptions the server holds, read once per page load: asking before
 * creating keeps the console clean (a 409 for an existing one would be logged as an error).
 */
let existing = null;
async function known() {
  if (!existing) {
    existing = fetch(`${NGSI}/subscriptions?limit=1000`, { headers: { Accept: "application/json", ...auth.headers() } })
      .then((r) => (r.ok ? r.json() : []))
      .then((list) => new Set(list.map((s) => s.id)))
      .catch(() => new Set());
  }
  return existing;
}

/** Create the subscription unless it exists. */
async function ensure(id, types) {
  if (created.has(id) || (await known()).has(id)) {
    created.add(id);
    return;
  }
  const sent = auth.key();
  const response = await fetch(`${NGSI}/subscriptions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...auth.headers() },
    body: JSON.stringify({
      id,
      type: "Subscription",
      subscriptionName: `cityos dashboard: ${types.join(", ")}`,
      description: "Live updates for the operations-centre dashboard (created by the dashboard).",
      entities: types.map((type) => ({ type })),
      notification: { format: "keyValues", endpoint: { uri: STREAM, accept: "application/json" } },
    }),
  });
  if (response.status === 401) auth.refused(sent);
  // 409: another tab created it meanwhile, which is as good.
  if (!response.ok && response.status !== 409) {
    throw Object.assign(new Error(`subscription ${id}: HTTP ${response.status}`), { status: response.status });
  }
  created.add(id);
}

function dispatch(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  for (const entity of message.data || []) {
    for (const fn of [...(listeners.get(entity.type) || [])]) {
      try {
        fn(entity);
      } catch (error) {
        console.warn("live listener failed", error); // one bad listener must not stop the rest
      }
    }
  }
}

/** Point the one stream at the subscription of the types wanted now. */
async function reconcile() {
  timer = null;
  const types = [...listeners.keys()].filter((type) => listeners.get(type).size).sort();
  const id = types.length ? subscriptionId(types) : null;
  if (id === sourceId) return;
  close();
  sourceId = id;
  if (!id) {
    setStatus("idle");
    return;
  }
  try {
    await ensure(id, types);
  } catch (error) {
    console.warn(error.message);
    setStatus("offline");
    sourceId = null;
    if (error.status !== 401) schedule(RETRY_MS); // a 401 waits for the sign-in instead
    return;
  }
  if (sourceId !== id) return; // the wanted types changed while the subscription was made
  follow(id);
}

function close() {
  source?.controller.abort();
  source = null;
}

/** Start over after `ms`: make the subscription again if need be, and reconnect. */
function restart(ms) {
  close();
  sourceId = null;
  schedule(ms);
}

/** Read the stream of subscription `id` until it ends, then reconnect. */
async function follow(id) {
  const controller = new AbortController();
  const mine = { id, controller };
  source = mine;
  setStatus("connecting");
  const sent = auth.key();
  let retry = RECONNECT_MS;
  try {
    const response = await fetch(`${NGSI}/subscriptions/${encodeURIComponent(id)}/stream`, {
      headers: { Accept: "text/event-stream", ...auth.headers() },
      cache: "no-store",
      signal: controller.signal,
    });
    if (response.status === 401) {
      setStatus("offline");
      auth.refused(sent); // signing in starts the stream again
      return;
    }
    if (!response.ok || !response.body) {
      if (response.status === 404) created.delete(id); // deleted meanwhile: make it again
      console.warn(`live stream ${id}: HTTP ${response.status}`);
      setStatus("offline");
      if (source === mine) restart(RETRY_MS);
      return;
    }
    setStatus("live");
    let ended = false;
    const events = parser((type, data) => {
      if (type === "notification") dispatch(data);
      else if (type === "end") ended = true; // the subscription was deleted
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done || ended) break;
      events.feed(value);
    }
    if (ended) {
      created.delete(id);
      existing = null;
    }
    retry = events.retry() ?? RECONNECT_MS;
  } catch (error) {
    if (controller.signal.aborted) return; // closed on purpose
  }
  if (source !== mine) return;
  setStatus("connecting"); // dropped (server restart, network): come back as EventSource would
  restart(retry);
}

auth.onChange((event) => {
  created.clear();
  existing = null;
  if (event === "signin") restart(0);
  else {
    close();
    sourceId = null;
    setStatus(listeners.size ? "offline" : "idle");
  }
});

function schedule(ms = SETTLE_MS) {
  if (timer === null) timer = setTimeout(reconcile, ms);
}

/**
 * Call fn(entity) for every change of an entity of `type`.
 * @param {string} type an NGSI-LD entity type
 * @param {(entity: object) => void} fn receives the entity in keyValues (changed attributes included)
 * @returns {() => void} stop listening
 */
export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  const set = listeners.get(type);
  const before = set.size;
  set.add(fn);
  if (before === 0) schedule();
  return () => {
    set.delete(fn);
    if (set.size === 0) {
      listeners.delete(type);
      schedule();
    }
  };
}

/** 'idle' | 'connecting' | 'live' | 'offline'; fn(status) on every change. Returns unsubscribe. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

export const live = { on, onStatus };
