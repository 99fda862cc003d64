/**
 * Cases (#/cases, #/cases/<id>, #/cases/statistics): the governance desk.
 *
 * - the queue: filters (state, category, district, department, overdue) → /governance/cases,
 *   newest first, a page at a time; refreshed whenever a Case entity changes (live stream);
 * - a case's detail beside the queue: its fields, a small map, the trail, and the workflow
 *   actions the API says the signed-in role may take (`actions`), each a button; actions
 *   that need input (a note, a department, the original's id) ask for it in an inline form;
 * - statistics: received / closed / backlog per department and district, on-time rate per stage.
 *
 * The API decides who may do what (CityOS-Roles from the header's role picker): the page only
 * shows what it was told and explains refusals (409 with the allowed actions, 403).
 */

import {
  chip, columns, el, fmtAgo, fmtDate, fmtNumber, fmtPercent, districtNamer, governanceCatalogue,
  mediaPath, note, problemText, replace, stat, stats, table, throttle, toast, tOr,
} from "../ui.js";

export const id = "cases";
export const titleKey = "cases.title";

const CASES = "/governance/cases";
const PAGE_SIZE = 20;
const STATS_VIEW = "statistics";
/** Actions that need input before they are sent, and what they ask for. */
const NEEDS_NOTE = new Set(["reject", "fail", "reopen"]);
const FORM_ACTIONS = new Set([...NEEDS_NOTE, "dispatch", "merge"]);
const STAGES = ["accept", "dispatch", "resolve"];

/** Badge colours per state: open states in blues/oranges, finished ones in greys and red. */
const STATE_COLORS = {
  reported: "#5b6abf",
  accepted: "#1f5fbf",
  dispatched: "#0e7c86",
  in_progress: "#d98b1b",
  resolved: "#8a6d3b",
  verified: "#2e9d6a",
  closed: "#5b6775",
  rejected: "#c0392b",
  merged: "#9aa5b1",
};
const PRIORITY_COLORS = { low: "#d5dde5", normal: "#e3edfb", high: "#f4c27a", urgent: "#c0392b" };

