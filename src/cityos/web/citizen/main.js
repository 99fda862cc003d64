/**
 * The citizens' pages (/report, /report/map, /report/<reference>): one shell, the view
 * chosen by the path. A language switch re-renders the view in place (a form keeps what the
 * citizen has typed); the choice is remembered with the dashboard's (i18n.js).
 */

import { add, language, onChange, setLanguage, t } from "../js/i18n.js";
import { strings as mapStrings } from "../js/maps.js";
import { strings } from "./strings.js";
import { mountMap } from "./map.js";
import { mountReport } from "./report.js";
import { mountTrack } from "./track.js";

add(mapStrings);
add(strings);

/** Which view the path names: ["report"], ["map"] or ["track", reference]. */
function route(pathname) {
  const rest = pathname.replace(/^\/report\/?/, "").replace(/\/+$/, "");
  if (!rest) return ["report"];
  if (rest === "map") return ["map"];
  return ["track", decodeURIComponent(rest)];
}

function translateShell(view) {
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  for (const button of document.querySelectorAll(".c-lang button")) button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
  for (const link of document.querySelectorAll(".c-nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function start() {
  const [view, reference] = route(location.pathname);
  const root = document.getElementById("main");
  const mounted = view === "map" ? mountMap(root) : view === "track" ? mountTrack(root, reference) : mountReport(root);
  const setTitle = () => {
    document.title = view === "track" ? t("c.title.track", { reference }) : t(`c.title.${view}`);
  };
  translateShell(view);
  setTitle();
  for (const button of document.querySelectorAll(".c-lang button")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  onChange(() => {
    translateShell(view);
    setTitle();
    mounted.render();
  });
}

start();
