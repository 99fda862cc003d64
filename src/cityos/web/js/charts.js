/**
 * Small helpers over ECharts (global `echarts`): sparkline, line, bars, radar, gauge.
 * Each draws into an element and returns the ECharts instance; the chart follows the
 * element's size and disposes of itself once the element leaves the page.
 * Texts passed in (series names, units) are already translated by the caller.
 */

import { language, locale } from "./i18n.js";
import { cssColor } from "./maps.js";

function palette() {
  return [
    cssColor("--chart-1", "#2a6fdb"), cssColor("--chart-2", "#e07b39"), cssColor("--chart-3", "#2e9d6a"),
    cssColor("--chart-4", "#b54a8c"), cssColor("--chart-5", "#8a6d3b"), cssColor("--chart-6", "#5b6abf"),
  ];
}

function text() {
  return { color: cssColor("--text", "#1d2733"), fontFamily: getComputedStyle(document.body).fontFamily };
}

/**
 * The ECharts locale of the current language: its own EN and ZH, else (Polish) one made from
 * Intl's month and weekday names, so a time axis says "gru", not "Dec" (the rest, toolbox texts
 * the dashboard does not show, stays English).
 */
function chartLocale() {
  const name = language().toUpperCase();
  if (name === "EN" || name === "ZH" || registered.has(name)) return name;
  /** Intl's names of `count` dates from `dateOf(i)` (UTC) in the current language. */
  const names = (count, dateOf, options) => Array.from({ length: count }, (_, i) =>
    new Intl.DateTimeFormat(locale(), { ...options, timeZone: "UTC" }).format(dateOf(i)));
  const month = (i) => new Date(Date.UTC(2023, i, 15));
  const weekday = (i) => new Date(Date.UTC(2023, 0, 1 + i)); // 1 January 2023: a Sunday, ECharts' first
  echarts.registerLocale(name, {
    time: {
      month: names(12, month, { month: "long" }),
      monthAbbr: names(12, month, { month: "short" }),
      dayOfWeek: names(7, weekday, { weekday: "long" }),
      dayOfWeekAbbr: names(7, weekday, { weekday: "short" }),
    },
  });
  registered.add(name);
  return name;
}
const registered = new Set();

/** An ECharts instance on `el`, in the current language, resized with its element. */
export function create(el) {
  const chart = echarts.init(el, null, { renderer: "canvas", locale: chartLocale() });
  const observer = new ResizeObserver(() => {
    if (!el.isConnected || chart.isDisposed()) {
      observer.disconnect();
      if (!chart.isDisposed()) chart.dispose();
      return;
    }
    chart.resize();
  });
  observer.observe(el);
  return chart;
}

/** [[value, time], …] (the temporal API's order) → [[Date, value], …] for a time axis. */
export function timeSeries(values) {
  return (values || []).filter((v) => typeof v[0] === "number").map(([value, at]) => [new Date(at), value]);
}

/**
 * A tiny line without axes: the shape of recent history.
 * @param {HTMLElement} el
 * @param {Array<[number, string]>} values temporal values [[value, time], …]
 */
export function sparkline(el, values, { color } = {}) {
  const chart = create(el);
  chart.setOption({
    animation: false,
    grid: { left: 2, right: 2, top: 4, bottom: 4 },
    xAxis: { type: "time", show: false },
    yAxis: { type: "value", show: false, scale: true },
    tooltip: { trigger: "axis", confine: true, textStyle: { fontSize: 11 } },
    series: [{
      type: "line", data: timeSeries(values), showSymbol: false, smooth: false,
      lineStyle: { width: 1.5, color: color || palette()[0] },
      areaStyle: { color: color || palette()[0], opacity: 0.12 },
    }],
  });
  return chart;
}

/**
 * A line chart over time.
 * @param {HTMLElement} el
 * @param {{series: Array<{name: string, data: Array<[Date|string, number]>, color?: string, area?: boolean}>,
 *   unit?: string, markLines?: Array<{name: string, value: number, color?: string}>, min?: number, max?: number}} spec
 */
export function line(el, { series, unit = "", markLines = [], min, max }) {
  const chart = create(el);
  const colors = palette();
  chart.setOption({
    color: colors,
    textStyle: text(),
    grid: { left: 48, right: 16, top: series.length > 1 ? 30 : 16, bottom: 28 },
    legend: series.length > 1 ? { top: 0, type: "scroll" } : undefined,
    tooltip: { trigger: "axis", confine: true, valueFormatter: (v) => (v === null || v === undefined ? "—" : `${Number(v).toLocaleString(locale())} ${unit}`.trim()) },
    xAxis: { type: "time" },
    yAxis: { type: "value", name: unit, scale: min === undefined, min, max, nameTextStyle: { align: "right" } },
    series: series.map((s, index) => ({
      type: "line", name: s.name, data: s.data, showSymbol: false,
      lineStyle: { width: 2 },
      itemStyle: s.color ? { color: s.color } : undefined,
      areaStyle: s.area ? { opacity: 0.1 } : undefined,
      markLine: index === 0 && markLines.length ? {
        symbol: "none", silent: true,
        data: markLines.map((m) => ({ name: m.name, yAxis: m.value, lineStyle: { color: m.color || "#c0392b", type: "dashed" }, label: { formatter: m.name, position: "insideEndTop" } })),
      } : undefined,
    })),
  });
  return chart;
}