export const strings = {
  en: {
    "cases.title": "Cases",
    "cases.queue": "Queue",
    "cases.statistics": "Statistics",
    "cases.views": "Views",
    "cases.filters": "Filters",
    "cases.any": "Any",
    "cases.f.state": "State",
    "cases.f.category": "Category",
    "cases.f.district": "District",
    "cases.f.department": "Department",
    "cases.f.overdue": "Overdue",
    "cases.f.overdueYes": "Overdue only",
    "cases.f.overdueNo": "On time only",
    "cases.f.reset": "Clear filters",
    "cases.count": "Showing {from}–{to} of {total} · newest first",
    "cases.countNone": "No case matches these filters.",
    "cases.prev": "Previous",
    "cases.next": "Next",
    "cases.paging": "Pages",
    "cases.caption": "Cases matching the filters",
    "cases.col.id": "Case",
    "cases.col.category": "Category",
    "cases.col.district": "District",
    "cases.col.department": "Department",
    "cases.col.state": "State",
    "cases.col.priority": "Priority",
    "cases.col.overdue": "Overdue",
    "cases.col.reported": "Reported",
    "cases.state.reported": "Reported",
    "cases.state.accepted": "Accepted",
    "cases.state.rejected": "Rejected",
    "cases.state.merged": "Merged",
    "cases.state.dispatched": "Dispatched",
    "cases.state.in_progress": "In progress",
    "cases.state.resolved": "Resolved",
    "cases.state.verified": "Verified",
    "cases.state.closed": "Closed",
    "cases.priority.low": "Low",
    "cases.priority.normal": "Normal",
    "cases.priority.high": "High",
    "cases.priority.urgent": "Urgent",
    "cases.source.citizen": "Citizen",
    "cases.source.inspector": "Inspector",
    "cases.source.sensor": "Sensor",
    "cases.source.rule": "Rule",
    "cases.stage.accept": "Acceptance",
    "cases.stage.dispatch": "Dispatch",
    "cases.stage.resolve": "Resolution",
    "cases.overdueStage": "{stage} late",
    "cases.overdueTitle": "Past the deadline of its {stage} stage",
    "cases.action.accept": "Accept",
    "cases.action.reject": "Reject",
    "cases.action.merge": "Merge",
    "cases.action.dispatch": "Dispatch",
    "cases.action.start": "Start work",
    "cases.action.resolve": "Resolve",
    "cases.action.verify": "Verify",
    "cases.action.fail": "Fail verification",
    "cases.action.close": "Close",
    "cases.action.reopen": "Reopen",
    "cases.action.escalate": "Escalated",
    "cases.action.report": "Reported",
    "cases.done.accept": "Case accepted.",
    "cases.done.reject": "Case rejected.",
    "cases.done.merge": "Case merged.",
    "cases.done.dispatch": "Case dispatched.",
    "cases.done.start": "Work started.",
    "cases.done.resolve": "Case resolved.",
    "cases.done.verify": "Resolution verified.",
    "cases.done.fail": "Sent back to the department.",
    "cases.done.close": "Case closed.",
    "cases.done.reopen": "Case reopened.",
    "cases.actions": "Actions",
    "cases.actionsAs": "Actions open to you as {role}",
    "cases.noActions": "Your role ({role}) has no action on a case in this state.",
    "cases.note": "Note",
    "cases.noteRequired": "Note (required)",
    "cases.noteMissing": "Write a note: this action needs one.",
    "cases.noteOptional": "Note (optional)",
    "cases.dispatchTo": "Department",
    "cases.mergeInto": "Id of the original case",
    "cases.mergeMissing": "Give the id of the case this one duplicates.",
    "cases.confirm": "Confirm: {action}",
    "cases.cancel": "Cancel",
    "cases.sending": "Sending…",
    "cases.listSep": ", ",
    "cases.err.conflict": "The case can no longer be “{action}”: it is {state} now. Allowed from here: {allowed}.",
    "cases.err.conflictNone": "The case can no longer be “{action}”: it is {state} now, and nothing more can be done with it.",
    "cases.err.forbidden": "Your role ({role}) may not “{action}” this case.",
    "cases.err.invalid": "The request was refused: {detail}",
    "cases.err.notFound": "There is no case {id}.",
    "cases.err.other": "The action failed ({status}): {detail}",
    "cases.detail": "Case detail",
    "cases.close": "Close the detail",
    "cases.d.id": "Id",
    "cases.d.state": "State",
    "cases.d.priority": "Priority",
    "cases.d.source": "Source",
    "cases.d.district": "District",
    "cases.d.gridCell": "Grid cell",
    "cases.d.department": "Department",
    "cases.d.routing": "Why this department",
    "cases.d.address": "Address",
    "cases.d.description": "Description",
    "cases.d.reported": "Reported",
    "cases.d.updated": "Last change",
    "cases.d.closed": "Closed",
    "cases.d.deadlines": "Deadlines",
    "cases.d.deadline": "{stage}: {due}",
    "cases.d.deadlineDone": "{stage}: {due} (done {done})",
    "cases.d.escalated": "Escalated to",
    "cases.d.duplicate": "Possible duplicate of",
    "cases.d.mergedInto": "Merged into",
    "cases.d.raisedBy": "Raised by",
    "cases.d.media": "Photos",
    "cases.d.reference": "Reference",
    "cases.d.photos": "Citizens' photos",
    "cases.d.photoHidden": "hidden from the public",
    "cases.d.photoAlt": "Photo {n} of the case",
    "cases.d.textHidden": "Description",
    "cases.d.textHiddenNote": "hidden from the public by moderation",
    "cases.d.supporters": "Support (“me too”)",
    "cases.d.followers": "Followers (e-mail)",
    "cases.d.followerOff": "unsubscribed",
    "cases.d.flagged": "Flagged for review",
    "cases.d.flaggedYes": "yes",
    "cases.mod.hide": "Hide from the public",
    "cases.mod.show": "Show again",
    "cases.mod.hideWhy": "Why hide it ({what})? Kept in the trail, never shown to the public.",
    "cases.mod.showWhy": "Why show it again ({what})? Kept in the trail.",
    "cases.mod.reasonMissing": "Give a reason: it is kept in the case's trail.",
    "cases.mod.hidden": "Hidden from the public",
    "cases.mod.shown": "Shown to the public again",
    "cases.action.moderate": "Moderate",
    "cases.d.answers": "Answers",
    "cases.d.reporter": "Reporter",
    "cases.d.reopened": "Reopened",
    "cases.d.times": "{count} times",
    "cases.noLocation": "This case has no location.",
    "cases.location": "Location of the case",
    "cases.trail": "Timeline",
    "cases.trailEmpty": "No entry yet.",
    "cases.trailBy": "{actor} as {role}",
    "cases.trailMove": "{from} → {to}",
    "cases.role.department": "{name} (department)",
    "cases.reporter.email": "Email",
    "cases.reporter.phone": "Phone",
    "cases.reporter.first_name": "First name",
    "cases.reporter.last_name": "Last name",
    "cases.reporter.device_id": "Device",
    "cases.reporter.account_id": "Account",
    "cases.reporter.api_key_sha256": "App key (hash)",
    "cases.role.system": "system",
    "cases.role.admin": "administrator",
    "cases.s.received": "Received",
    "cases.s.closed": "Closed",
    "cases.s.backlog": "Backlog",
    "cases.s.median": "Median time to close",
    "cases.s.reopen": "Reopened after closing",
    "cases.s.byDepartment": "Cases per department",
    "cases.s.byDistrict": "Cases per district",
    "cases.s.onTime": "On time, per stage and department",
    "cases.s.onTimeAll": "On time, all departments",
    "cases.s.onTimeStage": "On time: {stage}",
    "cases.s.medianBy": "Median time to close, per department",
    "cases.s.hours": "h",
    "cases.s.none": "No case has been reported yet.",
    "cases.s.unassigned": "(none)",
    "cases.s.note": "All cases reported so far; on time = finished by the deadline, over finished plus unfinished past it.",
    "cases.dur.s": "{n} s",
    "cases.dur.min": "{n} min",
    "cases.dur.h": "{h} h {m} min",
    "cases.dur.d": "{d} d {h} h",
  },
  zh: {
    "cases.title": "案件",
    "cases.queue": "案件队列",
    "cases.statistics": "统计",
    "cases.views": "视图",
    "cases.filters": "筛选",
    "cases.any": "全部",
    "cases.f.state": "状态",
    "cases.f.category": "类别",
    "cases.f.district": "区县",
    "cases.f.department": "部门",
    "cases.f.overdue": "超期",
    "cases.f.overdueYes": "仅超期",
    "cases.f.overdueNo": "仅未超期",
    "cases.f.reset": "清除筛选",
    "cases.count": "第 {from}–{to} 件，共 {total} 件，最新在前",
    "cases.countNone": "没有符合筛选条件的案件。",
    "cases.prev": "上一页",
    "cases.next": "下一页",
    "cases.paging": "分页",
    "cases.caption": "符合筛选条件的案件",
    "cases.col.id": "案件",
    "cases.col.category": "类别",
    "cases.col.district": "区县",
    "cases.col.department": "部门",
    "cases.col.state": "状态",
    "cases.col.priority": "优先级",
    "cases.col.overdue": "超期",
    "cases.col.reported": "上报时间",
    "cases.state.reported": "已上报",
    "cases.state.accepted": "已受理",
    "cases.state.rejected": "不予受理",
    "cases.state.merged": "已合并",
    "cases.state.dispatched": "已派遣",
    "cases.state.in_progress": "处置中",
    "cases.state.resolved": "已处置",
    "cases.state.verified": "已核查",
    "cases.state.closed": "已结案",
    "cases.priority.low": "低",
    "cases.priority.normal": "普通",
    "cases.priority.high": "高",
    "cases.priority.urgent": "紧急",
    "cases.source.citizen": "市民",
    "cases.source.inspector": "巡查员",
    "cases.source.sensor": "传感器",
    "cases.source.rule": "规则",
    "cases.stage.accept": "受理",
    "cases.stage.dispatch": "派遣",
    "cases.stage.resolve": "处置",
    "cases.overdueStage": "{stage}超期",
    "cases.overdueTitle": "已超过{stage}环节的时限",
    "cases.action.accept": "受理",
    "cases.action.reject": "不予受理",
    "cases.action.merge": "合并",
    "cases.action.dispatch": "派遣",
    "cases.action.start": "开始处置",
    "cases.action.resolve": "处置完成",
    "cases.action.verify": "核查通过",
    "cases.action.fail": "核查不通过",
    "cases.action.close": "结案",
    "cases.action.reopen": "重新办理",
    "cases.action.escalate": "超期升级",
    "cases.action.report": "上报",
    "cases.done.accept": "案件已受理。",
    "cases.done.reject": "案件不予受理。",
    "cases.done.merge": "案件已合并。",
    "cases.done.dispatch": "案件已派遣。",
    "cases.done.start": "已开始处置。",
    "cases.done.resolve": "案件已处置。",
    "cases.done.verify": "处置结果核查通过。",
    "cases.done.fail": "已退回责任部门。",
    "cases.done.close": "案件已结案。",
    "cases.done.reopen": "案件已重新办理。",
    "cases.actions": "操作",
    "cases.actionsAs": "您以{role}身份可执行的操作",
    "cases.noActions": "您的角色（{role}）对此状态的案件没有可执行的操作。",
    "cases.note": "备注",
    "cases.noteRequired": "备注（必填）",
    "cases.noteMissing": "请填写备注：此操作需要备注。",
    "cases.noteOptional": "备注（选填）",
    "cases.dispatchTo": "责任部门",
    "cases.mergeInto": "原案件编号",
    "cases.mergeMissing": "请填写与本案重复的原案件编号。",
    "cases.confirm": "确认：{action}",
    "cases.cancel": "取消",
    "cases.sending": "正在提交…",
    "cases.listSep": "、",
    "cases.err.conflict": "案件已无法“{action}”：当前状态为{state}。当前可执行：{allowed}。",
    "cases.err.conflictNone": "案件已无法“{action}”：当前状态为{state}，不能再执行任何操作。",
    "cases.err.forbidden": "您的角色（{role}）无权对此案件执行“{action}”。",
    "cases.err.invalid": "请求被拒绝：{detail}",
    "cases.err.notFound": "没有编号为 {id} 的案件。",
    "cases.err.other": "操作失败（{status}）：{detail}",
    "cases.detail": "案件详情",
    "cases.close": "关闭详情",
    "cases.d.id": "编号",
    "cases.d.state": "状态",
    "cases.d.priority": "优先级",
    "cases.d.source": "来源",
    "cases.d.district": "区县",
    "cases.d.gridCell": "网格",
    "cases.d.department": "责任部门",
    "cases.d.routing": "分拨依据",
    "cases.d.address": "地址",
    "cases.d.description": "问题描述",
    "cases.d.reported": "上报时间",
    "cases.d.updated": "最近更新",
    "cases.d.closed": "结案时间",
    "cases.d.deadlines": "办理时限",
    "cases.d.deadline": "{stage}：{due}",
    "cases.d.deadlineDone": "{stage}：{due}（{done} 完成）",
    "cases.d.escalated": "升级至",
    "cases.d.duplicate": "疑似重复于",
    "cases.d.mergedInto": "已合并至",
    "cases.d.raisedBy": "触发对象",
    "cases.d.media": "照片",
    "cases.d.reference": "受理编号",
    "cases.d.photos": "市民照片",
    "cases.d.photoHidden": "已对公众隐藏",
    "cases.d.photoAlt": "案件照片 {n}",
    "cases.d.textHidden": "描述",
    "cases.d.textHiddenNote": "已被审核对公众隐藏",
    "cases.d.supporters": "支持（“我也遇到了”）",
    "cases.d.followers": "关注者（电子邮件）",
    "cases.d.followerOff": "已退订",
    "cases.d.flagged": "待审核",
    "cases.d.flaggedYes": "是",
    "cases.mod.hide": "对公众隐藏",
    "cases.mod.show": "恢复公开",
    "cases.mod.hideWhy": "为何隐藏（{what}）？原因记入处置记录，不对公众显示。",
    "cases.mod.showWhy": "为何恢复公开（{what}）？原因记入处置记录。",
    "cases.mod.reasonMissing": "请填写原因：它将记入处置记录。",
    "cases.mod.hidden": "已对公众隐藏",
    "cases.mod.shown": "已恢复公开",
    "cases.action.moderate": "审核",
    "cases.d.answers": "补充信息",
    "cases.d.reporter": "上报人",
    "cases.d.reopened": "重新办理",
    "cases.d.times": "{count} 次",
    "cases.noLocation": "此案件没有位置信息。",
    "cases.location": "案件位置",
    "cases.trail": "办理过程",
    "cases.trailEmpty": "暂无记录。",
    "cases.trailBy": "{actor}（{role}）",
    "cases.trailMove": "{from} → {to}",
    "cases.role.department": "{name}（部门）",
    "cases.reporter.email": "电子邮箱",
    "cases.reporter.phone": "电话",
    "cases.reporter.first_name": "名",
    "cases.reporter.last_name": "姓",
    "cases.reporter.device_id": "设备",
    "cases.reporter.account_id": "账号",
    "cases.reporter.api_key_sha256": "应用密钥（摘要）",
    "cases.routing.rule": "符合分拨规则第 {rule} 条，分拨至{department}",
    "cases.routing.fallback": "没有匹配的分拨规则，分拨至默认部门{department}",
    "cases.role.system": "系统",
    "cases.role.admin": "管理员",
    "cases.s.received": "受理总数",
    "cases.s.closed": "已结案",
    "cases.s.backlog": "待办",
    "cases.s.median": "结案时间中位数",
    "cases.s.reopen": "结案后重新办理",
    "cases.s.byDepartment": "各部门案件",
    "cases.s.byDistrict": "各区县案件",
    "cases.s.onTime": "各部门各环节按时率",
    "cases.s.onTimeAll": "全部门按时率",
    "cases.s.onTimeStage": "{stage}按时率",
    "cases.s.medianBy": "各部门结案时间中位数",
    "cases.s.hours": "小时",
    "cases.s.none": "尚无上报的案件。",
    "cases.s.unassigned": "（未分拨）",
    "cases.s.note": "统计全部已上报案件；按时率 = 按时完成数 ÷（已完成数 + 已超期未完成数）。",
    "cases.dur.s": "{n} 秒",
    "cases.dur.min": "{n} 分钟",
    "cases.dur.h": "{h} 小时 {m} 分",
    "cases.dur.d": "{d} 天 {h} 小时",
  },
  pl: {
    "cases.d.reference": "Numer zgłoszenia",
    "cases.d.photos": "Zdjęcia mieszkańców",
    "cases.d.photoHidden": "ukryte przed publicznością",
    "cases.d.photoAlt": "Zdjęcie {n} sprawy",
    "cases.d.textHidden": "Opis",
    "cases.d.textHiddenNote": "ukryty przez moderację",
    "cases.d.supporters": "Poparcie („ja też”)",
    "cases.d.followers": "Obserwujący (e-mail)",
    "cases.d.followerOff": "wypisany",
    "cases.d.flagged": "Do sprawdzenia",
    "cases.d.flaggedYes": "tak",
    "cases.mod.hide": "Ukryj przed publicznością",
    "cases.mod.show": "Pokaż ponownie",
    "cases.mod.hideWhy": "Dlaczego ukryć ({what})? Powód zostaje w historii sprawy, nie jest publikowany.",
    "cases.mod.showWhy": "Dlaczego pokazać ponownie ({what})? Powód zostaje w historii sprawy.",
    "cases.mod.reasonMissing": "Podaj powód: zostanie zapisany w historii sprawy.",
    "cases.mod.hidden": "Ukryto przed publicznością",
    "cases.mod.shown": "Znów widoczne publicznie",
    "cases.action.moderate": "Moderacja",
  },
};

