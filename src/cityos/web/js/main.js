/**
 * The dashboard shell: navigation, hash router (#/<page>[/<params>][?<query>]), language switch,
 * sign-in (a server that requires keys: who the key is, and a sign-out button) or, with the
 * server's `--auth off`, the role picker. Mounts one page module at a time (see the contract:
 * export id, titleKey, strings, mount(el, ctx) → dispose).
 */

import * as auth from "./auth.js";
import * as api from "./api.js";
import * as charts from "./charts.js";
import * as i18n from "./i18n.js";
import * as live from "./live.js";
import * as maps from "./maps.js";
import * as signin from "./signin.js";
import "./lang/pl.js"; // Polish for every module; registered before any page renders
import { catalogueName, el, replace, strings as uiStrings, toast } from "./ui.js";

/** Pages in navigation order. */
const PAGES = ["overview", "map", "cases", "freight", "manufacturing", "environment", "rural", "compare", "report"];
const DEFAULT_PAGE = "overview";
/** KPI packs and other names that are shown by another page. */
const ALIASES = { mobility: "map", education: "map", renewal: "rural" };
const ROLE_KEY = "cityos.role";
const ROLES = ["operator", "supervisor", "inspector", "citizen"];
/** A key with several roles is shown (and acts on the pages) as the first of these it has. */
const ROLE_ORDER = ["admin", "operator", "supervisor", "department", "inspector", "citizen", "device", "public-read"];

const shellStrings = {
  en: {
    "shell.title": "Operations centre",
    "shell.skip": "Skip to content",
    "shell.menu": "Menu",
    "shell.nav": "Pages",
    "shell.language": "Language",
    "shell.role": "Role",
    "shell.actor": "Actor id",
    "shell.docTitle": "{page} · cityos operations centre",
    "shell.pageMissing": "This page is not available yet.",
    "shell.pageFailed": "This page failed to load: {detail}",
    "role.operator": "Operator",
    "role.supervisor": "Supervisor",
    "role.inspector": "Inspector",
    "role.citizen": "Citizen",
    "role.admin": "Administrator",
    "role.department": "Department: {name}",
    "live.idle": "Live updates off",
    "live.connecting": "Connecting…",
    "live.live": "Live",
    "live.offline": "Live updates lost",
    "api.offline": "The server cannot be reached.",
    "api.failed": "Request failed ({status}): {detail}",
    "nav.overview": "Overview",
    "nav.map": "City map",
    "nav.cases": "Cases",
    "nav.freight": "Freight corridor",
    "nav.manufacturing": "Manufacturing",
    "nav.environment": "Environment",
    "nav.rural": "Rural and renewal",
    "nav.compare": "Compare cities",
    "nav.report": "Report a problem",
  },
  zh: {
    "shell.title": "城市运行中心",
    "shell.skip": "跳到正文",
    "shell.menu": "菜单",
    "shell.nav": "页面",
    "shell.language": "语言",
    "shell.role": "角色",
    "shell.actor": "操作人编号",
    "shell.docTitle": "{page} · cityos 城市运行中心",
    "shell.pageMissing": "此页面尚未提供。",
    "shell.pageFailed": "页面加载失败：{detail}",
    "role.operator": "值班员",
    "role.supervisor": "主管",
    "role.inspector": "网格巡查员",
    "role.citizen": "市民",
    "role.admin": "管理员",
    "role.department": "部门：{name}",
    "live.idle": "实时更新未开启",
    "live.connecting": "正在连接…",
    "live.live": "实时",
    "live.offline": "实时更新中断",
    "api.offline": "无法连接服务器。",
    "api.failed": "请求失败（{status}）：{detail}",
    "nav.overview": "总览",
    "nav.map": "城市地图",
    "nav.cases": "案件",
    "nav.freight": "货运走廊",
    "nav.manufacturing": "智能制造",
    "nav.environment": "生态环境",
    "nav.rural": "乡村振兴与城市更新",
    "nav.compare": "城市对比",
    "nav.report": "问题上报",
  },
  pl: {
    "shell.title": "Centrum operacyjne",
    "shell.skip": "Przejdź do treści",
    "shell.menu": "Menu",
    "shell.nav": "Strony",
    "shell.language": "Język",
    "shell.role": "Rola",
    "shell.actor": "Identyfikator użytkownika",
    "shell.docTitle": "{page} · centrum operacyjne cityos",
    "shell.pageMissing": "Ta strona nie jest jeszcze dostępna.",
    "shell.pageFailed": "Nie udało się wczytać strony: {detail}",
    "role.operator": "Operator",
    "role.supervisor": "Kierownik zmiany",
    "role.inspector": "Inspektor",
    "role.citizen": "Mieszkaniec",
    "role.admin": "Administrator",
    "role.department": "Wydział: {name}",
    "live.idle": "Aktualizacje na żywo wyłączone",
    "live.connecting": "Łączenie…",
    "live.live": "Na żywo",
    "live.offline": "Utracono aktualizacje na żywo",
    "api.offline": "Brak połączenia z serwerem.",
    "api.failed": "Żądanie nie powiodło się ({status}): {detail}",
    "nav.overview": "Przegląd",
    "nav.map": "Mapa miasta",
    "nav.cases": "Zgłoszenia",
    "nav.freight": "Korytarz towarowy",
    "nav.manufacturing": "Przemysł",
    "nav.environment": "Środowisko",
    "nav.rural": "Obszary wiejskie i rewitalizacja",
    "nav.compare": "Porównanie miast",
    "nav.report": "Zgłoś problem",
  },
};
i18n.add(shellStrings);
i18n.add(maps.strings);
i18n.add(uiStrings);
i18n.add(signin.strings);

