// Alerts and roll-call: raise an alert by drawing its area on the map (click the centre, then
// click again to set the radius), then watch deliveries and answers arrive live (server-sent
// events) until nobody is unaccounted; close the roll-call to record who was never reached.
import { api, streamEvents } from "../api.js";
import { addBaseLayers } from "../basemap.js";
import { h, pkTime } from "../dom.js";
import { t, tv } from "../i18n.js";

const SEVERITIES = ["critical", "high", "moderate", "low"];
const CATEGORIES = ["security", "safety", "rescue", "transport", "natural_hazard", "health", "fire", "weather",
  "infrastructure", "environment", "cbrne", "other"];
let map = null;
let stream = null;

export function leave() {
  if (stream) stream.abort();
  stream = null;
  if (map) map.remove();
  map = null;
}

export async function render(main, ctx) {
  if (ctx.param) return renderBoard(main, ctx, ctx.param);
  main.append(h("h1", {}, t("alerts.title")));
  if (ctx.me.permissions.includes("alert.raise")) main.append(await raiseForm(ctx));
  const rows = await api("/alerts");
  main.append(h("h2", {}, t("alerts.recent")),
    h("table.grid", { id: "alert-table" },
      h("thead", {}, h("tr", {}, ["alerts.raised", "alerts.severity", "alerts.headline", "alerts.status", "alerts.accounted_after"]
        .map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows.map((a) => h("tr", {},
        h("td", {}, h("a", { href: `#/alerts/${a.id}` }, pkTime(a.created_at))),
        h("td", {}, tv("severity", a.severity)),
        h("td", {}, (a.messages[ctx.lang] || a.messages.en || {}).headline || ""),
        h("td", {}, tv("alert_status", a.status)),
        h("td", {}, a.accounted_after_s == null ? "—" : `${Math.round(a.accounted_after_s)} s`))))));
  if (!rows.length) main.append(h("p.empty", {}, t("alerts.none")));
}

async function raiseForm(ctx) {
  const box = h("div.map", { id: "alert-map", role: "application", "aria-label": t("alerts.draw_hint") });
  const lat = h("input", { id: "a-lat", type: "number", step: "0.0001", required: true });
  const lon = h("input", { id: "a-lon", type: "number", step: "0.0001", required: true });
  const radius = h("input", { id: "a-radius", type: "number", min: 0.1, max: 500, step: 0.1, value: 5, required: true });
  const severity = h("select", { id: "a-severity" }, SEVERITIES.map((s) => h("option", { value: s, selected: s === "high" }, tv("severity", s))));
  const category = h("select", { id: "a-category" }, CATEGORIES.map((c) => h("option", { value: c }, tv("category", c))));
  const enHead = h("input", { id: "a-en-headline", required: true, maxlength: 160 });
  const enBody = h("textarea", { id: "a-en-body", required: true, rows: 2 });
  const zhHead = h("input", { id: "a-zh-headline", required: true, maxlength: 160 });
  const zhBody = h("textarea", { id: "a-zh-body", required: true, rows: 2 });
  const drill = h("input", { id: "a-drill", type: "checkbox" });
  const sites = await api("/sites").catch(() => []);
  const site = h("select", { id: "a-site" }, h("option", { value: "" }, t("alerts.pick_site")),
    sites.map((s) => h("option", { value: s.id }, s.name)));
  const form = h("form.card", { id: "alert-form" }, h("h2", {}, t("alerts.raise")),
    h("p.hint", {}, t("alerts.draw_hint")), box,
    h("div.row", {}, h("label", {}, t("alerts.over_site"), site), h("label", {}, t("alerts.lat"), lat),
      h("label", {}, t("alerts.lon"), lon), h("label", {}, t("alerts.radius_km"), radius)),
    h("div.row", {}, h("label", {}, t("alerts.severity"), severity), h("label", {}, t("alerts.category"), category),
      h("label.check", {}, drill, t("alerts.drill"))),
    h("div.row", {}, h("label", {}, t("alerts.headline_en"), enHead), h("label", {}, t("alerts.body_en"), enBody)),
    h("div.row", {}, h("label", {}, t("alerts.headline_zh"), zhHead), h("label", {}, t("alerts.body_zh"), zhBody)),
    h("button", { type: "submit" }, t("alerts.send")));

  let circle = null;
  let centre = null;
  const draw = () => {
    if (!map || lat.value === "" || lon.value === "") return;
    const c = [Number(lat.value), Number(lon.value)];
    if (circle) circle.remove();
    circle = L.circle(c, { radius: Number(radius.value) * 1000, color: "#ff6f00" }).addTo(map);
  };
  setTimeout(() => {
    if (!window.L) return;
    map = L.map(box, { preferCanvas: true, minZoom: 4, maxZoom: 15 }).setView([30.5, 69.5], 5);
    addBaseLayers(map).catch(ctx.showError);
    for (const s of sites) L.circleMarker([s.latitude, s.longitude], { radius: 5, color: "#0d47a1" }).bindTooltip(s.name).addTo(map);
    map.on("click", (ev) => {
      if (!centre) {
        centre = ev.latlng;
        lat.value = centre.lat.toFixed(4);
        lon.value = centre.lng.toFixed(4);
      } else {
        radius.value = Math.max(0.1, map.distance(centre, ev.latlng) / 1000).toFixed(1);
        centre = null;
      }
      draw();
    });
  }, 0);
  for (const input of [lat, lon, radius]) input.addEventListener("input", draw);
  site.addEventListener("change", () => {
    const s = sites.find((x) => x.id === site.value);
    if (!s) return;
    lat.value = s.latitude.toFixed(4);
    lon.value = s.longitude.toFixed(4);
    radius.value = Math.max(1, (s.perimeter_radius_m || 1000) / 1000 + 1).toFixed(1);
    draw();
    if (map) map.setView([s.latitude, s.longitude], 11);
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      area: { type: "Circle", center: [Number(lon.value), Number(lat.value)], radius_km: Number(radius.value) },
      severity: severity.value, category: category.value, drill: drill.checked,
      messages: { en: { headline: enHead.value, body: enBody.value }, zh: { headline: zhHead.value, body: zhBody.value } },
    };
    try {
      const alert = await api("/alerts", { method: "POST", body });
      location.hash = `#/alerts/${alert.id}`;
    } catch (err) {
      ctx.showError(err);
    }
  });
  return form;
}

