/**
 * Freight corridor (#/freight): the China–Europe Railway Express (Yuxinou) from Tuanjiecun,
 * Chongqing, to Duisburg over the world's borders — the line, its five border crossings
 * (the two breaks of gauge marked apart), the terminals, the trains moving live, a table of
 * the trains under way, and the departures and TEU per month from the freight KPIs.
 */

import {
  bar, chip, columns, el, fmtDate, fmtMonth, fmtNumber, fmtPercent, legend, localName, replace, shortId,
  stat, stats, table, text, throttle, tOr,
} from "../ui.js";

export const id = "freight";
export const titleKey = "freight.title";

export const strings = {
  en: {
    "freight.title": "Freight corridor",
    "freight.intro": "China–Europe Railway Express (Yuxinou): Tuanjiecun, Chongqing → Duisburg, {km} km in about {days} days across Kazakhstan, Russia, Belarus, Poland and Germany. The trains are simulated on the published timetable facts.",
    "freight.map": "Route",
    "freight.mapLabel": "Map of the corridor from Chongqing to Duisburg with the trains under way",
    "freight.monthlyTrains": "Departures per month",
    "freight.monthlyTeu": "TEU per month",
    "freight.trains": "Trains on the corridor ({count})",
    "freight.tableCaption": "Trains on the corridor: number, status, position, ETA and delay",
    "freight.noTrains": "No train is on the corridor now.",
    "freight.noMonths": "No departures recorded yet.",
    "freight.kpi.trains-on-corridor": "Trains under way",
    "freight.kpi.trains-delayed": "Delayed over 12 h",
    "freight.kpi.transit-days": "Average transit",
    "freight.kpi.on-time-share": "On-time arrivals",
    "freight.kpi.trains-per-month": "Departures this month",
    "freight.kpi.teu-per-month": "TEU this month",
    "freight.unit.days": "days",
    "freight.unit.trains": "trains",
    "freight.unit.teu": "TEU",
    "freight.col.train": "Train",
    "freight.col.status": "Status",
    "freight.col.position": "Position",
    "freight.col.departed": "Departed",
    "freight.col.eta": "ETA Duisburg",
    "freight.col.delay": "Delay",
    "freight.col.teu": "TEU",
    "freight.col.cargo": "Cargo",
    "freight.km": "{done} of {total} km",
    "freight.progress": "{share} of the route",
    "freight.hours": "{sign}{value} h",
    "freight.status.departed": "Running",
    "freight.status.atBorder": "At border",
    "freight.status.gaugeChange": "Changing gauge",
    "freight.status.arrived": "Arrived",
    "freight.statusAt": "{status}: {place}",
    "freight.gauge": "Break of gauge at {at}: {from} → {to} mm",
    "freight.gaugeShort": "{at}: {from} → {to} mm",
    "freight.border": "Border {countries} · km {km}",
    "freight.assumed": "crossing point assumed",
    "freight.dwell": "scheduled stop {hours} h",
    "freight.terminal": "Terminal",
    "freight.legend.route": "Railway Express line",
    "freight.legend.terminal": "Terminal",
    "freight.legend.border": "Border crossing",
    "freight.legend.gauge": "Break of gauge (1,435 ↔ 1,520 mm)",
    "freight.legend.onTime": "Train, delay ≤ 12 h",
    "freight.legend.late12": "over 12 h",
    "freight.legend.late24": "over 24 h",
    "freight.legend.late48": "over 48 h",
    "freight.popup.teu": "{teu} TEU · {cargo}",
    "freight.popup.eta": "ETA {eta} ({delay})",
    "freight.popup.scheduled": "Scheduled {at}",
    "freight.place.Duisburg": "Duisburg",
    "freight.cargo.laptops": "laptops",
    "freight.cargo.printers": "printers",
    "freight.cargo.LCD panels": "LCD panels",
    "freight.cargo.automotive parts": "automotive parts",
    "freight.cargo.machinery": "machinery",
    "freight.cargo.consumer electronics": "consumer electronics",
  },
  zh: {
    "freight.title": "中欧班列走廊",
    "freight.intro": "中欧班列（渝新欧）：重庆团结村 → 杜伊斯堡，全程 {km} 公里，约 {days} 天，途经哈萨克斯坦、俄罗斯、白俄罗斯、波兰和德国。班列为依据公开运行资料的模拟数据。",
    "freight.map": "线路",
    "freight.mapLabel": "重庆至杜伊斯堡走廊地图及在途班列",
    "freight.monthlyTrains": "每月发运班列",
    "freight.monthlyTeu": "每月标箱（TEU）",
    "freight.trains": "在途班列（{count}）",
    "freight.tableCaption": "在途班列：车次、状态、位置、预计到达和晚点",
    "freight.noTrains": "目前没有在途班列。",
    "freight.noMonths": "尚无发运记录。",
    "freight.kpi.trains-on-corridor": "在途班列",
    "freight.kpi.trains-delayed": "晚点超过 12 小时",
    "freight.kpi.transit-days": "平均运行时间",
    "freight.kpi.on-time-share": "准点到达率",
    "freight.kpi.trains-per-month": "本月发运",
    "freight.kpi.teu-per-month": "本月标箱",
    "freight.unit.days": "天",
    "freight.unit.trains": "列",
    "freight.unit.teu": "标箱",
    "freight.col.train": "车次",
    "freight.col.status": "状态",
    "freight.col.position": "位置",
    "freight.col.departed": "发车时间",
    "freight.col.eta": "预计到达杜伊斯堡",
    "freight.col.delay": "晚点",
    "freight.col.teu": "标箱",
    "freight.col.cargo": "货物",
    "freight.km": "{done} / {total} 公里",
    "freight.progress": "已走全程的 {share}",
    "freight.hours": "{sign}{value} 小时",
    "freight.status.departed": "运行中",
    "freight.status.atBorder": "口岸停留",
    "freight.status.gaugeChange": "换轨作业",
    "freight.status.arrived": "已到达",
    "freight.statusAt": "{status}：{place}",
    "freight.gauge": "{at}换轨：{from} → {to} 毫米",
    "freight.gaugeShort": "{at}：{from} → {to} 毫米",
    "freight.border": "边境 {countries} · 第 {km} 公里",
    "freight.assumed": "口岸位置为假定",
    "freight.dwell": "计划停留 {hours} 小时",
    "freight.terminal": "场站",
    "freight.legend.route": "中欧班列线路",
    "freight.legend.terminal": "场站",
    "freight.legend.border": "边境口岸",
    "freight.legend.gauge": "换轨点（1435 ↔ 1520 毫米）",
    "freight.legend.onTime": "班列，晚点 ≤ 12 小时",
    "freight.legend.late12": "超过 12 小时",
    "freight.legend.late24": "超过 24 小时",
    "freight.legend.late48": "超过 48 小时",
    "freight.popup.teu": "{teu} 标箱 · {cargo}",
    "freight.popup.eta": "预计到达 {eta}（{delay}）",
    "freight.popup.scheduled": "计划到达 {at}",
    "freight.corridorName": "中欧班列（渝新欧）：重庆团结村—杜伊斯堡",
    "freight.place.Duisburg": "杜伊斯堡",
    "freight.place.alashankou-dostyk": "阿拉山口—多斯特克",
    "freight.place.kazakhstan-russia": "哈萨克斯坦—俄罗斯边境",
    "freight.place.russia-belarus": "俄罗斯—白俄罗斯边境",
    "freight.place.brest-malaszewicze": "布列斯特—马拉舍维奇",
    "freight.place.frankfurt-oder": "波兰—德国边境（奥得河畔法兰克福）",
    "freight.at.Dostyk": "多斯特克",
    "freight.at.Małaszewicze": "马拉舍维奇",
    "freight.country.CN": "中国",
    "freight.country.KZ": "哈萨克斯坦",
    "freight.country.RU": "俄罗斯",
    "freight.country.BY": "白俄罗斯",
    "freight.country.PL": "波兰",
    "freight.country.DE": "德国",
    "freight.cargo.laptops": "笔记本电脑",
    "freight.cargo.printers": "打印机",
    "freight.cargo.LCD panels": "液晶面板",
    "freight.cargo.automotive parts": "汽车零部件",
    "freight.cargo.machinery": "机械设备",
    "freight.cargo.consumer electronics": "消费电子产品",
  },
};

