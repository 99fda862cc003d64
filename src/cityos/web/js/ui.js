/**
 * Small DOM helpers every page shares: element builder, table, toast, formatters.
 * No framework: pages build their DOM with el() and re-render text on a language change.
 */

import { has, language, locale, t } from "./i18n.js";

/**
 * Build an element.
 * attrs: plain attributes, plus `class`, `text` (textContent), `dataset` (object),
 * `style` (object), `on<event>` (listener, e.g. onclick) and boolean attributes (true/false).
 * children: nodes, strings, or null/false (skipped), possibly nested in arrays.
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "html") throw new Error("el(): no raw HTML; build nodes instead");
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style" && typeof value === "object") Object.assign(node.style, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** Remove every child of `node`, then append `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/**
 * A table.
 * columns: [{key, label, value?(row) → node|string, className?, numeric?}]
 * `label` is a translation key; a column is right-aligned when numeric.
 * options.caption: a translation key read by screen readers; options.onRow(row): makes
 * each row a keyboard-reachable button-like row; options.rowAttrs(row) → {attribute: value}
 * for each <tr> (test hooks such as data-case-id, aria-current).
 */
export function table(columns, rows, options = {}) {
  const head = el("thead", {}, el("tr", {}, columns.map((c) =>
    el("th", { scope: "col", class: c.numeric ? "num" : null, text: t(c.label) }))));
  const body = el("tbody", {}, rows.map((row) => {
    const tr = el("tr", {}, columns.map((c) => {
      const value = c.value ? c.value(row) : row[c.key];
      return el("td", { class: [c.numeric ? "num" : "", c.className || ""].join(" ").trim() || null },
        value === null || value === undefined || value === "" ? "—" : value);
    }));
    for (const [name, value] of Object.entries(options.rowAttrs?.(row) || {})) {
      if (value !== null && value !== undefined && value !== false) tr.setAttribute(name, value === true ? "" : String(value));
    }
    if (options.onRow) {
      tr.tabIndex = 0;
      tr.classList.add("clickable");
      tr.addEventListener("click", () => options.onRow(row));
      tr.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          options.onRow(row);
        }
      });
    }
    return tr;
  }));
  return el("table", { class: "data" }, [
    options.caption ? el("caption", { class: "sr-only", text: t(options.caption) }) : null,
    head, body,
  ]);
}

let toastBox = null;

/** A short message in the corner; kind 'error' stays longer and is announced assertively. */
export function toast(message, kind = "info") {
  if (!toastBox) {
    toastBox = el("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastBox);
  }
  const note = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : null, text: message });
  toastBox.append(note);
  setTimeout(() => note.remove(), kind === "error" ? 8000 : 4000);
  return note;
}

/**
 * The path of a photo when it is one of this server's /media/ files, else null: the pages
 * load a case's photos from the city's own media only (never a URL someone typed).
 */
export function mediaPath(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, location.origin);
    return url.origin === location.origin && url.pathname.startsWith("/media/") ? url.pathname : null;
  } catch {
    return null;
  }
}

/** A number in the current language; null/NaN → "—". */
export function fmtNumber(value, { digits, compact = false } = {}) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  const number = Number(value);
  const fraction = digits ?? (Math.abs(number) >= 100 || Number.isInteger(number) ? 0 : Math.abs(number) >= 10 ? 1 : 2);
  return new Intl.NumberFormat(locale(), {
    maximumFractionDigits: fraction,
    minimumFractionDigits: 0,
    notation: compact ? "compact" : "standard",
  }).format(number);
}

/** A percentage from a ratio (0.71 → "71%"). */
export function fmtPercent(ratio, digits = 0) {
  if (ratio === null || ratio === undefined) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: digits }).format(ratio);
}

/** Date and time in the current language, in the browser's time zone. */
export function fmtDate(value, { time = true } = {}) {
  if (!value) return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), time
    ? { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
    : { year: "numeric", month: "short", day: "numeric" }).format(date);
}

