/**
 * City map: Chongqing's districts with one toggleable layer per domain pack, markers moved
 * by the live stream, clusters at low zoom, a side panel per entity (attributes and a
 * sparkline of its recent history) and a search by name or id.
 */

import {
  aqiCategory, debounce, districtNamer, el, fmtDate, fmtNumber, governanceCatalogue, replace, shortId, text,
} from "../ui.js";

export const id = "map";
import { localName } from "../ui.js"; // entities' names in the current language (Polish: wieś Shiban)
export const titleKey = "map.title";

/** Below this zoom, a layer's markers gather into clusters. */
const CLUSTER_UNTIL = 12;
const LAYER_STATE = "cityos.map.layers";
const FINISHED_CASES = new Set(["closed", "rejected", "merged"]);

/** Every colour a marker can take, named once: the markers and the legend both read it. */
const COLOR = {
  vehicle: "var(--chart-1)", late: "var(--warn)", train: "#6b4fbb", road: "#3d8bb5", jam: "var(--bad)",
  factory: "#8a6d3b", school: "#2e9d6a", village: "#5d7f12", parcel: "#a3c050", none: "#8795a4",
  caseUrgent: "var(--bad)", case: "#e8590c",
};

/** Colour of a status value, shared by the layers that have one. */
const STATUS = {
  running: "var(--ok)", onRoute: COLOR.vehicle, idle: COLOR.none, down: "var(--bad)", maintenance: "var(--warn)",
  Normal: "var(--chart-1)", Alert: "var(--warn)", Danger: "var(--bad)",
  renewed: "var(--ok)", inRenewal: "var(--warn)", awaiting: COLOR.none,
};
const AQI_COLORS = [1, 2, 3, 4, 5, 6].map((level) => `var(--aqi-${level})`);

/**
 * The layers: which types, how a marker looks (colour, shape), the colours its legend
 * shows (every colour `style` can give, so legend and markers always agree), which numeric
 * attribute the side panel draws the history of, whether it follows the live stream.
 * Cases are never clustered and sit in their own pane above every other layer's clusters.
 */
const LAYERS = [
  { id: "vehicles", types: ["Vehicle"], live: true, on: true, colors: [COLOR.vehicle, COLOR.late], spark: "speed",
    style: (e) => ({ color: e.delay > 300 ? COLOR.late : COLOR.vehicle, size: 12 }) },
  { id: "trains", types: ["Train"], live: true, on: true, colors: [COLOR.train], spark: "speed", onlyInView: true,
    style: () => ({ color: COLOR.train, className: "square", size: 14 }) },
  { id: "traffic", types: ["TrafficFlowObserved", "OffStreetParking"], live: true, on: false, colors: [COLOR.road, COLOR.jam],
    spark: { TrafficFlowObserved: "averageVehicleSpeed", OffStreetParking: "occupancy" },
    style: (e) => ({ color: e.congested || e.occupancy > 0.9 ? COLOR.jam : COLOR.road, className: e.type === "OffStreetParking" ? "square" : "", size: 10 }) },
  { id: "manufacturing", types: ["Factory", "ManufacturingMachine"], live: true, on: true,
    colors: [COLOR.factory, STATUS.running, STATUS.idle, STATUS.down, STATUS.maintenance],
    spark: { ManufacturingMachine: "temperature" },
    style: (e) => (e.type === "Factory"
      ? { color: COLOR.factory, className: "square", size: 16 }
      : { color: STATUS[e.status] || COLOR.factory, size: 10 }) },
  { id: "air", types: ["AirQualityObserved"], live: true, on: true, colors: [...AQI_COLORS, COLOR.none], spark: "airQualityIndex", cluster: false,
    style: (e) => ({ color: aqiCategory(e.airQualityIndex)?.color || COLOR.none, size: 18, glyph: e.airQualityIndex ?? "" }) },
  { id: "rivers", types: ["FloodMonitoring"], live: true, on: true, colors: [STATUS.Normal, STATUS.Alert, STATUS.Danger], spark: "currentLevel", cluster: false,
    style: (e) => ({ color: STATUS[e.floodLevelStatus] || STATUS.Normal, className: "diamond", size: 14 }) },
  { id: "schools", types: ["School"], live: false, on: false, colors: [COLOR.school], spark: "enrolment",
    style: () => ({ color: COLOR.school, size: 10 }) },
  { id: "rural", types: ["Village", "AgriParcel"], live: true, on: false, colors: [COLOR.village, COLOR.parcel],
    spark: { Village: "ecommerceOrders" },
    style: (e) => ({ color: e.type === "Village" ? COLOR.village : COLOR.parcel, className: e.type === "Village" ? "" : "square", size: e.type === "Village" ? 14 : 9 }) },
  { id: "buildings", types: ["Building"], live: true, on: false, colors: [STATUS.renewed, STATUS.inRenewal, STATUS.awaiting], spark: "conditionScore",
    style: (e) => ({ color: STATUS[e.renewalStatus] || COLOR.none, className: "square", size: 10 }) },
  { id: "cases", types: ["Case"], live: true, on: true, colors: [COLOR.caseUrgent, COLOR.case], cluster: false, pane: "cases",
    keep: (e) => !FINISHED_CASES.has(e.state),
    style: (e) => ({ color: e.priority === "urgent" || e.priority === "high" ? COLOR.caseUrgent : COLOR.case, className: "diamond", size: 12, glyph: "!" }) },
];

