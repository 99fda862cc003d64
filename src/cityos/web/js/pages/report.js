/**
 * Report a problem (#/report): the citizen's page, for a phone as much as a desk.
 *
 * Speaks only Open311 GeoReport v2, as any citizen app would: the services (categories)
 * and their questions from /open311/v2/services, a point picked on a small map, then
 * POST /open311/v2/requests.json (form-encoded, api_key "dashboard") and the request's
 * status read back by its id — also for any id typed into the "check status" box.
 *
 * Open311 names things in English only; Chinese names come from the governance catalogue
 * (nameZh) and from this page's strings, with the service's English text as the fallback.
 */

import { el, fmtDate, governanceCatalogue, problemText, replace, tOr } from "../ui.js";

export const id = "report";
export const titleKey = "report.title";

const OPEN311 = "/open311/v2";
/** The key this dashboard files reports with (any non-empty key unless cityos restricts them). */
const API_KEY = "dashboard";
/** Jiefangbei, the heart of Yuzhong: where the map opens. [lat, lng] */
const JIEFANGBEI = [29.557, 106.577];
const PICK_ZOOM = 12;

export const strings = {
  en: {
    "report.title": "Report a problem",
    "report.intro": "Tell the city about a pothole, a dark streetlight, rubbish, flooding or noise. Your report goes to the department in charge, and you can follow it with its number.",
    "report.what": "What is the problem?",
    "report.category": "Category",
    "report.choose": "Choose a category…",
    "report.questions": "A few details",
    "report.optional": "{label} (optional)",
    "report.required": "{label} (required)",
    "report.pickMany": "Tick all that apply",
    "report.description": "Description",
    "report.descriptionHint": "What, and where exactly? At most 4,000 characters.",
    "report.photo": "Photo URL",
    "report.photoHint": "A link to a photo (http or https), if you have one.",
    "report.where": "Where is it?",
    "report.mapHint": "Click or tap the map to place the marker; drag it to adjust.",
    "report.mapLabel": "Map to pick the location of the problem",
    "report.useCentre": "Use the map centre",
    "report.noPoint": "No location picked yet.",
    "report.point": "Location: {lat}, {lng}",
    "report.marker": "Location of the problem (drag to move)",
    "report.contact": "Contact",
    "report.email": "Email",
    "report.emailHint": "Optional: only the city's staff see it.",
    "report.submit": "Send report",
    "report.sending": "Sending…",
    "report.err.category": "Choose a category.",
    "report.err.location": "Pick the location on the map.",
    "report.err.required": "Answer: {question}",
    "report.err.photo": "The photo URL must start with http:// or https://.",
    "report.err.email": "The email address does not look right.",
    "report.err.summary": "Please check the form:",
    "report.err.server": "The city could not take the report: {detail}",
    "report.err.lookup": "Could not read the request: {detail}",
    "report.notFound": "There is no request with the number {id}.",
    "report.thanks": "Thank you — your report was received.",
    "report.number": "Your request number",
    "report.keep": "Keep this number to check the status later.",
    "report.status": "Status",
    "report.status.open": "Open — being handled",
    "report.status.closed": "Closed",
    "report.statusNotes": "Latest note",
    "report.agency": "Department in charge",
    "report.expected": "Expected by",
    "report.requested": "Reported",
    "report.updated": "Last update",
    "report.service": "Category",
    "report.refresh": "Refresh status",
    "report.check": "Check a request's status",
    "report.checkId": "Request number",
    "report.checkButton": "Check status",
    "report.checkMissing": "Enter a request number.",
    "report.loading": "Loading…",
    "report.group.Roads": "Roads",
    "report.group.Sanitation": "Sanitation",
    "report.group.Water": "Water",
    "report.group.Environment": "Environment",
    "report.group.Transport": "Transport",
    "report.group.Housing": "Housing",
    "report.group.Manufacturing": "Manufacturing",
    "report.group.Rural": "Rural",
    "report.group.Logistics": "Logistics",
    "report.group.Market": "Market",
    "report.group.other": "Other",
  },
  zh: {
    "report.title": "问题上报",
    "report.intro": "向城市反映道路坑洼、路灯不亮、乱倒垃圾、积水或噪声等问题。您的上报将转至主管部门办理，凭编号可随时查询进度。",
    "report.what": "遇到了什么问题？",
    "report.category": "问题类别",
    "report.choose": "请选择类别…",
    "report.questions": "补充信息",
    "report.optional": "{label}（选填）",
    "report.required": "{label}（必填）",
    "report.pickMany": "可多选",
    "report.description": "问题描述",
    "report.descriptionHint": "什么问题，具体在哪里？不超过 4000 字。",
    "report.photo": "照片链接",
    "report.photoHint": "如有照片，请填写其链接（http 或 https）。",
    "report.where": "问题在哪里？",
    "report.mapHint": "点击地图放置标记，拖动标记可调整位置。",
    "report.mapLabel": "选择问题位置的地图",
    "report.useCentre": "使用地图中心位置",
    "report.noPoint": "尚未选择位置。",
    "report.point": "位置：{lat}，{lng}",
    "report.marker": "问题位置（可拖动）",
    "report.contact": "联系方式",
    "report.email": "电子邮箱",
    "report.emailHint": "选填：仅城市工作人员可见。",
    "report.submit": "提交上报",
    "report.sending": "正在提交…",
    "report.err.category": "请选择问题类别。",
    "report.err.location": "请在地图上选择位置。",
    "report.err.required": "请回答：{question}",
    "report.err.photo": "照片链接须以 http:// 或 https:// 开头。",
    "report.err.email": "电子邮箱格式不正确。",
    "report.err.summary": "请检查表单：",
    "report.err.server": "上报未被受理：{detail}",
    "report.err.lookup": "无法读取该诉求：{detail}",
    "report.notFound": "没有编号为 {id} 的诉求。",
    "report.thanks": "感谢您的上报，我们已收到。",
    "report.number": "您的诉求编号",
    "report.keep": "请保存此编号，以便日后查询办理进度。",
    "report.status": "办理状态",
    "report.status.open": "办理中",
    "report.status.closed": "已办结",
    "report.statusNotes": "最新办理意见",
    "report.agency": "承办部门",
    "report.expected": "预计办结时间",
    "report.requested": "上报时间",
    "report.updated": "最近更新",
    "report.service": "问题类别",
    "report.refresh": "刷新状态",
    "report.check": "查询诉求办理状态",
    "report.checkId": "诉求编号",
    "report.checkButton": "查询",
    "report.checkMissing": "请输入诉求编号。",
    "report.loading": "加载中…",
    "report.group.Roads": "道路",
    "report.group.Sanitation": "环境卫生",
    "report.group.Water": "水务",
    "report.group.Environment": "生态环境",
    "report.group.Transport": "交通",
    "report.group.Housing": "住房",
    "report.group.Manufacturing": "制造业",
    "report.group.Rural": "农村",
    "report.group.Logistics": "物流",
    "report.group.Market": "市场监管",
    "report.group.other": "其他",
    // The packaged services' descriptions and questions (config text is English only).
    "report.svc.pothole": "道路、人行道或桥面上的坑洞或破损。",
    "report.svc.streetlight-out": "路灯不亮、闪烁或白天常亮。",
    "report.svc.illegal-dumping": "在不该丢弃的地方堆放垃圾、建筑渣土或旧家具。",
    "report.svc.overflowing-bin": "公共垃圾桶或分类投放点已满或溢出。",
    "report.svc.waterlogging": "雨后街道积水或排水口堵塞。",
    "report.svc.flood": "河流、溪沟或滑坡堰塞水位上涨，漫过道路或房屋。",
    "report.svc.noise": "施工、经营或交通噪声，尤其是夜间。",
    "report.svc.air-pollution": "烟尘、扬尘、焚烧或异味。",
    "report.svc.illegal-parking": "车辆占用道路、人行道、公交站或消防通道。",
    "report.svc.damaged-facility": "护栏、井盖、座椅、标志牌或候车亭损坏。",
    "report.svc.building-safety": "房屋开裂、外墙脱落或渗漏，多见于待改造的老旧小区。",
    "report.svc.machine-fault": "生产设备停机或产能远低于正常水平（由制造业规则触发）。",
    "report.svc.irrigation-alert": "农田土壤墒情长时间过低（由农村传感器规则触发）。",
    "report.svc.freight-delay": "中欧班列在场站或口岸晚点。",
    "report.svc.food-safety": "食品变质、后厨不卫生或无证食品摊贩。",
    "report.svc.other": "城市需要知道的其他问题。",
    "report.q.pothole.size": "坑有多大？",
    "report.v.pothole.size.small": "比盘子小",
    "report.v.pothole.size.medium": "约一个车轮大小",
    "report.v.pothole.size.large": "比车轮大",
    "report.q.pothole.traffic": "车辆是否需要绕行避让？",
    "report.v.pothole.traffic.yes": "是",
    "report.v.pothole.traffic.no": "否",
    "report.q.streetlight-out.pole": "灯杆编号（如能看清）",
    "report.q.illegal-dumping.waste": "倾倒的是什么？",
    "report.v.illegal-dumping.waste.household": "生活垃圾",
    "report.v.illegal-dumping.waste.construction": "建筑渣土",
    "report.v.illegal-dumping.waste.bulky": "家具或家电",
    "report.v.illegal-dumping.waste.hazardous": "化学品、电池或油污",
    "report.q.overflowing-bin.bin": "哪类垃圾桶满了？",
    "report.v.overflowing-bin.bin.kitchen": "厨余垃圾",
    "report.v.overflowing-bin.bin.recyclable": "可回收物",
    "report.v.overflowing-bin.bin.hazardous": "有害垃圾",
    "report.v.overflowing-bin.bin.other": "其他垃圾",
    "report.q.waterlogging.depth": "积水有多深？",
    "report.v.waterlogging.depth.ankle": "没过脚踝",
    "report.v.waterlogging.depth.knee": "没过膝盖",
    "report.v.waterlogging.depth.above-knee": "高于膝盖",
    "report.q.noise.source": "噪声来自哪里？",
    "report.v.noise.source.construction": "建筑工地",
    "report.v.noise.source.business": "商铺、酒吧或餐馆",
    "report.v.noise.source.traffic": "交通",
    "report.v.noise.source.other": "其他",
    "report.q.noise.since": "从什么时候开始？",
    "report.q.air-pollution.kind": "您看到或闻到了什么？",
    "report.v.air-pollution.kind.smoke": "烟囱冒烟",
    "report.v.air-pollution.kind.burning": "露天焚烧",
    "report.v.air-pollution.kind.dust": "工地或道路扬尘",
    "report.v.air-pollution.kind.odour": "异味",
    "report.q.illegal-parking.plate": "车牌号",
    "report.q.building-safety.signs": "您注意到了哪些情况？",
    "report.v.building-safety.signs.cracks": "墙体开裂",
    "report.v.building-safety.signs.falling": "外墙有物脱落",
    "report.v.building-safety.signs.leaning": "倾斜或下沉",
    "report.v.building-safety.signs.leaks": "室内渗水",
    "report.q.building-safety.community": "小区名称",
    "report.q.machine-fault.machine": "设备编号",
    "report.q.freight-delay.train": "班列车次",
  },
};

