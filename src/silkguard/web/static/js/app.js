// The dashboard shell: sign-in, navigation by URL hash, the language switch and the
// Pakistan-time clock. Each page is a module exporting render(main, ctx) and optionally
// leave(); pages are rendered again when the language changes.
import { ApiError, api, login, logout, tokens } from "./api.js";
import { h } from "./dom.js";
import { applyI18n, currentLang, loadLang, savedLang, t } from "./i18n.js";

const PAGES = {
  map: () => import("./pages/map.js"),
  incidents: () => import("./pages/incidents.js"),
  review: () => import("./pages/review.js"),
  movements: () => import("./pages/movements.js"),
  alerts: () => import("./pages/alerts.js"),
  plans: () => import("./pages/plans.js"),
  me: () => import("./pages/me.js"),
  reports: () => import("./pages/reports.js"),
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const logoutButton = document.getElementById("logout");
let current = null;
let visit = null;
let me = null;

export function status(message, kind = "info") {
  const box = document.getElementById("status");
  box.textContent = message || "";
  box.dataset.kind = kind;
}

export function showError(err) {
  const detail = err instanceof ApiError ? err.message : String(err?.message || err);
  status(`${t("error.prefix")} ${detail}`, "error");
}

function tick() {
  const clock = document.getElementById("clock");
  const now = new Date();
  clock.dateTime = now.toISOString();
  clock.textContent = new Intl.DateTimeFormat(currentLang() === "zh" ? "zh-CN" : "en-GB", {
    timeZone: "Asia/Karachi", hour: "2-digit", minute: "2-digit", hour12: false,
    day: "2-digit", month: "short",
  }).format(now);
}

function renderLogin() {
  nav.hidden = true;
  logoutButton.hidden = true;
  main.replaceChildren();
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form.card.login", { "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", dataset: { i18n: "auth.title" } }),
    h("label", { for: "username", dataset: { i18n: "auth.username" } }), user,
    h("label", { for: "password", dataset: { i18n: "auth.password" } }), pass,
    h("button", { type: "submit", dataset: { i18n: "auth.signin" } }),
    h("p.hint", { dataset: { i18n: "auth.hint" } }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await login(user.value.trim(), pass.value);
      status("");
      await start();
    } catch (err) {
      showError(err);
    }
  });
  main.append(form);
  applyI18n(main);
  user.focus();
}

async function route() {
  if (!tokens()) return renderLogin();
  const name = (location.hash.replace(/^#\/?/, "").split("/")[0] || defaultPage());
  const load = PAGES[name] || PAGES.map;
  if (current?.leave) current.leave();
  for (const a of nav.querySelectorAll("a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${name}`);
  }
  if (visit) visit.abort();
  const mine = new AbortController();
  visit = mine;
  status("");
  // Each visit renders into its own view: a page that was left while it still loaded writes
  // into a view that is no longer on screen, never into the next page (the view is attached
  // at once because the maps need their size).
  const view = h("div.view", {}, h("p.loading", {}, t("common.loading")));
  main.replaceChildren(view);
  const ctx = {
    me, lang: currentLang(), param: location.hash.split("/")[2], signal: mine.signal,
    status: (...a) => { if (!mine.signal.aborted) status(...a); },
    showError: (err) => { if (!mine.signal.aborted) showError(err); },
  };
  try {
    const page = await load();
    if (mine.signal.aborted) return;
    current = page;
    view.replaceChildren();
    await current.render(view, ctx);
    if (!mine.signal.aborted) {
      applyI18n(view);
      // keyboard and screen-reader users start on the new page, not where the old one was
      if (!main.contains(document.activeElement) || document.activeElement === document.body) main.focus({ preventScroll: true });
    }
  } catch (err) {
    ctx.showError(err);
  }
}

function defaultPage() {
  if (!me || me.role === "staff") return "me";
  return "map";
}

async function start() {
  try {
    me = await api("/auth/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return renderLogin();
    throw err;
  }
  nav.hidden = false;
  logoutButton.hidden = false;
  for (const a of nav.querySelectorAll("a")) {
    const needs = { "#/incidents": "incident.read", "#/map": "incident.read", "#/review": "incident.review",
      "#/movements": "movement.read", "#/alerts": "alert.read", "#/plans": "plan.read", "#/reports": "report.read" }[a.getAttribute("href")];
    a.hidden = Boolean(needs && !me.permissions.includes(needs));
  }
  await route();
}

async function main_() {
  const select = document.getElementById("lang");
  await loadLang(savedLang());
  select.value = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  applyI18n(document);
  select.addEventListener("change", async () => {
    await loadLang(select.value);
    applyI18n(document);
    tick();
    if (tokens()) await route();
    else renderLogin();
  });
  logoutButton.addEventListener("click", async () => {
    await logout();
    location.hash = "";
    renderLogin();
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("silkguard:signed-out", renderLogin);
  tick();
  setInterval(tick, 15000);
  if (!window.L) status(t("error.vendor"), "error");
  if (tokens()) await start();
  else renderLogin();
}

main_().catch(showError);
