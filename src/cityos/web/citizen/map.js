/**
 * /report/map: open and recently fixed reports on the city's map, from
 * GET /citizen/v1/reports?status=open|recent (public data only: reference, category, state,
 * place, date, support, photo). The same reports are listed under the map, so the page works
 * without pointing at the map.
 */

import { t } from "../js/i18n.js";
import { basemap, dotIcon, popup } from "../js/maps.js";
import { el, fmtDate, replace } from "../js/ui.js";
import { CITY_START, alertBox, call, photo, stateBadge, supportersText, trackPath } from "./common.js";

const CITY_BBOX = "104.9,27.9,110.5,32.4";
/** The municipality's box (maps.js's Chongqing view): every report of the city. */
const COLORS = { open: "#c0392b", recent: "#1e7d45" };

export function mountMap(root) {
  const shown = { open: true, recent: true };
  const data = { open: [], recent: [] };
  let message = null;

  const heading = el("h1");
  const toggles = el("fieldset", { class: "c-toggles" });
  const mapEl = el("div", { class: "c-map c-map-reports", "data-testid": "reports-map" });
  const alertSlot = el("div", { "aria-live": "assertive" });
  const listHeading = el("h2");
  const list = el("ul", { class: "c-cards", "data-testid": "reports-list" });
  replace(root, heading, toggles, mapEl, alertSlot, listHeading, list);

  const map = basemap(mapEl, { labels: true, zoomControl: true });
  const centre = () => map.setView(CITY_START.center, CITY_START.zoom - 1, { animate: false });
  centre();
  map.baseReady.then(centre);
  const layer = L.layerGroup().addTo(map);

  async function load() {
    try {
      const [open, recent] = await Promise.all(["open", "recent"].map((status) => call("/reports", { query: { bbox: CITY_BBOX, status } })));
      data.open = open || [];
      data.recent = recent || [];
      message = null;
    } catch (error) {
      message = error.message;
    }
    render();
    root.dataset.ready = "true";
  }

  function summary(report, kind) {
    return el("div", { class: "c-summary" }, [
      el("strong", { text: report.category_name || report.category }),
      el("div", {}, [stateBadge(report.state), " ", el("span", { class: "c-hint", text: fmtDate(report.created, { time: false }) })]),
      el("div", { class: "c-hint", text: supportersText(report.supporters) }),
      el("a", { href: trackPath(report.reference), text: `${t("c.map.details")}: ${report.reference}` }),
    ]);
  }

  function render() {
    heading.textContent = t("c.title.map");
    mapEl.setAttribute("aria-label", t("c.map.label"));
    replace(toggles,
      el("legend", { text: t("c.map.show") }),
      ["open", "recent"].map((kind) => {
        const box = el("input", { type: "checkbox", id: `c-show-${kind}`, checked: shown[kind], onchange: () => { shown[kind] = box.checked; render(); } });
        return el("span", { class: "c-choice" }, [box, el("label", { for: `c-show-${kind}` }, [
          el("span", { class: "c-swatch", dataset: { kind }, "aria-hidden": "true" }), t(`c.map.${kind}`),
        ])]);
      }),
    );
    replace(alertSlot, message ? alertBox(message) : null);
    layer.clearLayers();
    const reports = ["open", "recent"].filter((kind) => shown[kind]).flatMap((kind) => data[kind].map((report) => [kind, report]));
    for (const [kind, report] of reports) {
      if (!Number.isFinite(report.lat) || !Number.isFinite(report.long)) continue;
      const marker = L.marker([report.lat, report.long], {
        icon: dotIcon({ color: COLORS[kind], size: 16, className: `c-report-${kind}` }),
        title: `${report.reference} · ${report.category_name || report.category}`,
        alt: report.reference,
        keyboard: true,
      });
      popup(marker, () => summary(report, kind));
      marker.addTo(layer);
    }
    listHeading.textContent = t("c.map.list");
    replace(list, reports.length ? reports.map(([kind, report]) => el("li", { class: "c-card", "data-reference": report.reference, dataset: { kind } }, [
      photo(report.photo, t("c.photo.alt", { reference: report.reference })),
      el("div", { class: "c-card-body" }, summary(report, kind)),
    ])) : el("li", { class: "c-hint", text: t("c.map.none") }));
  }

  render();
  load();
  return { render: load };
}
