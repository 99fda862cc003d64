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

/**
 * The text of `key` in the current language, `{name}` placeholders filled from `vars`.
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 */
export function t(key, vars) {
  const text = catalogue[current][key] ?? catalogue.en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Whether `key` has a translation (pages use it for optional keys such as unit names). */
export function has(key) {
  return key in catalogue[current] || key in catalogue.en;
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
