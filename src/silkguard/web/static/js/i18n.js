// Strings of every page in English and Simplified Chinese (static/i18n/<lang>.json).
// Elements carry data-i18n="key" (text), data-i18n-placeholder, data-i18n-aria or
// data-i18n-title; code calls t("key", {vars}). The choice is remembered in localStorage.

const STORE = "silkguard.lang";
export const LANGS = ["en", "zh"];
let lang = "en";
let strings = {};
let fallback = {};

export function currentLang() {
  return lang;
}

export async function loadLang(wanted) {
  const pick = LANGS.includes(wanted) ? wanted : "en";
  const load = async (code) => {
    const res = await fetch(`/static/i18n/${code}.json`, { cache: "no-cache" });
    if (!res.ok) throw new Error(`strings for ${code}: HTTP ${res.status}`);
    return res.json();
  };
  fallback = Object.keys(fallback).length ? fallback : await load("en");
  strings = pick === "en" ? fallback : await load(pick);
  lang = pick;
  localStorage.setItem(STORE, pick);
  document.documentElement.lang = pick === "zh" ? "zh-Hans" : "en";
}

export function savedLang() {
  const saved = localStorage.getItem(STORE);
  if (saved) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function t(key, vars = {}) {
  let text = strings[key] ?? fallback[key];
  if (text === undefined) {
    console.warn(`missing string ${key}`);
    text = key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

// A vocabulary value (attack type, state, severity...) shown in the current language:
// the key is "<vocab>.<value>", and an unknown value is shown as it is.
export function tv(vocab, value) {
  if (value === null || value === undefined || value === "") return "—";
  const key = `${vocab}.${value}`;
  return (strings[key] ?? fallback[key]) !== undefined ? t(key) : String(value);
}

export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]"))
    el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria]"))
    el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll("[data-i18n-title]"))
    el.title = t(el.dataset.i18nTitle);
}
