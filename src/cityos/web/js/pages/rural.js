/**
 * Rural revitalization and urban renewal (#/rural; #/renewal lands here too).
 *
 * Rural: villages and farm plots on the map, plots coloured by their probe's soil moisture
 * and marked when the irrigation rule holds an open Alert on them, the villages' daily
 * indicators, produce batches by stage (farm → cooperative → market → sold).
 * Renewal: the renewal projects with progress against plan and budget execution, and the
 * old buildings by renewal status per district.
 */

import {
  bar, chip, columns, districtNamer, el, fmtDate, fmtNumber, legend, localName, replace, ruleThreshold,
  shortId, stat, stats, table, text, throttle, tOr,
} from "../ui.js";
import { language } from "../i18n.js";

export const id = "rural";
export const titleKey = "rural.title";

export const strings = {
  en: {
    "rural.title": "Rural and renewal",
    "rural.heading": "Rural revitalization and urban renewal",
    "rural.ruralHeading": "Rural revitalization",
    "rural.renewalHeading": "Urban renewal",
    "rural.intro": "Villages, farms, plots, produce and renewal projects here are simulated: names are invented and every figure is made up.",
    "rural.kpi.villages": "Villages",
    "rural.kpi.alerts": "Plots under irrigation alert",
    "rural.kpi.traced": "Batches traced end to end",
    "rural.kpi.orders": "E-commerce orders, 7 days",
    "rural.kpi.broadband": "Broadband coverage",
    "rural.kpi.renewed": "Renewed",
    "rural.kpi.inRenewal": "In renewal",
    "rural.kpi.awaiting": "Awaiting renewal",
    "rural.kpi.condition": "Average condition",
    "rural.kpi.budget": "Budget execution",
    "rural.kpi.onSchedule": "Projects on schedule",
    "rural.kpi.safety": "Open safety cases",
    "rural.unit.plots": "plots",
    "rural.unit.orders": "orders",
    "rural.unit.buildings": "buildings",
    "rural.unit.score": "/ 100",
    "rural.unit.cases": "cases",
    "rural.map": "Villages and farm plots",
    "rural.mapLabel": "Map of Chongqing with villages, farm plots coloured by soil moisture, and produce markets",
    "rural.legend.village": "Village",
    "rural.legend.market": "Wholesale market",
    "rural.legend.dry": "Soil dry (< {value})",
    "rural.legend.low": "Drying ({low}–{high})",
    "rural.legend.ok": "Moist",
    "rural.legend.wet": "Wet (> {value})",
    "rural.legend.alert": "Irrigation alert (!)",
    "rural.legend.none": "No reading",
    "rural.villages": "Village indicators",
    "rural.col.village": "Village",
    "rural.col.product": "Product",
    "rural.col.broadband": "Broadband",
    "rural.col.orders": "Orders / day",
    "rural.col.visitors": "Visitors / day",
    "rural.col.plots": "Dry plots",
    "rural.dryPlots": "{dry} / {all}",
    "rural.product.navel-orange": "Navel orange",
    "rural.product.prickly-ash": "Chinese prickly ash",
    "rural.product.tea": "Tea",
    "rural.product.kiwifruit": "Kiwifruit",
    "rural.batches": "Produce batches by stage",
    "rural.stage.harvested": "Harvested",
    "rural.stage.atCooperative": "At cooperative",
    "rural.stage.atMarket": "At market",
    "rural.stage.sold": "Sold",
    "rural.unit.batches": "batches",
    "rural.orders": "E-commerce orders, last 7 days, by district",
    "rural.plot": "Plot {n} of farm {farm}, {village}",
    "rural.plotInfo": "Soil moisture {moisture} (volumetric) · {temperature} °C",
    "rural.plotAlert": "Irrigation alert open",
    "rural.plotPick": "Show on the map",
    "rural.plotPickNone": "Choose a market or plot…",
    "rural.plotPickPlots": "Farm plots",
    "rural.villageInfo": "{district} · {product}",
    "rural.projects": "Renewal projects",
    "rural.col.project": "Project",
    "rural.col.status": "Status",
    "rural.col.progress": "Progress",
    "rural.col.budget": "Budget executed",
    "rural.col.end": "Planned end",
    "rural.col.milestones": "Milestones",
    "rural.status.planned": "Planned",
    "rural.status.ongoing": "Ongoing",
    "rural.status.suspended": "Suspended",
    "rural.status.completed": "Completed",
    "rural.vsPlan": "{sign}{value} pts vs plan",
    "rural.spent": "{spent} / {budget} M CNY",
    "rural.milestones": "{done} / {all}",
    "rural.nextMilestone": "next: {name}, due {due}",
    "rural.milestonesOverdue": "past due: {name} ({due})",
    "rural.delay": "Stalled: {reason}",
    "rural.reason.residents' consultation": "residents' consultation",
    "rural.reason.pipeline relocation": "pipeline relocation",
    "rural.reason.rainy weather": "rainy weather",
    "rural.reason.material delivery": "material delivery",
    "rural.reason.design change": "design change",
    "rural.milestone.residents' consultation": "residents' consultation",
    "rural.milestone.design approved": "design approved",
    "rural.milestone.pipes and wiring": "pipes and wiring",
    "rural.milestone.facades and roofs": "facades and roofs",
    "rural.milestone.lifts and accessibility": "lifts and accessibility",
    "rural.milestone.acceptance": "acceptance",
    "rural.buildings": "Old buildings by renewal status",
    "rural.noProjects": "No renewal project yet.",
  },
  zh: {
    "rural.title": "乡村振兴与城市更新",
    "rural.heading": "乡村振兴与城市更新",
    "rural.ruralHeading": "乡村振兴",
    "rural.renewalHeading": "城市更新",
    "rural.intro": "本页的村庄、农场、地块、农产品和更新项目均为模拟数据：名称为虚构，所有数字均为编造。",
    "rural.kpi.villages": "村庄",
    "rural.kpi.alerts": "灌溉告警地块",
    "rural.kpi.traced": "全程可追溯批次",
    "rural.kpi.orders": "近 7 天电商订单",
    "rural.kpi.broadband": "宽带覆盖率",
    "rural.kpi.renewed": "已改造",
    "rural.kpi.inRenewal": "改造中",
    "rural.kpi.awaiting": "待改造",
    "rural.kpi.condition": "平均完好度",
    "rural.kpi.budget": "预算执行率",
    "rural.kpi.onSchedule": "按期项目",
    "rural.kpi.safety": "未结安全案件",
    "rural.unit.plots": "块",
    "rural.unit.orders": "单",
    "rural.unit.buildings": "栋",
    "rural.unit.score": "/ 100",
    "rural.unit.cases": "件",
    "rural.map": "村庄与农田地块",
    "rural.mapLabel": "重庆地图：村庄、按土壤墒情着色的农田地块和农产品批发市场",
    "rural.legend.village": "村庄",
    "rural.legend.market": "批发市场",
    "rural.legend.dry": "土壤干旱（< {value}）",
    "rural.legend.low": "偏干（{low}–{high}）",
    "rural.legend.ok": "适宜",
    "rural.legend.wet": "偏湿（> {value}）",
    "rural.legend.alert": "灌溉告警（!）",
    "rural.legend.none": "无读数",
    "rural.villages": "村庄指标",
    "rural.col.village": "村庄",
    "rural.col.product": "特色产品",
    "rural.col.broadband": "宽带覆盖",
    "rural.col.orders": "日订单",
    "rural.col.visitors": "日游客",
    "rural.col.plots": "干旱地块",
    "rural.dryPlots": "{dry} / {all}",
    "rural.product.navel-orange": "脐橙",
    "rural.product.prickly-ash": "花椒",
    "rural.product.tea": "茶叶",
    "rural.product.kiwifruit": "猕猴桃",
    "rural.batches": "各环节农产品批次",
    "rural.stage.harvested": "已采收",
    "rural.stage.atCooperative": "在合作社",
    "rural.stage.atMarket": "在市场",
    "rural.stage.sold": "已售出",
    "rural.unit.batches": "批",
    "rural.orders": "近 7 天各区县电商订单",
    "rural.plot": "{village} {farm} 号农场 {n} 号地块",
    "rural.plotInfo": "土壤含水率 {moisture}（体积比）· {temperature} °C",
    "rural.plotAlert": "灌溉告警未解除",
    "rural.plotPick": "在地图上查看",
    "rural.plotPickNone": "选择市场或地块…",
    "rural.plotPickPlots": "农田地块",
    "rural.villageInfo": "{district} · {product}",
    "rural.projects": "更新改造项目",
    "rural.col.project": "项目",
    "rural.col.status": "状态",
    "rural.col.progress": "进度",
    "rural.col.budget": "预算执行",
    "rural.col.end": "计划完工",
    "rural.col.milestones": "节点",
    "rural.status.planned": "计划中",
    "rural.status.ongoing": "施工中",
    "rural.status.suspended": "暂停",
    "rural.status.completed": "已完工",
    "rural.vsPlan": "较计划 {sign}{value} 个百分点",
    "rural.spent": "{spent} / {budget} 万元",
    "rural.milestones": "{done} / {all}",
    "rural.nextMilestone": "下一节点：{name}，{due} 到期",
    "rural.milestonesOverdue": "已逾期：{name}（{due}）",
    "rural.delay": "停滞原因：{reason}",
    "rural.reason.residents' consultation": "居民协商",
    "rural.reason.pipeline relocation": "管线迁改",
    "rural.reason.rainy weather": "雨天",
    "rural.reason.material delivery": "材料供应",
    "rural.reason.design change": "设计变更",
    "rural.milestone.residents' consultation": "居民协商",
    "rural.milestone.design approved": "设计批复",
    "rural.milestone.pipes and wiring": "管网线路",
    "rural.milestone.facades and roofs": "立面屋面",
    "rural.milestone.lifts and accessibility": "加装电梯与无障碍",
    "rural.milestone.acceptance": "竣工验收",
    "rural.buildings": "老旧楼栋改造状态",
    "rural.noProjects": "暂无更新项目。",
    "rural.projectName": "{community}改造（模拟）",
  },
  pl: {
    "rural.milestonesOverdue": "po terminie: {name} ({due})",
    "rural.plotPick": "Pokaż na mapie",
    "rural.plotPickNone": "Wybierz targowisko lub działkę…",
    "rural.plotPickPlots": "Działki rolne",
  },
};