/** The cited route length, used until the FreightCorridor entity says otherwise. */
const ROUTE_KM = 11179;
const COLORS = {
  route: "#1f5fbf",
  terminal: "#17324d",
  border: "#5b6775",
  gauge: "#7b3fb5",
};
/** Delay bands of the freight-delay rules (12 / 24 / 48 h → normal / high / urgent cases). */
const DELAY_BANDS = [
  { over: 48, color: "#a61b1b", key: "freight.legend.late48" },
  { over: 24, color: "#e0561b", key: "freight.legend.late24" },
  { over: 12, color: "#d98b1b", key: "freight.legend.late12" },
];
const ON_TIME = "#2e9d6a";

function delayColor(hours) {
  if (hours === null || hours === undefined) return COLORS.border;
  return DELAY_BANDS.find((band) => hours > band.over)?.color || ON_TIME;
}

export async function mount(root, ctx) {
  const { api, t, maps, charts, live } = ctx;
  const state = { corridor: null, crossings: [], terminals: [], trains: new Map(), kpis: [], selected: null };

  const page = el("section", { class: "page", "data-page": id });
  const intro = el("p", { class: "muted", style: { margin: "0 0 10px" } });
  const statsBox = el("div");
  const mapTitle = el("h2");
  const mapEl = el("div", { style: { height: "440px", borderRadius: "4px" } });
  const legendBox = el("div");
  const trainsTitle = el("h2");
  const teuTitle = el("h2", { style: { marginTop: "12px" } });
  const trainsChart = el("div", { style: { height: "190px" } });
  const teuChart = el("div", { style: { height: "190px" } });
  const tableTitle = el("h2");
  const tableBox = el("div", { style: { maxHeight: "380px", overflow: "auto" } });
  const title = el("h1");
  replace(root, page);
  page.append(
    title, intro, statsBox,
    columns("minmax(0, 3fr) minmax(0, 2fr)", [
      el("div", { class: "panel" }, [mapTitle, mapEl, legendBox]),
      el("div", { class: "panel" }, [trainsTitle, trainsChart, teuTitle, teuChart]),
    ]),
    el("div", { class: "panel" }, [tableTitle, tableBox]),
  );

  const map = maps.basemap(mapEl, { view: "world" });
  const routeLayer = L.layerGroup().addTo(map);
  const trainLayer = L.layerGroup().addTo(map);
  const markers = new Map(); // train id → marker
  const labelled = []; // [marker, () => text] for permanent labels re-translated on a language change

  const [corridors, crossings, terminals, trains, kpis] = await Promise.all([
    api.entities("FreightCorridor"),
    api.entities("BorderCrossing"),
    api.entities("RailwayTerminal"),
    api.entities("Train", { q: 'status!="arrived"' }),
    api.kpis("freight").catch(() => []),
  ]);
  state.corridor = corridors[0] || null;
  state.crossings = crossings.sort((a, b) => (a.distanceFromOrigin ?? 0) - (b.distanceFromOrigin ?? 0));
  state.terminals = terminals;
  state.kpis = kpis || [];
  for (const train of trains) state.trains.set(train.id, train);
  const routeKm = () => Number(state.corridor?.routeLength) || ROUTE_KM;

  /** A place's name in the current language (the crossings carry English names only). */
  const placeName = (entity) => tOr(`freight.place.${shortId(entity.id)}`, localName(entity));
  const gaugeText = (change, key = "freight.gauge") => t(key, {
    at: tOr(`freight.at.${change.at}`, change.at), from: fmtNumber(change.from), to: fmtNumber(change.to),
  });
  const hours = (value) => (value === null || value === undefined ? "—"
    : t("freight.hours", { sign: value > 0 ? "+" : "", value: fmtNumber(value, { digits: 1 }) }));
  const statusText = (train) => {
    const status = tOr(`freight.status.${train.status}`, train.status || "—");
    if (train.status !== "atBorder" && train.status !== "gaugeChange") return status;
    const near = nearestCrossing(train.distanceTravelled);
    return near ? t("freight.statusAt", { status, place: placeName(near) }) : status;
  };
  const nearestCrossing = (km) => {
    if (typeof km !== "number") return null;
    let best = null;
    for (const crossing of state.crossings) {
      const gap = Math.abs((crossing.distanceFromOrigin ?? Infinity) - km);
      if (gap < 50 && (!best || gap < best.gap)) best = { crossing, gap };
    }
    return best?.crossing || null;
  };

  // ---- the map: line, terminals, crossings (drawn once), trains (live) ----
  function drawRoute() {
    const line = state.corridor?.location?.coordinates || [];
    const latlngs = line.map(([lng, lat]) => [lat, lng]);
    if (latlngs.length) {
      L.polyline(latlngs, { color: "#fff", weight: 7, opacity: 0.9, interactive: false }).addTo(routeLayer);
      const route = L.polyline(latlngs, { color: COLORS.route, weight: 3.5 }).addTo(routeLayer);
      maps.tooltip(route, () => tOr("freight.corridorName", text(state.corridor.name)), { sticky: true });
      map.fitBounds(route.getBounds(), { padding: [24, 24] });
    }
    for (const terminal of state.terminals) {
      const marker = maps.entityMarker(terminal, { color: COLORS.terminal, className: "square", size: 16, title: placeName(terminal) });
      if (!marker) continue;
      const west = (terminal.location?.coordinates?.[0] ?? 100) < 60;
      maps.tooltip(marker, "", { permanent: true, direction: west ? "bottom" : "right", offset: west ? [0, 8] : [10, 0] });
      maps.popup(marker, () => el("div", {}, [el("strong", { text: placeName(terminal) }), el("div", { text: t("freight.terminal") }),
        el("div", { class: "muted", text: text(terminal.description) })]));
      labelled.push([marker, () => placeName(terminal)]);
      marker.addTo(routeLayer);
    }
    for (const crossing of state.crossings) {
      const change = crossing.gaugeChange;
      const marker = maps.entityMarker(crossing, change
        ? { color: COLORS.gauge, className: "square gauge-change", glyph: "⇆", size: 18, title: gaugeText(change) }
        : { color: COLORS.border, className: "diamond", size: 11, title: placeName(crossing) });
      if (!marker) continue;
      maps.popup(marker, () => crossingPopup(crossing));
      if (change) {
        // Dostyk labelled below the line, Małaszewicze above, so the two never collide.
        const east = (crossing.location?.coordinates?.[0] ?? 0) > 60;
        maps.tooltip(marker, "", { permanent: true, direction: east ? "bottom" : "top", offset: east ? [0, 10] : [0, -10], className: "gauge-label" });
        labelled.push([marker, () => gaugeText(change, "freight.gaugeShort")]);
      }
      marker.addTo(routeLayer);
    }
    relabel();
  }

  function relabel() {
    for (const [marker, label] of labelled) maps.setTooltip(marker, label());
  }

  function crossingPopup(crossing) {
    const countries = (crossing.countries || []).map((c) => tOr(`freight.country.${c}`, c)).join("–");
    const assumed = /assumed/.test(String(crossing.source || ""));
    return el("div", {}, [
      el("strong", { text: placeName(crossing) }),
      el("div", { text: t("freight.border", { countries, km: fmtNumber(crossing.distanceFromOrigin) }) }),
      crossing.gaugeChange ? el("div", { style: { color: COLORS.gauge, fontWeight: "600" }, text: gaugeText(crossing.gaugeChange) }) : null,
      crossing.scheduledDwell ? el("div", { text: t("freight.dwell", { hours: fmtNumber(crossing.scheduledDwell) }) }) : null,
      assumed ? el("div", { class: "muted", text: t("freight.assumed") }) : null,
    ]);
  }

  function trainPopup(train) {
    return el("div", {}, [
      el("strong", { text: train.trainNumber || shortId(train.id) }),
      el("div", { text: statusText(train) }),
      el("div", { text: t("freight.km", { done: fmtNumber(train.distanceTravelled), total: fmtNumber(routeKm()) }) }),
      el("div", { text: t("freight.popup.eta", { eta: fmtDate(train.estimatedArrival), delay: hours(train.delay) }) }),
      el("div", { class: "muted", text: t("freight.popup.scheduled", { at: fmtDate(train.scheduledArrival) }) }),
      el("div", { text: t("freight.popup.teu", { teu: fmtNumber(train.teu), cargo: tOr(`freight.cargo.${train.cargo}`, train.cargo || "—") }) }),
    ]);
  }

  /** Add, move or remove a train's marker; arrived trains leave the map. */
  function placeTrain(train) {
    let marker = markers.get(train.id);
    if (train.status === "arrived" || !train.location) {
      if (marker) trainLayer.removeLayer(marker);
      markers.delete(train.id);
      return;
    }
    const style = { color: delayColor(train.delay), size: 12, className: state.selected === train.id ? "selected" : "" };
    if (!marker) {
      // Pointer-only: the trains table selects the same train (2.5.8 Equivalent); trains bunch up.
      marker = maps.entityMarker(train, { ...style, title: train.trainNumber || shortId(train.id), keyboard: false });
      if (!marker) return;
      maps.popup(marker, () => trainPopup(state.trains.get(train.id) || train));
      marker.on("click", () => select(train.id, false));
      markers.set(train.id, marker);
      marker.addTo(trainLayer);
    } else {
      marker.setLatLng(maps.pointOf(train.location));
      marker.restyle(style);
    }
  }

  function select(trainId, pan = true) {
    const previous = state.selected;
    state.selected = trainId;
    for (const each of [previous, trainId]) {
      const train = state.trains.get(each);
      if (train) placeTrain(train);
    }
    const marker = markers.get(trainId);
    if (pan && marker) {
      map.panTo(marker.getLatLng());
      marker.openPopup();
    }
    drawTable();
  }

  // ---- text, figures, charts, table ----
  function drawText() {
    title.textContent = t("freight.title");
    intro.textContent = t("freight.intro", {
      km: fmtNumber(routeKm()), days: fmtNumber(Number(state.corridor?.scheduledTransitTime) || 16),
    });
    mapTitle.textContent = t("freight.map");
    mapEl.setAttribute("aria-label", t("freight.mapLabel"));
    trainsTitle.textContent = t("freight.monthlyTrains");
    teuTitle.textContent = t("freight.monthlyTeu");
    replace(legendBox, legend([
      { color: COLORS.route, shape: "line", label: t("freight.legend.route") },
      { color: COLORS.terminal, shape: "square", label: t("freight.legend.terminal") },
      { color: COLORS.border, shape: "diamond", label: t("freight.legend.border") },
      { color: COLORS.gauge, shape: "square", label: t("freight.legend.gauge") },
      { color: ON_TIME, label: t("freight.legend.onTime") },
      ...[...DELAY_BANDS].reverse().map((band) => ({ color: band.color, label: t(band.key) })),
    ]));
  }

  function drawStats() {
    const kpi = (name) => state.kpis.find((k) => k.id === name);
    const figure = (name, { unit = "", digits, tone, suffix = "" } = {}) => {
      const found = kpi(name);
      const known = found?.value !== null && found?.value !== undefined;
      return stat(t(`freight.kpi.${name}`), known ? `${fmtNumber(found.value, { digits })}${suffix}` : "—", {
        unit: unit && known ? t(unit, { n: fmtNumber(found.value, { digits }) }) : "", title: found?.description || "", tone: known && tone ? tone(found.value) : "",
      });
    };
    replace(statsBox, stats([
      figure("trains-on-corridor", { unit: "freight.unit.trains" }),
      figure("trains-delayed", { unit: "freight.unit.trains", tone: (v) => (v > 0 ? "warn" : "ok") }),
      figure("transit-days", { unit: "freight.unit.days", digits: 1 }),
      figure("on-time-share", { digits: 1, suffix: "%", tone: (v) => (v >= 80 ? "ok" : "warn") }),
      figure("trains-per-month", { unit: "freight.unit.trains" }),
      figure("teu-per-month", { unit: "freight.unit.teu" }),
    ]));
  }

  let monthly = [];
  function drawCharts() {
    for (const chart of monthly) chart.dispose();
    monthly = [];
    const trains = state.kpis.find((k) => k.id === "trains-per-month")?.breakdown || {};
    const teu = state.kpis.find((k) => k.id === "teu-per-month")?.breakdown || {};
    const months = Object.keys(trains).sort();
    if (!months.length) {
      replace(trainsChart, el("p", { class: "note", text: t("freight.noMonths") }));
      return;
    }
    trainsChart.replaceChildren();
    teuChart.replaceChildren();
    const categories = months.map(fmtMonth);
    monthly.push(
      charts.bars(trainsChart, { categories, series: [{ name: t("freight.monthlyTrains"), data: months.map((m) => trains[m]), color: COLORS.route }], unit: t("freight.unit.trains") }),
      charts.bars(teuChart, { categories, series: [{ name: t("freight.monthlyTeu"), data: months.map((m) => teu[m] ?? 0), color: "#e07b39" }], unit: t("freight.unit.teu") }),
    );
  }

  function drawTable() {
    const rows = [...state.trains.values()]
      .filter((train) => train.status !== "arrived")
      .sort((a, b) => (b.distanceTravelled ?? 0) - (a.distanceTravelled ?? 0));
    tableTitle.textContent = t("freight.trains", { count: fmtNumber(rows.length) });
    if (!rows.length) {
      replace(tableBox, el("p", { class: "note", text: t("freight.noTrains") }));
      return;
    }
    const focused = document.activeElement?.closest?.("tr[data-entity-id]")?.dataset.entityId;
    const total = routeKm();
    const view = table([
      { key: "trainNumber", label: "freight.col.train", value: (r) => el("strong", { text: r.trainNumber || shortId(r.id) }) },
      { key: "status", label: "freight.col.status", value: (r) => statusText(r) },
      {
        key: "position", label: "freight.col.position",
        value: (r) => el("div", { style: { minWidth: "150px" } }, [
          t("freight.km", { done: fmtNumber(r.distanceTravelled), total: fmtNumber(total) }),
          bar((r.distanceTravelled || 0) / total, {
            color: COLORS.route, label: t("freight.progress", { share: fmtPercent((r.distanceTravelled || 0) / total, 0) }),
          }),
        ]),
      },
      { key: "departureDate", label: "freight.col.departed", value: (r) => fmtDate(r.departureDate) },
      { key: "estimatedArrival", label: "freight.col.eta", value: (r) => fmtDate(r.estimatedArrival) },
      {
        key: "delay", label: "freight.col.delay", numeric: true,
        value: (r) => (r.delay === null || r.delay === undefined ? "—" : chip(hours(r.delay), delayColor(r.delay))),
      },
      { key: "teu", label: "freight.col.teu", numeric: true, value: (r) => fmtNumber(r.teu) },
      { key: "cargo", label: "freight.col.cargo", value: (r) => tOr(`freight.cargo.${r.cargo}`, r.cargo || "—") },
    ], rows, { caption: "freight.tableCaption", onRow: (row) => select(row.id) });
    const body = view.tBodies[0];
    rows.forEach((row, index) => {
      const tr = body.rows[index];
      tr.dataset.entityId = row.id;
      if (row.id === state.selected) {
        tr.setAttribute("aria-selected", "true");
        tr.style.background = "var(--accent-soft)";
      }
    });
    replace(tableBox, view);
    if (focused) tableBox.querySelector(`tr[data-entity-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  function drawAll() {
    drawText();
    drawStats();
    drawCharts();
    drawTable();
    relabel();
  }

  drawRoute();
  for (const train of state.trains.values()) placeTrain(train);
  drawAll();
  page.dataset.ready = "true";

  // ---- live: trains move; the table follows at most every 2 s ----
  const redrawTable = throttle(drawTable, 2000);
  const stopTrains = live.on("Train", (change) => {
    const train = { ...(state.trains.get(change.id) || {}), ...change };
    state.trains.set(train.id, train);
    placeTrain(train);
    redrawTable();
  });
  const refresh = setInterval(async () => {
    try {
      state.kpis = (await api.kpis("freight")) || state.kpis;
      drawStats();
      drawCharts();
    } catch {
      /* shown as a toast by api; keep the last figures */
    }
  }, 60000);
  const stopLanguage = ctx.onLanguage(drawAll);

  return () => {
    stopTrains();
    stopLanguage();
    clearInterval(refresh);
    redrawTable.cancel();
    for (const chart of monthly) chart.dispose();
    map.remove();
  };
}

