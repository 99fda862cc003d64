/**
 * Compare cities (#/compare?cities=a,b,c): the indicator catalogue's values for the chosen
 * cities side by side, from GET /indicators (which cities have values) and
 * GET /indicators/compare?cities=… (the table, its sources and the theme scores).
 *
 * - The chooser: a checkbox per city; the choice lives in the URL hash, so a link
 *   reproduces it (no `cities` in the hash: the default four).
 * - The table: a row per indicator (and basis, when the row is on one), a column per city;
 *   each value with its unit, year, rank badge (1 = best among the cities that have it)
 *   and citation markers [n] pointing into the numbered sources under the table. A missing
 *   value reads "missing": never blank, never 0. The API's note is the cell's tooltip.
 * - Charts: the theme scores (each city's mean share of the best per theme) as a radar from
 *   three scored themes on, else as grouped bars; then a small bar chart per ranked
 *   indicator, its missing cities labelled "missing".
 *
 * Names come from the catalogue (English); this page's strings add Chinese ones for the
 * packaged indicators, themes, units and cities, with the catalogue's text as the fallback.
 */

import { el, fmtNumber, problemText, replace, tOr } from "../ui.js";

export const id = "compare";
export const titleKey = "compare.nav";

/** The cities compared when the hash names none. */
const DEFAULT_CITIES = ["chongqing", "london", "warsaw", "duisburg"];
/** A radar needs this many scored themes to be a shape; fewer are drawn as bars. */
const RADAR_MIN_THEMES = 3;
const RADAR_HEIGHT = "340px";
/** Values from this size on are written compactly (7.46M, 3.01T); the tooltip has them whole. */
const COMPACT_FROM = 1e6;

