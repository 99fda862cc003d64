/**
 * Overview: the city's key figures per domain pack (from /kpis), each tile leading to the
 * page that shows it; the newest alerts; open cases by state.
 */

import { alertText, el, fmtAgo, fmtNumber, fmtPercent, replace, text } from "../ui.js";

export const id = "overview";
export const titleKey = "overview.title";

/** The order packs are shown in, and the page each one's tiles lead to. */
const PACKS = [
  ["mobility", "map"], ["freight", "freight"], ["manufacturing", "manufacturing"],
  ["environment", "environment"], ["rural", "rural"], ["renewal", "rural"], ["education", "map"],
];
const OPEN_STATES = ["reported", "accepted", "dispatched", "in_progress", "resolved", "verified"];
const REFRESH_MS = 30000;
/** KPIs shown beside the cited published figure of the indicator they measure: a figure
 * from the data next to the published one, never instead of it. */
const PUBLISHED = { "mobility.high-capacity-km": "urban-rail-length" };
const ALERTS_SHOWN = 12;

/** The KPI's figure with its unit, in the current language: "no data" where the data do not
 * allow one (never 0), "at least …" for a lower bound (a network's mapped lines). */
function figure(kpi, t) {
  const { value, unit } = kpi;
  if (value === null || value === undefined) return { value: t("overview.noData"), unit: "" };
  if (kpi.bound === "lower") {
    const shown = figure({ ...kpi, bound: undefined }, t);
    return { ...shown, value: t("overview.atLeast", { value: shown.value }) };
  }
  if (unit === "ratio") return { value: fmtPercent(value, value < 0.1 ? 1 : 0), unit: "" };
  if (unit === "%") return { value: fmtNumber(value, { digits: value < 10 ? 1 : 0 }), unit: "%" };
  const key = `unit.${unit}`;
  const label = t(key, { n: value });
  return { value: fmtNumber(value, { compact: value >= 100000 }), unit: label === key ? unit : label };
}

