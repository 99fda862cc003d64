/**
 * Fetch helpers for the cityos APIs (same origin). Failures are shown as toasts and
 * thrown as ApiError, so a page only handles the cases it wants to explain itself; a 401
 * (no key, or one revoked) goes to the sign-in prompt instead of a toast.
 */

import * as auth from "./auth.js";
import { t } from "./i18n.js";
import { toast } from "./ui.js";

const NGSI = "/ngsi-ld/v1";
/** The most entities one NGSI-LD query page may hold (cityos's maximum). */
const PAGE = 1000;

let identity = { role: "operator", actor: "operator-1" };

/**
 * Who the dashboard acts as with the server's `--auth off`: sent as CityOS-Actor /
 * CityOS-Roles. Signed in with a key, the key says who acts and these are not sent.
 */
export function setIdentity(next) {
  identity = { ...next };
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function url(path, params) {
  const address = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    address.searchParams.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  return address.pathname + address.search;
}

function headers(key, extra) {
  const who = key ? { Authorization: `Bearer ${key}` } : { "CityOS-Actor": identity.actor, "CityOS-Roles": identity.role };
  return { Accept: "application/json", ...who, ...extra };
}

/**
 * One request; the parsed JSON body (null for an empty one).
 * options.quiet: no toast on failure (the caller explains it); options.raw: the Response.
 */
async function request(method, path, { params, body, headers: extra, quiet = false, raw = false } = {}) {
  let response;
  const key = auth.key();
  try {
    response = await fetch(url(path, params), { method, headers: headers(key, extra), body });
  } catch (error) {
    if (!quiet) toast(t("api.offline"), "error");
    throw new ApiError(0, { detail: String(error) });
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    const failure = new ApiError(response.status, problem);
    if (response.status === 401) auth.refused(key); // the prompt explains it: no toast
    else if (!quiet) toast(t("api.failed", { status: response.status, detail: failure.message }), "error");
    throw failure;
  }
  if (raw) return response;
  const content = await response.text();
  return content ? JSON.parse(content) : null;
}

/** GET path?params → JSON. */
export function get(path, params, options = {}) {
  return request("GET", path, { ...options, params });
}

/**
 * POST a body: JSON by default, form-encoded with {form: true} (Open311).
 * @returns the JSON answer
 */
export function post(path, body, { headers: extra = {}, form = false, quiet = false } = {}) {
  const encoded = form ? new URLSearchParams(body).toString() : JSON.stringify(body ?? {});
  const type = form ? "application/x-www-form-urlencoded" : "application/json";
  return request("POST", path, { body: encoded, headers: { "Content-Type": type, ...extra }, quiet });
}

/**
 * Every entity of `type` in keyValues, following pages until the end.
 * @param {string} type
 * @param {{q?: string, attrs?: string[]|string, limit?: number, georel?: string, geometry?: string, coordinates?: string}} [options]
 *   limit: the most entities wanted in all (default: all).
 */
export async function entities(type, { q, attrs, limit = Infinity, ...geo } = {}) {
  const found = [];
  for (let offset = 0; found.length < limit; offset += PAGE) {
    const page = Math.min(PAGE, limit - found.length);
    const batch = await get(`${NGSI}/entities`, { type, q, attrs, limit: page, offset, options: "keyValues", ...geo });
    found.push(...batch);
    if (batch.length < page) break;
  }
  return found;
}

/** One entity in keyValues. */
export function entity(id, { attrs } = {}) {
  return get(`${NGSI}/entities/${encodeURIComponent(id)}`, { attrs, options: "keyValues" });
}

/** How many entities of `type` match `q` (NGSILD-Results-Count, no bodies transferred). */
export async function count(type, q) {
  const response = await request("GET", `${NGSI}/entities`, {
    params: { type, q, count: "true", limit: 0 }, raw: true,
  });
  return Number(response.headers.get("NGSILD-Results-Count") || 0);
}

/** Key figures: every pack's, or one pack's. */
export function kpis(pack) {
  return get(pack ? `/kpis/${encodeURIComponent(pack)}` : "/kpis");
}

/**
 * The history of an entity: {attr: [[value, time], …]} (temporalValues), or aggregated
 * when aggrMethods is given ({attr: {avg: [[value, from, to], …]}}).
 * @param {string} id
 * @param {{attrs?: string[]|string, lastN?: number, timerel?: string, timeAt?: string,
 *   endTimeAt?: string, aggrMethods?: string, aggrPeriodDuration?: string, quiet?: boolean}} [options]
 */
export async function temporal(id, { quiet, ...options } = {}) {
  const aggregated = Boolean(options.aggrMethods);
  const body = await get(`${NGSI}/temporal/entities/${encodeURIComponent(id)}`, {
    ...options,
    options: aggregated ? "aggregatedValues" : "temporalValues",
  }, { quiet });
  const series = {};
  for (const [name, value] of Object.entries(body || {})) {
    if (name === "id" || name === "type" || !value || typeof value !== "object") continue;
    series[name] = aggregated ? Object.fromEntries(
      Object.entries(value).filter(([key]) => key !== "type")) : (value.values || []);
  }
  return series;
}

export const api = { get, post, entities, entity, count, kpis, temporal };