/** "5 minutes ago" / "5分钟前". */
export function fmtAgo(value) {
  const time = value ? new Date(value).getTime() : NaN;
  if (!Number.isFinite(time)) return "—";
  const seconds = (time - Date.now()) / 1000;
  const units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  const [unit, size] = units.find(([, s]) => Math.abs(seconds) >= s) || units[3];
  return new Intl.RelativeTimeFormat(locale(), { numeric: "auto" }).format(Math.round(seconds / size), unit);
}

/**
 * A value that may be an NGSI-LD LanguageMap ({en, zh}) as text in the current language.
 * Names of simulated entities often read "X (simulated)": shown as they are.
 */
export function text(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object" && !Array.isArray(value)) {
    return value[language()] ?? value.en ?? Object.values(value)[0] ?? "";
  }
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/** The short, readable end of an NGSI-LD id (urn:ngsi-ld:Train:x-1 → x-1). */
export function shortId(id) {
  return String(id || "").split(":").slice(3).join(":") || String(id || "");
}

/** A loading / empty / error line in a panel. */
export function note(key, kind = "muted") {
  return el("p", { class: `note ${kind}`, text: t(key) });
}

/** Debounce fn by `ms` (search boxes, resize). */
export function debounce(fn, ms = 200) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * The AQI category of an air-quality index (HJ 633-2012, China's six bands):
 * {level 1–6, key (translation), color (CSS variable)}; null for no reading.
 */
export function aqiCategory(aqi) {
  if (aqi === null || aqi === undefined || Number.isNaN(Number(aqi))) return null;
  const bands = [50, 100, 150, 200, 300, Infinity];
  const names = ["excellent", "good", "light", "moderate", "heavy", "severe"];
  const level = bands.findIndex((upper) => Number(aqi) <= upper) + 1;
  return { level, key: `aqi.${names[level - 1]}`, color: `var(--aqi-${level})` };
}

export const strings = {
  en: {
    "aqi.excellent": "Excellent",
    "aqi.good": "Good",
    "aqi.light": "Lightly polluted",
    "aqi.moderate": "Moderately polluted",
    "aqi.heavy": "Heavily polluted",
    "aqi.severe": "Severely polluted",
    "ui.loading": "Loading…",
    "ui.none": "Nothing to show yet.",
    "ui.close": "Close",
    "ui.simulatedHistory": "Simulated history: {from} – {until} was back-filled when the demo started",
  },
  zh: {
    "aqi.excellent": "优",
    "aqi.good": "良",
    "aqi.light": "轻度污染",
    "aqi.moderate": "中度污染",
    "aqi.heavy": "重度污染",
    "aqi.severe": "严重污染",
    "ui.loading": "加载中…",
    "ui.none": "暂无数据。",
    "ui.close": "关闭",
    "ui.simulatedHistory": "模拟历史：{from} – {until} 的数据在演示启动时补录",
  },
  pl: {
    "ui.simulatedHistory": "Historia symulowana: {from} – {until} uzupełniono przy starcie demonstracji",
  },
};

/* ---- helpers shared by the domain pages (freight, manufacturing, environment, rural) ---- */

/** A "simulated history" badge for an entity whose recent history the demo back-filled
 * (`simulatedHistory` {from, until}), null for any other: a chart never passes it off as
 * measured. */
export function simulatedHistoryNote(entity) {
  const span = entity?.simulatedHistory;
  if (!span || typeof span !== "object" || !span.from || !span.until) return null;
  return el("span", {
    class: "badge simulated-history", "data-simulated-history": "true",
    text: t("ui.simulatedHistory", { from: fmtDate(span.from), until: fmtDate(span.until) }),
  });
}

/** t(key) when the key is translated, else `fallback` (names that only some data carry). */
export function tOr(key, fallback) {
  return has(key) ? t(key) : fallback;
}

/**
 * An entity's name in the current language: a LanguageMap's entry, or in Chinese the
 * `alternateName` when it is written in Chinese (the packs put 石板村, 工农小区 there).
 */
export function localName(entity) {
  if (!entity) return "";
  const alternate = entity.alternateName;
  if (language() === "zh" && typeof alternate === "string" && /[\u4e00-\u9fff]/.test(alternate)) return alternate;
  const name = text(entity.name);
  return name ? simulatedName(name) : shortId(entity.id);
}

const SIMULATED = " (simulated)";
/**
 * How the domain packs name the places they simulate, each as the key that words it in
 * another language; a `name` group is itself a place's name ("Plot 2 of farm 3, Shiban Village").
 */
const NAME_PATTERNS = [
  [/^Plot (?<p>\S+) of farm (?<n>\S+), (?<name>.+)$/, "name.plot"],
  [/^Farm (?<n>\S+), (?<name>.+)$/, "name.farm"],
  [/^(?<name>.+) Village weather station$/, "name.villageStation"],
  [/^(?<name>.+) Village$/, "name.Village"],
  [/^(?<name>.+) Community renewal$/, "name.communityRenewal"],
  [/^(?<name>.+) Community$/, "name.Community"],
  [/^Old building (?<n>\d+) in (?<district>.+)$/, "name.oldBuilding"],
  [/^(?<district>.+) produce wholesale market$/, "name.market"],
  [/^(?<name>.+) river gauge$/, "name.gauge"],
  [/^(?<district>.+) car park (?<n>\d+)$/, "name.carPark"],
  [/^(?<district>.+) road sensor (?<n>\d+)$/, "name.roadSensor"],
  [/^(?<district>.+) Primary School (?<n>\d+)$/, "name.primarySchool"],
  [/^(?<district>.+) Middle School (?<n>\d+)$/, "name.middleSchool"],
  [/^(?<district>.+) High School (?<n>\d+)$/, "name.highSchool"],
];

/**
 * A simulated place's English name in a language that words it ("Shiban Village (simulated)"
 * → "wieś Shiban (symulacja)" in Polish); unchanged where the language has no such words.
 */
export function simulatedName(name) {
  const simulated = name.endsWith(SIMULATED) && has("name.simulated");
  const core = simulated ? name.slice(0, -SIMULATED.length) : name;
  const worded = placeName(core);
  return simulated ? t("name.simulated", { name: worded }) : worded;
}

function placeName(name) {
  for (const [pattern, key] of NAME_PATTERNS) {
    const groups = pattern.exec(name)?.groups;
    if (!groups || !has(key)) continue;
    // A place named inside another's name ("…, Shiban Village (simulated)") is worded once.
    const inner = groups.name?.endsWith(SIMULATED) ? groups.name.slice(0, -SIMULATED.length) : groups.name;
    return t(key, { ...groups, ...(inner ? { name: placeName(inner) } : {}) });
  }
  return name;
}

/**
 * Call fn at most once every `ms`, the last call winning: live streams deliver bursts
 * (every machine every few seconds) and a debounce would never fire while they last.
 */
export function throttle(fn, ms = 1000) {
  let timer = null;
  let pending = null;
  const run = () => {
    timer = null;
    if (!pending) return;
    const args = pending;
    pending = null;
    fn(...args);
    timer = setTimeout(run, ms);
  };
  const throttled = (...args) => {
    pending = args;
    if (timer === null) run();
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return throttled;
}

/** "2026-10" → "Oct 2026" / "2026年10月". */
export function fmtMonth(month) {
  const [year, number] = String(month).split("-").map(Number);
  if (!year || !number) return String(month);
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "short", timeZone: "UTC" })
    .format(new Date(Date.UTC(year, number - 1, 1)));
}

