/**
 * The sign-in prompt: a modal dialog to paste an API key into, shown when the dashboard has
 * no key and the server wants one, or when a call answers 401 (a key revoked or expired).
 * The key is checked with the server (auth.signIn) before it is kept; a refused key leaves
 * the prompt open with the reason.
 */

import * as auth from "./auth.js";
import * as i18n from "./i18n.js";
import { el } from "./ui.js";

export const strings = {
  en: {
    "signin.title": "Sign in",
    "signin.intro": "This city's data need an API key. Paste the key you were given (it starts with cityos_), or open the dashboard link that “cityos demo” printed.",
    "signin.key": "API key",
    "signin.submit": "Sign in",
    "signin.checking": "Checking…",
    "signin.empty": "Paste a key first.",
    "signin.rejected": "This key was not accepted: it is unknown, revoked or expired.",
    "signin.expired": "The server no longer accepts your key (revoked or expired). Sign in again.",
    "signin.offline": "The server cannot be reached. Try again in a moment.",
    "signin.failed": "The server could not check the key (HTTP {status}).",
    "signin.kept": "The key stays in this browser tab only, until you sign out or close the tab.",
    "signin.signOut": "Sign out",
    "signin.as": "Signed in as {who}",
  },
  zh: {
    "signin.title": "登录",
    "signin.intro": "查看本城市数据需要 API 密钥。请粘贴您获得的密钥（以 cityos_ 开头），或打开 “cityos demo” 打印的仪表板链接。",
    "signin.key": "API 密钥",
    "signin.submit": "登录",
    "signin.checking": "正在验证…",
    "signin.empty": "请先粘贴密钥。",
    "signin.rejected": "此密钥未被接受：未知、已吊销或已过期。",
    "signin.expired": "服务器不再接受您的密钥（已吊销或已过期），请重新登录。",
    "signin.offline": "无法连接服务器，请稍后再试。",
    "signin.failed": "服务器无法验证此密钥（HTTP {status}）。",
    "signin.kept": "密钥仅保存在此浏览器标签页中，退出登录或关闭标签页后即清除。",
    "signin.signOut": "退出登录",
    "signin.as": "已登录：{who}",
  },
};

let open = null; // {dialog, done: Promise} while the prompt shows

/**
 * Show the prompt (once, however often it is asked for) until a key is accepted.
 * @param {{error?: string}} [options] error: a translation key shown at once (why the
 *   previous key no longer works)
 * @returns {Promise<void>} resolves when signed in
 */
export function prompt({ error } = {}) {
  if (open) {
    if (error) open.showError(error);
    return open.done;
  }
  const input = el("input", {
    id: "signin-key", type: "password", autocomplete: "off", spellcheck: "false",
    autocapitalize: "off", "aria-describedby": "signin-error",
  });
  const label = el("label", { for: "signin-key" });
  const title = el("h2", { id: "signin-title" });
  const intro = el("p", { class: "signin-intro" });
  const kept = el("p", { class: "signin-kept muted" });
  const message = el("p", { id: "signin-error", class: "note error", role: "alert" });
  const submit = el("button", { type: "submit", class: "primary" });
  const languages = el("div", { class: "lang-switch signin-lang", role: "group" },
    [["en", "EN", "en"], ["zh", "中文", "zh-CN"]].map(([lang, text, tag]) => el("button", {
      type: "button", lang: tag, "data-lang": lang, text, onclick: () => i18n.setLanguage(lang),
    })));
  const form = el("form", { class: "signin-form", novalidate: true }, [
    el("div", { class: "signin-head" }, [
      el("span", { class: "brand-mark", "aria-hidden": "true", text: "◎" }),
      el("strong", { text: "cityos" }),
      languages,
    ]),
    title, intro, label, input, message, submit, kept,
  ]);
  const dialog = el("dialog", { class: "signin", "aria-labelledby": "signin-title" }, form);
  let errorKey = error || null;
  let errorVars = {};

  function translate() {
    title.textContent = i18n.t("signin.title");
    intro.textContent = i18n.t("signin.intro");
    label.textContent = i18n.t("signin.key");
    submit.textContent = i18n.t(submit.disabled ? "signin.checking" : "signin.submit");
    kept.textContent = i18n.t("signin.kept");
    message.textContent = errorKey ? i18n.t(errorKey, errorVars) : "";
    message.hidden = !errorKey;
    input.setAttribute("aria-invalid", String(Boolean(errorKey)));
    languages.setAttribute("aria-label", i18n.t("shell.language"));
    for (const button of languages.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === i18n.language()));
    }
  }

  function showError(key, vars = {}) {
    errorKey = key;
    errorVars = vars;
    translate();
  }

  const stopLanguage = i18n.onChange(translate);
  // Nothing behind the prompt works without a key: Escape must not dismiss it.
  dialog.addEventListener("cancel", (event) => event.preventDefault());

  const done = new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      if (!input.value.trim()) {
        showError("signin.empty");
        input.focus();
        return;
      }
      submit.disabled = true;
      translate();
      const result = await auth.signIn(input.value);
      submit.disabled = false;
      if (result.ok) {
        stopLanguage();
        dialog.close();
        dialog.remove();
        open = null;
        resolve();
        return;
      }
      if (result.status === 401 || result.status === 403) showError("signin.rejected");
      else if (result.status === 0) showError("signin.offline");
      else showError("signin.failed", { status: result.status });
      input.select();
      input.focus();
    });
  });

  open = { dialog, done, showError };
  translate();
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  return done;
}

/** Whether the prompt is showing now. */
export function showing() {
  return open !== null;
}