/** Attributes whose values are ids the governance catalogue or the boundaries name. */
const NAMED_VALUES = {
  department: "department", escalatedTo: "department", category: "category",
  district: "district", areaServed: "district",
};

/** Attributes never listed in the side panel (shown otherwise, or internal). */
const HIDDEN = new Set(["id", "type", "name", "description", "location", "dataProvider", "source", "@context"]);

export async function mount(root, ctx) {
  const { t, api, maps, charts, live } = ctx;
  const page = el("div", { class: "map-page", "data-page": id });
  const mapBox = el("div", { class: "map-canvas" });
  const layerBox = el("fieldset", { class: "map-layers panel" });
  const results = el("ul", { class: "search-results", role: "listbox", id: "map-search-results" });
  const search = el("input", {
    type: "search", class: "map-search-input", autocomplete: "off", spellcheck: "false",
    role: "combobox", "aria-expanded": "false", "aria-controls": "map-search-results", "aria-autocomplete": "list",
  });
  const searchBox = el("div", { class: "map-search" }, [el("label", { class: "sr-only", for: "map-search-input" }), search, results]);
  search.id = "map-search-input";
  const panel = el("aside", { class: "entity-panel panel", hidden: true, tabindex: "-1" });
  page.append(mapBox, el("div", { class: "map-overlay" }, [searchBox, layerBox]), panel);
  root.append(page);

  const map = maps.basemap(mapBox, { view: "chongqing" });
  // Cases above every layer's clusters; district names above the markers (they let clicks
  // through), so that neither is ever hidden under a carpet of bus clusters.
  map.createPane("cases").style.zIndex = 640;
  const labelPane = map.getPane("baseLabels");
  if (labelPane) labelPane.style.zIndex = 610;
  const names = { department: (id) => id, category: (code) => code, district: (name) => name };
  governanceCatalogue(api).then((catalogue) => {
    names.department = catalogue.department;
    names.category = catalogue.category;
    if (selected) renderPanel(entities.get(selected).entity, false);
  }).catch(() => { /* ids stay as they are */ });
  districtNamer(maps).then((namer) => { names.district = namer; });
  const stored = JSON.parse(localStorage.getItem(LAYER_STATE) || "{}");
  const entities = new Map(); // id → {entity, marker, layer}
  const stops = [];
  let selected = null;
  let spark = null;
  let sparkBox = null; // the selected entity's history box, kept across re-renders
  let sparkValues = [];

  // ---- layers ----------------------------------------------------------------------
  const groups = new Map();
  // A cluster is a pointer shortcut for zooming in (the map zooms from the keyboard too, and the
  // search selects any clustered marker): not a tab stop of its own, as its markers are not.
  L.MarkerCluster.prototype.options.keyboard = false;
  for (const layer of LAYERS) {
    const group = layer.cluster === false
      ? L.featureGroup()
      : L.markerClusterGroup({ disableClusteringAtZoom: CLUSTER_UNTIL, maxClusterRadius: 45, showCoverageOnHover: false, chunkedLoading: true });
    groups.set(layer.id, group);
    layer.visible = stored[layer.id] ?? layer.on;
    if (layer.visible) group.addTo(map);
  }

  function renderLayerBox() {
    replace(layerBox, el("legend", { text: t("map.layers") }), LAYERS.map((layer) => {
      const count = [...entities.values()].filter((x) => x.layer === layer && x.marker).length;
      const box = el("input", { type: "checkbox", checked: layer.visible, "data-layer": layer.id,
        onchange: (event) => toggle(layer, event.target.checked) });
      return el("label", { class: "layer-toggle", "data-types": layer.types.join(" ") }, [
        box, el("span", { class: "swatches" }, layer.colors.map((color) => el("span", { class: "swatch", style: { background: color } }))),
        el("span", { class: "layer-name", text: t(`map.layer.${layer.id}`) }),
        el("span", { class: "layer-count", text: fmtNumber(count) }),
      ]);
    }));
  }

  function toggle(layer, visible) {
    layer.visible = visible;
    const group = groups.get(layer.id);
    if (visible) group.addTo(map);
    else group.remove();
    localStorage.setItem(LAYER_STATE, JSON.stringify(Object.fromEntries(LAYERS.map((l) => [l.id, l.visible]))));
  }

  const layerOf = new Map(LAYERS.flatMap((layer) => layer.types.map((type) => [type, layer])));
  const chongqing = L.latLngBounds([[27.9, 104.9], [32.4, 110.5]]);

  function titleOf(entity) {
    return localName(entity);
  }

  /** Add, move or restyle the marker of an entity (from the first load or the live stream). */
  function place(entity) {
    const layer = layerOf.get(entity.type);
    const known = entities.get(entity.id);
    const merged = known ? { ...known.entity, ...entity } : entity;
    const at = maps.pointOf(merged.location);
    const wanted = at && (!layer.keep || layer.keep(merged)) && (!layer.onlyInView || chongqing.contains(at));
    const group = groups.get(layer.id);
    if (!wanted) {
      if (known?.marker) group.removeLayer(known.marker);
      entities.set(entity.id, { entity: merged, marker: null, layer });
      return;
    }
    if (known?.marker) {
      known.marker.setLatLng(at);
      known.marker.restyle(layer.style(merged));
      if (selected === entity.id) known.marker.getElement()?.classList.add("selected");
      known.entity = merged;
      if (selected === entity.id) renderPanel(merged, false);
      return;
    }
    // Layers that never cluster (a handful of stations) stay above the other layers' clusters.
    const zIndexOffset = layer.cluster === false ? 1000 : 0;
    // Pointer-only: the search box finds and selects every marker by the same name (2.5.8 Equivalent).
    const marker = maps.entityMarker(merged, { ...layer.style(merged), title: titleOf(merged), zIndexOffset, pane: layer.pane || "markerPane", keyboard: false });
    marker.on("click", () => select(entity.id));
    group.addLayer(marker);
    entities.set(entity.id, { entity: merged, marker, layer });
  }

  // ---- side panel ------------------------------------------------------------------
  function select(entityId) {
    const item = entities.get(entityId);
    if (!item) return;
    if (selected) entities.get(selected)?.marker?.getElement()?.classList.remove("selected");
    selected = entityId;
    item.marker?.getElement()?.classList.add("selected");
    renderPanel(item.entity, true);
  }

  function close() {
    if (selected) entities.get(selected)?.marker?.getElement()?.classList.remove("selected");
    selected = null;
    spark?.dispose();
    spark = null;
    sparkBox = null;
    panel.hidden = true;
    map.invalidateSize();
  }

  function sparkAttribute(entity) {
    const layer = layerOf.get(entity.type);
    const choice = typeof layer.spark === "object" ? layer.spark[entity.type] : layer.spark;
    return choice && typeof entity[choice] === "number" ? choice : null;
  }

  /** Draw the panel; `fresh` when a new entity is selected (history fetched again). */
  function renderPanel(entity, fresh) {
    const attribute = sparkAttribute(entity);
    const rows = Object.entries(entity).filter(([name]) => !HIDDEN.has(name)).sort(([a], [b]) => a.localeCompare(b));
    if (fresh) sparkBox = attribute ? el("div", { class: "spark" }) : null;
    else if (spark && attribute) follow(entity[attribute]);
    for (const line of sparkBox?.querySelectorAll("[data-key]") || []) line.textContent = t(line.dataset.key);
    replace(panel,
      el("div", { class: "panel-head" }, [
        el("div", {}, [
          el("span", { class: "badge", text: t(`type.${entity.type}`) }),
          el("h2", { text: titleOf(entity) }),
        ]),
        el("button", { type: "button", class: "close", "aria-label": t("ui.close"), text: "×", onclick: close }),
      ]),
      el("p", { class: "entity-id muted", text: entity.id }),
      entity.description ? el("p", { class: "entity-description", text: text(entity.description) }) : null,
      attribute ? el("h3", { text: t("map.history", { attribute: attributeLabel(attribute) }) }) : null,
      sparkBox,
      el("dl", { class: "attributes" }, rows.flatMap(([name, value]) => [
        el("dt", { text: attributeLabel(name), "data-attr": name }), el("dd", { text: formatValue(name, value) }),
      ])),
    );
    if (panel.hidden) {
      panel.hidden = false;
      map.invalidateSize(); // the map just became narrower
      if (entities.get(entity.id)?.marker) map.panTo(entities.get(entity.id).marker.getLatLng(), { animate: false });
    }
    if (fresh) {
      panel.focus({ preventScroll: true });
      spark?.dispose();
      spark = null;
      if (attribute) drawSpark(entity.id, attribute, sparkBox);
    }
  }

  async function drawSpark(entityId, attribute, box) {
    const say = (key) => box.replaceChildren(el("p", { class: "note", "data-key": key, text: t(key) }));
    say("ui.loading");
    try {
      const history = await api.temporal(entityId, { attrs: attribute, lastN: 60, quiet: true });
      if (selected !== entityId) return;
      const values = history[attribute] || [];
      // The same observation may be recorded more than once: a line needs two moments.
      if (new Set(values.map(([, at]) => at)).size < 2) {
        say("map.noHistory");
        return;
      }
      box.replaceChildren();
      sparkValues = values.slice();
      spark = charts.sparkline(box, sparkValues);
    } catch {
      say("map.noHistory");
    }
  }

  /** A live update of the selected entity extends its sparkline. */
  function follow(value) {
    const last = sparkValues[sparkValues.length - 1];
    if (typeof value !== "number" || (last && last[0] === value)) return;
    sparkValues = [...sparkValues.slice(-59), [value, new Date().toISOString()]];
    spark.setOption({ series: [{ data: charts.timeSeries(sparkValues) }] });
  }

  /** The attribute's name in the current language; an unknown one spelt out in words
   * ("dispatchBy" → "Dispatch by"), never the raw key. */
  function attributeLabel(name) {
    const key = `attr.${name}`;
    const label = t(key);
    if (label !== key) return label;
    const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ").toLowerCase();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function formatValue(name, value) {
    if (value === null || value === undefined) return "—";
    const named = typeof value === "string" && NAMED_VALUES[name] ? names[NAMED_VALUES[name]](value) : "";
    if (named && named !== value) return named; // a department's, category's or district's name
    if (name === "simulatedHistory" && value.from && value.until) {
      return t("map.simulatedHistory", { from: fmtDate(value.from), until: fmtDate(value.until) });
    }
    if (typeof value === "number") return fmtNumber(value);
    if (typeof value === "boolean") return t(value ? "map.yes" : "map.no");
    if (typeof value === "string") {
      if (/^\d{4}-\d\d-\d\dT/.test(value)) return fmtDate(value);
      const key = `value.${value}`;
      const label = t(key);
      return label === key ? (value.startsWith("urn:ngsi-ld:") ? shortId(value) : value) : label;
    }
    if (Array.isArray(value)) return value.map((v) => formatValue(name, v)).join(", ");
    if (typeof value === "object" && ("en" in value || "zh" in value)) return text(value);
    if (value.type && value.coordinates) return t("map.geometry", { type: value.type });
    return Object.entries(value).map(([k, v]) => `${attributeLabel(k)}: ${formatValue(k, v)}`).join("; ");
  }

  // ---- search ----------------------------------------------------------------------
  let matches = [];
  const runSearch = () => {
    const query = search.value.trim().toLowerCase();
    matches = !query ? [] : [...entities.values()]
      .filter(({ entity, marker }) => marker && (entity.id.toLowerCase().includes(query)
        || titleOf(entity).toLowerCase().includes(query) || text(entity.alternateName).toLowerCase().includes(query)))
      .slice(0, 8);
    replace(results, matches.map(({ entity, layer }, index) => el("li", { role: "option", id: `map-result-${index}` },
      el("button", { type: "button", onclick: () => flyTo(entity.id) }, [
        el("span", { class: "swatch", style: { background: layer.colors[0] } }),
        el("span", { text: titleOf(entity) }),
        el("span", { class: "muted", text: t(`type.${entity.type}`) }),
      ]))));
    if (query && !matches.length) results.append(el("li", { class: "note", text: t("map.noMatch") }));
    search.setAttribute("aria-expanded", String(Boolean(query)));
  };
  search.addEventListener("input", debounce(runSearch, 150));
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && matches.length) flyTo(matches[0].entity.id);
    if (event.key === "ArrowDown") results.querySelector("button")?.focus();
    if (event.key === "Escape") {
      search.value = "";
      runSearch();
    }
  });
  results.addEventListener("keydown", (event) => {
    const buttons = [...results.querySelectorAll("button")];
    const index = buttons.indexOf(document.activeElement);
    if (event.key === "ArrowDown") buttons[index + 1]?.focus();
    if (event.key === "ArrowUp") (buttons[index - 1] || search).focus();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") event.preventDefault();
  });

  function flyTo(entityId) {
    const item = entities.get(entityId);
    if (!item?.marker) return;
    if (!item.layer.visible) {
      toggle(item.layer, true);
      renderLayerBox();
    }
    replace(results);
    search.setAttribute("aria-expanded", "false");
    map.flyTo(item.marker.getLatLng(), Math.max(map.getZoom(), 14), { duration: 0.8 });
    map.once("moveend", () => select(entityId));
  }

  // ---- texts, data, live -----------------------------------------------------------
  function translate() {
    search.placeholder = t("map.search");
    searchBox.querySelector("label").textContent = t("map.search");
    renderLayerBox();
    for (const { entity, marker } of entities.values()) marker?.retitle(titleOf(entity));
    if (selected) renderPanel(entities.get(selected).entity, false);
    if (search.value) runSearch();
  }
  stops.push(ctx.onLanguage(translate));
  translate();

  const base = await map.baseReady;
  // Leave room for the search and layer panel floating over the map's left side.
  if (base) map.fitBounds(base.getBounds(), { paddingTopLeft: [290, 10], paddingBottomRight: [10, 10], animate: false });
  const loads = LAYERS.flatMap((layer) => layer.types.map(async (type) => {
    try {
      const found = await api.entities(type, { q: layer.id === "cases" ? 'state!="closed";state!="rejected";state!="merged"' : undefined });
      for (const entity of found) place(entity);
    } catch {
      /* the error was shown; the other layers still load */
    }
  }));
  await Promise.all(loads);
  renderLayerBox();
  page.dataset.ready = "true";

  const recount = debounce(renderLayerBox, 1000);
  for (const layer of LAYERS.filter((l) => l.live)) {
    for (const type of layer.types) {
      stops.push(live.on(type, (entity) => {
        place(entity);
        recount();
      }));
    }
  }

  return () => {
    for (const stop of stops) stop();
    spark?.dispose();
    map.remove();
  };
}