export async function mount(root, ctx) {
  const { t, api, live } = ctx;
  const page = el("div", { class: "page overview", "data-page": id });
  const heading = el("h1");
  const kpiBox = el("div", { class: "kpi-groups" });
  const alertsTitle = el("h2", { id: "alerts-heading" });
  // it scrolls when the alerts are many: reachable and named for keyboard users
  const alertsBox = el("ol", { class: "alerts", tabindex: "0", "aria-labelledby": "alerts-heading" });
  const casesTitle = el("h2");
  const casesBox = el("div", { class: "case-states" });
  const casesLink = el("a", { href: "#/cases", class: "more" });
  page.append(heading, el("div", { class: "overview-grid" }, [
    el("section", { class: "overview-kpis", "aria-labelledby": "kpi-heading" }, [el("h2", { id: "kpi-heading", class: "sr-only" }), kpiBox]),
    el("div", { class: "overview-side" }, [
      el("section", { class: "panel" }, [el("div", { class: "side-head" }, [casesTitle, casesLink]), casesBox]),
      el("section", { class: "panel alerts-panel" }, [alertsTitle, alertsBox]),
    ]),
  ]));
  root.append(page);

  let kpis = [];
  let alerts = [];
  let states = null;
  let published = null;

  function renderKpis() {
    const byPack = new Map(PACKS.map(([pack]) => [pack, []]));
    for (const kpi of kpis) (byPack.get(kpi.pack) || byPack.set(kpi.pack, []).get(kpi.pack)).push(kpi);
    const target = new Map(PACKS);
    replace(kpiBox, [...byPack].filter(([, list]) => list.length).map(([pack, list]) => {
      const href = `#/${target.get(pack) || "map"}`;
      return el("section", { class: "kpi-group", "data-pack": pack }, [
        el("h3", {}, el("a", { href, text: t(`pack.${pack}`) })),
        el("div", { class: "kpi-tiles" }, list.map((kpi) => {
          const shown = figure(kpi, t);
          const nameKey = `kpi.${kpi.id}`;
          const name = t(nameKey) === nameKey ? kpi.name : t(nameKey);
          const reference = PUBLISHED[kpi.id] && published?.[PUBLISHED[kpi.id]];
          return el("a", { class: `kpi-tile${kpi.value === null ? " empty" : ""}`, href, "data-kpi": kpi.id, title: kpi.description }, [
            el("span", { class: "kpi-name", text: name }),
            el("span", { class: "kpi-value" }, [shown.value, shown.unit ? el("small", { text: ` ${shown.unit}` }) : null]),
            reference ? el("span", { class: "kpi-published", "data-published": kpi.id, title: reference.sources, text: t("overview.published", { range: reference.range, unit: shown.unit }) }) : null,
          ]);
        })),
      ]);
    }));
    if (!kpis.length) kpiBox.append(el("p", { class: "note", text: t("ui.none") }));
  }

  function renderAlerts() {
    const now = Date.now();
    const active = alerts.filter((a) => !a.validTo || Date.parse(a.validTo) > now); // cleared ones gone
    const newest = active.sort((a, b) => String(b.dateIssued || "").localeCompare(String(a.dateIssued || ""))).slice(0, ALERTS_SHOWN);
    replace(alertsBox, newest.map((alert) => el("li", { class: `alert severity-${alert.severity || "informational"}`, "data-entity-id": alert.id }, [
      el("div", { class: "alert-head" }, [
        el("span", { class: "badge", text: t(`severity.${alert.severity}`) === `severity.${alert.severity}` ? (alert.severity || "") : t(`severity.${alert.severity}`) }),
        el("span", { class: "alert-category", text: t(`alertCategory.${alert.category}`) === `alertCategory.${alert.category}` ? text(alert.category) : t(`alertCategory.${alert.category}`) }),
        el("time", { datetime: alert.dateIssued, text: fmtAgo(alert.dateIssued) }),
      ]),
      el("p", { text: alertText(alert) }),
    ])));
    if (!newest.length) alertsBox.append(el("li", { class: "note", text: t("overview.noAlerts") }));
  }

  function renderCases() {
    if (!states) {
      replace(casesBox, el("p", { class: "note", text: t("ui.loading") }));
      return;
    }
    const total = Object.values(states).reduce((a, b) => a + b, 0);
    const most = Math.max(1, ...Object.values(states));
    replace(casesBox,
      el("p", { class: "cases-total" }, [el("strong", { text: fmtNumber(total) }), ` ${t("overview.openCases", { n: total })}`]),
      el("ul", { class: "state-bars" }, OPEN_STATES.map((state) => el("li", {}, [
        el("span", { class: "state-name", text: t(`value.${state}`) }),
        el("span", { class: "state-bar" }, el("span", { style: { width: `${(states[state] / most) * 100}%` } })),
        el("span", { class: "state-count", text: fmtNumber(states[state]) }),
      ]))));
  }

  function translate() {
    heading.textContent = t("overview.title");
    page.querySelector("#kpi-heading").textContent = t("overview.kpis");
    alertsTitle.textContent = t("overview.alerts");
    casesTitle.textContent = t("overview.cases");
    casesLink.textContent = t("overview.toCases");
    renderKpis();
    renderAlerts();
    renderCases();
  }

  async function loadKpis() {
    try {
      kpis = await api.kpis();
      renderKpis();
    } catch {
      /* shown as a toast; the last figures stay */
    }
  }

  /** The published values of the live city (the cited reference set) for the KPIs that
   * have one: {indicator: {range: "523.68–561.18", sources}}; null without a live city. */
  async function loadPublished() {
    try {
      const live = await api.get("/indicators/live", undefined, { quiet: true });
      const table = await api.get("/indicators/compare", { cities: live.city }, { quiet: true });
      const found = {};
      for (const row of table.rows || []) {
        const cell = (row.cells || []).find((c) => typeof c.value === "number" && !c.bound);
        if (!cell) continue;
        const others = (cell.alternatives || []).filter((a) => !a.bound && a.unit === cell.unit);
        const cells = [cell, ...others];
        const values = cells.map((c) => c.value);
        const low = Math.min(...values), high = Math.max(...values);
        found[row.indicator.id] = {
          range: low === high ? fmtNumber(low) : `${fmtNumber(low)}–${fmtNumber(high)}`,
          sources: cells.flatMap((c) => (c.citations || []).map((s) => [s.publisher, s.title, s.published].filter(Boolean).join(", "))).join("; "),
        };
      }
      published = found;
      renderKpis();
    } catch {
      /* no live city, or no reference values: the tiles stand alone */
    }
  }

  async function loadCases() {
    try {
      const counts = await Promise.all(OPEN_STATES.map((state) => api.count("Case", `state=="${state}"`)));
      states = Object.fromEntries(OPEN_STATES.map((state, index) => [state, counts[index]]));
      renderCases();
    } catch {
      /* shown as a toast */
    }
  }

  async function loadAlerts() {
    try {
      alerts = await api.entities("Alert", { limit: 200 });
      renderAlerts();
    } catch {
      /* shown as a toast */
    }
  }

  const stops = [ctx.onLanguage(translate)];
  translate();
  await Promise.all([loadKpis(), loadCases(), loadAlerts(), loadPublished()]);
  page.dataset.ready = "true";

  const timer = setInterval(loadKpis, REFRESH_MS);
  let pending = null;
  stops.push(live.on("Case", () => {
    pending ??= setTimeout(() => { pending = null; loadCases(); }, 1500);
  }));
  stops.push(live.on("Alert", (alert) => {
    alerts = [alert, ...alerts.filter((a) => a.id !== alert.id)];
    renderAlerts();
  }));
  return () => {
    clearInterval(timer);
    clearTimeout(pending);
    for (const stop of stops) stop();
  };
}