const modules = new Map(); // id → page module (loaded)
const main = document.getElementById("page");
let departments = [];
let current = null; // {id, dispose, module, listeners}
let identity = loadIdentity(); // the role picker's choice (server's --auth off)
let started = false;

function loadIdentity() {
  try {
    const stored = JSON.parse(localStorage.getItem(ROLE_KEY));
    if (stored && typeof stored.role === "string" && typeof stored.actor === "string") return stored;
  } catch {
    /* an unreadable value: start afresh */
  }
  return { role: "operator", actor: "operator-1" };
}

/** Load every page module; a page not written yet (or broken) leaves its nav entry inert. */
async function loadPages() {
  const results = await Promise.allSettled(PAGES.map((id) => import(`./pages/${id}.js`)));
  results.forEach((result, index) => {
    if (result.status === "fulfilled") {
      const module = result.value;
      if (module.strings) i18n.add(module.strings);
      modules.set(module.id || PAGES[index], module);
    } else if (!String(result.reason).includes("Failed to fetch")) {
      console.warn(`page ${PAGES[index]}:`, result.reason);
    }
  });
}

/** #/<page>/<params…>?<query> → {id, params, query (URLSearchParams)}. */
function route() {
  const [path, search = ""] = (location.hash || "").replace(/^#/, "").split("?");
  const [, id = "", ...rest] = path.split("/");
  const page = ALIASES[id] || (PAGES.includes(id) ? id : null);
  return { id: page, params: rest.map(decodeURIComponent), query: new URLSearchParams(search) };
}

function titleOf(id) {
  const module = modules.get(id);
  return i18n.t(module?.titleKey || `nav.${id}`);
}

function renderNav() {
  const list = document.querySelector("#nav ul");
  const active = route().id;
  replace(list, PAGES.map((id) => el("li", {}, el("a", {
    href: `#/${id}`,
    class: modules.has(id) ? null : "unavailable",
    "aria-current": id === active ? "page" : null,
    text: titleOf(id),
  }))));
}

function translateShell() {
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = i18n.t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", i18n.t(node.dataset.i18nLabel));
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = i18n.t(node.dataset.i18nTitle);
  for (const button of document.querySelectorAll(".lang-switch button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.language()));
  }
  renderRoles();
  renderAccount();
  renderNav();
  const page = route().id;
  if (page) document.title = i18n.t("shell.docTitle", { page: titleOf(page) });
}

/** Who the pages act as: the signed-in key's principal, else the role picker's choice. */
function actingAs() {
  const state = auth.state();
  if (state?.mode !== "on") return identity;
  const roles = state.who?.roles || [];
  const rank = (role) => {
    const at = ROLE_ORDER.indexOf(role.split(":")[0]);
    return at < 0 ? ROLE_ORDER.length : at;
  };
  const role = [...roles].sort((a, b) => rank(a) - rank(b))[0] || "public-read";
  return { role, actor: state.who?.subject || "" };
}

function roleLabel(role) {
  if (role.startsWith("department:")) {
    const id = role.slice("department:".length);
    const found = departments.find((d) => d.id === id);
    return i18n.t("role.department", { name: catalogueName("department", found, id) });
  }
  return i18n.has(`role.${role}`) ? i18n.t(`role.${role}`) : role;
}

/** Signed in: the key's role and a sign-out button instead of the role picker. */
function renderAccount() {
  const signedIn = auth.state()?.mode === "on";
  document.body.dataset.auth = signedIn ? "on" : "off";
  document.body.dataset.role = actingAs().role.split(":")[0];
  const box = document.querySelector(".account");
  box.hidden = !signedIn;
  if (!signedIn) return;
  const { role, actor } = actingAs();
  const who = box.querySelector(".account-who");
  who.textContent = roleLabel(role);
  who.title = i18n.t("signin.as", { who: `${actor} (${(auth.state().who?.roles || []).join(", ")})` });
}

function renderRoles() {
  const select = document.getElementById("role");
  const options = [
    ...ROLES.slice(0, 3).map((role) => [role, i18n.t(`role.${role}`)]),
    ...departments.map((d) => [`department:${d.id}`, i18n.t("role.department", { name: catalogueName("department", d) })]),
    ["citizen", i18n.t("role.citizen")],
  ];
  if (!options.some(([value]) => value === identity.role)) options.push([identity.role, identity.role]);
  replace(select, options.map(([value, label]) => el("option", { value, text: label, selected: value === identity.role })));
  document.getElementById("actor").value = identity.actor;
}

function setIdentity(next) {
  identity = next;
  localStorage.setItem(ROLE_KEY, JSON.stringify(identity));
  api.setIdentity(identity);
  document.body.dataset.role = actingAs().role.split(":")[0];
}

function renderLive(status) {
  const node = document.querySelector(".live-status");
  node.dataset.status = status;
  // A dot in the header; its words for screen readers and as a tooltip.
  node.title = i18n.t(`live.${status}`);
  node.replaceChildren(el("span", { class: "sr-only", text: node.title }));
}

/** Unmount the current page, mount the one the hash names. */
async function navigate() {
  const { id, params, query } = route();
  if (!id) {
    location.replace(`#/${DEFAULT_PAGE}`);
    return;
  }
  const module = modules.get(id);
  if (current && current.id === id && typeof module?.route === "function") {
    module.route(params, query); // the page handles its own sub-route (a case id, a query) without remounting
    return;
  }
  unmount();
  translateShell();
  main.replaceChildren();
  main.removeAttribute("data-page");
  main.removeAttribute("data-ready");
  if (!module) {
    main.append(el("section", { class: "page-missing", "data-page": id, "data-ready": "true" }, [
      el("h1", { text: titleOf(id) }), el("p", { text: i18n.t("shell.pageMissing") }),
    ]));
    return;
  }
  const listeners = new Set();
  const ctx = {
    api: api.api,
    t: i18n.t,
    get lang() { return i18n.language(); },
    live: live.live,
    maps: maps.maps,
    charts: charts.charts,
    role: { ...actingAs() },
    params,
    query,
    onLanguage(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  const mounted = { id, module, listeners, dispose: null };
  current = mounted;
  try {
    const dispose = await module.mount(main, ctx);
    if (current !== mounted) {
      if (typeof dispose === "function") dispose(); // navigated away while mounting
      return;
    }
    mounted.dispose = typeof dispose === "function" ? dispose : null;
  } catch (error) {
    console.error(`page ${id}:`, error);
    if (current === mounted) {
      main.append(el("p", { class: "note error", role: "alert", text: i18n.t("shell.pageFailed", { detail: error.message }) }));
    }
  }
}

function unmount() {
  if (!current) return;
  const { dispose, listeners } = current;
  current = null;
  listeners.clear();
  try {
    dispose?.();
  } catch (error) {
    console.warn("page dispose failed", error);
  }
}

function setupHeader() {
  for (const button of document.querySelectorAll(".lang-switch button")) {
    button.addEventListener("click", () => i18n.setLanguage(button.dataset.lang));
  }
  document.getElementById("role").addEventListener("change", (event) => {
    setIdentity({ ...identity, role: event.target.value });
    remount();
  });
  document.getElementById("actor").addEventListener("change", (event) => {
    const actor = event.target.value.trim() || "operator-1";
    event.target.value = actor;
    setIdentity({ ...identity, actor });
    remount();
  });
  const toggle = document.querySelector(".nav-toggle");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("nav-open", open);
  });
  document.getElementById("sign-out").addEventListener("click", () => auth.signOut());
  document.getElementById("nav").addEventListener("click", (event) => {
    if (event.target.closest("a")) {
      toggle.setAttribute("aria-expanded", "false");
      document.body.classList.remove("nav-open");
    }
  });
}

/** The role changed: pages show the actions open to the new role, so mount afresh. */
function remount() {
  const id = current?.id;
  unmount();
  if (id) navigate();
}

async function loadDepartments() {
  try {
    const catalogue = await api.get("/governance/catalogue", null, { quiet: true });
    departments = catalogue?.departments || [];
  } catch {
    departments = []; // roles still work without department names
  }
}

/**
 * Signed out, or a call answered 401: nothing on the page can be trusted to load, so it
 * goes, and the prompt asks for a key; signed in again, the page mounts afresh.
 */
function followSignIn(event, detail) {
  renderAccount();
  if (!started) return; // start() waits for the first sign-in itself
  if (event === "signin") {
    loadDepartments().then(() => {
      translateShell();
      unmount();
      navigate();
    });
    return;
  }
  unmount();
  main.replaceChildren();
  signin.prompt({ error: event === "refused" && detail?.rejected ? "signin.expired" : undefined });
}

async function start() {
  setIdentity(identity);
  setupHeader();
  auth.onChange(followSignIn);
  i18n.onChange(() => {
    translateShell();
    for (const fn of [...(current?.listeners || [])]) {
      try {
        fn(i18n.language());
      } catch (error) {
        console.error("language listener failed", error);
      }
    }
    renderLive(document.querySelector(".live-status").dataset.status || "idle");
  });
  live.onStatus(renderLive);
  const [checked] = await Promise.all([auth.check(), loadPages()]);
  if (checked.mode === "needed") {
    translateShell();
    await signin.prompt({ error: checked.rejected ? "signin.rejected" : undefined });
  }
  started = true;
  await loadDepartments();
  translateShell();
  window.addEventListener("hashchange", () => {
    navigate();
    main.focus({ preventScroll: true });
  });
  navigate();
}

window.addEventListener("unhandledrejection", (event) => {
  // API failures were shown as toasts already; anything else deserves a word too.
  if (event.reason?.name !== "ApiError" && !(event.reason instanceof api.ApiError)) toast(String(event.reason?.message || event.reason), "error");
  event.preventDefault();
});

start();