/** The page mounted now (route() reaches it when only the sub-route changes). */
let active = null;

/** #/cases → queue, #/cases/<id> → queue with the case open, #/cases/statistics → charts. */
export function route(params) {
  active?.show(params || []);
}

/**
 * A short, distinct form of a case id for the queue: a uuid's first 8 digits; a rule's
 * case as the rule's initials, the entity hash's first 6 digits and the episode
 * (urn:ngsi-ld:Case:rule:renewal-poor-condition:3bbc7130cf44:1 → rpc·3bbc71·1).
 */
export function caseShortId(caseId) {
  const rest = String(caseId || "").replace(/^urn:ngsi-ld:Case:/, "");
  if (/^[0-9a-f]{8}-[0-9a-f-]+$/i.test(rest)) return rest.slice(0, 8);
  const parts = rest.split(":");
  if (parts[0] === "rule" && parts.length >= 3) parts.shift();
  return parts.map((part) => (/^[0-9a-f]{8,}$/i.test(part) ? part.slice(0, 6)
    : part.includes("-") ? part.split("-").map((word) => word[0] || "").join("") : part)).join("·");
}

export async function mount(root, ctx) {
  const { api, t } = ctx;
  const [catalogue, districtName, districtList] = await Promise.all([
    governanceCatalogue(api),
    districtNamer(ctx.maps),
    ctx.maps.districts().then((g) => (g.features || []).map((f) => f.properties)).catch(() => []),
  ]);
  const view = { params: ctx.params || [], queueStale: false };
  const roleName = () => {
    const role = ctx.role.role || "";
    return role.startsWith("department:")
      ? t("cases.role.department", { name: catalogue.department(role.slice("department:".length)) })
      : t(`role.${role}`);
  };
  const labels = {
    state: (value) => t(`cases.state.${value}`),
    stateBadge: (value) => chip(labels.state(value), STATE_COLORS[value] || "#5b6775"),
    priority: (value) => chip(t(`cases.priority.${value}`), PRIORITY_COLORS[value] || "#e3edfb"),
    overdue: (stage) => (stage ? el("span", {
      class: "badge", title: t("cases.overdueTitle", { stage: t(`cases.stage.${stage}`) }),
      style: { background: "#fde8e6", color: "#a12a1d", fontWeight: "600" },
      text: `⚠ ${t("cases.overdueStage", { stage: t(`cases.stage.${stage}`) })}`,
    }) : null),
    district: districtName,
    category: catalogue.category,
    department: catalogue.department,
    roleName,
  };

  // ---- frame ----
  const page = el("section", { class: "page", "data-page": id });
  const title = el("h1", { style: { margin: "0" } });
  const tabs = el("nav", { style: { display: "flex", gap: "4px" } });
  const queueBox = el("div");
  const statsBox = el("div");
  replace(root, page);
  page.append(el("div", { style: { display: "flex", alignItems: "center", gap: "16px", marginBottom: "10px" } }, [title, tabs]), queueBox, statsBox);

  const queue = createQueue(queueBox, { ...ctx, catalogue, districtList, labels, open: (caseId) => { location.hash = `#/cases/${encodeURIComponent(caseId)}`; } });
  const detail = createDetail(queue.detailBox, { ...ctx, catalogue, labels, changed: () => queue.refresh() });
  const statistics = createStatistics(statsBox, { ...ctx, catalogue, labels });

  function renderFrame() {
    title.textContent = t("cases.title");
    tabs.setAttribute("aria-label", t("cases.views"));
    const onStats = view.params[0] === STATS_VIEW;
    replace(tabs, [["#/cases", "cases.queue", !onStats], [`#/cases/${STATS_VIEW}`, "cases.statistics", onStats]].map(([href, key, current]) =>
      el("a", {
        href, "aria-current": current ? "page" : null, text: t(key),
        style: {
          padding: "4px 12px", borderRadius: "14px", textDecoration: "none", fontWeight: current ? "600" : "400",
          background: current ? "var(--accent)" : "var(--panel)", color: current ? "#fff" : "var(--accent)", border: "1px solid var(--accent)",
        },
      })));
  }

  /** Show the view the route names; the queue stays loaded underneath. */
  async function show(params) {
    view.params = params;
    const onStats = params[0] === STATS_VIEW;
    renderFrame();
    queueBox.hidden = onStats;
    statsBox.hidden = !onStats;
    const work = [];
    if (onStats) work.push(statistics.load());
    else {
      work.push(view.queueStale ? queue.refresh() : queue.loaded);
      view.queueStale = false;
      const caseId = params[0] || null;
      queue.select(caseId);
      work.push(detail.open(caseId));
    }
    await Promise.all(work);
  }

  // Live: every Case change refreshes what is on screen (throttled: rules raise cases in bursts).
  const refresh = throttle((entity) => {
    if (!queueBox.hidden) queue.refresh();
    else view.queueStale = true;
    if (entity && entity.id === detail.caseId()) detail.reload();
    if (!statsBox.hidden) statistics.load();
  }, 2000);
  const stopLive = ctx.live.on("Case", refresh);
  const stopLanguage = ctx.onLanguage(() => {
    renderFrame();
    queue.render();
    detail.render();
    statistics.render();
  });

  const controller = { show };
  active = controller;
  await show(view.params);
  page.dataset.ready = "true";

  return () => {
    if (active === controller) active = null;
    stopLive();
    stopLanguage();
    refresh.cancel();
    detail.dispose();
    statistics.dispose();
  };
}

