/**
 * Translations: every visible string goes through t(key, vars).
 *
 * Strings are registered per language by the shell and by each page module (add()); a
 * key missing in Chinese or Polish falls back to English, then to the key itself, so a gap
 * shows as readable English rather than a blank.
 */

const STORAGE_KEY = "cityos.lang";
const LANGUAGES = ["en", "zh", "pl"];
/** BCP 47 tags for <html lang>, Intl formatters and Leaflet's text. */
const TAGS = { en: "en", zh: "zh-CN", pl: "pl-PL" };

const catalogue = { en: {}, zh: {}, pl: {} };
const listeners = new Set();

function initialLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(stored)) return stored;
  const browser = (navigator.language || "").toLowerCase();
  return LANGUAGES.find((lang) => browser.startsWith(lang)) || "en";
}

let current = initialLanguage();
document.documentElement.lang = TAGS[current];

/** Register strings: `{en: {key: text}, zh: {key: text}, pl: {key: text}}`. Later additions win. */
export function add(strings) {
  for (const language of LANGUAGES) Object.assign(catalogue[language], strings?.[language] || {});
}

/** The vars that carry the count a sentence agrees with, in order of preference. */
const COUNT_VARS = ["n", "count"];

/**
 * The count in `vars` as a number: a number as given, or a figure as fmtNumber wrote it in
 * the current language ("1 234", "1,5" in Polish); null when there is none.
 */
function countOf(vars) {
  for (const name of COUNT_VARS) {
    const value = vars[name];
    if (typeof value === "number") return value;
    if (typeof value === "string" && /^-?[\d\s\u00a0\u202f.,]+$/.test(value)) {
      const parts = new Intl.NumberFormat(TAGS[current]).formatToParts(12345.5);
      const group = parts.find((p) => p.type === "group")?.value ?? ",";
      const decimal = parts.find((p) => p.type === "decimal")?.value ?? ".";
      const plain = value.split(group).join("").replace(/[\s\u00a0\u202f]/g, "").replace(decimal, ".");
      const number = Number(plain);
      if (Number.isFinite(number)) return number;
    }
  }
  return null;
}

/**
 * The plural variant of `key` that agrees with the count in `vars` (CLDR categories through
 * Intl.PluralRules: Polish "1 zgłoszenie, 2 zgłoszenia, 5 zgłoszeń" are `key.one`, `key.few`,
 * `key.many`, fractions `key.other`), when the current language has it; else `key` itself.
 */
function plural(key, vars) {
  if (!vars) return key;
  const count = countOf(vars);
  if (count === null) return key;
  const fraction = Number.isInteger(count) ? 0 : 3;
  const category = new Intl.PluralRules(TAGS[current], { minimumFractionDigits: fraction }).select(count);
  const variant = `${key}.${category}`;
  return variant in catalogue[current] ? variant : key;
}

/**
 * The text of `key` in the current language, `{name}` placeholders filled from `vars`; with a
 * count in `vars.n` (or `vars.count`), the plural variant `key.one|few|many|other` if there is one.
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 */
export function t(key, vars) {
  const chosen = plural(key, vars);
  const text = catalogue[current][chosen] ?? catalogue.en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Whether `key` has a translation (pages use it for optional keys such as unit names). */
export function has(key) {
  return key in catalogue[current] || key in catalogue.en;
}

/** The languages every module writes in full; the others are checked against them. */
const COMPLETE = ["en", "zh"];

/**
 * The keys English or Chinese registers that `lang` has no text for (a plural variant
 * `key.one…` counts for its key): the gaps a test fails on. Call it once every page loaded.
 * @param {string} lang
 */
export function missing(lang) {
  const own = catalogue[lang] || {};
  const keys = new Set(COMPLETE.filter((other) => other !== lang).flatMap((other) => Object.keys(catalogue[other])));
  const covered = (key) => key in own || key.replace(/\.(zero|one|two|few|many|other)$/, "") in own;
  return [...keys].filter((key) => !covered(key)).sort();
}

/** 'en', 'zh' or 'pl'. */
export function language() {
  return current;
}

/** The BCP 47 tag of the current language ('en', 'zh-CN', 'pl-PL'). */
export function locale() {
  return TAGS[current];
}

/** Switch language, remember it, and tell every listener. */
export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = TAGS[lang];
  for (const fn of [...listeners]) fn(lang);
}

/** Call fn(lang) after each language change; returns the function that stops it. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
