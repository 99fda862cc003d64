/**
 * What the citizens' pages share: calls to /citizen/v1 in the page's language, photos from
 * the city's own /media/ only, state labels. Everything from the server is shown as text
 * (ui.el with `text`), never parsed as HTML.
 */

import { language, t } from "../js/i18n.js";
import { el, fmtNumber, mediaPath } from "../js/ui.js";

export const API = "/citizen/v1";
export const MAX_PHOTOS = 3;
/** Where the maps open: the city centre (Yuzhong), close enough to tap a street. */
export const CITY_START = { center: [29.5630, 106.5516], zoom: 12 };

/** An error a citizen can read: the server's message (already in their language) or ours. */
export class CitizenError extends Error {
  constructor(message, status = 0, code = "") {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * fetch a /citizen/v1 path (`?lang=` added so answers and refusals come in the page's
 * language); the JSON answer, or a CitizenError whose message is for the citizen.
 * @param {string} path
 * @param {RequestInit & {query?: Record<string, string|number>}} [options]
 */
export async function call(path, { query = {}, ...init } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, String(value));
  url.searchParams.set("lang", language());
  let response;
  try {
    response = await fetch(url, { ...init, headers: { Accept: "application/json", ...(init.headers || {}) } });
  } catch {
    throw new CitizenError(t("c.error.network"));
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = typeof body?.message === "string" && body.message ? body.message : t("c.error.status", { status: response.status });
    throw new CitizenError(message, response.status, body?.error || "");
  }
  return body;
}

/** <img> of a report's photo (or nothing when the URL is not the city's own media). */
export function photo(value, alt, className = "c-photo") {
  const src = mediaPath(value);
  return src ? el("img", { class: className, src, alt, loading: "lazy", decoding: "async" }) : null;
}

const STATES = new Set(["reported", "accepted", "rejected", "merged", "dispatched", "in_progress", "resolved", "verified", "closed"]);

/** A state's name in the page's language (an unknown state shown as it is). */
export function stateName(state) {
  return STATES.has(state) ? t(`c.state.${state}`) : String(state ?? "—");
}

/** A coloured badge with the state's name. */
export function stateBadge(state) {
  return el("span", { class: "c-state", dataset: { state: STATES.has(state) ? state : "other" }, text: stateName(state) });
}

/** How many said "me too", in the page's language. */
export function supportersText(count) {
  return t("c.supporters", { count: fmtNumber(Number(count) || 0) });
}

/** The path of a report's public page. */
export function trackPath(reference) {
  return `/report/${encodeURIComponent(reference)}`;
}

/** The message shown in an alert box. */
export function alertBox(message) {
  return el("p", { class: "c-alert", role: "alert", text: message });
}