/* ---- the queue --------------------------------------------------------------------------- */

/**
 * Filters, the table and the pager; `detailBox` is the column beside the table where the
 * selected case is shown.
 */
function createQueue(box, ctx) {
  const { api, t, catalogue, labels } = ctx;
  const filters = { state: "", category: "", district: "", department: "", overdue: "", offset: 0 };
  const state = { rows: [], total: 0, selected: null, error: null };

  const form = el("form", {
    class: "panel", role: "search",
    style: { display: "flex", flexWrap: "wrap", gap: "8px 14px", alignItems: "flex-end", padding: "8px 12px", marginBottom: "10px" },
    onsubmit: (event) => event.preventDefault(),
  });
  const summary = el("p", { class: "muted", role: "status", style: { margin: "0 0 6px" } });
  const tableBox = el("div", { class: "panel", style: { padding: "0", overflow: "auto" } });
  const pager = el("nav", { style: { display: "flex", gap: "8px", justifyContent: "flex-end", marginTop: "8px" } });
  const detailBox = el("aside", {
    class: "panel", hidden: true, tabindex: "-1",
    // Focused when a case opens (screen readers land on it); not a control, so no focus ring.
    style: { position: "sticky", top: "0", maxHeight: "calc(100vh - var(--header-h) - 32px)", overflow: "auto", outline: "none" },
  });
  const layout = el("div", { style: { display: "grid", gap: "12px", alignItems: "start" } }, [
    el("div", { style: { minWidth: "0" } }, [summary, tableBox, pager]), detailBox,
  ]);
  box.append(form, layout);

  /** A labelled <select>; options [[value, label]] with "Any" first. */
  function filterSelect(name, labelKey, options) {
    const control = el("select", {
      name, onchange: () => {
        filters[name] = control.value;
        filters.offset = 0;
        load();
      },
    }, [el("option", { value: "", text: t("cases.any") }), options.map(([value, label]) =>
      el("option", { value, text: label, selected: filters[name] === value }))]);
    control.value = filters[name];
    return el("label", { style: { display: "flex", flexDirection: "column", gap: "2px", fontSize: "12px", color: "var(--muted)" } }, [
      t(labelKey), control,
    ]);
  }

  function renderForm() {
    const zh = ctx.lang === "zh";
    const byLabel = (a, b) => a[1].localeCompare(b[1], zh ? "zh-CN" : "en");
    replace(form,
      el("h2", { class: "sr-only", text: t("cases.filters") }),
      filterSelect("state", "cases.f.state", (catalogue.states || []).map((s) => [s, labels.state(s)])),
      filterSelect("category", "cases.f.category", (catalogue.categories || []).map((c) => [c.code, labels.category(c.code)])),
      filterSelect("district", "cases.f.district", ctx.districtList.map((d) => [d.name, zh ? d.name_zh || d.name : d.name]).sort(byLabel)),
      filterSelect("department", "cases.f.department", (catalogue.departments || []).map((d) => [d.id, labels.department(d.id)])),
      filterSelect("overdue", "cases.f.overdue", [["true", t("cases.f.overdueYes")], ["false", t("cases.f.overdueNo")]]),
      el("button", {
        type: "button", text: t("cases.f.reset"),
        onclick: () => {
          Object.assign(filters, { state: "", category: "", district: "", department: "", overdue: "", offset: 0 });
          renderForm();
          load();
        },
      }),
    );
  }

  const COLUMNS = [
    { key: "id", label: "cases.col.id", value: (c) => el("code", { title: c.id, text: caseShortId(c.id), style: { fontSize: "12px" } }) },
    { key: "category", label: "cases.col.category", value: (c) => labels.category(c.category) },
    { key: "district", label: "cases.col.district", value: (c) => labels.district(c.district) },
    { key: "department", label: "cases.col.department", value: (c) => labels.department(c.department) },
    { key: "state", label: "cases.col.state", value: (c) => labels.stateBadge(c.state) },
    { key: "priority", label: "cases.col.priority", value: (c) => labels.priority(c.priority) },
    { key: "overdue", label: "cases.col.overdue", value: (c) => labels.overdue(c.overdue) },
    { key: "reported", label: "cases.col.reported", value: (c) => el("time", { datetime: c.reportedAt, title: fmtDate(c.reportedAt), style: { whiteSpace: "nowrap" }, text: fmtAgo(c.reportedAt) }) },
  ];

  function renderRows() {
    const { rows, total } = state;
    if (state.error) {
      replace(summary);
      replace(tableBox, note("ui.none"));
      return;
    }
    summary.textContent = total
      ? t("cases.count", { from: fmtNumber(filters.offset + 1), to: fmtNumber(filters.offset + rows.length), total: fmtNumber(total) })
      : t("cases.countNone");
    replace(tableBox, rows.length ? table(COLUMNS, rows, {
      caption: "cases.caption",
      onRow: (row) => ctx.open(row.id),
      rowAttrs: (row) => ({ "data-case-id": row.id, "aria-current": row.id === state.selected ? "true" : null }),
    }) : null);
    for (const tr of tableBox.querySelectorAll("tr[aria-current]")) tr.style.background = "var(--accent-soft)";
    pager.setAttribute("aria-label", t("cases.paging"));
    const page = (offset) => () => {
      filters.offset = Math.max(0, offset);
      load();
    };
    replace(pager,
      el("button", { type: "button", text: `‹ ${t("cases.prev")}`, disabled: filters.offset === 0, onclick: page(filters.offset - PAGE_SIZE) }),
      el("button", { type: "button", text: `${t("cases.next")} ›`, disabled: filters.offset + PAGE_SIZE >= total, onclick: page(filters.offset + PAGE_SIZE) }),
    );
  }

  let generation = 0;
  /** Fetch the current page of the queue; a newer call wins over a slower older one. */
  async function load() {
    const mine = ++generation;
    const { offset, ...rest } = filters;
    try {
      const response = await api.get(CASES, { ...rest, limit: PAGE_SIZE, offset }, { raw: true });
      const rows = await response.json();
      if (mine !== generation) return;
      state.total = Number(response.headers.get("CityOS-Count") || rows.length);
      // The page emptied under us (cases closed away from a filter): step back.
      if (!rows.length && filters.offset > 0 && state.total > 0) {
        filters.offset = Math.floor((state.total - 1) / PAGE_SIZE) * PAGE_SIZE;
        load();
        return;
      }
      state.rows = rows;
      state.error = null;
    } catch (error) {
      if (mine !== generation) return;
      state.error = error; // the toast said why
    }
    renderRows();
  }

  function select(caseId) {
    state.selected = caseId;
    detailBox.hidden = !caseId;
    layout.style.gridTemplateColumns = caseId ? "minmax(0, 1fr) minmax(380px, 440px)" : "minmax(0, 1fr)";
    for (const tr of tableBox.querySelectorAll("tr[data-case-id]")) {
      const current = tr.dataset.caseId === caseId;
      tr.toggleAttribute("aria-current", current);
      tr.style.background = current ? "var(--accent-soft)" : "";
    }
  }

  renderForm();
  const loaded = load();
  return {
    detailBox,
    loaded,
    select,
    refresh: load,
    render() {
      renderForm();
      renderRows();
    },
  };
}

