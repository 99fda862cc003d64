/**
 * /report: the reporting form. Place (map tap, the map's centre, or the device's location),
 * a citizen category with its questions (built from the category's `attributes`), a
 * description, up to three photos (previewed from the files themselves with
 * URL.createObjectURL), an optional name and e-mail, and a honeypot. Before sending, the open
 * reports of that category nearby are offered ("is it one of these?"): "me too" supports one
 * of them instead of filing a new case. The answer shows the reference and the promise.
 *
 * What the citizen typed lives in `draft`, so a language switch rebuilds the form in the new
 * language without losing it; the map is built once.
 */

import { t } from "../js/i18n.js";
import { basemap, dotIcon } from "../js/maps.js";
import { el, fmtNumber, replace } from "../js/ui.js";
import { CITY_START, MAX_PHOTOS, alertBox, call, photo, stateBadge, supportersText, trackPath } from "./common.js";

const PHOTO_TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);
const NEARBY_RADIUS = 500;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function mountReport(root) {
  const draft = { lat: null, long: null, category: "", answers: {}, description: "", photos: [], name: "", email: "" };
  const view = { stage: "form", categories: null, nearby: [], result: null, message: null, busy: false };
  let placeMarker = null;

  const heading = el("h1", { tabindex: "-1" });
  const intro = el("p", { class: "c-intro" });
  const placeHeading = el("h2");
  const placeHint = el("p", { class: "c-hint" });
  const mapEl = el("div", { class: "c-map c-map-pick", "data-testid": "place-map" });
  const locateButton = el("button", { type: "button", class: "c-button", onclick: locate });
  const centreButton = el("button", { type: "button", class: "c-button", onclick: () => setPlace(map.getCenter().lat, map.getCenter().lng) });
  const placeStatus = el("p", { class: "c-place-status", role: "status", "aria-live": "polite" });
  const whatBox = el("section", { class: "c-section" });
  const photosBox = el("section", { class: "c-section" });
  const youBox = el("section", { class: "c-section" });
  const honeypot = el("input", { type: "text", name: "website", id: "c-website", tabindex: "-1", autocomplete: "off" });
  const honeypotBox = el("div", { class: "c-honeypot", "aria-hidden": "true" }, [el("label", { for: "c-website" }), honeypot]);
  const alertSlot = el("div", { "aria-live": "assertive" });
  const continueButton = el("button", { type: "submit", class: "c-button c-primary", "data-testid": "continue" });
  const form = el("form", { class: "c-form", novalidate: true, onsubmit: (event) => { event.preventDefault(); proceed(); } }, [
    el("section", { class: "c-section" }, [placeHeading, placeHint, mapEl, el("div", { class: "c-row" }, [locateButton, centreButton]), placeStatus]),
    whatBox, photosBox, youBox, honeypotBox, alertSlot, continueButton,
  ]);
  const dupesBox = el("section", { class: "c-dupes", "data-testid": "duplicates", hidden: true });
  const doneBox = el("section", { class: "c-done", "data-testid": "confirmation", hidden: true });
  replace(root, heading, intro, form, dupesBox, doneBox);

  const map = basemap(mapEl, { labels: true, zoomControl: true });
  const centre = () => {
    if (draft.lat === null) map.setView(CITY_START.center, CITY_START.zoom, { animate: false });
    else map.setView([draft.lat, draft.long], Math.max(map.getZoom(), 15), { animate: false });
  };
  centre();
  map.baseReady.then(centre); // the base layer fits the whole municipality when it lands
  map.on("click", (event) => setPlace(event.latlng.lat, event.latlng.lng));

  function setPlace(lat, long) {
    draft.lat = Number(lat.toFixed(6));
    draft.long = Number(long.toFixed(6));
    const at = [draft.lat, draft.long];
    if (!placeMarker) {
      placeMarker = L.marker(at, { icon: dotIcon({ color: "#c0392b", size: 22, className: "c-place-marker" }), keyboard: false, interactive: false }).addTo(map);
    } else placeMarker.setLatLng(at);
    renderPlace();
  }

  function locate() {
    if (!navigator.geolocation) {
      placeStatus.textContent = t("c.place.denied", { reason: "—" });
      return;
    }
    placeStatus.textContent = t("c.place.locating");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        setPlace(position.coords.latitude, position.coords.longitude);
        map.setView([draft.lat, draft.long], 16);
      },
      (error) => { placeStatus.textContent = t("c.place.denied", { reason: error.message || error.code }); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  async function loadCategories() {
    try {
      view.categories = await call("/categories");
    } catch (error) {
      view.categories = [];
      view.message = error.message;
    }
    render();
    root.dataset.ready = "true";
  }

  // ---- rendering ----

  function render() {
    heading.textContent = t("c.title.report");
    intro.textContent = t("c.intro");
    form.hidden = view.stage !== "form";
    dupesBox.hidden = view.stage !== "dupes";
    doneBox.hidden = view.stage !== "done" && view.stage !== "metoo";
    intro.hidden = view.stage !== "form";
    placeHeading.textContent = t("c.step.place");
    placeHint.textContent = t("c.place.hint");
    mapEl.setAttribute("aria-label", t("c.place.map"));
    locateButton.textContent = t("c.place.locate");
    centreButton.textContent = t("c.place.centre");
    honeypotBox.firstChild.textContent = t("c.honeypot");
    continueButton.textContent = view.busy ? t("c.sending") : t("c.continue");
    continueButton.disabled = view.busy;
    renderPlace();
    renderWhat();
    renderPhotos();
    renderYou();
    replace(alertSlot, view.message && view.stage === "form" ? alertBox(view.message) : null);
    if (view.stage === "dupes") renderDupes();
    if (view.stage === "done") renderDone();
    if (view.stage === "metoo") renderMeToo();
  }

  function renderPlace() {
    placeStatus.textContent = draft.lat === null ? t("c.place.none")
      : t("c.place.chosen", { lat: draft.lat.toFixed(5), long: draft.long.toFixed(5) });
  }

  function selectedCategory() {
    return (view.categories || []).find((category) => category.code === draft.category) || null;
  }

  function renderWhat() {
    const categories = view.categories;
    if (!categories) {
      replace(whatBox, el("h2", { text: t("c.step.what") }), el("p", { class: "c-hint", text: t("c.loading") }));
      return;
    }
    const groups = new Map();
    for (const category of categories) {
      const group = category.group || "";
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(category);
    }
    const option = (category) => el("option", { value: category.code, selected: category.code === draft.category, text: category.name || category.code });
    const select = el("select", {
      id: "c-category", name: "category", required: true, "aria-required": "true",
      onchange: () => { draft.category = select.value; draft.answers = {}; renderWhat(); },
    }, [
      el("option", { value: "", text: t("c.category.choose") }),
      [...groups].map(([group, members]) => (group ? el("optgroup", { label: group }, members.map(option)) : members.map(option))),
    ]);
    const category = selectedCategory();
    const description = el("textarea", {
      id: "c-description", name: "description", rows: "4", maxlength: "4000", required: true, "aria-required": "true",
      "aria-describedby": "c-description-hint",
      oninput: () => { draft.description = description.value; },
    });
    description.value = draft.description;
    replace(whatBox,
      el("h2", { text: t("c.step.what") }),
      field("c-category", t("c.category"), true, select),
      category ? el("div", { class: "c-category-info" }, [
        category.description ? el("p", { text: category.description }) : null,
        category.deadline_text ? el("p", { class: "c-promise", text: category.deadline_text }) : null,
      ]) : null,
      category ? (category.attributes || []).map(question) : null,
      field("c-description", t("c.description"), true, description, el("p", { id: "c-description-hint", class: "c-hint", text: t("c.description.hint") })),
    );
  }

  /** A labelled control with its "required"/"optional" mark. */
  function field(id, label, required, control, after = null) {
    return el("div", { class: "c-field" }, [
      el("label", { for: id }, [label, " ", el("span", { class: "c-mark", text: `(${t(required ? "c.required" : "c.optional")})` })]),
      control,
      after,
    ]);
  }

  /** The control for one of the category's questions, from its datatype. */
  function question(attribute, index) {
    const id = `c-q-${index}`;
    const label = attribute.description || attribute.code;
    const values = attribute.values || [];
    const answer = draft.answers[attribute.code];
    const required = Boolean(attribute.required);
    const set = (value) => { draft.answers[attribute.code] = value; };
    if (attribute.datatype === "multivaluelist") {
      const chosen = new Set(Array.isArray(answer) ? answer : []);
      return el("fieldset", { class: "c-field c-choices", id, "data-question": attribute.code }, [
        el("legend", {}, [label, " ", el("span", { class: "c-mark", text: `(${t(required ? "c.required" : "c.optional")})` })]),
        values.map((value, n) => {
          const box = el("input", {
            type: "checkbox", id: `${id}-${n}`, value: value.key, checked: chosen.has(value.key),
            onchange: () => {
              if (box.checked) chosen.add(value.key); else chosen.delete(value.key);
              set([...chosen]);
            },
          });
          return el("div", { class: "c-choice" }, [box, el("label", { for: `${id}-${n}`, text: value.name || value.key })]);
        }),
      ]);
    }
    let control;
    if (attribute.datatype === "singlevaluelist") {
      control = el("select", { onchange: () => set(control.value) }, [
        el("option", { value: "", text: t("c.choose") }),
        values.map((value) => el("option", { value: value.key, selected: value.key === answer, text: value.name || value.key })),
      ]);
    } else if (attribute.datatype === "text") {
      control = el("textarea", { rows: "3", oninput: () => set(control.value) });
      control.value = answer || "";
    } else {
      control = el("input", { type: attribute.datatype === "number" ? "number" : "text", step: attribute.datatype === "number" ? "any" : null, oninput: () => set(control.value) });
      control.value = answer ?? "";
    }
    control.id = id;
    control.dataset.question = attribute.code;
    if (required) control.setAttribute("aria-required", "true");
    return field(id, label, required, control);
  }

  function renderPhotos() {
    const input = el("input", {
      type: "file", id: "c-photos", accept: "image/jpeg,image/png,image/webp", multiple: true, class: "c-file",
      "aria-describedby": "c-photos-hint", disabled: draft.photos.length >= MAX_PHOTOS,
      onchange: () => addPhotos([...input.files]),
    });
    replace(photosBox,
      el("h2", { text: t("c.step.photos", { max: MAX_PHOTOS }) }),
      el("div", { class: "c-field" }, [
        el("label", { for: "c-photos", class: "c-button c-file-label", text: t("c.photos.add") }),
        input,
        el("p", { id: "c-photos-hint", class: "c-hint", text: t("c.photos.hint") }),
      ]),
      draft.photos.length ? el("ul", { class: "c-previews" }, draft.photos.map((item, index) => el("li", {}, [
        el("img", { src: item.url, alt: t("c.photos.preview", { n: index + 1, name: item.file.name }) }),
        el("button", {
          type: "button", class: "c-remove", "aria-label": t("c.photos.remove", { n: index + 1 }), text: "×",
          onclick: () => {
            URL.revokeObjectURL(item.url);
            draft.photos.splice(index, 1);
            renderPhotos();
            photosBox.querySelector("label.c-file-label")?.focus();
          },
        }),
      ]))) : null,
    );
  }

  function addPhotos(files) {
    view.message = null;
    for (const file of files) {
      if (!PHOTO_TYPES.has(file.type)) {
        view.message = t("c.photos.wrongType", { name: file.name });
        continue;
      }
      if (draft.photos.length >= MAX_PHOTOS) {
        view.message = t("c.photos.tooMany", { max: MAX_PHOTOS });
        break;
      }
      draft.photos.push({ file, url: URL.createObjectURL(file) });
    }
    renderPhotos();
    replace(alertSlot, view.message ? alertBox(view.message) : null);
  }

  function renderYou() {
    const name = el("input", { type: "text", id: "c-name", name: "name", autocomplete: "name", oninput: () => { draft.name = name.value; } });
    const email = el("input", { type: "email", id: "c-email", name: "email", autocomplete: "email", "aria-describedby": "c-you-hint", oninput: () => { draft.email = email.value; } });
    name.value = draft.name;
    email.value = draft.email;
    replace(youBox,
      el("h2", { text: t("c.step.you") }),
      el("p", { id: "c-you-hint", class: "c-hint", text: t("c.you.hint") }),
      field("c-name", t("c.name"), false, name),
      field("c-email", t("c.email"), false, email),
    );
  }

  // ---- checking, duplicates, sending ----

  /** The first thing missing, as [message, element to focus], or null when all is there. */
  function missing() {
    if (draft.lat === null) return [t("c.missing.place"), locateButton];
    const category = selectedCategory();
    if (!category) return [t("c.missing.category"), whatBox.querySelector("#c-category")];
    for (const [index, attribute] of (category.attributes || []).entries()) {
      const answer = draft.answers[attribute.code];
      const empty = answer === undefined || answer === null || String(answer).trim() === "" || (Array.isArray(answer) && !answer.length);
      if (attribute.required && empty) {
        const target = whatBox.querySelector(`#c-q-${index}`);
        return [t("c.missing.answer", { question: attribute.description || attribute.code }), target?.querySelector("input") || target];
      }
    }
    if (!draft.description.trim()) return [t("c.missing.description"), whatBox.querySelector("#c-description")];
    if (draft.email.trim() && !EMAIL.test(draft.email.trim())) return [t("c.invalid.email"), youBox.querySelector("#c-email")];
    return null;
  }

  async function proceed() {
    const problem = missing();
    if (problem) {
      view.message = problem[0];
      replace(alertSlot, alertBox(view.message));
      problem[1]?.focus();
      return;
    }
    view.message = null;
    setBusy(true);
    let nearby = [];
    try {
      nearby = await call("/nearby", { query: { category: draft.category, lat: draft.lat, long: draft.long, radius: NEARBY_RADIUS } });
    } catch {
      nearby = []; // no suggestions is no reason to keep a citizen from reporting
    }
    setBusy(false);
    if (Array.isArray(nearby) && nearby.length) {
      view.nearby = nearby;
      go("dupes");
    } else await send();
  }

  function setBusy(busy) {
    view.busy = busy;
    continueButton.disabled = busy;
    continueButton.textContent = busy ? t("c.sending") : t("c.continue");
    for (const button of dupesBox.querySelectorAll("button")) button.disabled = busy;
  }

  async function send() {
    const body = new FormData();
    body.set("category", draft.category);
    body.set("lat", String(draft.lat));
    body.set("long", String(draft.long));
    body.set("description", draft.description.trim());
    for (const [code, answer] of Object.entries(draft.answers)) {
      if (Array.isArray(answer)) for (const value of answer) body.append(`attribute[${code}][]`, value);
      else if (String(answer).trim() !== "") body.set(`attribute[${code}]`, String(answer).trim());
    }
    if (draft.name.trim()) body.set("name", draft.name.trim());
    if (draft.email.trim()) body.set("email", draft.email.trim());
    body.set("website", honeypot.value);
    for (const item of draft.photos) body.append("photo", item.file, item.file.name);
    setBusy(true);
    try {
      view.result = await call("/reports", { method: "POST", body });
      go("done");
    } catch (error) {
      view.message = error.message;
      go("form");
    } finally {
      setBusy(false);
    }
  }

  async function meToo(reference) {
    const body = new URLSearchParams();
    if (draft.email.trim()) body.set("email", draft.email.trim());
    if (draft.name.trim()) body.set("name", draft.name.trim());
    setBusy(true);
    try {
      view.result = await call(`/reports/${encodeURIComponent(reference)}/support`, { method: "POST", body });
      go("metoo");
    } catch (error) {
      replace(dupesBox.querySelector(".c-dupes-alert"), alertBox(error.message));
    } finally {
      setBusy(false);
    }
  }

  /** Show another stage and move the focus (and the reader) to its heading. */
  function go(stage) {
    view.stage = stage;
    render();
    window.scrollTo(0, 0);
    if (stage === "form") {
      map.invalidateSize();
      heading.focus();
    } else root.querySelector(`${stage === "dupes" ? ".c-dupes" : ".c-done"} h2`)?.focus();
  }

  function renderDupes() {
    replace(dupesBox,
      el("h2", { tabindex: "-1", text: t("c.dupes.title") }),
      el("p", { text: t("c.dupes.intro") }),
      el("ul", { class: "c-cards" }, view.nearby.map((report) => el("li", { class: "c-card", "data-reference": report.reference }, [
        photo(report.photo, t("c.photo.alt", { reference: report.reference })) || el("div", { class: "c-photo c-no-photo", text: t("c.photo.none") }),
        el("div", { class: "c-card-body" }, [
          el("div", { class: "c-card-head" }, [
            el("a", { href: trackPath(report.reference), class: "c-reference-small", text: report.reference }),
            stateBadge(report.state),
          ]),
          el("p", { class: report.description ? null : "c-hint", text: report.description || t("c.dupes.hidden") }),
          el("p", { class: "c-hint", text: [
            Number.isFinite(report.distance_m) ? t("c.dupes.distance", { metres: fmtNumber(Math.round(report.distance_m)) }) : null,
            supportersText(report.supporters),
          ].filter(Boolean).join(" · ") }),
          el("button", {
            type: "button", class: "c-button", "data-metoo": report.reference,
            "aria-label": t("c.dupes.metooOf", { reference: report.reference }), text: t("c.dupes.metoo"),
            onclick: () => meToo(report.reference),
          }),
        ]),
      ]))),
      el("div", { class: "c-dupes-alert", "aria-live": "assertive" }),
      el("div", { class: "c-row" }, [
        el("button", { type: "button", class: "c-button c-primary", "data-testid": "send-anyway", text: t("c.dupes.none"), onclick: send }),
        el("button", { type: "button", class: "c-button", text: t("c.dupes.back"), onclick: () => go("form") }),
      ]),
    );
  }

  function renderDone() {
    const result = view.result || {};
    replace(doneBox,
      el("h2", { tabindex: "-1", text: t("c.done.title") }),
      el("p", { class: "c-label", text: t("c.done.reference") }),
      el("p", { class: "c-reference", "data-testid": "reference", text: result.reference || "—" }),
      result.promise ? el("p", { class: "c-promise", "data-testid": "promise", text: result.promise }) : null,
      el("p", { text: t("c.done.keep") }),
      draft.email.trim() ? el("p", { text: t("c.done.email") }) : null,
      doneLinks(result.reference),
    );
  }

  function renderMeToo() {
    const result = view.result || {};
    replace(doneBox,
      el("h2", { tabindex: "-1", text: t("c.metoo.title") }),
      el("p", { class: "c-reference", "data-testid": "reference", text: result.reference || "—" }),
      el("p", { text: t("c.metoo.text", { reference: result.reference, count: fmtNumber(result.supporters) }) }),
      draft.email.trim() ? el("p", { text: t("c.done.email") }) : null,
      doneLinks(result.reference),
    );
  }

  function doneLinks(reference) {
    return el("div", { class: "c-row" }, [
      reference ? el("a", { class: "c-button c-primary", href: trackPath(reference), text: t("c.done.follow") }) : null,
      el("a", { class: "c-button", href: "/report/", text: t("c.done.another") }),
    ]);
  }

  render();
  loadCategories();
  return {
    /** After a language change: the categories' names and questions come again from the server. */
    render: () => {
      render();
      if (view.stage === "form") loadCategories();
    },
  };
}
