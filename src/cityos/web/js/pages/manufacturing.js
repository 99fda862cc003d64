/**
 * Manufacturing (#/manufacturing): the factories with their lines and machines, an OEE gauge
 * and availability / performance / quality per factory (from /kpis/manufacturing, which
 * computes them from the machines' history), machine states kept live, and a trend of one
 * machine's temperature, vibration or OEE over the last hours (temporal API aggregates).
 */

import {
  bar, columns, districtNamer, el, fmtNumber, fmtPercent, legend, replace, ruleThreshold, shortId,
  simulatedHistoryNote, stat, stats, text, throttle, tOr,
} from "../ui.js";

export const id = "manufacturing";
export const titleKey = "mfg.title";

export const strings = {
  en: {
    "mfg.title": "Manufacturing",
    "mfg.intro": "Overall equipment effectiveness (OEE = availability × performance × quality) over the last {minutes} minutes, computed from the machines' history. The factories, lines and machines are simulated.",
    "mfg.kpi.oee": "OEE",
    "mfg.kpi.availability": "Availability",
    "mfg.kpi.performance": "Performance",
    "mfg.kpi.quality": "Quality",
    "mfg.running": "Running",
    "mfg.idle": "Idle",
    "mfg.down": "Down",
    "mfg.unknown": "No reading",
    "mfg.count.running": "Machines running",
    "mfg.count.idle": "Machines idle",
    "mfg.count.down": "Machines down",
    "mfg.factoryMeta": "{district} · {industry} · {machines} machines",
    "mfg.industry.automotive": "automotive",
    "mfg.industry.electronics": "electronics",
    "mfg.line": "Line {n} · {kind}",
    "mfg.lineOee": "OEE {value}",
    "mfg.machine": "{kind} {code}",
    "mfg.machineHint": "Each machine button shows its state, temperature and OEE; choosing one shows its trend.",
    "mfg.trend": "Machine trend",
    "mfg.trendMachine": "Machine",
    "mfg.trendMetric": "Measure",
    "mfg.metric.temperature": "Temperature",
    "mfg.metric.vibration": "Vibration",
    "mfg.metric.oee": "OEE",
    "mfg.trendNote": "Averages per {period} minutes over the last {hours} hours up to the machine's latest reading.",
    "mfg.trendNoteOee": "OEE per {period} minutes (ideal cycle time × good parts ÷ planned time) over the last {hours} hours.",
    "mfg.noHistory": "No history for this machine yet.",
    "mfg.limit": "limit {value} °C",
    "mfg.unit.celsius": "°C",
    "mfg.unit.mms": "mm/s",
    "mfg.unit.machines": "machines",
    "mfg.noKpi": "OEE appears after the machines have reported for a few minutes.",
    "mfg.kind.welding robot": "welding robot",
    "mfg.kind.stamping press": "stamping press",
    "mfg.kind.CNC machining centre": "CNC machining centre",
    "mfg.kind.SMT placement machine": "SMT placement machine",
    "mfg.kind.screw-driving robot": "screw-driving robot",
    "mfg.kind.functional test station": "functional test station",
  },
  zh: {
    "mfg.title": "智能制造",
    "mfg.intro": "设备综合效率（OEE = 可用率 × 性能率 × 良品率），按设备历史数据计算最近 {minutes} 分钟。工厂、产线和设备均为模拟数据。",
    "mfg.kpi.oee": "设备综合效率",
    "mfg.kpi.availability": "可用率",
    "mfg.kpi.performance": "性能率",
    "mfg.kpi.quality": "良品率",
    "mfg.running": "运行",
    "mfg.idle": "待机",
    "mfg.down": "故障停机",
    "mfg.unknown": "无读数",
    "mfg.count.running": "运行设备",
    "mfg.count.idle": "待机设备",
    "mfg.count.down": "故障停机设备",
    "mfg.factoryMeta": "{district} · {industry} · {machines} 台设备",
    "mfg.industry.automotive": "汽车",
    "mfg.industry.electronics": "电子",
    "mfg.line": "{n} 号线 · {kind}",
    "mfg.lineOee": "OEE {value}",
    "mfg.machine": "{kind} {code}",
    "mfg.machineHint": "每个设备按钮显示其状态、温度和 OEE；选择后查看其趋势。",
    "mfg.trend": "设备趋势",
    "mfg.trendMachine": "设备",
    "mfg.trendMetric": "指标",
    "mfg.metric.temperature": "温度",
    "mfg.metric.vibration": "振动",
    "mfg.metric.oee": "设备综合效率",
    "mfg.trendNote": "截至设备最新读数的最近 {hours} 小时内，每 {period} 分钟的平均值。",
    "mfg.trendNoteOee": "最近 {hours} 小时内每 {period} 分钟的 OEE（理想节拍 × 良品数 ÷ 计划时间）。",
    "mfg.noHistory": "该设备暂无历史数据。",
    "mfg.limit": "上限 {value} °C",
    "mfg.unit.celsius": "°C",
    "mfg.unit.mms": "毫米/秒",
    "mfg.unit.machines": "台",
    "mfg.noKpi": "设备上报几分钟后即可显示 OEE。",
    "mfg.factory.liangjiang-car-assembly-plant": "两江整车装配厂（模拟）",
    "mfg.factory.xiyong-electronics-plant": "西永电子厂（模拟）",
    "mfg.factory.jiangbei-automotive-parts-plant": "江北汽车零部件厂（模拟）",
    "mfg.lineKind.body welding": "车身焊装",
    "mfg.lineKind.final assembly": "总装",
    "mfg.lineKind.SMT assembly": "SMT 贴装",
    "mfg.lineKind.laptop assembly": "笔记本电脑组装",
    "mfg.lineKind.engine parts machining": "发动机零件加工",
    "mfg.lineKind.gearbox parts machining": "变速箱零件加工",
    "mfg.kind.welding robot": "焊接机器人",
    "mfg.kind.stamping press": "冲压机",
    "mfg.kind.CNC machining centre": "数控加工中心",
    "mfg.kind.SMT placement machine": "贴片机",
    "mfg.kind.screw-driving robot": "拧紧机器人",
    "mfg.kind.functional test station": "功能测试台",
  },
};