/* ---- one case ---------------------------------------------------------------------------- */

/** The selected case: fields, map, actions, trail; reloads itself after an action. */
function createDetail(box, ctx) {
  const { api, t, labels, catalogue, maps } = ctx;
  const state = { id: null, record: null, trail: [], error: null, form: null, message: null, busy: false, moderation: null };
  let map = null;
  let marker = null;

  const head = el("div", { class: "panel-head" });
  const fields = el("dl", { class: "attributes", style: { gridTemplateColumns: "minmax(96px, auto) 1fr" } });
  const mapEl = el("div", { style: { height: "170px", borderRadius: "4px", margin: "10px 0" } });
  const actionsBox = el("section", { "aria-live": "polite" });
  const trailBox = el("section");
  const moderationBox = el("div", { "aria-live": "polite" });
  box.append(head, actionsBox, fields, moderationBox, mapEl, trailBox);

  async function open(caseId) {
    if (caseId === state.id && state.record) return;
    state.id = caseId;
    state.record = null;
    state.trail = [];
    state.form = null;
    state.message = null;
    state.error = null;
    state.moderation = null;
    if (!caseId) {
      removeMap();
      return;
    }
    render();
    await reload();
    box.focus({ preventScroll: true });
  }

  async function reload() {
    const caseId = state.id;
    if (!caseId) return;
    const path = `${CASES}/${encodeURIComponent(caseId)}`;
    try {
      const [record, trail] = await Promise.all([api.get(path, null, { quiet: true }), api.get(`${path}/trail`, null, { quiet: true })]);
      if (caseId !== state.id) return;
      const moved = state.record && state.record.state !== record.state;
      state.record = record;
      state.trail = trail || [];
      state.error = null;
      if (moved) state.form = null; // a form for the old state no longer fits
    } catch (error) {
      if (caseId !== state.id) return;
      state.error = error.status === 404 ? t("cases.err.notFound", { id: caseId }) : problemText(error);
    }
    render();
  }

  function render() {
    if (!state.id) return;
    const record = state.record;
    replace(head,
      el("div", { style: { minWidth: "0" } }, [
        el("div", { class: "muted", style: { fontSize: "12px" }, text: t("cases.detail") }),
        el("h2", { text: record ? labels.category(record.category) : caseShortId(state.id) }),
        record ? el("div", { style: { display: "flex", gap: "6px", flexWrap: "wrap", marginTop: "4px" } }, [
          labels.stateBadge(record.state), labels.priority(record.priority), labels.overdue(record.overdue),
        ]) : null,
      ]),
      el("button", { type: "button", class: "close", "aria-label": t("cases.close"), title: t("cases.close"), text: "×", onclick: () => { location.hash = "#/cases"; } }),
    );
    if (state.error) {
      replace(actionsBox, el("p", { class: "note error", role: "alert", text: state.error }));
      replace(fields);
      replace(trailBox);
      mapEl.hidden = true;
      return;
    }
    if (!record) {
      replace(actionsBox, note("ui.loading"));
      return;
    }
    renderActions();
    renderFields(record);
    renderModeration();
    renderMap(record);
    renderTrail();
  }

  // -- fields --
  function renderFields(record) {
    const link = (caseId) => el("a", { href: `#/cases/${encodeURIComponent(caseId)}`, title: caseId, text: caseShortId(caseId) });
    const deadlines = STAGES.filter((stage) => record.due?.[stage]).map((stage) => el("div", {
      text: record.done?.[stage]
        ? t("cases.d.deadlineDone", { stage: t(`cases.stage.${stage}`), due: fmtDate(record.due[stage]), done: fmtDate(record.done[stage]) })
        : t("cases.d.deadline", { stage: t(`cases.stage.${stage}`), due: fmtDate(record.due[stage]) }),
      style: record.overdue === stage ? { color: "var(--bad)", fontWeight: "600" } : null,
    }));
    const answers = Object.entries(record.attributes || {}).map(([key, value]) => `${key}: ${[value].flat().join(", ")}`);
    const followers = (record.followers || []).map((f) => el("li", {
      class: f.active === false ? "muted" : null,
      text: [f.name, f.email ? `<${f.email}>` : null, f.active === false ? `(${t("cases.d.followerOff")})` : null].filter(Boolean).join(" "),
    }));
    const reporter = Object.entries(record.reporter || {}).map(([key, value]) => `${tOr(`cases.reporter.${key}`, key)}: ${value}`);
    const rows = [
      ["cases.d.reference", record.reference ? el("strong", { "data-reference": record.reference, text: record.reference }) : null],
      ["cases.d.id", el("code", { style: { fontSize: "11.5px", wordBreak: "break-all" }, text: record.id })],
      ["cases.d.description", record.description ? [record.description, record.reference ? moderateButton("text", !record.textHidden) : null] : null],
      ["cases.d.textHidden", record.textHidden ? el("span", { class: "muted", text: t("cases.d.textHiddenNote") }) : null],
      // The server says why (`flagged`: the reason), or `flagged: true` with `flag_reason`.
      ["cases.d.flagged", record.flagged ? el("span", { style: { color: "var(--bad)", fontWeight: "600" }, text: typeof record.flagged === "string" ? record.flagged : record.flag_reason || t("cases.d.flaggedYes") }) : null],
      ["cases.d.district", labels.district(record.district)],
      ["cases.d.address", record.address],
      ["cases.d.gridCell", record.gridCell],
      ["cases.d.department", labels.department(record.department)],
      ["cases.d.routing", record.routing ? el("span", { class: "muted", text: routingText(record) }) : null],
      ["cases.d.source", t(`cases.source.${record.source}`)],
      ["cases.d.reported", fmtDate(record.reportedAt)],
      ["cases.d.updated", fmtDate(record.updatedAt)],
      ["cases.d.closed", record.closedAt ? fmtDate(record.closedAt) : null],
      ["cases.d.deadlines", deadlines.length ? deadlines : null],
      ["cases.d.escalated", record.escalatedTo ? t(`role.${record.escalatedTo}`) : null],
      ["cases.d.reopened", record.reopened ? t("cases.d.times", { count: fmtNumber(record.reopened) }) : null],
      ["cases.d.duplicate", record.possibleDuplicateOf ? link(record.possibleDuplicateOf) : null],
      ["cases.d.mergedInto", record.mergedInto ? link(record.mergedInto) : null],
      ["cases.d.raisedBy", record.raisedBy ? el("code", { style: { fontSize: "11.5px", wordBreak: "break-all" }, text: record.raisedBy }) : null],
      ["cases.d.media", (record.media || []).length ? record.media.map((url) => el("div", {}, el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }))) : null],
      ["cases.d.photos", citizenPhotos(record.photos)],
      ["cases.d.supporters", Number.isFinite(record.supporters) ? fmtNumber(record.supporters) : null],
      ["cases.d.followers", followers.length ? el("ul", { "data-followers": "", style: { margin: "0", paddingLeft: "16px" } }, followers) : null],
      ["cases.d.answers", answers.length ? answers.map((line) => el("div", { text: line })) : null],
      ["cases.d.reporter", reporter.length ? reporter.map((line) => el("div", { text: line })) : null],
    ];
    replace(fields, rows.filter(([, value]) => value !== null && value !== undefined && value !== "").map(([key, value]) => [
      el("dt", { text: t(key) }), el("dd", {}, value),
    ]));
  }

  /**
   * The citizens' photos as thumbnails, each a link to the full photo: only this server's
   * /media/ files are loaded (a URL from elsewhere is shown as nothing), hidden ones marked.
   */
  function citizenPhotos(photos) {
    const shown = (photos || []).map((photo, index) => {
      const src = mediaPath(photo?.url);
      if (!src) return null;
      return el("figure", { "data-photo": photo.id || "", style: { margin: "0", display: "inline-block", width: "104px", verticalAlign: "top" } }, [
        el("a", { href: src, target: "_blank", rel: "noopener noreferrer" },
          el("img", { src, alt: t("cases.d.photoAlt", { n: index + 1 }), loading: "lazy", style: { width: "100px", height: "75px", objectFit: "cover", borderRadius: "4px", display: "block", opacity: photo.hidden ? "0.5" : "1" } })),
        photo.hidden ? el("figcaption", { class: "muted", style: { fontSize: "11px" }, text: t("cases.d.photoHidden") }) : null,
        photo.id ? moderateButton(`photo:${photo.id}`, !photo.hidden, index + 1) : null,
      ]);
    }).filter(Boolean);
    return shown.length ? el("div", { style: { display: "flex", flexWrap: "wrap", gap: "6px" } }, shown) : null;
  }

  // -- moderation: a citizen's text or photo off (or back on) every public surface --
  /** "Hide from the public" / "Show again" for the text or photo `target`; n: the photo's number. */
  function moderateButton(target, hide, n = null) {
    const key = hide ? "cases.mod.hide" : "cases.mod.show";
    return el("button", {
      type: "button", "data-moderate": target, "aria-expanded": String(state.moderation?.target === target),
      "aria-label": n ? `${t(key)} (${t("cases.d.photoAlt", { n })})` : null,
      style: { display: "block", margin: "2px 0 0", padding: "0", border: "0", background: "none", color: "var(--accent)", textDecoration: "underline", cursor: "pointer", fontSize: "11.5px" },
      text: t(key),
      onclick: () => {
        state.moderation = state.moderation?.target === target ? null : { target, hide, message: null };
        renderFields(state.record);
        renderModeration();
        moderationBox.querySelector("textarea")?.focus();
      },
    });
  }

  function renderModeration() {
    const moderation = state.moderation;
    if (!moderation) {
      replace(moderationBox);
      return;
    }
    const reason = el("textarea", { name: "reason", rows: "2", required: true, style: { width: "100%", resize: "vertical" } });
    const what = moderation.target === "text" ? t("cases.d.description") : t("cases.d.photos");
    replace(moderationBox, el("form", {
      "data-moderation-form": moderation.target,
      novalidate: true,
      style: { margin: "6px 0", padding: "8px 10px", background: "var(--panel-alt)", borderRadius: "var(--radius)", border: "1px solid var(--line)" },
      onsubmit: async (event) => {
        event.preventDefault();
        const text = reason.value.trim();
        if (!text) {
          moderation.message = t("cases.mod.reasonMissing");
          renderModeration();
          moderationBox.querySelector("textarea")?.focus();
          return;
        }
        try {
          await api.post(`${CASES}/${encodeURIComponent(state.id)}/moderate`, { [moderation.hide ? "hide" : "show"]: moderation.target, reason: text }, { quiet: true });
          state.moderation = null;
          toast(t(moderation.hide ? "cases.mod.hidden" : "cases.mod.shown"), "ok");
          await reload();
        } catch (error) {
          moderation.message = refusal("moderate", error);
          renderModeration();
        }
      },
    }, [
      el("label", { style: { display: "block", fontSize: "12px", color: "var(--muted)" } }, [
        t(moderation.hide ? "cases.mod.hideWhy" : "cases.mod.showWhy", { what }),
        el("div", { style: { marginTop: "2px", color: "var(--text)" } }, reason),
      ]),
      el("div", { style: { display: "flex", gap: "6px", marginTop: "8px" } }, [
        el("button", { type: "submit", class: "primary", text: t(moderation.hide ? "cases.mod.hide" : "cases.mod.show") }),
        el("button", { type: "button", text: t("cases.cancel"), onclick: () => { state.moderation = null; renderFields(state.record); renderModeration(); } }),
      ]),
      moderation.message ? el("p", { class: "note error", role: "alert", style: { margin: "8px 0 0" }, text: moderation.message }) : null,
    ]));
  }

  /**
   * Why this department. The server explains it in English ("routed to … because category
   * pothole in district Yuzhong matches routing rule 4"); in Chinese the rule's number and the
   * department say the same.
   */
  function routingText(record) {
    if (ctx.lang === "en") return record.routing;
    const department = labels.department(record.department);
    const rule = /matches routing rule (\d+)$/.exec(record.routing);
    if (rule) return t("cases.routing.rule", { rule: rule[1], department });
    return /\(the fallback\)/.test(record.routing) ? t("cases.routing.fallback", { department }) : record.routing;
  }

  // -- map --
  function renderMap(record) {
    const at = maps.pointOf(record.location);
    mapEl.hidden = !at;
    if (!at) {
      removeMap();
      return;
    }
    if (!map) {
      map = maps.basemap(mapEl, { labels: true, zoomControl: true });
      mapEl.setAttribute("aria-label", t("cases.location"));
    }
    if (marker) marker.remove();
    marker = maps.entityMarker({ id: record.id, location: record.location }, {
      color: STATE_COLORS[record.state] || "#1f5fbf", size: 16, title: labels.category(record.category),
    });
    marker.addTo(map);
    // fitBounds on the districts runs when the base layer lands: centre on the case after it.
    const centre = () => map.setView(at, 12, { animate: false });
    centre();
    map.baseReady.then(() => { if (map) centre(); });
  }

  function removeMap() {
    if (map) map.remove();
    map = null;
    marker = null;
  }

  // -- actions --
  function renderActions() {
    const record = state.record;
    const actions = record.actions || [];
    const role = labels.roleName();
    const buttons = el("div", { style: { display: "flex", flexWrap: "wrap", gap: "6px" } }, actions.map((action) => el("button", {
      type: "button",
      class: action === "reject" || action === "fail" ? null : "primary",
      "data-action": action,
      "aria-expanded": FORM_ACTIONS.has(action) ? String(state.form === action) : null,
      disabled: state.busy,
      text: t(`cases.action.${action}`),
      onclick: () => {
        state.message = null;
        if (FORM_ACTIONS.has(action)) {
          state.form = state.form === action ? null : action;
          renderActions();
          actionsBox.querySelector("textarea, select, input")?.focus();
        } else act(action, {});
      },
    })));
    replace(actionsBox,
      el("h3", { style: { margin: "12px 0 6px", fontSize: "13px" }, text: actions.length ? t("cases.actionsAs", { role }) : t("cases.actions") }),
      actions.length ? buttons : el("p", { class: "note", text: t("cases.noActions", { role }) }),
      state.form ? actionForm(state.form) : null,
      state.message ? el("p", { class: "note error", role: "alert", style: { margin: "8px 0 0" }, text: state.message }) : null,
    );
  }

  /** The inline form of an action that needs input: a note, a department, the original's id. */
  function actionForm(action) {
    const record = state.record;
    const noteField = el("textarea", { name: "note", rows: "2", required: NEEDS_NOTE.has(action), style: { width: "100%", resize: "vertical" } });
    const department = action === "dispatch" ? el("select", { name: "department", style: { width: "100%" } },
      (catalogue.departments || []).map((d) => el("option", { value: d.id, selected: d.id === record.department, text: labels.department(d.id) }))) : null;
    const into = action === "merge" ? el("input", {
      type: "text", name: "into", required: true, spellcheck: "false", value: record.possibleDuplicateOf || "",
      placeholder: "urn:ngsi-ld:Case:…", style: { width: "100%", fontFamily: "monospace", fontSize: "12px" },
    }) : null;
    const field = (labelKey, control) => el("label", { style: { display: "block", marginTop: "6px", fontSize: "12px", color: "var(--muted)" } }, [
      t(labelKey), el("div", { style: { marginTop: "2px", color: "var(--text)" } }, control),
    ]);
    return el("form", {
      "data-action-form": action,
      novalidate: true, // our own message, in the page's language, rather than the browser's bubble
      style: { marginTop: "8px", padding: "8px 10px", background: "var(--panel-alt)", borderRadius: "var(--radius)", border: "1px solid var(--line)" },
      onsubmit: (event) => {
        event.preventDefault();
        const body = {};
        const text = noteField.value.trim();
        if (NEEDS_NOTE.has(action) && !text) {
          state.message = t("cases.noteMissing");
          renderActions();
          actionsBox.querySelector("textarea")?.focus();
          return;
        }
        if (into && !into.value.trim()) {
          state.message = t("cases.mergeMissing");
          renderActions();
          return;
        }
        if (text) body.note = text;
        if (department && department.value !== record.department) body.department = department.value;
        if (into) body.into = into.value.trim();
        act(action, body);
      },
    }, [
      department ? field("cases.dispatchTo", department) : null,
      into ? field("cases.mergeInto", into) : null,
      field(NEEDS_NOTE.has(action) ? "cases.noteRequired" : "cases.noteOptional", noteField),
      el("div", { style: { display: "flex", gap: "6px", marginTop: "8px" } }, [
        el("button", { type: "submit", class: "primary", "data-confirm": action, disabled: state.busy, text: state.busy ? t("cases.sending") : t("cases.confirm", { action: t(`cases.action.${action}`) }) }),
        el("button", { type: "button", text: t("cases.cancel"), onclick: () => { state.form = null; state.message = null; renderActions(); } }),
      ]),
    ]);
  }

  /** POST the action; the answer is the case as it is now. Refusals are explained in place. */
  async function act(action, body) {
    const caseId = state.id;
    state.busy = true;
    renderActions();
    try {
      const record = await api.post(`${CASES}/${encodeURIComponent(caseId)}/${action}`, body, { quiet: true });
      if (caseId !== state.id) return;
      state.record = record;
      state.form = null;
      state.message = null;
      toast(t(`cases.done.${action}`), "ok");
      ctx.changed();
    } catch (error) {
      if (caseId !== state.id) return;
      state.message = refusal(action, error);
    } finally {
      state.busy = false;
    }
    await reload();
  }

  /** A refusal in words: 409 says what the case can do now, 403 whose role it takes. */
  function refusal(action, error) {
    const name = t(`cases.action.${action}`);
    const problem = error.problem || {};
    if (error.status === 409) {
      const stateNow = /in state (\w+)/.exec(problem.detail || "")?.[1];
      const allowed = (problem.allowed || []).map((a) => t(`cases.action.${a}`)).join(t("cases.listSep"));
      const vars = { action: name, state: stateNow ? labels.state(stateNow) : "—", allowed };
      return allowed ? t("cases.err.conflict", vars) : t("cases.err.conflictNone", vars);
    }
    if (error.status === 403) return `${t("cases.err.forbidden", { action: name, role: labels.roleName() })} (${problemText(error)})`;
    if (error.status === 400 || error.status === 422) return t("cases.err.invalid", { detail: problemText(error) });
    if (error.status === 404) return t("cases.err.notFound", { id: state.id });
    return t("cases.err.other", { status: error.status || "—", detail: problemText(error) });
  }

  // -- trail --
  function renderTrail() {
    const roleText = (role) => {
      if (!role) return t("cases.role.system");
      if (role.startsWith("department:")) return t("cases.role.department", { name: labels.department(role.slice("department:".length)) });
      return ["operator", "supervisor", "inspector", "citizen"].includes(role) ? t(`role.${role}`)
        : role === "admin" ? t("cases.role.admin") : role;
    };
    const entries = [...state.trail].reverse(); // newest first, like the queue
    replace(trailBox,
      el("h3", { style: { margin: "4px 0 6px", fontSize: "13px" }, text: t("cases.trail") }),
      entries.length ? el("ol", { style: { listStyle: "none", margin: "0", padding: "0", borderLeft: "2px solid var(--line)" } }, entries.map((entry) =>
        el("li", { "data-trail-action": entry.action, style: { position: "relative", padding: "0 0 10px 14px" } }, [
          el("span", { "aria-hidden": "true", style: { position: "absolute", left: "-6px", top: "4px", width: "10px", height: "10px", borderRadius: "50%", background: STATE_COLORS[entry.to] || "var(--accent)", border: "2px solid #fff" } }),
          el("div", { style: { display: "flex", gap: "6px", alignItems: "baseline", flexWrap: "wrap" } }, [
            el("strong", { text: t(`cases.action.${entry.action}`) }),
            // The first entry (report) has no "from": its action already names the state.
            entry.from ? el("span", { class: "muted", style: { fontSize: "12px" }, text: t("cases.trailMove", { from: labels.state(entry.from), to: labels.state(entry.to) }) }) : null,
            el("time", { datetime: entry.at, class: "muted", style: { fontSize: "12px", marginLeft: "auto" }, text: fmtDate(entry.at) }),
          ]),
          el("div", { style: { fontSize: "12px" }, text: t("cases.trailBy", { actor: entry.actor || "—", role: roleText(entry.role) }) }),
          entry.note ? el("div", { style: { fontSize: "12.5px", background: "var(--panel-alt)", padding: "3px 6px", borderRadius: "4px", marginTop: "2px" }, text: entry.note }) : null,
        ]))) : note("cases.trailEmpty"),
    );
  }

  return {
    open,
    reload,
    render,
    caseId: () => state.id,
    dispose: removeMap,
  };
}

