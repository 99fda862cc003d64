/**
 * Environment (#/environment): air-quality stations on the Chongqing map coloured by their
 * AQI category (HJ 633-2012), the primary pollutant, a chosen station's last 24 hours of
 * AQI and PM2.5, and the river gauges' levels against their alert and danger levels.
 *
 * The stations are simulated: they stand in Chongqing districts but replay real hourly data
 * of two Beijing stations; the page says so, as the entities' descriptions do.
 */

import {
  columns, districtNamer, el, fmtDate, fmtNumber, fmtPercent, legend, replace, ruleThreshold, shortId,
  simulatedHistoryNote, stat, stats, text, textOn, throttle, tOr,
} from "../ui.js";
import { has, language } from "../i18n.js";

export const id = "environment";
export const titleKey = "env.title";

/**
 * The six AQI categories of HJ 633-2012 (Table 2 and Appendix A), as in
 * src/cityos/domains/aqi.py CATEGORIES: upper bound, the entities' airQualityLevel, and the
 * standard's colour (RGB given there, here in hex).
 */
const CATEGORIES = [
  { level: 1, high: 50, key: "excellent", color: "#00e400" },
  { level: 2, high: 100, key: "good", color: "#ffff00" },
  { level: 3, high: 150, key: "lightlyPolluted", color: "#ff7e00" },
  { level: 4, high: 200, key: "moderatelyPolluted", color: "#ff0000" },
  { level: 5, high: 300, key: "heavilyPolluted", color: "#99004c" },
  { level: 6, high: Infinity, key: "severelyPolluted", color: "#7e0023" },
];
const POLLUTANTS = ["pm25", "pm10", "so2", "no2", "co", "o3"];
const FLOOD_COLORS = { Normal: "#1f77b4", Alert: "#d98b1b", Danger: "#c0392b" };
const NO_DATA = "#8795a4";