/**
 * Near-black or white, whichever has the higher WCAG contrast ratio on the background
 * `color`: #rrggbb, or var(--token) read from app.css. The ratio, not a brightness cut-off:
 * mid-tones such as --ok (#2e9d6a) give white only 3.4:1 but near-black 5.5:1.
 */
export function textOn(color) {
  const token = /^var\((--[\w-]+)\)$/.exec(String(color).trim());
  const hex = token ? getComputedStyle(document.documentElement).getPropertyValue(token[1]).trim() : String(color);
  const match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) return "#fff";
  const linear = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [r, g, b] = match.slice(1).map((c) => linear(parseInt(c, 16) / 255));
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const dark = 0.0056; // #111
  return (1.05 / (luminance + 0.05) >= (luminance + 0.05) / (dark + 0.05)) ? "#fff" : "#111";
}

/** A label on a coloured background (status, AQI category); text colour picked for contrast. */
export function chip(label, color) {
  return el("span", { class: "badge", style: { background: color, color: textOn(color), whiteSpace: "nowrap" }, text: label });
}

/**
 * A horizontal bar for a share (train progress, project progress, budget spent).
 * ratio 0–1 (clamped for the bar; the label says the real figure); `label` is its name, read
 * aloud (an image needs one, WCAG 1.1.1): by default the share as a percentage. Without a
 * ratio (null) and a label the bar says nothing and is hidden from assistive technology.
 */
