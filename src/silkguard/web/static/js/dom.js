// Small DOM helpers shared by the pages.
import { currentLang } from "./i18n.js";

// h("tag.class", {attrs}, ...children): strings become text nodes (never HTML).
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const PK = "Asia/Karachi";

// A time in Pakistan Standard Time, as people there read it.
export function pkTime(iso, withDate = true) {
  if (!iso) return "—";
  const d = new Date(iso);
  const opts = withDate
    ? { timeZone: PK, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false }
    : { timeZone: PK, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  return new Intl.DateTimeFormat(currentLang() === "zh" ? "zh-CN" : "en-GB", opts).format(d);
}

export function pkDate(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat("en-CA", { timeZone: PK, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

// "YYYY-MM-DDTHH:MM" in Pakistan time -> ISO with the +05:00 offset (PKT has no DST).
export function fromPkInput(value) {
  return value ? `${value}:00+05:00` : null;
}

export function pkInputValue(date) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: PK, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  }).formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour") === "24" ? "00" : get("hour")}:${get("minute")}`;
}

export const LEVEL_COLOURS = ["#9e9e9e", "#2e7d32", "#9ccc65", "#fdd835", "#fb8c00", "#e53935", "#6a1b9a"];

export function levelBadge(level) {
  return h("span.level", { dataset: { level: String(level ?? 0) }, style: `background:${LEVEL_COLOURS[level ?? 0]}` }, String(level ?? "—"));
}