export const strings = {
  en: {
    "overview.title": "Overview",
    "overview.kpis": "Key figures",
    "overview.alerts": "Alerts",
    "overview.noAlerts": "No alerts at the moment.",
    "overview.noData": "no data",
    "overview.atLeast": "at least {value}",
    "overview.published": "published: {range} {unit}",
    "kpi.mobility.high-capacity-km": "High-capacity transit (mapped lines)",
    "overview.cases": "Open cases",
    "overview.openCases": "open cases",
    "overview.toCases": "Case queue →",
    "pack.mobility": "Mobility",
    "pack.freight": "Freight corridor",
    "pack.manufacturing": "Manufacturing",
    "pack.environment": "Environment",
    "pack.rural": "Rural revitalisation",
    "pack.renewal": "Urban renewal",
    "pack.education": "Education",
    "severity.informational": "info", "severity.low": "low", "severity.medium": "medium",
    "severity.high": "high", "severity.critical": "critical",
    "alertCategory.traffic": "Traffic", "alertCategory.environment": "Environment", "alertCategory.weather": "Weather",
    "alertCategory.agriculture": "Agriculture", "alertCategory.health": "Health", "alertCategory.security": "Security",
    "alertCategory.education": "Education", "alertCategory.manufacturing": "Manufacturing", "alertCategory.mobility": "Mobility",
    "unit.AQI": "AQI", "unit.students/teacher": "", "unit.vehicles": "vehicles", "unit.km/h": "km/h",
    "unit.trains": "trains", "unit.TEU": "TEU", "unit.days": "days", "unit.machines": "machines", "unit.plots": "plots",
    "unit.orders": "orders", "unit.buildings": "buildings", "unit.score": "/ 100", "unit.cases": "cases",
    "kpi.aqi-current": "Worst current AQI", "kpi.aqi-good-days": "Good air days", "kpi.river-level-ratio": "River level vs danger level",
    "kpi.students-per-teacher": "Students per teacher", "kpi.school-capacity-utilisation": "School capacity use",
    "kpi.attendance-today": "School attendance today",
    "kpi.mobility.vehicles-in-service": "Vehicles in service", "kpi.mobility.on-time-share": "On-time share",
    "kpi.mobility.stop-coverage": "Districts with a stop", "kpi.mobility.traffic-speed": "Average traffic speed",
    "kpi.mobility.car-park-occupancy": "Car park occupancy",
    "kpi.trains-per-month": "Trains per month", "kpi.teu-per-month": "TEU per month", "kpi.transit-days": "Average transit time",
    "kpi.on-time-share": "On-time arrivals", "kpi.trains-on-corridor": "Trains on the corridor", "kpi.trains-delayed": "Trains delayed over 12 h",
    "kpi.oee": "OEE", "kpi.oee-line": "OEE per line", "kpi.oee-machine": "OEE per machine", "kpi.availability": "Availability",
    "kpi.performance": "Performance", "kpi.quality": "Quality", "kpi.machines-down": "Machines down",
    "kpi.rural-irrigation-alerts": "Plots under irrigation alert", "kpi.rural-batches-traced": "Produce batches traced",
    "kpi.rural-ecommerce-orders-7d": "E-commerce orders, 7 days", "kpi.rural-broadband-coverage": "Village broadband",
    "kpi.renewal-buildings-awaiting": "Buildings awaiting renewal", "kpi.renewal-buildings-in-renewal": "Buildings in renewal",
    "kpi.renewal-buildings-renewed": "Buildings renewed", "kpi.renewal-condition-score": "Condition of old buildings",
    "kpi.renewal-budget-execution": "Budget execution", "kpi.renewal-projects-on-schedule": "Projects on schedule",
    "kpi.renewal-open-safety-cases": "Open building-safety cases",
  },
  zh: {
    "overview.title": "总览",
    "overview.kpis": "关键指标",
    "overview.alerts": "告警",
    "overview.noAlerts": "当前没有告警。",
    "overview.noData": "无数据",
    "overview.atLeast": "至少 {value}",
    "overview.published": "公开数据：{range} {unit}",
    "kpi.mobility.high-capacity-km": "大运量公共交通（已测绘线路）",
    "overview.cases": "未结案件",
    "overview.openCases": "件未结案件",
    "overview.toCases": "案件队列 →",
    "pack.mobility": "交通出行",
    "pack.freight": "货运走廊",
    "pack.manufacturing": "智能制造",
    "pack.environment": "生态环境",
    "pack.rural": "乡村振兴",
    "pack.renewal": "城市更新",
    "pack.education": "教育",
    "severity.informational": "提示", "severity.low": "低", "severity.medium": "中",
    "severity.high": "高", "severity.critical": "严重",
    "alertCategory.traffic": "交通", "alertCategory.environment": "环境", "alertCategory.weather": "气象",
    "alertCategory.agriculture": "农业", "alertCategory.health": "卫生", "alertCategory.security": "安全",
    "alertCategory.education": "教育", "alertCategory.manufacturing": "制造", "alertCategory.mobility": "出行",
    "unit.AQI": "", "unit.students/teacher": "", "unit.vehicles": "辆", "unit.km/h": "公里/小时",
    "unit.trains": "列", "unit.TEU": "标箱", "unit.days": "天", "unit.machines": "台", "unit.plots": "块",
    "unit.orders": "单", "unit.buildings": "栋", "unit.score": "分", "unit.cases": "件",
    "kpi.aqi-current": "当前最高空气质量指数", "kpi.aqi-good-days": "优良天数比例", "kpi.river-level-ratio": "水位与保证水位之比",
    "kpi.students-per-teacher": "生师比", "kpi.school-capacity-utilisation": "学位使用率",
    "kpi.attendance-today": "今日到校率",
    "kpi.mobility.vehicles-in-service": "运营车辆", "kpi.mobility.on-time-share": "准点率",
    "kpi.mobility.stop-coverage": "设有站点的区县", "kpi.mobility.traffic-speed": "平均车速",
    "kpi.mobility.car-park-occupancy": "停车场占用率",
    "kpi.trains-per-month": "月开行班列", "kpi.teu-per-month": "月运量（标箱）", "kpi.transit-days": "平均全程时间",
    "kpi.on-time-share": "准点到达率", "kpi.trains-on-corridor": "在途班列", "kpi.trains-delayed": "延误超12小时的班列",
    "kpi.oee": "设备综合效率", "kpi.oee-line": "产线综合效率", "kpi.oee-machine": "单机综合效率", "kpi.availability": "时间开动率",
    "kpi.performance": "性能开动率", "kpi.quality": "合格品率", "kpi.machines-down": "停机设备",
    "kpi.rural-irrigation-alerts": "灌溉预警地块", "kpi.rural-batches-traced": "全程可追溯批次",
    "kpi.rural-ecommerce-orders-7d": "近7天农村电商订单", "kpi.rural-broadband-coverage": "村庄宽带覆盖率",
    "kpi.renewal-buildings-awaiting": "待更新老旧楼栋", "kpi.renewal-buildings-in-renewal": "更新中楼栋",
    "kpi.renewal-buildings-renewed": "已更新楼栋", "kpi.renewal-condition-score": "老旧楼栋状况评分",
    "kpi.renewal-budget-execution": "预算执行率", "kpi.renewal-projects-on-schedule": "按期推进项目",
    "kpi.renewal-open-safety-cases": "未结房屋安全案件",
  },
  pl: {
    "overview.noData": "brak danych",
    "overview.atLeast": "co najmniej {value}",
    "overview.published": "opublikowano: {range} {unit}",
    "kpi.mobility.high-capacity-km": "Transport szynowy (zmapowane linie)",
  },
};