export function bar(ratio, { color = "var(--accent)", label = "", width = "100%" } = {}) {
  const known = ratio !== null && ratio !== undefined && Number.isFinite(Number(ratio));
  const share = Math.max(0, Math.min(1, Number(ratio) || 0));
  const name = label || (known ? fmtPercent(Number(ratio), 1) : "");
  return el("div", {
    class: "bar", role: name ? "img" : null, "aria-hidden": name ? null : "true", "aria-label": name || null, title: name || null,
    style: { width, height: "8px", background: "var(--line)", borderRadius: "4px", overflow: "hidden", marginTop: "3px" },
  }, el("div", { style: { width: `${(share * 100).toFixed(1)}%`, height: "100%", background: color } }));
}

/**
 * A map legend: [{color, label, shape?: "dot"|"square"|"diamond"|"line"|"ring"}].
 * Labels are already translated.
 */
export function legend(items) {
  const swatch = ({ color, shape = "dot" }) => el("span", {
    "aria-hidden": "true",
    style: {
      display: "inline-block", flex: "none",
      width: shape === "line" ? "18px" : "11px", height: shape === "line" ? "3px" : "11px",
      background: shape === "ring" ? "transparent" : color,
      border: shape === "ring" ? `2px solid ${color}` : "1px solid rgba(0,0,0,.3)",
      borderRadius: shape === "dot" || shape === "ring" ? "50%" : shape === "diamond" ? "1px" : "2px",
      transform: shape === "diamond" ? "rotate(45deg)" : null,
    },
  });
  return el("ul", {
    class: "legend",
    style: { display: "flex", flexWrap: "wrap", gap: "4px 14px", listStyle: "none", margin: "6px 0 0", padding: 0, fontSize: "12px" },
  }, items.map((item) => el("li", { style: { display: "flex", alignItems: "center", gap: "5px" } }, [swatch(item), item.label])));
}

/**
 * A key figure: label above, value (and unit) below; `tone` ok|warn|bad colours the value.
 * @param {string} label translated
 * @param {string} value formatted
 */