export const strings = {
  en: {
    "map.title": "City map",
    "map.layers": "Layers",
    "map.layer.vehicles": "Buses",
    "map.layer.trains": "Freight trains",
    "map.layer.traffic": "Traffic and car parks",
    "map.layer.manufacturing": "Factories and machines",
    "map.layer.air": "Air quality",
    "map.layer.rivers": "River gauges",
    "map.layer.schools": "Schools",
    "map.layer.rural": "Villages and plots",
    "map.layer.buildings": "Old buildings",
    "map.layer.cases": "Open cases",
    "map.search": "Search by name or id",
    "map.noMatch": "No match on the map.",
    "map.history": "Recent {attribute}",
    "map.noHistory": "No history yet.",
    "map.yes": "yes",
    "map.no": "no",
    "map.geometry": "{type} geometry",
    "type.Vehicle": "Bus",
    "type.Train": "Freight train",
    "type.TrafficFlowObserved": "Traffic sensor",
    "type.OffStreetParking": "Car park",
    "type.Factory": "Factory",
    "type.ManufacturingMachine": "Machine",
    "type.AirQualityObserved": "Air-quality station",
    "type.FloodMonitoring": "River gauge",
    "type.School": "School",
    "type.Village": "Village",
    "type.AgriParcel": "Farm plot",
    "type.Building": "Building",
    "type.Case": "Case",
    "attr.address": "Address", "attr.airQualityIndex": "AQI", "attr.airQualityLevel": "Air quality",
    "attr.alertLevel": "Alert level (m)", "attr.alternateName": "Local name", "attr.area": "Area (m²)",
    "attr.areaServed": "Area served", "attr.arrivedAt": "Arrived", "attr.atmosphericPressure": "Pressure (hPa)",
    "attr.availableSpotNumber": "Free spaces", "attr.bearing": "Bearing (°)", "attr.belongsTo": "Farm",
    "attr.broadbandCoverage": "Broadband coverage (%)", "attr.capacity": "Capacity", "attr.cargo": "Cargo",
    "attr.category": "Category", "attr.co": "CO (mg/m³)", "attr.conditionScore": "Condition score",
    "attr.congested": "Congested", "attr.cropStatus": "Crop status", "attr.currentLevel": "Water level (m)",
    "attr.currentTrip": "Trip", "attr.cycleCount": "Cycles", "attr.dangerLevel": "Danger level (m)",
    "attr.dateObserved": "Observed", "attr.delay": "Delay", "attr.department": "Department",
    "attr.departureDate": "Departed", "attr.dewPoint": "Dew point (°C)", "attr.distanceTravelled": "Distance travelled (km)",
    "attr.district": "District", "attr.ecommerceOrders": "E-commerce orders", "attr.enrolment": "Students",
    "attr.estimatedArrival": "Estimated arrival", "attr.factory": "Factory", "attr.fleetVehicleId": "Fleet number",
    "attr.floodLevelStatus": "Flood status", "attr.floorsAboveGround": "Floors", "attr.floorsBelowGround": "Floors below ground",
    "attr.hasAgriCrop": "Crop", "attr.hasRoute": "Route", "attr.idealCycleTime": "Ideal cycle time (s)",
    "attr.industry": "Industry", "attr.intensity": "Vehicles per hour", "attr.irrigationSystemType": "Irrigation",
    "attr.laneDirection": "Direction", "attr.no2": "NO₂ (µg/m³)", "attr.o3": "O₃ (µg/m³)", "attr.occupancy": "Occupancy",
    "attr.occupiedSpotNumber": "Occupied spaces", "attr.partsProduced": "Parts produced", "attr.partsRejected": "Parts rejected",
    "attr.plannedTime": "Planned time (s)", "attr.pm10": "PM10 (µg/m³)", "attr.pm25": "PM2.5 (µg/m³)",
    "attr.precipitation": "Precipitation (mm)", "attr.primaryPollutant": "Primary pollutant", "attr.priority": "Priority",
    "attr.product": "Product", "attr.raisedBy": "Raised by", "attr.refCommunity": "Community", "attr.refDestination": "Destination",
    "attr.refDistrict": "District", "attr.refFactory": "Factory", "attr.refOrigin": "Origin", "attr.refProductionLine": "Production line",
    "attr.refRenewalProject": "Renewal project", "attr.refRoute": "Route", "attr.rejectCount": "Rejects", "attr.reliability": "Reliability",
    "attr.renewalStatus": "Renewal", "attr.reportedAt": "Reported", "attr.river": "River", "attr.runTime": "Run time (s)",
    "attr.scheduledArrival": "Scheduled arrival", "attr.schoolType": "School type", "attr.serviceStatus": "Service",
    "attr.so2": "SO₂ (µg/m³)", "attr.speed": "Speed (km/h)", "attr.state": "State", "attr.stationID": "Station",
    "attr.status": "Status", "attr.structuralSafety": "Structural safety", "attr.teachers": "Teachers", "attr.temperature": "Temperature (°C)",
    "attr.teu": "TEU", "attr.totalSpotNumber": "Spaces", "attr.trainNumber": "Train number", "attr.vehicleType": "Vehicle type",
    "attr.vibration": "Vibration (mm/s)", "attr.visitors": "Visitors", "attr.windDirection": "Wind direction (°)",
    "attr.windSpeed": "Wind speed (m/s)", "attr.yearBuilt": "Built", "attr.averageVehicleSpeed": "Average speed (km/h)",
    "attr.routing": "Routing", "attr.source": "Source", "attr.acceptBy": "Accept by", "attr.gridCell": "Grid cell",
    "attr.reopened": "Reopened", "attr.referenceLevel": "Reference level (m)", "attr.thresholdSource": "Thresholds",
    "attr.typeOfLocation": "Location type", "attr.allowedVehicleType": "Vehicles allowed", "attr.possibleDuplicateOf": "Possible duplicate of",
    "attr.dispatchBy": "Dispatch by", "attr.resolveBy": "Resolve by", "attr.escalatedTo": "Escalated to",
    "attr.overdue": "Overdue", "attr.closedAt": "Closed", "attr.note": "Note", "attr.media": "Photos",
    "attr.mergedInto": "Merged into", "attr.simulatedHistory": "History", "attr.replayedFrom": "Replays",
    "map.simulatedHistory": "simulated, {from} – {until} (back-filled when the demo started)",
    "value.running": "running", "value.idle": "idle", "value.down": "down", "value.onRoute": "on route",
    "value.inTransit": "in transit", "value.arrived": "arrived", "value.scheduled": "scheduled",
    "value.Normal": "normal", "value.Alert": "alert", "value.Danger": "danger",
    "value.renewed": "renewed", "value.inRenewal": "in renewal", "value.awaiting": "awaiting renewal",
    "value.sound": "sound", "value.atRisk": "at risk", "value.growing": "growing",
    "value.reported": "reported", "value.accepted": "accepted", "value.dispatched": "dispatched",
    "value.in_progress": "in progress", "value.resolved": "resolved", "value.verified": "verified",
    "value.normal": "normal", "value.high": "high", "value.urgent": "urgent", "value.low": "low",
    "value.bus": "bus", "value.public": "public", "value.nonTracked": "untracked", "value.primary": "primary",
    "value.middle": "middle", "value.outdoor": "outdoor", "value.forward": "forward", "value.backward": "backward",
    "value.excellent": "excellent", "value.good": "good", "value.lightlyPolluted": "lightly polluted",
    "value.moderatelyPolluted": "moderately polluted", "value.heavilyPolluted": "heavily polluted",
    "value.severelyPolluted": "severely polluted", "value.pm25": "PM2.5", "value.pm10": "PM10", "value.o3": "O₃",
    "value.no2": "NO₂", "value.so2": "SO₂", "value.co": "CO",
  },
  zh: {
    "map.title": "城市地图",
    "map.layers": "图层",
    "map.layer.vehicles": "公交车",
    "map.layer.trains": "货运班列",
    "map.layer.traffic": "交通与停车场",
    "map.layer.manufacturing": "工厂与设备",
    "map.layer.air": "空气质量",
    "map.layer.rivers": "水文站",
    "map.layer.schools": "学校",
    "map.layer.rural": "村庄与地块",
    "map.layer.buildings": "老旧楼栋",
    "map.layer.cases": "未结案件",
    "map.search": "按名称或编号搜索",
    "map.noMatch": "地图上没有匹配项。",
    "map.history": "近期{attribute}",
    "map.noHistory": "暂无历史数据。",
    "map.yes": "是",
    "map.no": "否",
    "map.geometry": "{type} 几何",
    "type.Vehicle": "公交车",
    "type.Train": "货运班列",
    "type.TrafficFlowObserved": "交通检测器",
    "type.OffStreetParking": "停车场",
    "type.Factory": "工厂",
    "type.ManufacturingMachine": "设备",
    "type.AirQualityObserved": "空气质量监测站",
    "type.FloodMonitoring": "水文站",
    "type.School": "学校",
    "type.Village": "村庄",
    "type.AgriParcel": "农田地块",
    "type.Building": "楼栋",
    "type.Case": "案件",
    "attr.address": "地址", "attr.airQualityIndex": "空气质量指数", "attr.airQualityLevel": "空气质量",
    "attr.alertLevel": "警戒水位（米）", "attr.alternateName": "当地名称", "attr.area": "面积（平方米）",
    "attr.areaServed": "服务区域", "attr.arrivedAt": "到达时间", "attr.atmosphericPressure": "气压（百帕）",
    "attr.availableSpotNumber": "空余车位", "attr.bearing": "方向（度）", "attr.belongsTo": "所属农场",
    "attr.broadbandCoverage": "宽带覆盖率（%）", "attr.capacity": "容量", "attr.cargo": "货物",
    "attr.category": "类别", "attr.co": "一氧化碳（毫克/立方米）", "attr.conditionScore": "房屋状况评分",
    "attr.congested": "拥堵", "attr.cropStatus": "作物状态", "attr.currentLevel": "水位（米）",
    "attr.currentTrip": "班次", "attr.cycleCount": "循环次数", "attr.dangerLevel": "保证水位（米）",
    "attr.dateObserved": "观测时间", "attr.delay": "延误", "attr.department": "部门",
    "attr.departureDate": "发车时间", "attr.dewPoint": "露点（°C）", "attr.distanceTravelled": "已行驶里程（公里）",
    "attr.district": "区县", "attr.ecommerceOrders": "电商订单", "attr.enrolment": "在校学生",
    "attr.estimatedArrival": "预计到达", "attr.factory": "工厂", "attr.fleetVehicleId": "车辆编号",
    "attr.floodLevelStatus": "汛情状态", "attr.floorsAboveGround": "地上层数", "attr.floorsBelowGround": "地下层数",
    "attr.hasAgriCrop": "作物", "attr.hasRoute": "线路", "attr.idealCycleTime": "理想节拍（秒）",
    "attr.industry": "行业", "attr.intensity": "车流量（辆/小时）", "attr.irrigationSystemType": "灌溉方式",
    "attr.laneDirection": "方向", "attr.no2": "二氧化氮（微克/立方米）", "attr.o3": "臭氧（微克/立方米）", "attr.occupancy": "占用率",
    "attr.occupiedSpotNumber": "已占车位", "attr.partsProduced": "产量", "attr.partsRejected": "不良品",
    "attr.plannedTime": "计划时间（秒）", "attr.pm10": "PM10（微克/立方米）", "attr.pm25": "PM2.5（微克/立方米）",
    "attr.precipitation": "降水（毫米）", "attr.primaryPollutant": "首要污染物", "attr.priority": "优先级",
    "attr.product": "特色产品", "attr.raisedBy": "触发对象", "attr.refCommunity": "所属小区", "attr.refDestination": "终点",
    "attr.refDistrict": "区县", "attr.refFactory": "所属工厂", "attr.refOrigin": "始发站", "attr.refProductionLine": "产线",
    "attr.refRenewalProject": "更新项目", "attr.refRoute": "线路", "attr.rejectCount": "不良次数", "attr.reliability": "可信度",
    "attr.renewalStatus": "更新状态", "attr.reportedAt": "上报时间", "attr.river": "河流", "attr.runTime": "运行时间（秒）",
    "attr.scheduledArrival": "计划到达", "attr.schoolType": "学校类型", "attr.serviceStatus": "运营状态",
    "attr.so2": "二氧化硫（微克/立方米）", "attr.speed": "速度（公里/小时）", "attr.state": "状态", "attr.stationID": "站点",
    "attr.status": "状态", "attr.structuralSafety": "结构安全", "attr.teachers": "教师", "attr.temperature": "温度（°C）",
    "attr.teu": "标箱", "attr.totalSpotNumber": "车位总数", "attr.trainNumber": "车次", "attr.vehicleType": "车辆类型",
    "attr.vibration": "振动（毫米/秒）", "attr.visitors": "游客", "attr.windDirection": "风向（度）",
    "attr.windSpeed": "风速（米/秒）", "attr.yearBuilt": "建成年份", "attr.averageVehicleSpeed": "平均车速（公里/小时）",
    "attr.routing": "派单依据", "attr.source": "来源", "attr.acceptBy": "受理时限", "attr.gridCell": "网格",
    "attr.dispatchBy": "派遣时限", "attr.resolveBy": "处置时限", "attr.escalatedTo": "上报至",
    "attr.overdue": "超时", "attr.closedAt": "结案时间", "attr.note": "备注", "attr.media": "照片",
    "attr.mergedInto": "已合并至", "attr.simulatedHistory": "历史数据", "attr.replayedFrom": "回放来源",
    "map.simulatedHistory": "模拟数据，{from} – {until}（演示启动时补录）",
    "attr.reopened": "重新打开次数", "attr.referenceLevel": "基准水位（米）", "attr.thresholdSource": "阈值来源",
    "attr.typeOfLocation": "位置类型", "attr.allowedVehicleType": "允许车型", "attr.possibleDuplicateOf": "可能重复于",
    "value.running": "运行中", "value.idle": "空闲", "value.down": "停机", "value.onRoute": "运营中",
    "value.inTransit": "运输中", "value.arrived": "已到达", "value.scheduled": "待发",
    "value.Normal": "正常", "value.Alert": "警戒", "value.Danger": "危险",
    "value.renewed": "已更新", "value.inRenewal": "更新中", "value.awaiting": "待更新",
    "value.sound": "安全", "value.atRisk": "有隐患", "value.growing": "生长中",
    "value.reported": "已上报", "value.accepted": "已受理", "value.dispatched": "已派遣",
    "value.in_progress": "处置中", "value.resolved": "已处置", "value.verified": "已核查",
    "value.normal": "普通", "value.high": "高", "value.urgent": "紧急", "value.low": "低",
    "value.bus": "公交车", "value.public": "公共", "value.nonTracked": "非轨道", "value.primary": "小学",
    "value.middle": "中学", "value.outdoor": "室外", "value.forward": "正向", "value.backward": "反向",
    "value.excellent": "优", "value.good": "良", "value.lightlyPolluted": "轻度污染",
    "value.moderatelyPolluted": "中度污染", "value.heavilyPolluted": "重度污染",
    "value.severelyPolluted": "严重污染", "value.pm25": "PM2.5", "value.pm10": "PM10", "value.o3": "臭氧",
    "value.no2": "二氧化氮", "value.so2": "二氧化硫", "value.co": "一氧化碳",
  },
  pl: {
    "attr.dispatchBy": "Przekazać do", "attr.resolveBy": "Rozwiązać do", "attr.escalatedTo": "Przekazano wyżej do",
    "attr.overdue": "Po terminie", "attr.closedAt": "Zamknięto", "attr.note": "Uwaga", "attr.media": "Zdjęcia",
    "attr.mergedInto": "Scalono z", "attr.simulatedHistory": "Historia", "attr.replayedFrom": "Odtwarza",
    "map.simulatedHistory": "symulowana, {from} – {until} (uzupełniona przy starcie demonstracji)",
  },
};