async function renderBoard(main, ctx, id) {
  const alert = await api(`/alerts/${id}`);
  const msg = alert.messages[ctx.lang] || alert.messages.en || {};
  const names = {};
  if (ctx.me.permissions.includes("personal_data.read")) {
    for (const p of await api("/people").catch(() => [])) names[p.id] = p.name;
  }
  const counts = h("div.counts", { id: "rollcall-counts" });
  const lists = h("div.lists", { id: "rollcall-lists" });
  const deliveries = h("p", { id: "deliveries" });
  const live = h("p.live", { id: "live", "aria-live": "polite" });
  const closeButton = h("button.danger", { type: "button", id: "close-alert" }, t("alerts.close"));
  main.append(h("p", {}, h("a", { href: "#/alerts" }, `← ${t("alerts.back")}`)),
    h("h1", {}, msg.headline || t("alerts.title")),
    h("p", {}, `${tv("severity", alert.severity)} · ${tv("category", alert.category)} · ${t("alerts.raised")} ${pkTime(alert.created_at)}`,
      alert.drill ? h("span.badge", {}, t("alerts.drill")) : null),
    h("p", {}, msg.body || ""), counts, lists, h("h2", {}, t("alerts.deliveries")), deliveries, live);
  if (ctx.me.permissions.includes("alert.raise") && alert.status === "active") main.append(closeButton);
  const name = (pid) => names[pid] || `${t("alerts.person")} ${pid.slice(0, 8)}`;
  const show = (b) => {
    const unaccounted = b.unaccounted.length;
    counts.dataset.unaccounted = String(unaccounted);
    counts.dataset.total = String(b.total);
    counts.replaceChildren(
      h("div.count", { dataset: { kind: "total" } }, h("strong", {}, String(b.total)), h("span", {}, t("rollcall.total"))),
      h("div.count.ok", { dataset: { kind: "accounted" } }, h("strong", {}, String(b.accounted)), h("span", {}, t("rollcall.accounted"))),
      h("div.count.warn", { dataset: { kind: "unaccounted" } }, h("strong", { id: "unaccounted-count" }, String(unaccounted)), h("span", {}, t("rollcall.unaccounted"))),
      h("div.count.bad", { dataset: { kind: "need_help" } }, h("strong", {}, String(b.need_help.length)), h("span", {}, t("rollcall.need_help"))),
      h("div.count", { dataset: { kind: "never_reached" } }, h("strong", {}, String(b.never_reached.length)), h("span", {}, t("rollcall.never_reached"))));
    lists.replaceChildren(
      h("section", {}, h("h3", {}, t("rollcall.need_help")), h("ul", {}, b.need_help.map((p) => h("li.bad", {}, name(p))))),
      h("section", {}, h("h3", {}, t("rollcall.unaccounted")), h("ul", { id: "unaccounted-list" }, b.unaccounted.map((p) => h("li", {}, name(p))))),
      h("section", {}, h("h3", {}, t("rollcall.safe")), h("ul", {}, b.safe.map((p) => h("li.ok", {}, name(p))))));
    deliveries.replaceChildren(Object.entries(b.deliveries).map(([k, v]) => h("span.pill", {}, `${tv("delivery", k)}: ${v}`)));
    live.textContent = t("rollcall.updated", { time: pkTime(new Date().toISOString(), false) });
    if (b.accounted_after_s != null) live.textContent += ` · ${t("rollcall.all_accounted", { s: Math.round(b.accounted_after_s) })}`;
  };
  show(await api(`/alerts/${id}/board`));
  closeButton.addEventListener("click", () => api(`/alerts/${id}/close`, { method: "POST" })
    .then((b) => { show(b); closeButton.remove(); }).catch(ctx.showError));
  if (alert.status === "active" && !ctx.signal.aborted) {
    stream = new AbortController();
    const own = stream;
    ctx.signal.addEventListener("abort", () => own.abort()); // the visit ended: stop following
    const follow = async () => {
      while (!own.signal.aborted) {
        try {
          await streamEvents(`/alerts/${id}/events?poll_s=1`, (name, data) => { if (name === "board") show(data); }, own.signal);
        } catch (err) {
          if (own.signal.aborted) return;
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    };
    follow();
  }
}