export function stat(label, value, { unit = "", tone = "", title = "" } = {}) {
  const colors = { ok: "var(--ok-text)", warn: "var(--warn-text)", bad: "var(--bad)" };
  return el("div", { class: "stat panel", title: title || null, style: { padding: "8px 12px", minWidth: "0" } }, [
    el("div", { class: "muted", style: { fontSize: "12px", whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis" }, text: label }),
    el("div", { style: { fontSize: "20px", fontWeight: "600", color: colors[tone] || null, fontVariantNumeric: "tabular-nums" } }, [
      value, unit ? el("span", { class: "muted", style: { fontSize: "12px", fontWeight: "400", marginLeft: "4px" }, text: unit }) : null,
    ]),
  ]);
}

/** A row of stat() figures that wraps, each at least `min` wide. */
export function stats(children, min = "150px") {
  return el("div", {
    class: "stats",
    style: { display: "grid", gridTemplateColumns: `repeat(auto-fit, minmax(${min}, 1fr))`, gap: "8px", marginBottom: "12px" },
  }, children);
}

/** Side-by-side columns: a CSS grid with the column `template` (e.g. "minmax(0, 3fr) minmax(0, 2fr)"). */
export function columns(template, children, { gap = "12px", align = "start" } = {}) {
  return el("div", {
    class: "columns",
    style: { display: "grid", gridTemplateColumns: template, gap, alignItems: align, marginBottom: gap },
  }, children);
}

/**
 * The threshold a rule's `q` puts on an attribute ("soilMoistureVwc<0.18" → 0.18), so pages
 * draw the limits the city actually enforces; `fallback` when the rule is not loaded.
 */
export function ruleThreshold(rules, ruleId, attribute, fallback = null) {
  const rule = (rules || []).find((r) => r.id === ruleId);
  const q = rule?.when?.q || "";
  const match = new RegExp(`${attribute}\\s*[<>]=?\\s*(-?[\\d.]+)`).exec(q);
  return match ? Number(match[1]) : fallback;
}

/**
 * A function naming a Chongqing district in the current language ("Yubei" → 渝北区 in
 * Chinese), from the district boundaries the maps ship; unknown names pass through.
 * @param {{districts: () => Promise<object>}} maps ctx.maps
 */
export async function districtNamer(maps) {
  const zh = new Map();
  try {
    for (const feature of (await maps.districts()).features || []) {
      const { name, name_zh: nameZh } = feature.properties || {};
      if (name && nameZh) zh.set(name, nameZh);
    }
  } catch {
    /* without the boundaries, names stay in English */
  }
  return (name) => (language() === "zh" && zh.has(name) ? zh.get(name) : name || "");
}

/**
 * An alert's text in the current language. The rule that raised it worded it (the packaged
 * rules in English, "urn:…:s2-4 is 806 s late"); a language with a text for the alert's
 * subCategory (`alert.<subCategory>`, which is the rule's id when the rule names none) says
 * it its own way: {id} the entity, {value}, {n2}, {n3}… the figures of the text in order.
 */
export function alertText(alert) {
  const description = text(alert?.description);
  const key = `alert.${alert?.subCategory}`;
  if (!alert?.subCategory || !has(key)) return description;
  const id = typeof alert.alertSource === "string" ? alert.alertSource : alert.alertSource?.object || "";
  const figures = (id ? description.replace(id, "") : description).match(/-?\d+(?:\.\d+)?/g) || [];
  const vars = { id };
  figures.forEach((figure, index) => { vars[index ? `n${index + 1}` : "value"] = fmtNumber(Number(figure)); });
  return t(key, vars);
}

/* ---- helpers shared by the governance pages (cases, report) ---- */

let catalogueOnce = null;

/**
 * A governance category or department in the current language: its nameZh in Chinese, a
 * translation `gov.<kind>.<code or id>` where a language has one (Polish), else its name.
 * @param {"category"|"department"} kind
 * @param {{code?: string, id?: string, name: string, nameZh?: string} | undefined} item
 * @param {string} [fallback] shown for an item the catalogue does not list
 */
export function catalogueName(kind, item, fallback) {
  if (!item) return fallback || "";
  if (language() === "zh" && item.nameZh) return item.nameZh;
  return tOr(`gov.${kind}.${kind === "category" ? item.code : item.id}`, item.name);
}

/**
 * The governance catalogue (/governance/catalogue), fetched once per page load, with
 * lookups that name a category or department in the current language (nameZh in Chinese).
 * @param {{get: Function}} api ctx.api
 * @returns {Promise<{categories: object[], departments: object[], states: string[], actions: string[],
 *   category: (code: string) => string, department: (id: string) => string}>}
 */
export function governanceCatalogue(api) {
  if (!catalogueOnce) {
    catalogueOnce = api.get("/governance/catalogue").then((body) => {
      const named = (list, key) => new Map((list || []).map((item) => [item[key], item]));
      const categories = named(body.categories, "code");
      const departments = named(body.departments, "id");
      return {
        ...body,
        category: (code) => catalogueName("category", categories.get(code), code),
        department: (id) => catalogueName("department", departments.get(id), id),
      };
    }).catch((error) => {
      catalogueOnce = null; // try again on the next visit
      throw error;
    });
  }
  return catalogueOnce;
}

/**
 * The readable reason of a failed request: an NGSI-LD/governance problem's detail, or an
 * Open311 error list's descriptions ([{code, description}]), else the error's message.
 */
export function problemText(error) {
  const problem = error?.problem;
  if (Array.isArray(problem)) return problem.map((p) => p.description).filter(Boolean).join(" ") || error.message;
  return problem?.detail || problem?.title || error?.message || String(error);
}