export const strings = {
  en: {
    "compare.title": "Compare cities",
    "compare.nav": "Compare",
    "compare.intro": "Indicators of the chosen cities side by side: each value with its year, its rank among the cities that have it (1 = best) and its sources. A missing value is shown as missing, never as zero.",
    "compare.cities": "Cities",
    "compare.chooseOne": "Choose at least one city.",
    "compare.unknown": "Not in the reference data, left out: {cities}",
    "compare.loading": "Loading…",
    "compare.failed": "The comparison could not be loaded: {detail}",
    "compare.catalogueFailed": "The indicator catalogue could not be loaded: {detail}",
    "compare.table": "Indicators",
    "compare.tableCaption": "Indicators of the chosen cities: value, unit, year, rank and sources",
    "compare.indicator": "Indicator",
    "compare.noRows": "No indicator has a value for these cities.",
    "compare.missing": "missing",
    "compare.rank": "Rank {rank} of {of}",
    "compare.best": "best",
    "compare.year": "Year {year}",
    "compare.source": "Source {n}: {source}",
    "compare.sources": "Sources",
    "compare.noSources": "No sources: no value is shown.",
    "compare.themes": "Theme scores",
    "compare.themesHint": "Each city's mean share of the best value per theme (100 = best in every ranked indicator of the theme).",
    "compare.noThemes": "No theme has a ranked indicator for these cities.",
    "compare.score": "Score",
    "compare.ranked": "Ranked indicators",
    "compare.noRanked": "No indicator is ranked for these cities: a rank needs two cities with a value.",
    "compare.basis.city proper": "city proper",
    "compare.basis.municipality": "municipality",
  },
  zh: {
    "compare.title": "城市对比",
    "compare.nav": "城市对比",
    "compare.intro": "所选城市的指标并列对比：每个数值附年份、在有数据城市中的排名（1 为最佳）及来源。缺失的数值标为“缺失”，绝不以零代替。",
    "compare.cities": "城市",
    "compare.chooseOne": "请至少选择一个城市。",
    "compare.unknown": "参考数据中没有以下城市，已略去：{cities}",
    "compare.loading": "加载中…",
    "compare.failed": "无法加载对比数据：{detail}",
    "compare.catalogueFailed": "无法加载指标目录：{detail}",
    "compare.table": "指标",
    "compare.tableCaption": "所选城市的指标：数值、单位、年份、排名及来源",
    "compare.indicator": "指标",
    "compare.noRows": "这些城市没有任何指标数值。",
    "compare.missing": "缺失",
    "compare.rank": "第 {rank} 名（共 {of} 个城市）",
    "compare.best": "最佳",
    "compare.year": "{year} 年",
    "compare.source": "来源 {n}：{source}",
    "compare.sources": "来源",
    "compare.noSources": "无来源：没有显示任何数值。",
    "compare.themes": "主题得分",
    "compare.themesHint": "各城市在每个主题中相对最佳值的平均比例（100 表示该主题每个排名指标均为最佳）。",
    "compare.noThemes": "这些城市在任何主题中都没有可排名的指标。",
    "compare.score": "得分",
    "compare.ranked": "排名指标",
    "compare.noRanked": "这些城市没有可排名的指标：排名需要至少两个城市有数值。",
    "compare.basis.city proper": "市区",
    "compare.basis.municipality": "全市域",
    "compare.city.chongqing": "重庆",
    "compare.city.london": "伦敦",
    "compare.city.warsaw": "华沙",
    "compare.city.duisburg": "杜伊斯堡",
    "compare.theme.economy": "经济",
    "compare.theme.education": "教育",
    "compare.theme.energy": "能源",
    "compare.theme.environment": "环境",
    "compare.theme.finance": "财政",
    "compare.theme.governance": "治理",
    "compare.theme.health": "卫生",
    "compare.theme.housing": "住房",
    "compare.theme.population": "人口",
    "compare.theme.recreation": "休闲",
    "compare.theme.safety": "安全",
    "compare.theme.solid waste": "固体废物",
    "compare.theme.sport and culture": "体育与文化",
    "compare.theme.telecommunication": "电信",
    "compare.theme.transportation": "交通",
    "compare.theme.urban agriculture": "城市农业",
    "compare.theme.urban planning": "城市规划",
    "compare.theme.wastewater": "污水",
    "compare.theme.water": "供水",
    "compare.theme.smart": "智慧城市",
    "compare.ind.iso37120-18.1": "每 10 万人口大运量公共交通系统里程",
    "compare.ind.iso37120-18.3": "人均年公共交通出行次数",
    "compare.ind.population": "人口",
    "compare.ind.gdp": "地区生产总值",
    "compare.ind.urban-rail-length": "城市轨道交通里程",
    "compare.ind.urban-rail-stations": "城市轨道交通车站数",
    "compare.ind.urban-rail-ridership": "城市轨道交通年客运量",
    "compare.ind.urban-rail-ridership-per-capita": "人均城市轨道交通年乘次",
    "compare.ind.governance-on-time-accept": "案件按时受理率",
    "compare.ind.sensors-reporting": "在线传感器比例",
    "compare.ind.freight-trains-per-month": "中欧班列月开行量",
    "compare.ind.freight-trains-per-year": "中欧班列年开行量",
    "compare.ind.freight-teu-per-year": "中欧班列年运量（标箱）",
    "compare.ind.air-quality-good-days": "空气质量优良天数比例",
    "compare.ind.oee": "设备综合效率",
    "compare.unit.km per 100 000 population": "公里/10 万人",
    "compare.unit.trips per capita per year": "次/人·年",
    "compare.unit.persons": "人",
    "compare.unit.CNY": "元",
    "compare.unit.km": "公里",
    "compare.unit.stations": "座",
    "compare.unit.rides per year": "人次/年",
    "compare.unit.rides per capita per year": "人次/人·年",
    "compare.unit.trains per month": "列/月",
    "compare.unit.trains per year": "列/年",
    "compare.unit.TEU per year": "标箱/年",
  },
};

/* ---- names and numbers in the current language ---- */

/** "chongqing" → "Chongqing" / 重庆. */
function cityName(city) {
  return tOr(`compare.city.${city}`, city.replace(/(^|[\s-])\p{L}/gu, (letter) => letter.toUpperCase()));
}

const indicatorName = (indicator) => tOr(`compare.ind.${indicator.id}`, indicator.name);
const themeName = (theme) => tOr(`compare.theme.${theme}`, theme);
const unitName = (unit) => (unit ? tOr(`compare.unit.${unit}`, unit) : "");
const basisName = (basis) => tOr(`compare.basis.${basis}`, basis);

/** A value as shown in a cell: compact when large (the full figure is in the tooltip). */
function fmtValue(value) {
  return Math.abs(value) >= COMPACT_FROM ? fmtNumber(value, { compact: true, digits: 2 }) : fmtNumber(value);
}

/* ---- the choice of cities, in the hash ---- */

/**
 * The cities a hash query names, split into those with reference data (`chosen`, in the
 * query's order) and the rest (`unknown`); no `cities` at all: the default ones.
 * @param {URLSearchParams} query
 * @param {string[]} known the cities of /indicators
 */
function chosenCities(query, known) {
  if (!query?.has("cities")) {
    const defaults = DEFAULT_CITIES.filter((city) => known.includes(city));
    return { chosen: defaults.length ? defaults : known.slice(0, 4), unknown: [] };
  }
  const named = [...new Set(query.get("cities").split(",").map((c) => c.trim().toLowerCase()).filter(Boolean))];
  return { chosen: named.filter((c) => known.includes(c)), unknown: named.filter((c) => !known.includes(c)) };
}

