// The situation map: outlines and corridor roads (shipped data), incidents (clustered,
// filterable), the risk layer, sites with threat level and headcount, active movements on
// their routes and alert areas. Everything comes from this server; there are no tiles.
import { api } from "../api.js";
import { LEVEL_COLOURS, h, pkDate, pkTime } from "../dom.js";
import { t, tv } from "../i18n.js";

export const ATTACK_TYPES = ["bombing", "ied", "vbied", "suicide_bombing", "suicide_vbied", "grenade", "rocket",
  "shooting", "armed_assault", "assassination", "kidnapping", "hostage_barricade", "hijacking", "sabotage",
  "unarmed_assault", "plot_foiled", "other", "unknown"];
export const PROVINCES = ["Balochistan", "Khyber Pakhtunkhwa", "Punjab", "Sindh", "Gilgit-Baltistan",
  "Azad Jammu and Kashmir", "Islamabad Capital Territory"];
const ACTIVE_MOVEMENTS = ["approved", "under_way", "overdue"];
let map = null;

export function leave() {
  if (map) map.remove();
  map = null;
}

export async function allIncidents(query) {
  const features = [];
  let cursor = null;
  do {
    const page = await api("/incidents", { query: { ...query, format: "geojson", limit: 500, cursor }, accept: "application/geo+json" });
    features.push(...page.features);
    cursor = page.next_cursor || null;
  } while (cursor && features.length < 5000);
  return features;
}

function incidentPopup(p) {
  return h("div.popup",
    h("strong", {}, `${pkDate(p.occurred_at)} · ${tv("attack", p.attack_type)}`),
    h("div", {}, [p.place, p.district, p.province].filter(Boolean).join(", ")),
    h("div", {}, `${t("incident.killed")}: ${p.killed ?? "?"} · ${t("incident.injured")}: ${p.injured ?? "?"}`),
    h("div", {}, `${t("incident.target")}: ${tv("target", p.target_type)}`),
    h("p", {}, p.summary || ""),
    h("a", { href: `#/incidents/${p.id}` }, t("incident.open")));
}

function riskReason(p) {
  return t("risk.reason", { level: p.level, name: tv("level", p.level_name), ratio: Number(p.ratio_corridor).toFixed(1) });
}