const STATE_COLORS = { running: "#2e9d6a", idle: "#d98b1b", down: "#c0392b" };
/** The states' text shades (app.css): the fills above read under 4.5:1 as text. */
const STATE_TEXT = { running: "var(--ok-text)", idle: "var(--warn-text)", down: "var(--bad)" };
const MACHINE_HINT = "mfg-machine-hint";
const UNKNOWN = "#8795a4";
/** OEE bands of the gauges: under 40 % poor, under 65 % fair, above good (common rules of thumb). */
const OEE_BANDS = [[0.4, "#c0392b"], [0.65, "#e6a23c"], [1, "#2e9d6a"]];
const TREND_HOURS = 3;
const PERIOD_MIN = { temperature: 5, vibration: 5, oee: 15 };

export async function mount(root, ctx) {
  const { api, t, charts } = ctx;
  const state = {
    factories: [], lines: [], machines: new Map(), kpis: [], rules: [],
    chosen: null, metric: "temperature",
  };
  const page = el("section", { class: "page", "data-page": id });
  const title = el("h1");
  const intro = el("p", { class: "muted", style: { margin: "0 0 10px" } });
  const statsBox = el("div");
  const cardsBox = el("div", {
    style: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(360px, 1fr))", gap: "12px", marginBottom: "12px" },
  });
  const trendTitle = el("h2");
  const controls = el("div", { style: { display: "flex", flexWrap: "wrap", gap: "12px", alignItems: "center", marginBottom: "6px" } });
  const trendNote = el("p", { class: "note", style: { margin: "0 0 4px" } });
  const trendChart = el("div", { style: { height: "260px" } });
  page.append(title, intro, statsBox, cardsBox, el("div", { class: "panel" }, [trendTitle, controls, trendNote, trendChart]));
  replace(root, page);

  const [factories, lines, machines, kpis, rules, districtName] = await Promise.all([
    api.entities("Factory"),
    api.entities("ProductionLine"),
    api.entities("ManufacturingMachine"),
    api.kpis("manufacturing").catch(() => []),
    api.get("/rules", null, { quiet: true }).catch(() => []),
    districtNamer(ctx.maps),
  ]);
  state.factories = factories.sort((a, b) => String(a.id).localeCompare(b.id));
  state.lines = lines.sort((a, b) => String(a.id).localeCompare(b.id));
  for (const machine of machines) state.machines.set(machine.id, machine);
  state.kpis = kpis || [];
  state.rules = rules || [];
  state.chosen = [...state.machines.keys()].sort()[0] || null;

  // ---- names in the current language (the simulated entities carry English names) ----
  const factoryName = (factory) => tOr(`mfg.factory.${shortId(factory.id)}`, text(factory.name));
  const lineName = (line) => {
    const [, kind = text(line.name), n = ""] = /:\s*(.+?)\s+(\d+)$/.exec(text(line.name)) || [];
    return t("mfg.line", { n, kind: tOr(`mfg.lineKind.${kind}`, kind) });
  };
  const machineCode = (machine) => shortId(machine.id).split("-").slice(-2).join("-").toUpperCase();
  const machineName = (machine) => t("mfg.machine", {
    kind: tOr(`mfg.kind.${machine.description}`, machine.description || ""), code: machineCode(machine),
  });
  const stateName = (status) => t(STATE_COLORS[status] ? `mfg.${status}` : "mfg.unknown");
  const kpi = (name) => state.kpis.find((k) => k.id === name);
  /** A KPI's value for one factory, line or machine: the breakdowns are keyed by entity name. */
  const part = (name, entity) => kpi(name)?.breakdown?.[text(entity.name)] ?? null;
  const windowMinutes = () => Number(/last (\d+(?:\.\d+)?) minutes/.exec(kpi("oee")?.description || "")?.[1]) || 60;

  function drawText() {
    title.textContent = t("mfg.title");
    intro.textContent = t("mfg.intro", { minutes: fmtNumber(windowMinutes()) });
    trendTitle.textContent = t("mfg.trend");
  }

  function drawStats() {
    const counts = { running: 0, idle: 0, down: 0 };
    for (const machine of state.machines.values()) if (machine.status in counts) counts[machine.status] += 1;
    const share = (name) => {
      const found = kpi(name);
      const value = found?.value;
      const tone = value === null || value === undefined ? "" : value >= 0.65 ? "ok" : value >= 0.4 ? "warn" : "bad";
      return stat(t(`mfg.kpi.${name}`), fmtPercent(value, 1), { title: found?.description || "", tone: name === "oee" ? tone : "" });
    };
    replace(statsBox, stats([
      share("oee"), share("availability"), share("performance"), share("quality"),
      ...Object.entries(counts).map(([status, count]) => stat(t(`mfg.count.${status}`), fmtNumber(count), {
        unit: t("mfg.unit.machines", { n: count }), tone: status === "down" && count ? "bad" : status === "running" ? "ok" : "",
      })),
    ], "130px"));
  }

  // ---- factory cards: a gauge, A/P/Q bars, the lines and their machines ----
  let gauges = [];
  const machineBoxes = new Map(); // line id → element holding its machine buttons

  function drawCards() {
    for (const gauge of gauges) gauge.dispose();
    gauges = [];
    machineBoxes.clear();
    // The machine buttons are named by what they show (WCAG 2.5.3 label in name); this
    // describes their columns and what choosing one does.
    const hint = el("p", { id: MACHINE_HINT, class: "sr-only", text: t("mfg.machineHint") });
    replace(cardsBox, hint, state.factories.map((factory) => {
      const gaugeEl = el("div", { style: { height: "150px" }, role: "img" });
      const oee = part("oee", factory);
      gaugeEl.setAttribute("aria-label", `${t("mfg.kpi.oee")} ${fmtPercent(oee, 1)}`);
      const components = ["availability", "performance", "quality"].map((name) => {
        const value = part(name, factory);
        return el("div", { style: { marginBottom: "8px" } }, [
          el("div", { style: { display: "flex", justifyContent: "space-between", fontSize: "12px" } }, [
            el("span", { class: "muted", text: t(`mfg.kpi.${name}`) }), el("strong", { text: fmtPercent(value, 1) }),
          ]),
          bar(value, { color: "var(--chart-1)", label: `${t(`mfg.kpi.${name}`)} ${fmtPercent(value, 1)}` }),
        ]);
      });
      const factoryLines = state.lines.filter((line) => line.refFactory === factory.id);
      const count = [...state.machines.values()].filter((m) => m.refFactory === factory.id).length;
      const card = el("article", { class: "panel", dataset: { entityId: factory.id } }, [
        el("h2", { style: { marginBottom: "2px" }, text: factoryName(factory) }),
        el("div", { class: "muted", style: { fontSize: "12px", marginBottom: "6px" }, text: t("mfg.factoryMeta", {
          district: districtName(factory.address?.district || ""),
          industry: tOr(`mfg.industry.${factory.industry}`, factory.industry || ""),
          machines: fmtNumber(count),
        }) }),
        columns("150px minmax(0, 1fr)", [gaugeEl, el("div", { style: { paddingTop: "22px" } }, components)], { gap: "12px", align: "start" }),
        factoryLines.map((line) => {
          const box = el("ul", { style: { listStyle: "none", margin: "0 0 6px", padding: 0 } });
          machineBoxes.set(line.id, box);
          const lineOee = part("oee-line", line);
          return el("section", {}, [
            el("h3", { style: { fontSize: "13px", margin: "6px 0 2px", display: "flex", justifyContent: "space-between" } }, [
              el("span", { text: lineName(line) }),
              el("span", { class: "muted", style: { fontWeight: "400" }, text: t("mfg.lineOee", { value: fmtPercent(lineOee, 0) }) }),
            ]),
            box,
          ]);
        }),
      ]);
      const gauge = charts.gauge(gaugeEl, {
        value: oee === null ? null : oee * 100, min: 0, max: 100, unit: "%", digits: 1, name: t("mfg.kpi.oee"), bands: OEE_BANDS,
      });
      // a card's gauge is small: the scale's numbers would crowd the figure, the bands say enough
      gauge.setOption({ series: [{ axisLabel: { show: false }, splitLine: { length: 6 }, pointer: { length: "50%", width: 3 }, detail: { fontSize: 18, offsetCenter: [0, "42%"] } }] });
      gauges.push(gauge);
      return card;
    }));
    if (!state.factories.length || kpi("oee")?.value === null) cardsBox.append(el("p", { class: "note", text: t("mfg.noKpi") }));
    drawMachines();
  }

  /** Machine rows: state dot, name, temperature, OEE; a button choosing the trend's machine. */
  function drawMachines() {
    const focused = document.activeElement?.closest?.("button[data-entity-id]")?.dataset.entityId;
    for (const [lineId, box] of machineBoxes) {
      const lineMachines = [...state.machines.values()].filter((m) => m.refProductionLine === lineId).sort((a, b) => a.id.localeCompare(b.id));
      replace(box, lineMachines.map((machine) => {
        const color = STATE_COLORS[machine.status] || UNKNOWN;
        const temperature = typeof machine.temperature === "number" ? `${fmtNumber(machine.temperature, { digits: 1 })} ${t("mfg.unit.celsius")}` : "—";
        const oee = part("oee-machine", machine);
        const chosen = machine.id === state.chosen;
        return el("li", {}, el("button", {
          type: "button",
          dataset: { entityId: machine.id, status: machine.status || "" },
          "aria-pressed": String(chosen),
          "aria-describedby": MACHINE_HINT,
          onclick: () => choose(machine.id),
          style: {
            display: "grid", gridTemplateColumns: "12px minmax(0, 1fr) auto 64px 44px", gap: "6px", alignItems: "center",
            width: "100%", textAlign: "left", padding: "3px 6px", marginBottom: "2px", fontSize: "12px",
            background: chosen ? "var(--accent-soft)" : "transparent", borderColor: chosen ? "var(--accent)" : "transparent",
          },
        }, [
          el("span", { "aria-hidden": "true", style: { width: "10px", height: "10px", borderRadius: "50%", background: color } }),
          el("span", { style: { overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }, text: machineName(machine) }),
          el("span", { style: { color: STATE_TEXT[machine.status] || "var(--muted)", fontWeight: "600" }, text: stateName(machine.status) }),
          el("span", { class: "num", style: { textAlign: "right" }, text: temperature }),
          el("span", { class: "muted", style: { textAlign: "right" }, text: fmtPercent(oee, 0) }),
        ]));
      }));
    }
    if (focused) cardsBox.querySelector(`button[data-entity-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  // ---- trend of the chosen machine ----
  let trend = null;
  let trendToken = 0;

  function drawControls() {
    const select = el("select", { id: "mfg-machine", onchange: (event) => choose(event.target.value) },
      state.factories.map((factory) => el("optgroup", { label: factoryName(factory) },
        [...state.machines.values()].filter((m) => m.refFactory === factory.id).sort((a, b) => a.id.localeCompare(b.id))
          .map((m) => el("option", { value: m.id, selected: m.id === state.chosen, text: machineName(m) })))));
    const metrics = el("div", { role: "radiogroup", "aria-label": t("mfg.trendMetric"), style: { display: "flex", gap: "4px" } },
      ["temperature", "vibration", "oee"].map((metric) => el("button", {
        type: "button", role: "radio", "aria-checked": String(metric === state.metric),
        class: metric === state.metric ? "primary" : null,
        onclick: () => {
          state.metric = metric;
          drawControls();
          drawTrend();
        },
        text: t(`mfg.metric.${metric}`),
      })));
    replace(controls,
      el("label", { style: { display: "flex", gap: "6px", alignItems: "center" } }, [t("mfg.trendMachine"), select]),
      el("span", { class: "muted", text: t("mfg.trendMetric") }), metrics,
      legend(Object.entries(STATE_COLORS).map(([status, color]) => ({ color, label: stateName(status) }))));
    controls.lastChild.style.margin = "0 0 0 auto";
  }

  function choose(machineId) {
    if (!state.machines.has(machineId)) return;
    state.chosen = machineId;
    drawControls();
    drawMachines();
    drawTrend();
  }

  /** The end of the trend: the machine's latest reading (simulated time may run ahead of the clock). */
  async function latestTime(machineId) {
    const entity = await api.get(`/ngsi-ld/v1/entities/${encodeURIComponent(machineId)}`, { attrs: "temperature,plannedTime" }, { quiet: true });
    const stamps = ["temperature", "plannedTime"].map((name) => entity?.[name]?.observedAt).filter(Boolean).map((s) => new Date(s).getTime());
    return stamps.length ? new Date(Math.max(...stamps)) : new Date();
  }

  async function drawTrend() {
    const token = ++trendToken;
    const machine = state.machines.get(state.chosen);
    const metric = state.metric;
    const period = PERIOD_MIN[metric];
    trendNote.replaceChildren(t(metric === "oee" ? "mfg.trendNoteOee" : "mfg.trendNote", { period, hours: TREND_HOURS }));
    const simulated = simulatedHistoryNote(machine);
    if (simulated) trendNote.append(" ", simulated);
    if (!machine) return;
    let series = [];
    let unit = "";
    let markLines = [];
    try {
      const end = new Date((await latestTime(machine.id)).getTime() + 1000);
      const start = new Date(end.getTime() - TREND_HOURS * 3600 * 1000);
      const window = { timerel: "between", timeAt: start.toISOString(), endTimeAt: end.toISOString(), aggrPeriodDuration: `PT${period}M`, quiet: true };
      if (metric === "oee") {
        const sums = await api.temporal(machine.id, { ...window, attrs: "plannedTime,partsProduced,partsRejected", aggrMethods: "sum" });
        const ideal = Number(machine.idealCycleTime) || 0;
        const byStart = (attr) => new Map((sums[attr]?.sum || []).map(([value, from]) => [from, value]));
        const parts = byStart("partsProduced");
        const bad = byStart("partsRejected");
        series = [{
          name: t("mfg.metric.oee"), area: true, color: "#2a6fdb",
          data: (sums.plannedTime?.sum || []).filter(([planned]) => planned > 0).map(([planned, from]) => [
            new Date(from), Math.round(1000 * ideal * ((parts.get(from) || 0) - (bad.get(from) || 0)) / planned) / 10,
          ]),
        }];
        unit = "%";
      } else {
        const found = await api.temporal(machine.id, { ...window, attrs: metric, aggrMethods: "avg" });
        series = [{
          name: t(`mfg.metric.${metric}`), color: metric === "temperature" ? "#e07b39" : "#5b6abf",
          data: (found[metric]?.avg || []).filter(([value]) => typeof value === "number").map(([value, from]) => [new Date(from), Math.round(value * 100) / 100]),
        }];
        unit = t(metric === "temperature" ? "mfg.unit.celsius" : "mfg.unit.mms");
        const limit = metric === "temperature" ? ruleThreshold(state.rules, "machine-overheat", "temperature") : null;
        if (limit !== null) markLines = [{ name: t("mfg.limit", { value: fmtNumber(limit) }), value: limit, color: "#c0392b" }];
      }
    } catch {
      series = [];
    }
    if (token !== trendToken || !trendChart.isConnected) return;
    if (trend) trend.dispose();
    trend = null;
    if (!series.length || !series[0].data.length) {
      replace(trendChart, el("p", { class: "note", text: t("mfg.noHistory") }));
      return;
    }
    trendChart.replaceChildren();
    trend = charts.line(trendChart, {
      series, unit, markLines, ...(metric === "oee" ? { min: 0 } : {}),
    });
    if (markLines.length) {
      // keep the limit in view even while the machine runs far below it
      const top = Math.max(...series[0].data.map(([, v]) => v), markLines[0].value);
      trend.setOption({ yAxis: { max: Math.ceil(top * 1.05) } });
    }
  }

  function drawAll() {
    drawText();
    drawStats();
    drawCards();
    drawControls();
    drawTrend();
  }

  drawAll();
  page.dataset.ready = "true";

  // ---- live: machine states and temperatures; KPIs and the trend refreshed each minute ----
  const redraw = throttle(() => {
    drawMachines();
    drawStats();
  }, 1500);
  const stopMachines = ctx.live.on("ManufacturingMachine", (change) => {
    state.machines.set(change.id, { ...(state.machines.get(change.id) || {}), ...change });
    redraw();
  });
  const refresh = setInterval(async () => {
    try {
      state.kpis = (await api.kpis("manufacturing")) || state.kpis;
    } catch {
      return; // api showed the failure; keep the last figures
    }
    drawStats();
    drawCards();
    drawTrend();
  }, 60000);
  const stopLanguage = ctx.onLanguage(drawAll);

  return () => {
    stopMachines();
    stopLanguage();
    clearInterval(refresh);
    redraw.cancel();
    trendToken += 1;
    for (const gauge of gauges) gauge.dispose();
    if (trend) trend.dispose();
  };
}