/** Put the choice in the hash; the router hands it back through route(). */
function navigateTo(cities) {
  location.hash = `#/${id}?cities=${cities.map(encodeURIComponent).join(",")}`;
}

/* ---- the table ---- */

/** Source text → its number in the list under the table (1-based, the API's order). */
function sourceNumbers(sources) {
  return new Map(sources.map((source, index) => [source, index + 1]));
}

const sourceAnchor = (n) => `compare-source-${n}`;

/** A citation marker [n]: a link to the numbered source (scrolled to, the hash untouched). */
function citationLink(source, numbers, t) {
  const n = numbers.get(source);
  if (!n) return el("sup", { class: "cite unlisted", text: `[${source}]` });
  return el("a", {
    class: "cite", href: `#${sourceAnchor(n)}`, "data-source": n,
    title: t("compare.source", { n, source }), "aria-label": t("compare.source", { n, source }),
    text: `[${n}]`,
    onclick: (event) => {
      event.preventDefault(); // the hash is the router's: scroll instead of navigating
      const target = document.getElementById(sourceAnchor(n));
      target?.scrollIntoView({ block: "center", behavior: "smooth" });
      target?.focus({ preventScroll: true });
    },
  });
}

/** The rank badge: "1" highlighted as the best; the ranked cities' count in the tooltip. */
function rankBadge(rank, of, t) {
  const label = t("compare.rank", { rank, of });
  return el("span", { class: `rank${rank === 1 ? " rank-1" : ""}`, title: label, "aria-label": label, text: String(rank) });
}

/** One city's cell of a row: value + unit, year, rank, citations; or "missing". */
function valueCell(cell, rankedCount, numbers, t) {
  if (cell.value === null || cell.value === undefined) {
    return el("td", { class: "missing", "data-city": cell.city, title: cell.note || null, text: t("compare.missing") });
  }
  const whole = `${fmtNumber(cell.value, { digits: 6 })} ${unitName(cell.unit)}`.trim();
  return el("td", {
    class: "value", "data-city": cell.city, "data-rank": cell.rank ?? null,
    title: [whole, cell.note].filter(Boolean).join("\n"),
  }, [
    el("span", { class: "figure", text: fmtValue(cell.value) }),
    cell.unit ? el("span", { class: "unit", text: ` ${unitName(cell.unit)}` }) : null,
    cell.year ? el("span", { class: "year", title: t("compare.year", { year: cell.year }), text: ` (${cell.year})` }) : null,
    cell.rank ? [" ", rankBadge(cell.rank, rankedCount, t)] : null,
    el("span", { class: "cites" }, (cell.citations || []).map((source) => citationLink(source, numbers, t))),
  ]);
}

/** The row's header: the indicator's name, its basis when the row is on one; definition as tooltip. */
function rowHeader(row) {
  const { indicator, basis } = row;
  return el("th", { scope: "row", title: indicator.definition || null }, [
    indicatorName(indicator),
    basis ? el("span", { class: "basis", text: ` · ${basisName(basis)}` }) : null,
  ]);
}

function tableRow(row, cities, numbers, t) {
  const byCity = new Map(row.cells.map((cell) => [cell.city, cell]));
  const rankedCount = row.cells.filter((cell) => cell.rank).length;
  return el("tr", { "data-indicator": row.indicator.id, "data-basis": row.basis || null }, [
    rowHeader(row),
    cities.map((city) => valueCell(byCity.get(city) || { city, value: null }, rankedCount, numbers, t)),
  ]);
}

/** Rows grouped by theme, in the API's (catalogue) order: a tbody per theme. */
function byTheme(rows) {
  const groups = new Map();
  for (const row of rows) {
    const theme = row.indicator.theme || "";
    if (!groups.has(theme)) groups.set(theme, []);
    groups.get(theme).push(row);
  }
  return groups;
}

function comparisonTable(result, t) {
  const numbers = sourceNumbers(result.sources || []);
  const { cities } = result;
  const head = el("thead", {}, el("tr", {}, [
    el("th", { scope: "col", text: t("compare.indicator") }),
    cities.map((city) => el("th", { scope: "col", "data-city": city, text: cityName(city) })),
  ]));
  const bodies = [...byTheme(result.rows)].map(([theme, rows]) => el("tbody", { "data-theme": theme }, [
    el("tr", { class: "theme-row" }, el("th", { scope: "colgroup", colspan: cities.length + 1, text: themeName(theme) })),
    rows.map((row) => tableRow(row, cities, numbers, t)),
  ]));
  return el("table", { class: "data compare-table" }, [
    el("caption", { class: "sr-only", text: t("compare.tableCaption") }), head, bodies,
  ]);
}