export async function render(main, ctx) {
  const since = h("input", { type: "date", id: "f-since" });
  const until = h("input", { type: "date", id: "f-until" });
  const attack = h("select", { id: "f-attack" }, h("option", { value: "" }, t("filter.any")),
    ATTACK_TYPES.map((v) => h("option", { value: v }, tv("attack", v))));
  const province = h("select", { id: "f-province" }, h("option", { value: "" }, t("filter.any")),
    PROVINCES.map((v) => h("option", { value: v }, v)));
  const count = h("span.count", { id: "incident-count", "aria-live": "polite" });
  const apply = h("button", { type: "submit" }, t("filter.apply"));
  const form = h("form.filters", { "aria-label": t("filter.label") },
    h("label", {}, t("filter.since"), since), h("label", {}, t("filter.until"), until),
    h("label", {}, t("filter.attack"), attack), h("label", {}, t("filter.province"), province), apply, count);
  const box = h("div.map", { id: "map", role: "region", "aria-label": t("map.label") });
  const legend = h("div.legend", {},
    h("span", {}, t("map.levels")),
    [1, 2, 3, 4, 5, 6].map((l) => h("span.swatch", { style: `background:${LEVEL_COLOURS[l]}` }, String(l))),
    h("small", {}, t("map.outlines_note")));
  main.append(h("h1", {}, t("map.title")), form, box, legend);

  if (!window.L) throw new Error(t("error.vendor"));
  const own = L.map(box, { preferCanvas: true, zoomSnap: 0.5, minZoom: 4, maxZoom: 15 }).setView([30.5, 69.5], 5.5);
  map = own;
  const gone = () => ctx.signal.aborted || map !== own;
  map.attributionControl.addAttribution("Natural Earth · silkguard");
  const outlines = await api("/map/outlines", { accept: "application/geo+json" });
  const roadData = await api("/map/roads", { accept: "application/geo+json" });
  if (gone()) return;
  const style = { country: { color: "#263238", weight: 2, fill: false },
    province: { color: "#37474f", weight: 1.4, fill: false },
    district: { color: "#90a4ae", weight: 0.5, fill: false, dashArray: "2 3" } };
  const provinces = L.geoJSON(outlines, { filter: (f) => f.properties.kind !== "district", style: (f) => style[f.properties.kind] });
  const districts = L.geoJSON(outlines, { filter: (f) => f.properties.kind === "district", style: () => style.district,
    onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.name} (${f.properties.province})`, { sticky: true }) });
  const roads = L.geoJSON(roadData, {
    style: (f) => ({ color: f.properties.class === "motorway" ? "#1565c0" : "#5d4037", weight: 2.5 }),
    filter: (f) => f.properties.kind === "road",
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name, { sticky: true }),
  });
  provinces.addTo(map);
  roads.addTo(map);
  box.dataset.outlines = String(provinces.getLayers().length);
  box.dataset.roads = String(roads.getLayers().length);
  const incidents = L.markerClusterGroup({ maxClusterRadius: 40 });
  incidents.addTo(map);
  const risk = L.layerGroup().addTo(map);
  const sites = L.layerGroup().addTo(map);
  const movements = L.layerGroup().addTo(map);
  const alerts = L.layerGroup().addTo(map);
  L.control.layers(null, {
    [t("layer.provinces")]: provinces, [t("layer.districts")]: districts, [t("layer.roads")]: roads,
    [t("layer.incidents")]: incidents, [t("layer.risk")]: risk, [t("layer.sites")]: sites,
    [t("layer.movements")]: movements, [t("layer.alerts")]: alerts,
  }, { collapsed: false }).addTo(map);

  async function loadIncidents() {
    const query = { since: since.value ? `${since.value}T00:00:00+05:00` : null,
      until: until.value ? `${until.value}T23:59:59+05:00` : null, attack_type: attack.value, province: province.value };
    const features = await allIncidents(query);
    if (gone()) return;
    incidents.clearLayers();
    for (const f of features) {
      const [lon, lat] = f.geometry.coordinates;
      const marker = L.circleMarker([lat, lon], { radius: 6, color: "#b71c1c", fillColor: "#e53935", fillOpacity: 0.8, weight: 1 });
      marker.bindPopup(() => incidentPopup(f.properties));
      marker.feature = f;
      incidents.addLayer(marker);
    }
    count.textContent = t("map.incident_count", { n: features.length });
    box.dataset.incidents = String(features.length);
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); loadIncidents().catch(ctx.showError); });
  await loadIncidents();

  const perms = ctx.me.permissions;
  const jobs = [];
  if (perms.includes("risk.read")) {
    jobs.push(api("/risk/surface", { query: { min_level: 3 }, accept: "application/geo+json" }).then((fc) => {
      if (gone()) return;
      L.geoJSON(fc, {
        style: (f) => ({ color: LEVEL_COLOURS[f.properties.level], weight: 0, fillOpacity: 0.35 }),
        onEachFeature: (f, layer) => layer.bindTooltip(riskReason(f.properties), { sticky: true }),
      }).addTo(risk);
    }));
  }
  if (perms.includes("site.read")) {
    jobs.push(Promise.all([api("/sites"), perms.includes("risk.read") ? api("/risk/sites").catch(() => []) : []]).then(([rows, levels]) => {
      if (gone()) return;
      const bySite = Object.fromEntries(levels.map((l) => [l.site_id, l]));
      for (const s of rows) {
        const lvl = bySite[s.id];
        const marker = L.circleMarker([s.latitude, s.longitude], { radius: 8, weight: 2, color: "#0d47a1",
          fillColor: LEVEL_COLOURS[lvl?.level ?? 0], fillOpacity: 0.9 });
        marker.bindPopup(h("div.popup", h("strong", {}, s.name),
          h("div", {}, `${t("site.level")}: ${lvl ? lvl.level : "—"} · ${t("site.headcount")}: ${s.headcount ?? "—"}`),
          h("div", {}, lvl ? lvl.reason : "")));
        marker.bindTooltip(s.name);
        sites.addLayer(marker);
      }
    }));
  }
  if (perms.includes("movement.read")) {
    jobs.push(api("/movements", { query: { limit: 100 } }).then(async (rows) => {
      const active = rows.filter((m) => ACTIVE_MOVEMENTS.includes(m.state)).slice(0, 25);
      for (const m of active) {
        const detail = await api(`/movements/${m.id}`);
        if (gone()) return;
        const line = (detail.route?.coordinates || []).map(([lon, lat]) => [lat, lon]);
        const colour = m.state === "overdue" ? "#d50000" : m.state === "under_way" ? "#2962ff" : "#00897b";
        L.polyline(line, { color: colour, weight: 5, opacity: 0.8 })
          .bindTooltip(`${m.origin_label} → ${m.destination_label}: ${tv("state", m.state)}`)
          .addTo(movements);
      }
    }));
  }
  if (perms.includes("alert.read")) {
    jobs.push(api("/alerts", { query: { status: "active" } }).then((rows) => {
      if (gone()) return;
      for (const a of rows) {
        const msg = a.messages[ctx.lang] || a.messages.en || {};
        const label = `${tv("severity", a.severity)}: ${msg.headline || ""}`;
        const shape = a.area.type === "Circle"
          ? L.circle([a.area.center[1], a.area.center[0]], { radius: a.area.radius_km * 1000 })
          : L.geoJSON(a.area);
        shape.setStyle({ color: "#ff6f00", weight: 2, fillOpacity: 0.15 });
        shape.bindTooltip(label).addTo(alerts);
      }
    }));
  }
  const outcomes = await Promise.allSettled(jobs);
  if (gone()) return;
  for (const outcome of outcomes) {
    if (outcome.status === "rejected") ctx.showError(outcome.reason);
  }
  box.dataset.ready = "true";
  ctx.status(t("map.updated", { time: pkTime(new Date().toISOString(), false) }));
}