/** Whether a milestone due on `due` (a local date, or a date-time) is past due today: its
 * whole due day has passed. */
function pastDue(due) {
  if (!due) return false;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(String(due)) ? `${due}T23:59:59` : due;
  const at = Date.parse(day);
  return Number.isFinite(at) && at < Date.now();
}

const COLORS = {
  village: "#17324d", market: "#8a6d3b", dry: "#b5402b", low: "#e0a526", ok: "#3a9d5d", wet: "#2a6fdb", none: "#8795a4",
  alert: "#c0392b",
};
const STAGES = ["harvested", "atCooperative", "atMarket", "sold"];
const STAGE_COLORS = ["#8a6d3b", "#e07b39", "#2a6fdb", "#2e9d6a"];
const RENEWAL = [["renewed", "renewal-buildings-renewed", "#2e9d6a"], ["inRenewal", "renewal-buildings-in-renewal", "#2a6fdb"], ["awaiting", "renewal-buildings-awaiting", "#d98b1b"]];
const STATUS_COLORS = { planned: "#8795a4", ongoing: "#2a6fdb", suspended: "#c0392b", completed: "#2e9d6a" };
/** Soil moisture bands (volumetric water content) above the irrigation rule's threshold. */
const DRYING_BAND = 0.04;
const WET_ABOVE = 0.32;
const IRRIGATION_RULE = "rural-irrigation";