function sourceList(sources, t) {
  if (!sources.length) return el("p", { class: "note", text: t("compare.noSources") });
  return el("ol", { class: "compare-sources" }, sources.map((source, index) => el("li", {
    id: sourceAnchor(index + 1), tabindex: "-1", "data-source": index + 1,
  }, linkified(source))));
}

/** A source's text; a bare web address in it becomes a link. */
function linkified(source) {
  return String(source).split(/(https?:\/\/\S+)/).map((part) => (/^https?:\/\//.test(part)
    ? el("a", { href: part, rel: "noopener", target: "_blank", text: part }) : part));
}

/* ---- the charts ---- */

/**
 * The theme scores chart: a radar when enough themes are scored, else grouped bars.
 * @returns {object|null} the ECharts instance, null when no theme is scored
 */
function themeChart(box, result, charts, t) {
  const scored = Object.entries(result.themes || {})
    .filter(([, scores]) => Object.values(scores).some((score) => score !== null && score !== undefined));
  if (!scored.length) {
    box.style.height = "";
    replace(box, el("p", { class: "note", text: t("compare.noThemes") }));
    box.dataset.chart = "none";
    return null;
  }
  const series = result.cities.map((city) => ({ name: cityName(city), data: scored.map(([, scores]) => scores[city] ?? null) }));
  const format = (value) => fmtNumber(value, { digits: 0 });
  box.dataset.chart = scored.length >= RADAR_MIN_THEMES ? "radar" : "bars";
  if (box.dataset.chart === "radar") {
    box.style.height = RADAR_HEIGHT;
    return charts.radar(box, { indicators: scored.map(([theme]) => ({ name: themeName(theme), max: 100 })), series, format });
  }
  box.style.height = `${60 + scored.length * (result.cities.length * 22 + 14)}px`;
  return charts.bars(box, {
    categories: scored.map(([theme]) => themeName(theme)), series, unit: t("compare.score"),
    horizontal: true, labels: true, missing: t("compare.missing"), format,
  });
}

/** Rows with at least one ranked cell: the ones a bar chart compares. */
function rankedRows(result) {
  return result.rows.filter((row) => row.cells.some((cell) => cell.rank));
}

/** A small horizontal bar chart of one ranked indicator: a bar per city, missing ones labelled. */
function indicatorChart(row, cities, charts, t) {
  const byCity = new Map(row.cells.map((cell) => [cell.city, cell]));
  const holder = el("div", { class: "compare-chart small", "data-indicator": row.indicator.id });
  const figure = el("figure", { class: "panel compare-figure" }, [
    el("figcaption", { title: row.indicator.definition || null }, [
      indicatorName(row.indicator), el("span", { class: "unit", text: ` (${unitName(row.indicator.unit)})` }),
    ]),
    holder,
  ]);
  holder.style.height = `${48 + cities.length * 30}px`;
  const chart = () => charts.bars(holder, {
    categories: cities.map(cityName),
    series: [{ name: indicatorName(row.indicator), data: cities.map((city) => byCity.get(city)?.value ?? null) }],
    horizontal: true, labels: true, missing: t("compare.missing"), format: fmtValue,
  });
  return { figure, chart };
}

/* ---- the page ---- */

/** The page mounted now: route() reaches it when only the hash query changes. */
let active = null;

/** #/compare?cities=… again with another choice: compare those without remounting. */
export function route(params, query) {
  active?.show(query);
}