export const strings = {
  en: {
    "env.title": "Environment",
    "env.notice": "Simulated stations: the air-quality stations on this page stand in Chongqing districts but measure nothing there. Each replays real hourly data of a Beijing station (Dongsi or Tiantan; UCI “Beijing Multi-Site Air-Quality Data”, Zhang et al. 2017, CC BY 4.0), time-shifted to the simulated date. River levels and their alert and danger levels are simulated too.",
    "env.cat.excellent": "Excellent",
    "env.cat.good": "Good",
    "env.cat.lightlyPolluted": "Lightly polluted",
    "env.cat.moderatelyPolluted": "Moderately polluted",
    "env.cat.heavilyPolluted": "Heavily polluted",
    "env.cat.severelyPolluted": "Severely polluted",
    "env.colour.excellent": "green",
    "env.colour.good": "yellow",
    "env.colour.lightlyPolluted": "orange",
    "env.colour.moderatelyPolluted": "red",
    "env.colour.heavilyPolluted": "purple",
    "env.colour.severelyPolluted": "maroon",
    "env.catRange": "{name} ({range})",
    "env.kpi.worst": "Worst AQI now",
    "env.kpi.stations": "Stations reporting",
    "env.kpi.goodDays": "Good air days",
    "env.kpi.river": "Highest river vs danger level",
    "env.map": "Air quality and river gauges",
    "env.mapLabel": "Map of Chongqing with air-quality stations coloured by AQI category and river gauges",
    "env.legend.gauge": "River gauge: {status}",
    "env.station": "Station",
    "env.stationName": "{district} (simulated, replaying Beijing {source})",
    "env.stationNote": "Simulated station in {district}: it replays the hourly data of the {source} station in Beijing for {year}, time-shifted to the simulated date, from a month whose temperatures fit Chongqing's.",
    "env.replayedFrom": "This reading replays Beijing {source}, {at} (Beijing time).",
    "env.replayedFromRaw": "This reading replays {what}.",
    "env.source.Dongsi": "Dongsi",
    "env.source.Tiantan": "Tiantan",
    "env.aqi": "AQI",
    "env.primary": "Primary pollutant",
    "env.primaryNone": "none (AQI ≤ 50)",
    "env.observed": "Observed {at}",
    "env.pollutants": "Pollutants",
    "env.p.pm25": "PM2.5",
    "env.p.pm10": "PM10",
    "env.p.so2": "SO₂",
    "env.p.no2": "NO₂",
    "env.p.co": "CO",
    "env.p.o3": "O₃",
    "env.unit.ugm3": "µg/m³",
    "env.unit.mgm3": "mg/m³",
    "env.unit.m": "m",
    "env.day": "Last 24 hours",
    "env.dayNote": "Hourly readings up to the station's latest one. Bars: AQI, coloured by category; line: PM2.5.",
    "env.ruleLine": "AQI {value}: case after 2 h",
    "env.noHistory": "No readings in the last 24 hours yet.",
    "env.rivers": "River levels",
    "env.riversNote": "Current level against the alert and danger levels, metres above each gauge's datum (simulated thresholds).",
    "env.level": "Level",
    "env.alert": "Alert level",
    "env.danger": "Danger level",
    "env.gaugeDay": "{name}: last 24 hours",
    "env.gaugeDayNote": "Average per 15 minutes up to the gauge's latest reading.",
    "env.flood.Normal": "normal",
    "env.flood.Alert": "alert",
    "env.flood.Danger": "danger",
    "env.gaugeLine": "{river} · {level} m ({status})",
    "env.river.Yangtze": "Yangtze",
    "env.river.Jialing": "Jialing",
    "env.place.jiangjin": "Jiangjin",
    "env.place.cuntan": "Cuntan",
    "env.place.chaotianmen": "Chaotianmen",
    "env.place.beibei": "Beibei",
    "env.place.ciqikou": "Ciqikou",
  },
  zh: {
    "env.title": "生态环境",
    "env.notice": "模拟站点：本页的空气质量监测站位于重庆各区，但并不测量当地空气。每个站点回放北京一个监测站（东四或天坛）的真实逐时数据（UCI“北京多站点空气质量数据”，Zhang 等，2017，CC BY 4.0），并平移到模拟日期。河流水位及其警戒、危险水位同样为模拟数据。",
    "env.cat.excellent": "优",
    "env.cat.good": "良",
    "env.cat.lightlyPolluted": "轻度污染",
    "env.cat.moderatelyPolluted": "中度污染",
    "env.cat.heavilyPolluted": "重度污染",
    "env.cat.severelyPolluted": "严重污染",
    "env.colour.excellent": "绿色",
    "env.colour.good": "黄色",
    "env.colour.lightlyPolluted": "橙色",
    "env.colour.moderatelyPolluted": "红色",
    "env.colour.heavilyPolluted": "紫色",
    "env.colour.severelyPolluted": "褐红色",
    "env.catRange": "{name}（{range}）",
    "env.kpi.worst": "当前最高 AQI",
    "env.kpi.stations": "上报站点",
    "env.kpi.goodDays": "优良天数比例",
    "env.kpi.river": "最高水位 / 危险水位",
    "env.map": "空气质量与水位站",
    "env.mapLabel": "重庆地图：按 AQI 类别着色的空气质量监测站和水位站",
    "env.legend.gauge": "水位站：{status}",
    "env.station": "监测站",
    "env.stationName": "{district}（模拟，回放北京{source}站）",
    "env.stationNote": "位于{district}的模拟站点：回放北京{source}站 {year} 年的逐时数据，并平移到模拟日期（取气温与重庆相近的月份）。",
    "env.replayedFrom": "本条读数回放北京{source}站 {at}（北京时间）的数据。",
    "env.replayedFromRaw": "本条读数回放 {what}。",
    "env.source.Dongsi": "东四",
    "env.source.Tiantan": "天坛",
    "env.aqi": "AQI",
    "env.primary": "首要污染物",
    "env.primaryNone": "无（AQI ≤ 50）",
    "env.observed": "观测时间 {at}",
    "env.pollutants": "污染物",
    "env.p.pm25": "PM2.5",
    "env.p.pm10": "PM10",
    "env.p.so2": "SO₂",
    "env.p.no2": "NO₂",
    "env.p.co": "CO",
    "env.p.o3": "O₃",
    "env.unit.ugm3": "微克/立方米",
    "env.unit.mgm3": "毫克/立方米",
    "env.unit.m": "米",
    "env.day": "最近 24 小时",
    "env.dayNote": "截至站点最新读数的逐时数据。柱：AQI（按类别着色）；线：PM2.5。",
    "env.ruleLine": "AQI {value}：持续 2 小时立案",
    "env.noHistory": "最近 24 小时暂无读数。",
    "env.rivers": "河流水位",
    "env.riversNote": "当前水位与警戒水位、危险水位对比，单位为高于各站基准面的米数（模拟阈值）。",
    "env.level": "水位",
    "env.alert": "警戒水位",
    "env.danger": "危险水位",
    "env.gaugeDay": "{name}：最近 24 小时",
    "env.gaugeDayNote": "截至水位站最新读数，每 15 分钟的平均值。",
    "env.flood.Normal": "正常",
    "env.flood.Alert": "超警戒",
    "env.flood.Danger": "超危险",
    "env.gaugeLine": "{river} · {level} 米（{status}）",
    "env.river.Yangtze": "长江",
    "env.river.Jialing": "嘉陵江",
    "env.gaugeName": "{place}水位站（模拟）",
    "env.place.jiangjin": "江津",
    "env.place.cuntan": "寸滩",
    "env.place.chaotianmen": "朝天门",
    "env.place.beibei": "北碚",
    "env.place.ciqikou": "磁器口",
  },
  pl: {
    "env.replayedFrom": "Ten odczyt odtwarza dane stacji Pekin {source}, {at} (czas pekiński).",
    "env.replayedFromRaw": "Ten odczyt odtwarza {what}.",
  },
};