/** A number as text in the current language. */
function formatted(value) {
  return Number(value).toLocaleString(locale(), { maximumFractionDigits: 2 });
}

/**
 * One bar series' data: a number stays a number; a null becomes an empty bar that says
 * `missing` where the bar would start (when a `missing` text is given), never a bar of 0.
 */
function barData(data, { missing, horizontal }) {
  if (!missing) return data;
  const color = cssColor("--muted", "#5b6775");
  return data.map((value) => (value === null || value === undefined ? {
    value: 0,
    itemStyle: { color: "transparent" }, // (an opacity of 0 would hide the label too)
    label: { show: true, position: horizontal ? "right" : "top", formatter: missing, color, fontStyle: "italic" },
  } : value));
}

/**
 * Bars per category, one series or several (stacked when `stack`).
 * `labels`: each bar's value written at its end (`format` turns a value into that text);
 * `missing`: the text shown for a null value (in place of the bar and in the tooltip).
 * @param {HTMLElement} el
 * @param {{categories: string[], series: Array<{name: string, data: Array<number|null>, color?: string}>,
 *   unit?: string, horizontal?: boolean, stack?: boolean, labels?: boolean, missing?: string,
 *   format?: (value: number) => string}} spec
 */
export function bars(el, { categories, series, unit = "", horizontal = false, stack = false, labels = false, missing = "", format = formatted }) {
  const chart = create(el);
  const category = { type: "category", data: categories, axisLabel: { interval: 0, hideOverlap: true, width: horizontal ? 110 : 80, overflow: "truncate" } };
  const value = { type: "value", name: unit };
  chart.setOption({
    color: palette(),
    textStyle: text(),
    grid: { left: horizontal ? 120 : 44, right: labels && horizontal ? 56 : 16, top: series.length > 1 ? 30 : 16, bottom: horizontal ? 24 : 40, containLabel: false },
    legend: series.length > 1 ? { top: 0, type: "scroll" } : undefined,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
    xAxis: horizontal ? value : category,
    yAxis: horizontal ? { ...category, inverse: true } : value,
    series: series.map((s) => ({
      type: "bar", name: s.name, data: barData(s.data, { missing, horizontal }), stack: stack ? "total" : undefined,
      itemStyle: s.color ? { color: s.color } : undefined, barMaxWidth: 28,
      label: labels ? { show: true, position: horizontal ? "right" : "top", formatter: ({ value: v }) => format(v) } : undefined,
      tooltip: missing ? { valueFormatter: (v, index) => (s.data[index] === null || s.data[index] === undefined ? missing : format(v)) } : undefined,
    })),
  });
  return chart;
}

/**
 * A radar: one spoke per indicator (0 to its max), one polygon per series (a null value
 * leaves that spoke empty). Scores such as the compare page's theme shares (0–100).
 * @param {HTMLElement} el
 * @param {{indicators: Array<{name: string, max: number}>, series: Array<{name: string, data: Array<number|null>, color?: string}>,
 *   format?: (value: number) => string}} spec
 */
export function radar(el, { indicators, series, format = formatted }) {
  const chart = create(el);
  chart.setOption({
    color: palette(),
    textStyle: text(),
    legend: { bottom: 0, type: "scroll" },
    tooltip: { trigger: "item", confine: true, valueFormatter: (v) => (v === null || v === undefined || v === "-" ? "—" : format(v)) },
    radar: {
      indicator: indicators, radius: "62%", center: ["50%", "46%"],
      axisName: { color: cssColor("--muted", "#5b6775"), fontSize: 11 },
    },
    series: [{
      type: "radar",
      symbolSize: 5,
      areaStyle: { opacity: 0.08 },
      data: series.map((s) => ({
        name: s.name,
        value: s.data.map((v) => (v === null || v === undefined ? "-" : v)),
        itemStyle: s.color ? { color: s.color } : undefined,
      })),
    }],
  });
  return chart;
}

/**
 * A gauge for one figure (OEE, occupancy…), coloured by bands.
 * @param {HTMLElement} el
 * @param {{value: number|null, min?: number, max?: number, name?: string, unit?: string,
 *   bands?: Array<[number, string]>, digits?: number}} spec bands: [[upTo (0–1 of the range), colour], …]
 */
export function gauge(el, { value, min = 0, max = 100, name = "", unit = "", digits = 0, bands }) {
  const chart = create(el);
  const scale = bands || [[0.6, "#c0392b"], [0.85, "#e6a23c"], [1, "#2e9d6a"]];
  chart.setOption({
    textStyle: text(),
    series: [{
      type: "gauge", min, max, startAngle: 210, endAngle: -30, radius: "92%",
      axisLine: { lineStyle: { width: 10, color: scale } },
      pointer: { width: 4, length: "60%" },
      axisTick: { show: false },
      splitLine: { length: 8, lineStyle: { width: 1 } },
      axisLabel: { distance: 12, fontSize: 9 },
      title: { offsetCenter: [0, "72%"], fontSize: 11 },
      detail: {
        offsetCenter: [0, "38%"], fontSize: 16, fontWeight: 600,
        formatter: (v) => (value === null || value === undefined ? "—" : `${Number(v).toFixed(digits)}${unit}`),
      },
      data: [{ value: value ?? min, name }],
    }],
  });
  return chart;
}

export const charts = { create, sparkline, line, bars, radar, gauge, timeSeries };