/* ---- statistics -------------------------------------------------------------------------- */

/** Key figures and bar charts from /governance/statistics (all cases reported so far). */
function createStatistics(box, ctx) {
  const { api, t, charts, labels } = ctx;
  const data = { total: null, departments: [], districts: [] };
  let drawn = [];

  async function load() {
    const [total, departments, districts] = await Promise.all([
      api.get("/governance/statistics"),
      api.get("/governance/statistics", { groupBy: "department" }),
      api.get("/governance/statistics", { groupBy: "district" }),
    ]);
    Object.assign(data, { total: total?.[0] || null, departments: departments || [], districts: districts || [] });
    render();
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return t("cases.dur.s", { n: fmtNumber(seconds, { digits: seconds < 10 ? 1 : 0 }) });
    if (seconds < 3600) return t("cases.dur.min", { n: fmtNumber(Math.round(seconds / 60)) });
    if (seconds < 86400) return t("cases.dur.h", { h: Math.floor(seconds / 3600), m: Math.round((seconds % 3600) / 60) });
    return t("cases.dur.d", { d: Math.floor(seconds / 86400), h: Math.round((seconds % 86400) / 3600) });
  }

  /** A panel holding one chart, tall enough for one bar row per group. */
  function chartPanel(titleKey, rows) {
    const holder = el("div", { style: { height: `${Math.max(180, rows * 26 + 70)}px` } });
    return [el("div", { class: "panel" }, [el("h2", { text: t(titleKey) }), holder]), holder];
  }

  function countBars(holder, rows, nameOf) {
    const sorted = [...rows].sort((a, b) => b.received - a.received);
    drawn.push(charts.bars(holder, {
      categories: sorted.map(nameOf),
      series: [
        { name: t("cases.s.received"), data: sorted.map((r) => r.received), color: "#5b6abf" },
        { name: t("cases.s.closed"), data: sorted.map((r) => r.closed), color: "#2e9d6a" },
        { name: t("cases.s.backlog"), data: sorted.map((r) => r.backlog), color: "#d98b1b" },
      ],
      horizontal: true,
    }));
  }

  function render() {
    for (const chart of drawn) if (!chart.isDisposed()) chart.dispose();
    drawn = [];
    const total = data.total;
    if (!total || !total.received) {
      replace(box, el("div", { class: "panel" }, note("cases.s.none")));
      return;
    }
    const departmentName = (r) => (r.department ? labels.department(r.department) : t("cases.s.unassigned"));
    const districtName = (r) => (r.district ? labels.district(r.district) : t("cases.s.unassigned"));
    const onTimeShare = (stage) => total.onTime?.[stage];
    const tone = (ratio) => (ratio === null || ratio === undefined ? "" : ratio >= 0.9 ? "ok" : ratio >= 0.7 ? "warn" : "bad");
    const [departmentPanel, departmentChart] = chartPanel("cases.s.byDepartment", data.departments.length);
    const [districtPanel, districtChart] = chartPanel("cases.s.byDistrict", data.districts.length);
    const [onTimePanel, onTimeChart] = chartPanel("cases.s.onTime", data.departments.length);
    const [medianPanel, medianChart] = chartPanel("cases.s.medianBy", data.departments.length);
    replace(box,
      stats([
        stat(t("cases.s.received"), fmtNumber(total.received)),
        stat(t("cases.s.closed"), fmtNumber(total.closed), { tone: "ok" }),
        stat(t("cases.s.backlog"), fmtNumber(total.backlog), { tone: total.backlog ? "warn" : "" }),
        ...STAGES.map((stage) => stat(t("cases.s.onTimeStage", { stage: t(`cases.stage.${stage}`) }), fmtPercent(onTimeShare(stage)), {
          tone: tone(onTimeShare(stage)), title: t("cases.s.onTimeAll"),
        })),
        stat(t("cases.s.median"), duration(total.medianCloseSeconds)),
        stat(t("cases.s.reopen"), fmtPercent(total.reopenRate)),
      ], "140px"),
      columns("minmax(0, 1fr) minmax(0, 1fr)", [departmentPanel, onTimePanel]),
      columns("minmax(0, 1fr) minmax(0, 1fr)", [districtPanel, medianPanel]),
      el("p", { class: "muted", style: { fontSize: "12px" }, text: t("cases.s.note") }),
    );
    countBars(departmentChart, data.departments, departmentName);
    countBars(districtChart, data.districts, districtName);
    const percent = (ratio) => (ratio === null || ratio === undefined ? null : Math.round(ratio * 1000) / 10);
    const onTime = charts.bars(onTimeChart, {
      categories: data.departments.map(departmentName),
      series: STAGES.map((stage, index) => ({
        name: t(`cases.stage.${stage}`), data: data.departments.map((r) => percent(r.onTime?.[stage])),
        color: ["#5b6abf", "#0e7c86", "#2e9d6a"][index],
      })),
      unit: "%",
      horizontal: true,
    });
    onTime.setOption({ xAxis: { max: 100 }, tooltip: { valueFormatter: (v) => (v === null || v === undefined ? "—" : `${v}%`) } });
    drawn.push(onTime);
    const closing = [...data.departments].sort((a, b) => (b.medianCloseSeconds ?? -1) - (a.medianCloseSeconds ?? -1));
    const hours = (seconds) => (seconds === null || seconds === undefined ? null : Math.round(seconds / 360) / 10);
    drawn.push(charts.bars(medianChart, {
      categories: closing.map(departmentName),
      series: [{ name: t("cases.s.median"), data: closing.map((r) => hours(r.medianCloseSeconds)), color: "#8a6d3b" }],
      unit: t("cases.s.hours"),
      horizontal: true,
    }));
    // Department names are long: give the category axis room (charts.bars truncates at 110 px).
    for (const chart of [drawn[0], onTime, drawn[drawn.length - 1]]) {
      chart.setOption({ grid: { left: 178 }, yAxis: { axisLabel: { width: 168 } } });
    }
  }

  return {
    load,
    render() {
      if (data.total) render();
    },
    dispose() {
      for (const chart of drawn) if (!chart.isDisposed()) chart.dispose();
      drawn = [];
    },
  };
}