/** The category of a station: its airQualityLevel, else from its AQI. */
function categoryOf(station) {
  const byLevel = CATEGORIES.find((c) => c.key === station?.airQualityLevel);
  if (byLevel) return byLevel;
  const aqi = Number(station?.airQualityIndex);
  if (station?.airQualityIndex === null || station?.airQualityIndex === undefined || Number.isNaN(aqi)) return null;
  return CATEGORIES.find((c) => aqi <= c.high);
}

function categoryOfAqi(aqi) {
  return CATEGORIES.find((c) => aqi <= c.high) || CATEGORIES[CATEGORIES.length - 1];
}

/** Add a second to an instant: the temporal API's `between` excludes its end. */
const justAfter = (date) => new Date(date.getTime() + 1000);

export async function mount(root, ctx) {
  const { api, t, maps, charts } = ctx;
  const state = { stations: new Map(), gauges: new Map(), kpis: [], rules: [], station: null, gauge: null };

  const page = el("section", { class: "page", "data-page": id });
  const title = el("h1");
  const notice = el("p", {
    class: "panel", role: "note",
    style: { borderLeft: "4px solid var(--warn)", margin: "0 0 10px", padding: "8px 12px", fontSize: "13px" },
  });
  const statsBox = el("div");
  const mapTitle = el("h2");
  const mapEl = el("div", { style: { height: "430px", borderRadius: "4px" } });
  const legendBox = el("div");
  const detail = el("div");
  const dayTitle = el("h3", { style: { fontSize: "14px", margin: "10px 0 2px" } });
  const dayNote = el("p", { class: "note", style: { margin: "0 0 2px", fontSize: "12px" } });
  const dayChart = el("div", { style: { height: "210px" } });
  const riversTitle = el("h2");
  const riversNote = el("p", { class: "note", style: { margin: "0 0 4px", fontSize: "12px" } });
  const riversChart = el("div", { style: { height: "250px" } });
  const gaugeTitle = el("h2");
  const gaugeNote = el("p", { class: "note", style: { margin: "0 0 4px", fontSize: "12px" } });
  const gaugeChart = el("div", { style: { height: "250px" } });
  page.append(
    title, notice, statsBox,
    columns("minmax(0, 7fr) minmax(0, 5fr)", [
      el("div", { class: "panel" }, [mapTitle, mapEl, legendBox]),
      el("div", { class: "panel" }, [detail, dayTitle, dayNote, dayChart]),
    ]),
    columns("minmax(0, 7fr) minmax(0, 5fr)", [
      el("div", { class: "panel" }, [riversTitle, riversNote, riversChart]),
      el("div", { class: "panel" }, [gaugeTitle, gaugeNote, gaugeChart]),
    ]),
  );
  replace(root, page);

  const map = maps.basemap(mapEl, { view: "chongqing" });
  const layer = L.layerGroup().addTo(map);
  const markers = new Map();

  const [stations, gauges, kpis, rules, districtName] = await Promise.all([
    api.entities("AirQualityObserved"),
    api.entities("FloodMonitoring"),
    api.kpis("environment").catch(() => []),
    api.get("/rules", null, { quiet: true }).catch(() => []),
    districtNamer(maps),
  ]);
  for (const station of stations.sort((a, b) => a.id.localeCompare(b.id))) state.stations.set(station.id, station);
  for (const gauge of gauges) state.gauges.set(gauge.id, gauge);
  state.kpis = kpis || [];
  state.rules = rules || [];
  state.station = [...state.stations.values()].sort((a, b) => (b.airQualityIndex ?? -1) - (a.airQualityIndex ?? -1))[0]?.id || null;
  state.gauge = [...state.gauges.values()].sort((a, b) => ratio(b) - ratio(a))[0]?.id || null;

  // ---- names and words in the current language ----
  const catName = (category) => (category ? t(`env.cat.${category.key}`) : "—");
  const sourceOf = (station) => /Beijing (\w+)/.exec(text(station.name))?.[1] || /the (\w+) station in Beijing/.exec(text(station.description))?.[1] || "";
  const stationName = (station) => {
    const source = sourceOf(station);
    if (!station.district || !source) return text(station.name) || shortId(station.id);
    return t("env.stationName", { district: districtName(station.district), source: tOr(`env.source.${source}`, source) });
  };
  /** "Replayed from Beijing Dongsi, 8 Mar 2015, 10:00": the hour this reading replays. */
  const replayedFrom = (station) => {
    const found = /^Beijing (\w+) (\d{4}-\d{2}-\d{2}T\d{2}:\d{2})$/.exec(text(station.replayedFrom));
    if (!found) return t("env.replayedFromRaw", { what: text(station.replayedFrom) });
    return t("env.replayedFrom", { source: tOr(`env.source.${found[1]}`, found[1]), at: fmtDate(`${found[2]}:00+08:00`) });
  };
  const stationNote = (station) => {
    const year = /Beijing for (\d{4})/.exec(text(station.description))?.[1];
    const source = sourceOf(station);
    if (!year || !source) return text(station.description);
    return t("env.stationNote", { district: districtName(station.district), source: tOr(`env.source.${source}`, source), year });
  };
  /** A gauge's place (Beibei, 北碚), for the chart's axis; its full name where a place is unknown. */
  const gaugePlace = (gauge) => tOr(`env.place.${gauge.stationID}`, text(gauge.name) || shortId(gauge.id));
  const gaugeName = (gauge) => (language() !== "en" && has(`env.place.${gauge.stationID}`)
    ? t("env.gaugeName", { place: gaugePlace(gauge) })
    : text(gauge.name) || shortId(gauge.id));
  const floodStatus = (gauge) => tOr(`env.flood.${gauge.floodLevelStatus}`, gauge.floodLevelStatus || "—");
  const pollutantUnit = (p) => t(p === "co" ? "env.unit.mgm3" : "env.unit.ugm3");
  const range = (category) => {
    const low = category.level === 1 ? 0 : CATEGORIES[category.level - 2].high + 1;
    return Number.isFinite(category.high) ? `${low}–${category.high}` : `> ${CATEGORIES[category.level - 2].high}`;
  };

  // ---- map: stations (AQI in a category-coloured dot) and gauges ----
  function stationStyle(station) {
    const category = categoryOf(station);
    const color = category?.color || NO_DATA;
    const aqi = station.airQualityIndex;
    const label = aqi === null || aqi === undefined ? "" : String(Math.round(aqi));
    return {
      color, size: 28, className: station.id === state.station ? "selected" : "",
      glyph: label, glyphStyle: { color: textOn(color), fontSize: "10px" },
    };
  }
  const gaugeStyle = (gauge) => ({
    color: FLOOD_COLORS[gauge.floodLevelStatus] || NO_DATA, size: 15, className: `square${gauge.id === state.gauge ? " selected" : ""}`,
    glyph: "≈",
  });

  /** keyboard false: pointer-only, where another control on the page chooses the same item. */
  function place(entity, style, onClick, title, keyboard = true) {
    let marker = markers.get(entity.id);
    if (!marker) {
      marker = maps.entityMarker(entity, { ...style, title, keyboard });
      if (!marker) return;
      marker.on("click", () => onClick(entity.id));
      marker.on("keypress", (event) => {
        if (event.originalEvent.key === "Enter") onClick(entity.id);
      });
      markers.set(entity.id, marker);
      marker.addTo(layer);
      // stations are the subject: a river gauge nearby must not hide one
      if (entity.type === "FloodMonitoring") marker.setZIndexOffset(-1000);
    } else {
      marker.restyle(style);
      marker.options.title = title;
    }
    marker.unbindTooltip();
    maps.tooltip(marker, title, { direction: "top", offset: [0, -12] });
  }

  function drawMarkers() {
    for (const station of state.stations.values()) {
      const category = categoryOf(station);
      place(station, stationStyle(station), chooseStation,
        `${stationName(station)} · ${t("env.aqi")} ${fmtNumber(station.airQualityIndex)} ${catName(category)}`,
        false); // pointer-only: the station picker beside the map chooses the same station (2.5.8 Equivalent)
    }
    for (const gauge of state.gauges.values()) {
      place(gauge, gaugeStyle(gauge), chooseGauge, `${gaugeName(gauge)} · ${fmtNumber(gauge.currentLevel, { digits: 2 })} ${t("env.unit.m")} (${floodStatus(gauge)})`);
    }
  }

  function fitMap() {
    const points = [...state.stations.values(), ...state.gauges.values()].map((e) => maps.pointOf(e.location)).filter(Boolean);
    if (points.length) map.fitBounds(L.latLngBounds(points), { padding: [40, 40], maxZoom: 11 });
  }

  // ---- text, figures, legend ----
  function drawText() {
    title.textContent = t("env.title");
    notice.textContent = t("env.notice");
    mapTitle.textContent = t("env.map");
    mapEl.setAttribute("aria-label", t("env.mapLabel"));
    dayTitle.textContent = t("env.day");
    dayNote.textContent = t("env.dayNote");
    riversTitle.textContent = t("env.rivers");
    riversNote.textContent = t("env.riversNote");
    gaugeNote.textContent = t("env.gaugeDayNote");
    replace(legendBox, legend([
      ...CATEGORIES.map((c) => ({
        color: c.color, label: t("env.catRange", { name: catName(c), range: range(c) }),
      })),
      ...Object.entries(FLOOD_COLORS).map(([status, color]) => ({
        color, shape: "square", label: t("env.legend.gauge", { status: t(`env.flood.${status}`) }),
      })),
    ]));
    for (const [index, item] of [...legendBox.querySelectorAll("li")].entries()) {
      if (CATEGORIES[index]) item.title = t(`env.colour.${CATEGORIES[index].key}`);
    }
  }

  function drawStats() {
    const kpi = (name) => state.kpis.find((k) => k.id === name);
    const worst = Math.max(...[...state.stations.values()].map((s) => Number(s.airQualityIndex)).filter((v) => !Number.isNaN(v)));
    const worstCategory = Number.isFinite(worst) ? categoryOfAqi(worst) : null;
    const reporting = [...state.stations.values()].filter((s) => s.airQualityIndex !== null && s.airQualityIndex !== undefined).length;
    const good = kpi("aqi-good-days")?.value;
    const river = Math.max(...[...state.gauges.values()].map(ratio).filter(Number.isFinite));
    replace(statsBox, stats([
      stat(t("env.kpi.worst"), Number.isFinite(worst) ? fmtNumber(worst) : "—", {
        unit: worstCategory ? catName(worstCategory) : "", tone: !worstCategory ? "" : worstCategory.level <= 2 ? "ok" : worstCategory.level <= 4 ? "warn" : "bad",
        title: kpi("aqi-current")?.description || "",
      }),
      stat(t("env.kpi.stations"), `${fmtNumber(reporting)} / ${fmtNumber(state.stations.size)}`),
      stat(t("env.kpi.goodDays"), good === null || good === undefined ? "—" : `${fmtNumber(good, { digits: 1 })}%`, { title: kpi("aqi-good-days")?.description || "" }),
      stat(t("env.kpi.river"), Number.isFinite(river) ? fmtPercent(river, 0) : "—", {
        tone: !Number.isFinite(river) ? "" : river >= 1 ? "bad" : river >= 0.85 ? "warn" : "ok", title: kpi("river-level-ratio")?.description || "",
      }),
    ], "180px"));
  }

  // ---- the chosen station ----
  function drawDetail() {
    const station = state.stations.get(state.station);
    if (!station) {
      replace(detail, el("p", { class: "note", text: t("ui.none") }));
      return;
    }
    const category = categoryOf(station);
    const color = category?.color || NO_DATA;
    const primary = (station.primaryPollutant || []).map((p) => tOr(`env.p.${p}`, p)).join(", ");
    const select = el("select", { "aria-label": t("env.station"), onchange: (event) => chooseStation(event.target.value), style: { maxWidth: "100%" } },
      [...state.stations.values()].map((s) => el("option", { value: s.id, selected: s.id === station.id, text: stationName(s) })));
    replace(detail,
      el("label", { style: { display: "flex", gap: "6px", alignItems: "center", marginBottom: "8px" } }, [el("span", { class: "muted", text: t("env.station") }), select]),
      el("div", { style: { display: "flex", gap: "12px", alignItems: "center" } }, [
        el("div", {
          style: { background: color, color: textOn(color), borderRadius: "6px", padding: "6px 12px", textAlign: "center", minWidth: "92px", border: "1px solid rgba(0,0,0,.15)" },
        }, [
          el("div", { style: { fontSize: "11px" }, text: t("env.aqi") }),
          el("div", { style: { fontSize: "26px", fontWeight: "700", lineHeight: "1.1" }, text: fmtNumber(station.airQualityIndex) }),
          el("div", { style: { fontSize: "12px", fontWeight: "600" }, text: catName(category) }),
        ]),
        el("div", { style: { fontSize: "13px" } }, [
          el("div", {}, [el("span", { class: "muted", text: `${t("env.primary")}: ` }), el("strong", { text: primary || t("env.primaryNone") })]),
          el("div", { class: "muted", text: t("env.observed", { at: fmtDate(station.dateObserved) }) }),
        ]),
      ]),
      el("dl", {
        "aria-label": t("env.pollutants"),
        style: { display: "grid", gridTemplateColumns: "repeat(3, 1fr)", gap: "4px 10px", margin: "10px 0 6px", fontSize: "12px" },
      }, POLLUTANTS.map((p) => el("div", {}, [
        el("dt", { class: "muted", text: t(`env.p.${p}`) }),
        el("dd", { style: { margin: 0, fontWeight: (station.primaryPollutant || []).includes(p) ? "700" : "400" } },
          `${fmtNumber(station[p])} ${pollutantUnit(p)}`),
      ]))),
      el("p", { class: "note", style: { fontSize: "12px", margin: 0 }, text: stationNote(station) }),
      station.replayedFrom ? el("p", { class: "note replayed-from", style: { fontSize: "12px", margin: "2px 0 0" }, text: replayedFrom(station) }) : null,
      simulatedHistoryNote(station),
    );
  }

  let day = null;
  let dayToken = 0;
  /** End of a history window: the attribute's latest observedAt (simulated time). */
  async function latest(entityId, attr) {
    const entity = await api.get(`/ngsi-ld/v1/entities/${encodeURIComponent(entityId)}`, { attrs: attr }, { quiet: true });
    const at = entity?.[attr]?.observedAt;
    return at ? new Date(at) : new Date();
  }

  async function drawDay() {
    const token = ++dayToken;
    const stationId = state.station;
    let history = {};
    let end = new Date();
    try {
      // A station without a numeric index has no day to draw: asking would be a 404.
      if (typeof state.stations.get(stationId)?.airQualityIndex === "number") {
        end = await latest(stationId, "airQualityIndex");
        history = await api.temporal(stationId, {
          attrs: "airQualityIndex,pm25", timerel: "between", quiet: true,
          timeAt: new Date(end.getTime() - 24 * 3600 * 1000 + 1000).toISOString(), endTimeAt: justAfter(end).toISOString(),
        });
      }
    } catch {
      history = {};
    }
    if (token !== dayToken || !dayChart.isConnected) return;
    if (day) day.dispose();
    day = null;
    const aqi = (history.airQualityIndex || []).filter(([v]) => typeof v === "number");
    const pm25 = (history.pm25 || []).filter(([v]) => typeof v === "number");
    if (!aqi.length && !pm25.length) {
      replace(dayChart, el("p", { class: "note", text: t("env.noHistory") }));
      return;
    }
    dayChart.replaceChildren();
    const limit = ruleThreshold(state.rules, "env-aqi-heavy", "airQualityIndex");
    day = charts.create(dayChart);
    day.setOption({
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      grid: { left: 44, right: 44, top: 30, bottom: 26 },
      legend: { top: 0, data: [t("env.aqi"), "PM2.5"] },
      tooltip: { trigger: "axis", confine: true },
      // the whole day, even while the station has only a few hours of history
      xAxis: { type: "time", min: end.getTime() - 24 * 3600 * 1000, max: end.getTime() + 1800 * 1000 },
      yAxis: [
        { type: "value", name: t("env.aqi"), min: 0 },
        { type: "value", name: t("env.unit.ugm3"), min: 0, splitLine: { show: false }, nameTextStyle: { align: "right" } },
      ],
      series: [
        {
          type: "bar", name: t("env.aqi"), barMaxWidth: 14, color: "#99004c",
          data: aqi.map(([value, at]) => ({
            value: [new Date(at), value],
            itemStyle: { color: categoryOfAqi(value).color, borderColor: "rgba(0,0,0,.3)", borderWidth: 0.5 },
          })),
          markLine: limit === null ? undefined : {
            symbol: "none", silent: true,
            data: [{ yAxis: limit, lineStyle: { color: "#c0392b", type: "dashed" }, label: { formatter: t("env.ruleLine", { value: limit }), position: "insideStartTop", fontSize: 10 } }],
          },
        },
        {
          type: "line", name: "PM2.5", yAxisIndex: 1, showSymbol: pm25.length < 3, color: "#1d2733",
          lineStyle: { width: 1.5 }, data: pm25.map(([value, at]) => [new Date(at), value]),
        },
      ],
    });
  }

  // ---- rivers: levels against thresholds, and the chosen gauge's day ----
  let rivers = null;
  function drawRivers() {
    const list = [...state.gauges.values()].sort((a, b) => String(a.river).localeCompare(b.river) || a.id.localeCompare(b.id));
    const names = list.map((g) => `${gaugePlace(g)}\n${tOr(`env.river.${g.river}`, g.river || "")}`);
    const option = {
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      grid: { left: 44, right: 16, top: 30, bottom: 44 },
      legend: { top: 0, data: [t("env.level"), t("env.alert"), t("env.danger")] },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" }, confine: true,
        valueFormatter: (v) => (v === null || v === undefined ? "—" : `${fmtNumber(v, { digits: 2 })} ${t("env.unit.m")}`),
      },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, fontSize: 11, lineHeight: 14 } },
      yAxis: { type: "value", name: t("env.unit.m"), min: 0 },
      series: [
        {
          type: "bar", name: t("env.level"), barMaxWidth: 36, color: FLOOD_COLORS.Normal,
          data: list.map((g) => ({
            value: g.currentLevel ?? null,
            itemStyle: { color: FLOOD_COLORS[g.floodLevelStatus] || NO_DATA, opacity: g.id === state.gauge ? 1 : 0.75 },
          })),
        },
        { type: "scatter", name: t("env.alert"), symbol: "rect", symbolSize: [44, 3], color: "#d98b1b", data: list.map((g) => g.alertLevel ?? null) },
        { type: "scatter", name: t("env.danger"), symbol: "rect", symbolSize: [44, 3], color: "#c0392b", data: list.map((g) => g.dangerLevel ?? null) },
      ],
    };
    if (!rivers || rivers.isDisposed()) {
      rivers = charts.create(riversChart);
      rivers.on("click", (event) => {
        const gauge = list[event.dataIndex];
        if (gauge) chooseGauge(gauge.id);
      });
    }
    rivers.setOption(option);
    riversChart.setAttribute("role", "img");
    riversChart.setAttribute("aria-label", list.map((g) => `${gaugeName(g)}: ${t("env.gaugeLine", {
      river: tOr(`env.river.${g.river}`, g.river || ""), level: fmtNumber(g.currentLevel, { digits: 2 }), status: floodStatus(g),
    })}`).join("; "));
  }

  let level = null;
  let levelToken = 0;
  async function drawGaugeDay() {
    const token = ++levelToken;
    const gauge = state.gauges.get(state.gauge);
    gaugeTitle.textContent = gauge ? t("env.gaugeDay", { name: gaugeName(gauge) }) : t("env.rivers");
    gaugeNote.replaceChildren(t("env.gaugeDayNote"));
    const simulated = simulatedHistoryNote(gauge);
    if (simulated) gaugeNote.append(" ", simulated);
    if (!gauge) return;
    let found = {};
    try {
      const end = await latest(gauge.id, "currentLevel");
      const start = new Date(end.getTime() - 24 * 3600 * 1000);
      found = await api.temporal(gauge.id, {
        attrs: "currentLevel", aggrMethods: "avg", aggrPeriodDuration: "PT15M", timerel: "between", quiet: true,
        timeAt: start.toISOString(), endTimeAt: justAfter(end).toISOString(),
      });
    } catch {
      found = {};
    }
    if (token !== levelToken || !gaugeChart.isConnected) return;
    if (level) level.dispose();
    level = null;
    const data = (found.currentLevel?.avg || []).filter(([v]) => typeof v === "number").map(([v, from]) => [new Date(from), Math.round(v * 100) / 100]);
    if (!data.length) {
      replace(gaugeChart, el("p", { class: "note", text: t("env.noHistory") }));
      return;
    }
    gaugeChart.replaceChildren();
    const marks = [
      { name: t("env.alert"), value: gauge.alertLevel, color: "#d98b1b" },
      { name: t("env.danger"), value: gauge.dangerLevel, color: "#c0392b" },
    ].filter((m) => typeof m.value === "number");
    level = charts.line(gaugeChart, {
      series: [{ name: t("env.level"), data, color: FLOOD_COLORS.Normal, area: true }], unit: t("env.unit.m"), markLines: marks, min: 0,
    });
    const top = Math.max(...data.map(([, v]) => v), ...marks.map((m) => m.value));
    level.setOption({ yAxis: { max: Math.ceil(top * 1.1) } });
  }

  function chooseStation(stationId) {
    if (!state.stations.has(stationId) || stationId === state.station) return;
    state.station = stationId;
    drawMarkers();
    drawDetail();
    drawDay();
  }

  function chooseGauge(gaugeId) {
    if (!state.gauges.has(gaugeId) || gaugeId === state.gauge) return;
    state.gauge = gaugeId;
    drawMarkers();
    drawRivers();
    drawGaugeDay();
  }

  function drawAll() {
    drawText();
    drawStats();
    drawMarkers();
    drawDetail();
    drawDay();
    if (rivers) rivers.dispose(); // a new language: axis and legend names change
    rivers = null;
    drawRivers();
    drawGaugeDay();
  }

  drawAll();
  fitMap();
  page.dataset.ready = "true";

  // ---- live: stations every simulated hour, gauges every simulated minute ----
  const redrawStations = throttle(() => {
    drawMarkers();
    drawStats();
    drawDetail();
  }, 2000);
  const redrawGauges = throttle(() => {
    drawMarkers();
    drawStats();
    drawRivers();
  }, 5000);
  const stops = [
    ctx.live.on("AirQualityObserved", (change) => {
      const merged = { ...(state.stations.get(change.id) || {}), ...change };
      state.stations.set(change.id, merged);
      redrawStations();
      if (change.id === state.station) drawDay();
    }),
    ctx.live.on("FloodMonitoring", (change) => {
      state.gauges.set(change.id, { ...(state.gauges.get(change.id) || {}), ...change });
      redrawGauges();
    }),
    ctx.onLanguage(drawAll),
  ];
  const refresh = setInterval(async () => {
    try {
      state.kpis = (await api.kpis("environment")) || state.kpis;
      drawStats();
      drawGaugeDay();
    } catch {
      /* api showed it; keep the last figures */
    }
  }, 120000);

  return () => {
    for (const stop of stops) stop();
    clearInterval(refresh);
    redrawStations.cancel();
    redrawGauges.cancel();
    dayToken += 1;
    levelToken += 1;
    for (const chart of [day, rivers, level]) if (chart && !chart.isDisposed()) chart.dispose();
    map.remove();
  };
}

/** A gauge's current level as a share of its danger level (NaN without both). */
function ratio(gauge) {
  return Number(gauge?.currentLevel) / Number(gauge?.dangerLevel);
}
