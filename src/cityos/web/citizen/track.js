/**
 * /report/<reference>: a report's public story, from GET /citizen/v1/reports/<reference>:
 * its state, department, dates, description (unless moderation hid it), photos, support, and
 * the timeline of state changes with their public notes. The server never sends the
 * reporter's contact here; nothing of it is asked for.
 */

import { t } from "../js/i18n.js";
import { el, fmtDate, fmtNumber, replace } from "../js/ui.js";
import { alertBox, call, photo, stateBadge, stateName, trackPath } from "./common.js";

export function mountTrack(root, reference) {
  const view = { story: null, message: null };

  async function load() {
    try {
      view.story = await call(`/reports/${encodeURIComponent(reference)}`);
      view.message = null;
    } catch (error) {
      view.story = null;
      view.message = error.status === 404 ? t("c.track.notFound", { reference }) : error.message;
    }
    render();
    root.dataset.ready = "true";
  }

  function lookup() {
    const input = el("input", { type: "text", id: "c-lookup", name: "reference", autocomplete: "off", spellcheck: "false", placeholder: "CQ-2026-000123" });
    return el("form", {
      class: "c-lookup",
      onsubmit: (event) => {
        event.preventDefault();
        const wanted = input.value.trim();
        if (wanted) location.assign(trackPath(wanted));
      },
    }, [
      el("label", { for: "c-lookup", text: t("c.track.lookup") }),
      el("div", { class: "c-row" }, [input, el("button", { type: "submit", class: "c-button", text: t("c.track.go") })]),
    ]);
  }

  function render() {
    const story = view.story;
    if (!story) {
      replace(root,
        el("h1", { text: t("c.title.track", { reference }) }),
        view.message ? alertBox(view.message) : el("p", { class: "c-hint", text: t("c.loading") }),
        view.message ? lookup() : null,
      );
      return;
    }
    const photos = (story.photos || []).map((url, index) => photo(url, t("c.photo.altN", { n: index + 1, reference: story.reference }))).filter(Boolean);
    const rows = [
      ["c.track.category", story.category_name || story.category],
      ["c.track.state", stateBadge(story.state)],
      ["c.track.department", story.department],
      ["c.track.created", story.created ? fmtDate(story.created) : null],
      ["c.track.deadline", story.deadline ? fmtDate(story.deadline) : null],
      ["c.track.support", fmtNumber(story.supporters ?? 0)],
    ].filter(([, value]) => value !== null && value !== undefined && value !== "");
    const timeline = [...(story.timeline || [])];
    replace(root,
      el("h1", { tabindex: "-1", text: t("c.title.track", { reference: story.reference || reference }) }),
      el("dl", { class: "c-facts" }, rows.map(([key, value]) => el("div", {}, [el("dt", { text: t(key) }), el("dd", {}, value)]))),
      el("h2", { text: t("c.track.description") }),
      story.description ? el("p", { class: "c-description", text: story.description }) : el("p", { class: "c-hint", text: t("c.track.hidden") }),
      photos.length ? [el("h2", { text: t("c.track.photos") }), el("div", { class: "c-gallery", "data-testid": "photos" }, photos)] : null,
      el("h2", { text: t("c.track.story") }),
      el("ol", { class: "c-timeline", "data-testid": "timeline" }, timeline.map((entry) => el("li", { "data-state": entry.state }, [
        el("div", { class: "c-timeline-head" }, [
          el("strong", { text: stateName(entry.state) }),
          el("time", { datetime: entry.at, text: fmtDate(entry.at) }),
        ]),
        entry.note ? el("p", { class: "c-note", text: entry.note }) : null,
      ]))),
    );
  }

  render();
  load();
  return { render: load };
}