/** The form's fields, kept across re-renders (a language switch keeps what was typed). */
function emptyForm() {
  return { category: "", answers: {}, description: "", media: "", email: "", point: null };
}

const FIELD = { display: "block", marginTop: "10px" };
const LABEL = { display: "block", fontWeight: "600", marginBottom: "3px" };
const HINT = { display: "block", fontSize: "12px", color: "var(--muted)", marginTop: "2px" };
const CONTROL = { width: "100%", padding: "8px 10px", fontSize: "15px" };
const BIG_BUTTON = { padding: "9px 16px", fontSize: "15px" };

export async function mount(root, ctx) {
  const { api, t } = ctx;
  const form = emptyForm();
  const state = { services: [], definitions: new Map(), errors: [], sending: false, result: null, lookup: null, catalogue: null };

  const page = el("section", { class: "page", "data-page": id, style: { maxWidth: "1180px" } });
  const title = el("h1");
  const intro = el("p", { class: "muted", style: { margin: "0 0 12px", maxWidth: "70ch" } });
  const whatBox = el("fieldset", { class: "panel", style: { margin: "0", minWidth: "0" } });
  const whereBox = el("fieldset", { class: "panel", style: { margin: "0", minWidth: "0" } });
  const sendBox = el("fieldset", { class: "panel", style: { margin: "0", minWidth: "0" } });
  const resultBox = el("section", { class: "panel", style: { minWidth: "0" }, "aria-live": "polite" });
  const mapEl = el("div", { style: { height: "300px", borderRadius: "4px", marginTop: "6px" } });
  const whereText = { legend: el("legend"), hint: el("p", { style: { ...HINT, margin: "0 0 4px" } }), point: el("p", { role: "status", style: { margin: "6px 0 0" } }), centre: el("button", { type: "button" }) };
  // The form spans the grid's first three cells (display: contents), so on a wide screen
  // "what" and "where" sit side by side with "send" and the result below, and on a phone
  // everything stacks in reading order: what, where, send, result.
  const reportForm = el("form", { novalidate: true, style: { display: "contents" }, onsubmit: (event) => { event.preventDefault(); send(); } }, [whatBox, whereBox, sendBox]);
  const grid = el("div", {
    style: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 420px), 1fr))", gap: "12px", alignItems: "start" },
  }, [reportForm, resultBox]);
  replace(root, page);
  page.append(title, intro, grid);
  whereBox.append(whereText.legend, whereText.hint, mapEl, el("div", { style: { display: "flex", flexWrap: "wrap", gap: "8px", alignItems: "center", justifyContent: "space-between" } }, [whereText.point, whereText.centre]));

  // ---- the map: click or drag to pick ----
  const map = ctx.maps.basemap(mapEl, { labels: true, keyboard: true });
  let marker = null;
  const place = (latlng) => {
    form.point = [Number(latlng.lat.toFixed(6)), Number(latlng.lng.toFixed(6))];
    if (!marker) {
      marker = L.marker(latlng, { draggable: true, keyboard: true, icon: ctx.maps.dotIcon({ color: "#c0392b", size: 22 }), title: t("report.marker") }).addTo(map);
      marker.on("dragend", () => place(marker.getLatLng()));
    } else marker.setLatLng(latlng);
    state.errors = state.errors.filter((e) => e.key !== "location");
    renderWhere();
    renderSend();
  };
  map.on("click", (event) => place(event.latlng));
  whereText.centre.addEventListener("click", () => place(map.getCenter()));
  // The base layer fits itself to all of Chongqing when it lands; open on Jiefangbei after it.
  map.setView(JIEFANGBEI, PICK_ZOOM, { animate: false });
  map.baseReady.then(() => map.setView(form.point || JIEFANGBEI, PICK_ZOOM, { animate: false }));

  // ---- names in the current language ----
  const serviceName = (service) => (ctx.lang !== "en" && state.catalogue ? state.catalogue.category(service.service_code) : service.service_name);
  const question = (code, attribute) => tOr(`report.q.${code}.${attribute.code}`, attribute.description || attribute.code);
  const answerName = (code, attribute, value) => tOr(`report.v.${code}.${attribute.code}.${value.key}`, value.name || value.key);
  /** Open311 names the agency in English: in Chinese, the catalogue's nameZh of that department. */
  const agencyName = (name) => {
    const department = (state.catalogue?.departments || []).find((d) => d.name === name);
    return department ? state.catalogue.department(department.id) : name;
  };

  // ---- what ----
  function renderWhat() {
    const service = state.services.find((s) => s.service_code === form.category);
    const groups = new Map();
    for (const s of state.services) {
      const group = s.group || "other";
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(s);
    }
    const category = el("select", {
      id: "report-category", name: "service_code", required: true, style: CONTROL,
      "aria-invalid": hasError("category") ? "true" : null, "aria-describedby": "report-category-hint",
      onchange: async () => {
        form.category = category.value;
        form.answers = {};
        state.errors = state.errors.filter((e) => e.key !== "category" && !e.key.startsWith("attribute"));
        await definition(form.category);
        renderWhat();
        renderSend();
        document.getElementById("report-category")?.focus();
      },
    }, [
      el("option", { value: "", text: t("report.choose") }),
      [...groups].map(([group, services]) => el("optgroup", { label: tOr(`report.group.${group}`, group) },
        services.map((s) => el("option", { value: s.service_code, selected: s.service_code === form.category, text: serviceName(s) })))),
    ]);
    const questions = (state.definitions.get(form.category) || []).filter((a) => a.variable !== false);
    const description = el("textarea", {
      id: "report-description", name: "description", rows: "3", maxlength: "4000", style: { ...CONTROL, resize: "vertical" },
      "aria-describedby": "report-description-hint", oninput: () => { form.description = description.value; },
    });
    description.value = form.description;
    const media = el("input", {
      id: "report-media", name: "media_url", type: "url", inputmode: "url", placeholder: "https://…", style: CONTROL,
      "aria-invalid": hasError("media") ? "true" : null, "aria-describedby": "report-media-hint",
      oninput: () => { form.media = media.value; }, value: form.media,
    });
    replace(whatBox,
      el("legend", { style: { fontWeight: "600", padding: "0 4px" }, text: t("report.what") }),
      el("div", { style: { ...FIELD, marginTop: "0" } }, [
        el("label", { for: "report-category", style: LABEL, text: t("report.category") }), category,
        el("span", { id: "report-category-hint", style: HINT, text: service ? tOr(`report.svc.${service.service_code}`, service.description || "") : "" }),
      ]),
      questions.length ? el("div", { style: { marginTop: "8px", padding: "6px 10px 10px", background: "var(--panel-alt)", borderRadius: "var(--radius)" } }, [
        el("div", { style: { fontSize: "12px", color: "var(--muted)" }, text: t("report.questions") }),
        questions.map((attribute) => questionField(form.category, attribute)),
      ]) : null,
      el("div", { style: FIELD }, [
        el("label", { for: "report-description", style: LABEL, text: t("report.description") }), description,
        el("span", { id: "report-description-hint", style: HINT, text: t("report.descriptionHint") }),
      ]),
      el("div", { style: FIELD }, [
        el("label", { for: "report-media", style: LABEL, text: t("report.optional", { label: t("report.photo") }) }), media,
        el("span", { id: "report-media-hint", style: HINT, text: t("report.photoHint") }),
      ]),
    );
  }

  /** One of the service's questions as a form control, by its Open311 datatype. */
  function questionField(code, attribute) {
    const name = `attribute[${attribute.code}]`;
    const fieldId = `report-q-${attribute.code}`;
    const label = t(attribute.required ? "report.required" : "report.optional", { label: question(code, attribute) });
    const invalid = hasError(`attribute:${attribute.code}`) ? "true" : null;
    const current = form.answers[attribute.code];
    if (attribute.datatype === "multivaluelist") {
      const chosen = new Set(current || []);
      return el("fieldset", { style: { border: "0", padding: "0", margin: "8px 0 0" }, "aria-invalid": invalid }, [
        el("legend", { style: { ...LABEL, padding: "0" }, text: label }),
        el("span", { style: { ...HINT, marginTop: "0" }, text: t("report.pickMany") }),
        (attribute.values || []).map((value) => el("label", { style: { display: "flex", gap: "8px", alignItems: "center", padding: "3px 0" } }, [
          el("input", {
            type: "checkbox", name: `${name}[]`, value: value.key, checked: chosen.has(value.key), style: { width: "18px", height: "18px" },
            onchange: (event) => {
              event.target.checked ? chosen.add(value.key) : chosen.delete(value.key);
              form.answers[attribute.code] = [...chosen];
            },
          }),
          answerName(code, attribute, value),
        ])),
      ]);
    }
    let control;
    if (attribute.datatype === "singlevaluelist") {
      control = el("select", { id: fieldId, name, style: CONTROL, "aria-invalid": invalid }, [
        el("option", { value: "", text: "—" }),
        (attribute.values || []).map((value) => el("option", { value: value.key, selected: value.key === current, text: answerName(code, attribute, value) })),
      ]);
    } else {
      const type = { number: "number", datetime: "datetime-local" }[attribute.datatype] || "text";
      control = attribute.datatype === "text"
        ? el("textarea", { id: fieldId, name, rows: "2", style: CONTROL, "aria-invalid": invalid })
        : el("input", { id: fieldId, name, type, style: CONTROL, "aria-invalid": invalid });
      control.value = current || "";
    }
    const update = () => { form.answers[attribute.code] = control.value; };
    control.addEventListener("input", update);
    control.addEventListener("change", update);
    return el("div", { style: { marginTop: "8px" } }, [el("label", { for: fieldId, style: LABEL, text: label }), control]);
  }

  // ---- where ----
  function renderWhere() {
    whereText.legend.textContent = t("report.where");
    whereText.legend.style.cssText = "font-weight:600;padding:0 4px";
    whereText.hint.textContent = t("report.mapHint");
    mapEl.setAttribute("aria-label", t("report.mapLabel"));
    whereText.centre.textContent = t("report.useCentre");
    const missing = hasError("location");
    whereText.point.textContent = form.point
      ? t("report.point", { lat: form.point[0].toFixed(5), lng: form.point[1].toFixed(5) })
      : t("report.noPoint");
    whereText.point.style.color = missing ? "var(--bad)" : form.point ? "var(--text)" : "var(--muted)";
    mapEl.style.outline = missing ? "2px solid var(--bad)" : "";
    if (marker) marker.getElement()?.setAttribute("title", t("report.marker"));
  }

  // ---- contact and send ----
  function renderSend() {
    const email = el("input", {
      id: "report-email", name: "email", type: "email", inputmode: "email", autocomplete: "email", style: CONTROL,
      "aria-invalid": hasError("email") ? "true" : null, "aria-describedby": "report-email-hint",
      oninput: () => { form.email = email.value; }, value: form.email,
    });
    replace(sendBox,
      el("legend", { style: { fontWeight: "600", padding: "0 4px" }, text: t("report.contact") }),
      el("div", { style: { ...FIELD, marginTop: "0" } }, [
        el("label", { for: "report-email", style: LABEL, text: t("report.optional", { label: t("report.email") }) }), email,
        el("span", { id: "report-email-hint", style: HINT, text: t("report.emailHint") }),
      ]),
      state.errors.length ? el("div", { role: "alert", "data-test": "report-errors", style: { marginTop: "10px", color: "var(--bad)" } }, [
        el("strong", { text: t("report.err.summary") }),
        el("ul", { style: { margin: "4px 0 0", paddingLeft: "20px" } }, state.errors.map((e) => el("li", { text: e.text }))),
      ]) : null,
      el("div", { style: { marginTop: "12px" } }, el("button", {
        type: "submit", class: "primary", "data-test": "report-submit", disabled: state.sending,
        style: { ...BIG_BUTTON, width: "100%" }, text: state.sending ? t("report.sending") : t("report.submit"),
      })),
    );
  }

  function hasError(key) {
    return state.errors.some((e) => e.key === key);
  }

  /** What is wrong with the form before anything is sent ([] when it may go). */
  function validate() {
    const errors = [];
    if (!form.category) errors.push({ key: "category", text: t("report.err.category") });
    for (const attribute of state.definitions.get(form.category) || []) {
      const answer = form.answers[attribute.code];
      if (attribute.required && attribute.variable !== false && (!answer || (Array.isArray(answer) && !answer.length))) {
        errors.push({ key: `attribute:${attribute.code}`, text: t("report.err.required", { question: question(form.category, attribute) }) });
      }
    }
    if (!form.point) errors.push({ key: "location", text: t("report.err.location") });
    if (form.media.trim() && !/^https?:\/\/\S+$/i.test(form.media.trim())) errors.push({ key: "media", text: t("report.err.photo") });
    if (form.email.trim() && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(form.email.trim())) errors.push({ key: "email", text: t("report.err.email") });
    return errors;
  }

  /** The Open311 form body: api_key, service_code, lat/long, optional fields, attribute[…]. */
  function body() {
    const pairs = [["api_key", API_KEY], ["service_code", form.category], ["lat", String(form.point[0])], ["long", String(form.point[1])]];
    if (form.description.trim()) pairs.push(["description", form.description.trim()]);
    if (form.media.trim()) pairs.push(["media_url", form.media.trim()]);
    if (form.email.trim()) pairs.push(["email", form.email.trim()]);
    for (const [code, answer] of Object.entries(form.answers)) {
      if (Array.isArray(answer)) for (const value of answer) pairs.push([`attribute[${code}][]`, value]);
      else if (answer) pairs.push([`attribute[${code}]`, answer]);
    }
    return pairs;
  }

  async function send() {
    state.errors = validate();
    if (state.errors.length) {
      renderAll();
      sendBox.querySelector("[role=alert]")?.scrollIntoView({ block: "nearest" });
      return;
    }
    state.sending = true;
    renderSend();
    try {
      const [receipt] = await api.post(`${OPEN311}/requests.json`, body(), { form: true, quiet: true });
      state.result = { receipt, request: null, error: null };
      state.lookup = null;
      Object.assign(form, emptyForm(), { point: null });
      if (marker) marker.remove();
      marker = null;
      renderAll();
      await refreshResult();
    } catch (error) {
      state.errors = [{ key: "server", text: t("report.err.server", { detail: problemText(error) }) }];
      renderSend();
    } finally {
      state.sending = false;
      renderSend();
    }
    resultBox.scrollIntoView({ block: "nearest" });
  }

  // ---- result and status ----
  /** GET one request; null (with the reason) when it cannot be read. */
  async function readRequest(requestId) {
    try {
      const [request] = await api.get(`${OPEN311}/requests/${encodeURIComponent(requestId)}.json`, null, { quiet: true });
      return { request, error: null };
    } catch (error) {
      return { request: null, error: error.status === 404 ? t("report.notFound", { id: requestId }) : t("report.err.lookup", { detail: problemText(error) }) };
    }
  }

  async function refreshResult() {
    const requestId = state.result.receipt.service_request_id;
    Object.assign(state.result, await readRequest(requestId));
    renderResult();
  }

  async function lookup(requestId) {
    state.lookup = { id: requestId, request: null, error: null, loading: true };
    renderResult();
    Object.assign(state.lookup, await readRequest(requestId), { loading: false });
    renderResult();
  }

  /** A request's status as a definition list. */
  function statusCard(request) {
    const open = request.status !== "closed";
    const service = state.services.find((s) => s.service_code === request.service_code);
    const rows = [
      ["report.status", el("span", { class: "badge", style: { background: open ? "#fdf0dc" : "#e1f3ea", color: open ? "#8a5a00" : "#1d6b47", fontWeight: "600" }, text: t(`report.status.${open ? "open" : "closed"}`) })],
      ["report.service", service ? serviceName(service) : request.service_name],
      ["report.agency", request.agency_responsible ? agencyName(request.agency_responsible) : null],
      ["report.expected", open && request.expected_datetime ? fmtDate(request.expected_datetime) : null],
      ["report.statusNotes", request.status_notes || null],
      ["report.requested", fmtDate(request.requested_datetime)],
      ["report.updated", fmtDate(request.updated_datetime)],
    ];
    return el("dl", { class: "attributes", "data-status": request.status, style: { gridTemplateColumns: "minmax(100px, auto) 1fr", fontSize: "13.5px" } },
      rows.filter(([, value]) => value).map(([key, value]) => [el("dt", { text: t(key) }), el("dd", {}, value)]));
  }

  function renderResult() {
    const result = state.result;
    const receipt = result?.receipt;
    const idInput = el("input", {
      id: "report-check-id", name: "id", type: "text", spellcheck: "false", autocomplete: "off", required: true,
      placeholder: "urn:ngsi-ld:Case:…", value: state.lookup?.id || receipt?.service_request_id || "",
      style: { ...CONTROL, fontFamily: "monospace", fontSize: "13px", flex: "1", minWidth: "0" },
    });
    const checkForm = el("form", {
      "data-test": "status-check", style: { marginTop: receipt ? "16px" : "0" },
      onsubmit: (event) => {
        event.preventDefault();
        const requestId = idInput.value.trim();
        if (!requestId) {
          state.lookup = { id: "", error: t("report.checkMissing") };
          renderResult();
          return;
        }
        lookup(requestId);
      },
    }, [
      el("h2", { text: t("report.check") }),
      el("label", { for: "report-check-id", style: { ...LABEL, fontWeight: "400" }, text: t("report.checkId") }),
      el("div", { style: { display: "flex", gap: "6px" } }, [idInput, el("button", { type: "submit", style: BIG_BUTTON, text: t("report.checkButton") })]),
      state.lookup ? el("div", { "data-test": "status-result", "data-request-id": state.lookup.request?.service_request_id || null, style: { marginTop: "8px" } },
        state.lookup.loading ? el("p", { class: "note", text: t("report.loading") })
          : state.lookup.error ? el("p", { class: "note error", role: "alert", text: state.lookup.error })
            : statusCard(state.lookup.request)) : null,
    ]);
    replace(resultBox,
      receipt ? el("div", { "data-test": "report-result", "data-request-id": receipt.service_request_id }, [
        el("p", { style: { margin: "0 0 6px", fontWeight: "600", color: "var(--ok)", fontSize: "15px" }, text: `✓ ${t("report.thanks")}` }),
        el("div", { style: { fontSize: "12px", color: "var(--muted)" }, text: t("report.number") }),
        el("code", { "data-test": "request-id", style: { display: "block", fontSize: "14px", wordBreak: "break-all", background: "var(--panel-alt)", padding: "6px 8px", borderRadius: "4px", margin: "2px 0" }, text: receipt.service_request_id }),
        el("div", { style: HINT, text: t("report.keep") }),
        el("div", { style: { marginTop: "8px" } }, result.error ? el("p", { class: "note error", role: "alert", text: result.error })
          : result.request ? statusCard(result.request) : el("p", { class: "note", text: t("report.loading") })),
        el("button", { type: "button", style: { marginTop: "8px" }, text: t("report.refresh"), onclick: refreshResult }),
      ]) : null,
      checkForm,
    );
  }

  function renderAll() {
    title.textContent = t("report.title");
    intro.textContent = t("report.intro");
    renderWhat();
    renderWhere();
    renderSend();
    renderResult();
  }

  /** The service's questions (its Open311 definition), fetched once per service. */
  async function definition(code) {
    if (!code || state.definitions.has(code)) return;
    const service = state.services.find((s) => s.service_code === code);
    if (!service?.metadata) {
      state.definitions.set(code, []);
      return;
    }
    const answer = await api.get(`${OPEN311}/services/${encodeURIComponent(code)}.json`);
    state.definitions.set(code, [...(answer.attributes || [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0)));
  }

  // ---- start ----
  renderAll();
  const [services, catalogue] = await Promise.all([
    api.get(`${OPEN311}/services.json`),
    governanceCatalogue(api).catch(() => null), // without it, names stay in Open311's English
  ]);
  state.services = services || [];
  state.catalogue = catalogue;
  renderAll();
  page.dataset.ready = "true";

  const stopLanguage = ctx.onLanguage(() => {
    // Re-validate so the messages are in the new language too.
    if (state.errors.length && !hasError("server")) state.errors = validate();
    renderAll();
  });
  return () => {
    stopLanguage();
    map.remove();
  };
}