export async function mount(root, ctx) {
  const { api, t, maps, charts } = ctx;
  const state = {
    villages: [], farms: new Map(), parcels: [], records: new Map(), markets: [], batches: [], alerts: new Set(),
    projects: [], communities: new Map(), kpis: [], rules: [], selectedVillage: null,
  };

  const page = el("section", { class: "page", "data-page": id });
  const title = el("h1");
  const intro = el("p", { class: "muted", style: { margin: "0 0 10px" } });
  const ruralHeading = el("h2", { style: { fontSize: "17px", margin: "4px 0 8px" } });
  const ruralStats = el("div");
  const mapTitle = el("h2");
  const mapEl = el("div", { style: { height: "420px", borderRadius: "4px" } });
  const legendBox = el("div");
  // Plots and markets have pointer-only markers (dense, they overlap): this picker shows the same
  // plot's or market's details from the keyboard (WCAG 2.2 2.5.8 Equivalent); villages have their table.
  const plotPickLabel = el("span", { class: "muted" });
  const plotPick = el("select", { style: { maxWidth: "100%", minHeight: "24px" }, onchange: (event) => showPlot(event.target.value) });
  const plotPickBox = el("label", { style: { display: "flex", gap: "6px", alignItems: "center", marginTop: "8px", flexWrap: "wrap" } }, [plotPickLabel, plotPick]);
  const villagesTitle = el("h2");
  const villagesBox = el("div", { style: { maxHeight: "456px", overflow: "auto" } });
  const batchesTitle = el("h2");
  const batchesChart = el("div", { style: { height: "220px" } });
  const ordersTitle = el("h2");
  const ordersChart = el("div", { style: { height: "220px" } });
  const renewalHeading = el("h2", { style: { fontSize: "17px", margin: "8px 0 8px" } });
  const renewalStats = el("div");
  const projectsTitle = el("h2");
  const projectsBox = el("div", { style: { overflow: "auto" } });
  const buildingsTitle = el("h2");
  const buildingsChart = el("div", { style: { height: "300px" } });
  page.append(
    title, intro, ruralHeading, ruralStats,
    columns("minmax(0, 7fr) minmax(0, 6fr)", [
      el("div", { class: "panel" }, [mapTitle, mapEl, plotPickBox, legendBox]),
      el("div", { class: "panel" }, [villagesTitle, villagesBox]),
    ]),
    columns("minmax(0, 1fr) minmax(0, 1fr)", [
      el("div", { class: "panel" }, [batchesTitle, batchesChart]),
      el("div", { class: "panel" }, [ordersTitle, ordersChart]),
    ]),
    renewalHeading, renewalStats,
    columns("minmax(0, 2fr) minmax(0, 1fr)", [
      el("div", { class: "panel" }, [projectsTitle, projectsBox]),
      el("div", { class: "panel" }, [buildingsTitle, buildingsChart]),
    ]),
  );
  replace(root, page);

  const map = maps.basemap(mapEl, { view: "chongqing" });
  const plotLayer = L.layerGroup().addTo(map);
  const marketMarkers = new Map(); // market id → its marker (redrawn with the villages)
  const pointLayer = L.layerGroup().addTo(map);
  const plotMarkers = new Map(); // parcel id → {marker, shape}

  const [villages, farms, parcels, records, markets, batches, alerts, projects, communities, ruralKpis, renewalKpis, rules, districtName] = await Promise.all([
    api.entities("Village"),
    api.entities("AgriFarm", { attrs: "refVillage" }),
    api.entities("AgriParcel"),
    api.entities("AgriParcelRecord", { attrs: "hasAgriParcel,soilMoistureVwc,soilTemperature" }),
    api.entities("Market"),
    api.entities("ProduceBatch", { attrs: "stage,product,quantity" }),
    api.entities("Alert", { q: `subCategory=="${IRRIGATION_RULE}";!validTo`, attrs: "alertSource,subCategory" }).catch(() => []),
    api.entities("RenewalProject"),
    api.entities("ResidentialCommunity", { attrs: "name,alternateName" }),
    api.kpis("rural").catch(() => []),
    api.kpis("renewal").catch(() => []),
    api.get("/rules", null, { quiet: true }).catch(() => []),
    districtNamer(maps),
  ]);
  state.villages = villages.sort((a, b) => String(a.district).localeCompare(b.district));
  for (const farm of farms) state.farms.set(farm.id, farm);
  state.parcels = parcels;
  for (const record of records) state.records.set(record.hasAgriParcel, record);
  state.markets = markets;
  state.batches = batches;
  for (const alert of alerts) if (alert.alertSource) state.alerts.add(alert.alertSource);
  state.projects = projects;
  for (const community of communities) state.communities.set(community.id, community);
  state.kpis = [...(ruralKpis || []), ...(renewalKpis || [])];
  state.rules = rules || [];
  const threshold = ruleThreshold(state.rules, IRRIGATION_RULE, "soilMoistureVwc", 0.18);

  // ---- small lookups ----
  const kpi = (name) => state.kpis.find((k) => k.id === name);
  const villageOfParcel = (parcel) => state.farms.get(parcel.belongsTo)?.refVillage;
  const villageById = (villageId) => state.villages.find((v) => v.id === villageId);
  const product = (code) => tOr(`rural.product.${code}`, code || "—");
  const moistureColor = (record) => {
    const value = record?.soilMoistureVwc;
    if (typeof value !== "number") return COLORS.none;
    if (value < threshold) return COLORS.dry;
    if (value < threshold + DRYING_BAND) return COLORS.low;
    return value > WET_ABOVE ? COLORS.wet : COLORS.ok;
  };
  const alerted = (parcelId) => {
    const record = state.records.get(parcelId);
    return Boolean(record && state.alerts.has(record.id));
  };
  const isDry = (parcelId) => {
    const value = state.records.get(parcelId)?.soilMoistureVwc;
    return alerted(parcelId) || (typeof value === "number" && value < threshold);
  };
  const plotName = (parcel) => {
    const [, farm, n] = /-f(\d+)-p(\d+)$/.exec(parcel.id) || [];
    const village = villageById(villageOfParcel(parcel));
    return farm && village ? t("rural.plot", { n, farm, village: localName(village) }) : text(parcel.name);
  };

  // ---- map ----
  function drawPoints() {
    pointLayer.clearLayers();
    marketMarkers.clear();
    for (const village of state.villages) {
      // Pointer-only: the villages table selects the same village (2.5.8 Equivalent).
      const marker = maps.entityMarker(village, {
        color: COLORS.village, className: `square${village.id === state.selectedVillage ? " selected" : ""}`, size: 13, title: localName(village), keyboard: false,
      });
      if (!marker) continue;
      maps.tooltip(marker, () => `${localName(village)} · ${t("rural.villageInfo", { district: districtName(village.district), product: product(village.product) })}`, { direction: "top", offset: [0, -8] });
      marker.on("click", () => selectVillage(village.id, false));
      marker.addTo(pointLayer);
    }
    for (const market of state.markets) {
      const marker = maps.entityMarker(market, { color: COLORS.market, className: "diamond", size: 12, title: localName(market), keyboard: false });
      if (!marker) continue;
      marketMarkers.set(market.id, marker);
      maps.tooltip(marker, () => `${t("rural.legend.market")} · ${districtName(market.district)}`, { direction: "top", offset: [0, -8] });
      marker.addTo(pointLayer);
    }
  }

  function plotStyle(parcel) {
    const color = moistureColor(state.records.get(parcel.id));
    const warn = alerted(parcel.id);
    return { color: warn ? COLORS.alert : color, size: warn ? 14 : 9, glyph: warn ? "!" : "", className: warn ? "irrigation-alert" : "" };
  }

  function placePlot(parcel) {
    const style = plotStyle(parcel);
    const existing = plotMarkers.get(parcel.id);
    if (existing) {
      existing.marker.restyle(style);
      existing.shape?.setStyle({ color: style.color, fillColor: style.color });
      return;
    }
    const marker = maps.entityMarker(parcel, { ...style, title: plotName(parcel), keyboard: false });
    if (!marker) return;
    maps.popup(marker, () => plotPopup(parcel));
    const shape = parcel.location?.type === "Polygon"
      ? L.geoJSON(parcel.location, { style: { color: style.color, weight: 1, fillColor: style.color, fillOpacity: 0.5 }, interactive: false })
      : null;
    if (shape) shape.addTo(plotLayer);
    marker.addTo(plotLayer);
    plotMarkers.set(parcel.id, { marker, shape });
  }

  function plotPopup(parcel) {
    const record = state.records.get(parcel.id);
    return el("div", {}, [
      el("strong", { text: plotName(parcel) }),
      el("div", { text: t("rural.plotInfo", {
        moisture: fmtNumber(record?.soilMoistureVwc, { digits: 3 }), temperature: fmtNumber(record?.soilTemperature, { digits: 1 }),
      }) }),
      alerted(parcel.id) ? el("div", { style: { color: COLORS.alert, fontWeight: "600" }, text: t("rural.plotAlert") }) : null,
    ]);
  }

  function drawPlots() {
    for (const parcel of state.parcels) placePlot(parcel);
  }

  /** The place picker: every market and plot with a marker, by name, in the current language. */
  function drawPlotPick() {
    plotPickLabel.textContent = t("rural.plotPick");
    const chosen = plotPick.value;
    const options = (entries) => entries
      .sort((a, b) => a[1].localeCompare(b[1], undefined, { numeric: true }))
      .map(([id, name]) => el("option", { value: id, text: name, selected: id === chosen }));
    const markets = state.markets.filter((market) => marketMarkers.has(market.id)).map((market) => [market.id, localName(market)]);
    const plots = state.parcels.filter((parcel) => plotMarkers.has(parcel.id)).map((parcel) => [parcel.id, plotName(parcel)]);
    plotPick.replaceChildren(el("option", { value: "", text: t("rural.plotPickNone") }),
      el("optgroup", { label: t("rural.legend.market") }, options(markets)),
      el("optgroup", { label: t("rural.plotPickPlots") }, options(plots)));
  }

  /** What pointing at a market (its tooltip) or clicking a plot (its popup) does, map moved to it. */
  function showPlot(id) {
    const market = marketMarkers.get(id);
    const marker = market || plotMarkers.get(id)?.marker;
    if (!marker) return;
    map.setView(marker.getLatLng(), Math.max(map.getZoom(), 13));
    if (market) market.openTooltip();
    else marker.openPopup();
  }

  function selectVillage(villageId, pan = true) {
    state.selectedVillage = villageId;
    const village = villageById(villageId);
    if (pan && village) map.setView(maps.pointOf(village.location), 13);
    drawPoints();
    drawVillages();
  }

  // ---- text and figures ----
  function drawText() {
    title.textContent = t("rural.heading");
    intro.textContent = t("rural.intro");
    ruralHeading.textContent = t("rural.ruralHeading");
    renewalHeading.textContent = t("rural.renewalHeading");
    mapTitle.textContent = t("rural.map");
    mapEl.setAttribute("aria-label", t("rural.mapLabel"));
    villagesTitle.textContent = t("rural.villages");
    batchesTitle.textContent = t("rural.batches");
    ordersTitle.textContent = t("rural.orders");
    projectsTitle.textContent = t("rural.projects");
    buildingsTitle.textContent = t("rural.buildings");
    const value = (n) => fmtNumber(n, { digits: 2 });
    replace(legendBox, legend([
      { color: COLORS.village, shape: "square", label: t("rural.legend.village") },
      { color: COLORS.market, shape: "diamond", label: t("rural.legend.market") },
      { color: COLORS.dry, label: t("rural.legend.dry", { value: value(threshold) }) },
      { color: COLORS.low, label: t("rural.legend.low", { low: value(threshold), high: value(threshold + DRYING_BAND) }) },
      { color: COLORS.ok, label: t("rural.legend.ok") },
      { color: COLORS.wet, label: t("rural.legend.wet", { value: value(WET_ABOVE) }) },
      { color: COLORS.alert, label: t("rural.legend.alert") },
    ]));
  }

  /** A stat from a KPI; `percent`: the value is already in %. */
  function kpiStat(name, labelKey, { unit = "", percent = false, digits, tone } = {}) {
    const found = kpi(name);
    const known = found?.value !== null && found?.value !== undefined;
    const shown = known ? `${fmtNumber(found.value, { digits })}${percent ? "%" : ""}` : "—";
    return stat(t(labelKey), shown, { unit: known && unit ? t(unit, { n: fmtNumber(found.value, { digits }) }) : "", title: found?.description || "", tone: known && tone ? tone(found.value) : "" });
  }

  function drawStats() {
    replace(ruralStats, stats([
      stat(t("rural.kpi.villages"), fmtNumber(state.villages.length)),
      stat(t("rural.kpi.alerts"), fmtNumber(state.alerts.size), { unit: t("rural.unit.plots", { n: state.alerts.size }), tone: state.alerts.size ? "warn" : "ok", title: kpi("rural-irrigation-alerts")?.description || "" }),
      kpiStat("rural-batches-traced", "rural.kpi.traced", { percent: true, digits: 1 }),
      kpiStat("rural-ecommerce-orders-7d", "rural.kpi.orders", { unit: "rural.unit.orders" }),
      kpiStat("rural-broadband-coverage", "rural.kpi.broadband", { percent: true, digits: 1 }),
    ], "170px"));
    replace(renewalStats, stats([
      kpiStat("renewal-buildings-renewed", "rural.kpi.renewed", { unit: "rural.unit.buildings" }),
      kpiStat("renewal-buildings-in-renewal", "rural.kpi.inRenewal", { unit: "rural.unit.buildings" }),
      kpiStat("renewal-buildings-awaiting", "rural.kpi.awaiting", { unit: "rural.unit.buildings" }),
      kpiStat("renewal-condition-score", "rural.kpi.condition", { unit: "rural.unit.score", digits: 1 }),
      kpiStat("renewal-budget-execution", "rural.kpi.budget", { percent: true, digits: 1 }),
      kpiStat("renewal-projects-on-schedule", "rural.kpi.onSchedule", { percent: true, digits: 0, tone: (v) => (v >= 70 ? "ok" : "warn") }),
      kpiStat("renewal-open-safety-cases", "rural.kpi.safety", { unit: "rural.unit.cases", tone: (v) => (v > 0 ? "warn" : "ok") }),
    ], "150px"));
  }

  function drawVillages() {
    const plotsOf = new Map();
    for (const parcel of state.parcels) {
      const villageId = villageOfParcel(parcel);
      const entry = plotsOf.get(villageId) || { all: 0, dry: 0 };
      entry.all += 1;
      if (isDry(parcel.id)) entry.dry += 1;
      plotsOf.set(villageId, entry);
    }
    const view = table([
      {
        key: "name", label: "rural.col.village",
        value: (v) => el("div", {}, [el("strong", { text: localName(v) }), el("div", { class: "muted", style: { fontSize: "12px" }, text: districtName(v.district) })]),
      },
      { key: "product", label: "rural.col.product", value: (v) => product(v.product) },
      { key: "broadbandCoverage", label: "rural.col.broadband", numeric: true, value: (v) => (typeof v.broadbandCoverage === "number" ? `${fmtNumber(v.broadbandCoverage, { digits: 1 })}%` : "—") },
      { key: "ecommerceOrders", label: "rural.col.orders", numeric: true, value: (v) => fmtNumber(v.ecommerceOrders) },
      { key: "visitors", label: "rural.col.visitors", numeric: true, value: (v) => fmtNumber(v.visitors) },
      {
        key: "plots", label: "rural.col.plots", numeric: true,
        value: (v) => {
          const entry = plotsOf.get(v.id) || { all: 0, dry: 0 };
          const label = t("rural.dryPlots", { dry: fmtNumber(entry.dry), all: fmtNumber(entry.all) });
          return entry.dry ? chip(label, COLORS.dry) : label;
        },
      },
    ], state.villages, { caption: "rural.villages", onRow: (v) => selectVillage(v.id) });
    state.villages.forEach((village, index) => {
      const row = view.tBodies[0].rows[index];
      row.dataset.entityId = village.id;
      if (village.id === state.selectedVillage) row.style.background = "var(--accent-soft)";
    });
    replace(villagesBox, view);
  }

  // ---- charts ----
  let chartsDrawn = [];
  function drawCharts() {
    for (const chart of chartsDrawn) chart.dispose();
    chartsDrawn = [];
    const products = [...new Set(state.batches.map((b) => b.product).filter(Boolean))].sort();
    const count = (p, stage) => state.batches.filter((b) => b.product === p && b.stage === stage).length;
    if (products.length) {
      chartsDrawn.push(charts.bars(batchesChart, {
        categories: products.map(product), horizontal: true, stack: true, unit: t("rural.unit.batches"),
        series: STAGES.map((stage, index) => ({ name: t(`rural.stage.${stage}`), data: products.map((p) => count(p, stage)), color: STAGE_COLORS[index] })),
      }));
    } else {
      replace(batchesChart, el("p", { class: "note", text: t("ui.none") }));
    }
    const orders = kpi("rural-ecommerce-orders-7d")?.breakdown || {};
    const districts = Object.keys(orders).sort((a, b) => (orders[b] ?? 0) - (orders[a] ?? 0));
    if (districts.length) {
      chartsDrawn.push(charts.bars(ordersChart, {
        categories: districts.map(districtName), unit: t("rural.unit.orders"),
        series: [{ name: t("rural.kpi.orders"), data: districts.map((d) => orders[d] ?? 0), color: "#2a6fdb" }],
      }));
      chartsDrawn.at(-1).setOption({ xAxis: { axisLabel: { rotate: 40, interval: 0, fontSize: 10 } }, grid: { bottom: 62 } });
    } else {
      replace(ordersChart, el("p", { class: "note", text: t("ui.none") }));
    }
    const perDistrict = RENEWAL.map(([, name]) => kpi(name)?.breakdown || {});
    const renewalDistricts = [...new Set(perDistrict.flatMap((b) => Object.keys(b)))].sort();
    if (renewalDistricts.length) {
      chartsDrawn.push(charts.bars(buildingsChart, {
        categories: renewalDistricts.map(districtName), horizontal: true, stack: true, unit: t("rural.unit.buildings"),
        series: RENEWAL.map(([status, , color], index) => ({
          name: t(`rural.kpi.${status}`), color, data: renewalDistricts.map((d) => perDistrict[index][d] ?? 0),
        })),
      }));
    } else {
      replace(buildingsChart, el("p", { class: "note", text: t("ui.none") }));
    }
  }

  // ---- renewal projects ----
  /** CNY in the unit each language counts budgets in: millions in English, 万 (10,000) in Chinese. */
  const money = (value) => (language() === "zh" ? fmtNumber(value / 1e4, { digits: 0 }) : fmtNumber(value / 1e6, { digits: 1 }));

  const projectName = (project) => {
    const community = state.communities.get(project.refCommunity);
    // The community's own name: 工农小区 in Chinese, "Gongnong" (of "Gongnong Community") elsewhere.
    const own = language() === "zh" ? community?.alternateName : /^(.+?) Community\b/.exec(text(community?.name))?.[1];
    if (language() !== "en" && own) return t("rural.projectName", { community: own });
    return text(project.name) || shortId(project.id);
  };

  function drawProjects() {
    const versusPlan = kpi("renewal-projects-on-schedule")?.breakdown || {};
    const order = ["suspended", "ongoing", "planned", "completed"];
    const rows = [...state.projects].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status) || (a.progress ?? 0) - (b.progress ?? 0));
    if (!rows.length) {
      replace(projectsBox, el("p", { class: "note", text: t("rural.noProjects") }));
      return;
    }
    const view = table([
      {
        key: "name", label: "rural.col.project",
        value: (p) => el("div", {}, [el("strong", { text: projectName(p) }), el("div", { class: "muted", style: { fontSize: "12px" }, text: districtName(p.district) })]),
      },
      {
        key: "status", label: "rural.col.status",
        value: (p) => el("div", {}, [
          chip(tOr(`rural.status.${p.status}`, p.status || "—"), STATUS_COLORS[p.status] || COLORS.none),
          p.status === "suspended" && p.delayReason && p.delayReason !== "none"
            ? el("div", { style: { fontSize: "12px", color: "var(--bad)" }, text: t("rural.delay", { reason: tOr(`rural.reason.${p.delayReason}`, p.delayReason) }) })
            : null,
        ]),
      },
      {
        key: "progress", label: "rural.col.progress",
        value: (p) => {
          const gap = versusPlan[text(p.name)];
          return el("div", { style: { minWidth: "140px" } }, [
            `${fmtNumber(p.progress, { digits: 0 })}%`,
            typeof gap === "number" ? el("span", {
              style: { marginLeft: "6px", fontSize: "12px", color: gap < 0 ? "var(--bad)" : "var(--ok-text)" },
              text: t("rural.vsPlan", { sign: gap > 0 ? "+" : "", value: fmtNumber(gap, { digits: 1 }) }),
            }) : null,
            bar((p.progress || 0) / 100, { color: STATUS_COLORS[p.status] || "var(--accent)", label: `${fmtNumber(p.progress)}%` }),
          ]);
        },
      },
      {
        key: "budget", label: "rural.col.budget",
        value: (p) => {
          const share = p.budget ? (p.spent || 0) / p.budget : null;
          return el("div", { style: { minWidth: "150px" } }, [
            share === null ? "—" : `${fmtNumber(share * 100, { digits: 1 })}%`,
            el("span", { class: "muted", style: { marginLeft: "6px", fontSize: "12px" }, text: t("rural.spent", { spent: money(p.spent || 0), budget: money(p.budget || 0) }) }),
            bar(share, { color: share > 1 ? "var(--bad)" : "var(--chart-5)", label: share === null ? "" : `${fmtNumber(share * 100, { digits: 1 })}%` }),
          ]);
        },
      },
      { key: "plannedEndDate", label: "rural.col.end", value: (p) => el("span", { style: { whiteSpace: "nowrap" }, text: fmtDate(p.plannedEndDate, { time: false }) }) },
      {
        key: "milestones", label: "rural.col.milestones",
        value: (p) => {
          const list = Array.isArray(p.milestones) ? p.milestones : [];
          const next = list.find((m) => !m.done);
          const late = list.filter((m) => !m.done && pastDue(m.due));
          return el("div", late.length ? { "data-overdue": String(late.length) } : {}, [
            t("rural.milestones", { done: fmtNumber(list.filter((m) => m.done).length), all: fmtNumber(list.length) }),
            late.length ? el("div", {}, el("span", {
              class: "badge overdue-milestone",
              title: late.map((m) => `${tOr(`rural.milestone.${m.name}`, m.name)}: ${fmtDate(m.due, { time: false })}`).join("; "),
              text: `⚠ ${t("rural.milestonesOverdue", { name: tOr(`rural.milestone.${late[0].name}`, late[0].name), due: fmtDate(late[0].due, { time: false }) })}${late.length > 1 ? ` +${fmtNumber(late.length - 1)}` : ""}`,
            })) : null,
            next && !late.length ? el("div", { class: "muted", style: { fontSize: "12px" }, text: t("rural.nextMilestone", {
              name: tOr(`rural.milestone.${next.name}`, next.name), due: fmtDate(next.due, { time: false }),
            }) }) : null,
          ]);
        },
      },
    ], rows, { caption: "rural.projects" });
    rows.forEach((project, index) => { view.tBodies[0].rows[index].dataset.entityId = project.id; });
    replace(projectsBox, view);
  }

  function drawAll() {
    drawText();
    drawStats();
    drawPoints();
    drawPlotPick();
    drawVillages();
    drawCharts();
    drawProjects();
  }

  drawPlots();
  drawAll();
  const points = [...state.villages, ...state.markets].map((e) => maps.pointOf(e.location)).filter(Boolean);
  if (points.length) map.fitBounds(L.latLngBounds(points), { padding: [20, 20] });
  page.dataset.ready = "true";

  // ---- live: soil probes and irrigation alerts; everything else reports daily ----
  const redrawVillages = throttle(() => {
    drawVillages();
    drawStats();
  }, 3000);
  const stops = [
    ctx.live.on("AgriParcelRecord", (change) => {
      const parcelId = change.hasAgriParcel || [...state.records.values()].find((r) => r.id === change.id)?.hasAgriParcel;
      if (!parcelId) return;
      state.records.set(parcelId, { ...(state.records.get(parcelId) || {}), ...change });
      const parcel = state.parcels.find((p) => p.id === parcelId);
      if (parcel) placePlot(parcel);
      redrawVillages();
    }),
    ctx.live.on("Alert", (change) => {
      if (change.subCategory !== IRRIGATION_RULE || !change.alertSource) return;
      if (change.validTo) state.alerts.delete(change.alertSource);
      else state.alerts.add(change.alertSource);
      const parcel = state.parcels.find((p) => state.records.get(p.id)?.id === change.alertSource);
      if (parcel) placePlot(parcel);
      redrawVillages();
    }),
    ctx.onLanguage(drawAll),
  ];
  const refresh = setInterval(async () => {
    try {
      const [rural, renewal, projects, batches, villages] = await Promise.all([
        api.kpis("rural"), api.kpis("renewal"), api.entities("RenewalProject"),
        api.entities("ProduceBatch", { attrs: "stage,product,quantity" }), api.entities("Village"),
      ]);
      state.kpis = [...(rural || []), ...(renewal || [])];
      state.projects = projects;
      state.batches = batches;
      state.villages = villages.sort((a, b) => String(a.district).localeCompare(b.district));
      drawAll();
    } catch {
      /* api showed it; keep the last figures */
    }
  }, 120000);

  return () => {
    for (const stop of stops) stop();
    clearInterval(refresh);
    redrawVillages.cancel();
    for (const chart of chartsDrawn) chart.dispose();
    map.remove();
  };
}