export async function mount(root, ctx) {
  const { api, t, charts } = ctx;
  const state = {
    known: [], loaded: false, query: ctx.query, chosen: [], unknown: [], result: null, error: null, loading: false, request: 0,
  };
  let drawn = [];

  const page = el("section", { class: "page compare", "data-page": id });
  const heading = el("h1");
  const intro = el("p", { class: "muted compare-intro" });
  const chooser = el("fieldset", { class: "panel compare-chooser" });
  const status = el("div", { class: "compare-status" });
  const tableTitle = el("h2");
  const tableBox = el("div", { class: "table-scroll", tabindex: "0", role: "region" });
  const sourcesTitle = el("h3");
  const sourcesBox = el("div");
  const themesTitle = el("h2");
  const themesHint = el("p", { class: "muted compare-hint" });
  const themesBox = el("div", { class: "compare-chart themes" });
  const rankedTitle = el("h2");
  const rankedBox = el("div", { class: "compare-figures" });
  const results = el("div", { class: "compare-results" }, [
    el("section", { class: "panel compare-table-panel" }, [tableTitle, tableBox, sourcesTitle, sourcesBox]),
    el("section", { class: "panel compare-themes" }, [themesTitle, themesHint, themesBox]),
    el("section", { class: "compare-ranked" }, [rankedTitle, rankedBox]),
  ]);
  page.append(heading, intro, chooser, status, results);
  replace(root, page);

  function renderChooser() {
    const boxes = state.known.map((city) => el("label", { class: "city-choice" }, [
      el("input", {
        type: "checkbox", name: "city", value: city, checked: state.chosen.includes(city),
        onchange: (event) => toggle(city, event.target.checked),
      }),
      ` ${cityName(city)}`,
    ]));
    replace(chooser, el("legend", { text: t("compare.cities") }), boxes);
  }

  /** A checkbox changed: the new choice goes to the hash (kept in the order chosen). */
  function toggle(city, on) {
    const cities = on ? [...state.chosen, city] : state.chosen.filter((c) => c !== city);
    navigateTo(cities);
  }

  function renderStatus() {
    const lines = [];
    if (state.error) lines.push(el("p", { class: "note error", role: "alert", text: t(state.error.key, { detail: state.error.detail }) }));
    if (state.unknown.length) lines.push(el("p", { class: "note", text: t("compare.unknown", { cities: state.unknown.join(", ") }) }));
    if (!state.error && !state.chosen.length && state.known.length) lines.push(el("p", { class: "note", text: t("compare.chooseOne") }));
    if (state.loading) lines.push(el("p", { class: "note", role: "status", text: t("compare.loading") }));
    replace(status, lines);
  }

  function clearCharts() {
    for (const chart of drawn) if (chart && !chart.isDisposed()) chart.dispose();
    drawn = [];
  }

  function renderResult() {
    clearCharts();
    const { result } = state;
    results.hidden = !result;
    if (!result) return;
    replace(tableBox, result.rows.length ? comparisonTable(result, t) : el("p", { class: "note", text: t("compare.noRows") }));
    replace(sourcesBox, sourceList(result.sources || [], t));
    drawn.push(themeChart(themesBox, result, charts, t));
    const ranked = rankedRows(result).map((row) => indicatorChart(row, result.cities, charts, t));
    replace(rankedBox, ranked.length ? ranked.map((r) => r.figure) : el("p", { class: "note", text: t("compare.noRanked") }));
    drawn.push(...ranked.map((r) => r.chart())); // drawn once in the page, so they have a size
  }

  function translate() {
    heading.textContent = t("compare.title");
    intro.textContent = t("compare.intro");
    tableTitle.textContent = t("compare.table");
    tableBox.setAttribute("aria-label", t("compare.table"));
    sourcesTitle.textContent = t("compare.sources");
    themesTitle.textContent = t("compare.themes");
    themesHint.textContent = t("compare.themesHint");
    rankedTitle.textContent = t("compare.ranked");
    renderChooser();
    renderStatus();
    renderResult();
  }

  /** Compare the cities the hash names (the last request wins when choices come quickly). */
  async function show(query) {
    state.query = query;
    if (!state.loaded) return; // the catalogue first: mount() then shows the latest query
    ({ chosen: state.chosen, unknown: state.unknown } = chosenCities(query, state.known));
    const request = ++state.request;
    renderChooser();
    if (!state.chosen.length) {
      Object.assign(state, { result: null, error: null, loading: false });
      translate();
      page.dataset.ready = "true";
      return;
    }
    delete page.dataset.ready;
    Object.assign(state, { loading: true, error: null });
    renderStatus();
    let result = null;
    let error = null;
    try {
      result = await api.get("/indicators/compare", { cities: state.chosen }, { quiet: true });
    } catch (failure) {
      error = { key: "compare.failed", detail: problemText(failure) };
    }
    if (request !== state.request || active?.page !== page) return; // a newer choice, or the page left
    Object.assign(state, { result, error, loading: false });
    translate();
    page.dataset.ready = "true";
  }

  active = { page, show };
  const stopLanguage = ctx.onLanguage(translate);
  const dispose = () => {
    stopLanguage();
    clearCharts();
    if (active?.page === page) active = null;
  };
  translate();
  try {
    state.known = (await api.get("/indicators", null, { quiet: true }))?.cities || [];
    state.loaded = true;
  } catch (failure) {
    state.error = { key: "compare.catalogueFailed", detail: problemText(failure) };
    translate();
    page.dataset.ready = "true";
    return dispose;
  }
  await show(state.query);
  return dispose;
}
