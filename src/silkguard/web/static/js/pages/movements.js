// Movement control: the board (counts per state, overdue highlighted), requesting a movement
// (the proposed route with its risk, the rules that fired and the measures they require),
// approving or rejecting with the fired rules in view, and the journey itself: start,
// check in, arrive.
import { api } from "../api.js";
import { addBaseLayers } from "../basemap.js";
import { LEVEL_COLOURS, fromPkInput, h, levelBadge, pkInputValue, pkTime } from "../dom.js";
import { t, tv } from "../i18n.js";

const MEASURES = ["police_escort", "military_escort", "armoured_vehicles", "tracker", "satellite_phone", "advance_recce",
  "close_protection", "convoy", "medic"];
const STATES = ["submitted", "approved", "under_way", "overdue", "draft", "rejected", "arrived", "incident", "cancelled"];
let miniMap = null;
let optionsMap = null;

export function leave() {
  if (miniMap) miniMap.remove();
  miniMap = null;
  if (optionsMap) optionsMap.remove();
  optionsMap = null;
}

export async function render(main, ctx) {
  if (ctx.param) return renderDetail(main, ctx, ctx.param);
  const perms = ctx.me.permissions;
  main.append(h("h1", {}, t("movements.title")));
  const board = await api("/movements/board");
  main.append(h("div.counts", { id: "movement-counts" }, STATES.map((s) =>
    h("div.count", { dataset: { state: s, n: String(board.counts[s] || 0) } }, h("strong", {}, String(board.counts[s] || 0)), h("span", {}, tv("state", s))))));
  if (board.overdue.length) {
    main.append(h("section.overdue", { role: "alert" }, h("h2", {}, t("movements.overdue", { n: board.overdue.length })),
      h("ul", {}, board.overdue.map((m) => h("li", {}, h("a", { href: `#/movements/${m.id}` },
        `${m.origin_label} → ${m.destination_label} · ${t("movements.due")} ${pkTime(m.planned_arrival)}`))))));
  }
  if (perms.includes("movement.request")) main.append(requestForm(ctx));
  main.append(await patternsSection());
  const rows = await api("/movements", { query: { limit: 100 } });
  main.append(h("h2", {}, t("movements.list")),
    h("table.grid", { id: "movement-table" },
      h("thead", {}, h("tr", {}, ["movements.route", "movements.departure", "movements.arrival", "movements.level",
        "movements.state", "movements.decision"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows.map((m) => h("tr", { class: m.state === "overdue" ? "is-overdue" : "" },
        h("td", {}, h("a", { href: `#/movements/${m.id}` }, `${m.origin_label} → ${m.destination_label}`)),
        h("td", {}, pkTime(m.departure_start)), h("td", {}, pkTime(m.planned_arrival)),
        h("td", {}, levelBadge(m.max_level)), h("td", {}, tv("state", m.state)),
        h("td", {}, tv("decision", m.decision_status)))))));
}

function requestForm(ctx) {
  const now = new Date(Date.now() + 24 * 3600 * 1000);
  now.setUTCHours(3, 0, 0, 0); // 08:00 Pakistan time tomorrow
  const origin = h("input", { id: "m-origin", required: true, list: "towns", placeholder: "Gilgit" });
  const destination = h("input", { id: "m-destination", required: true, list: "towns", placeholder: "Sost" });
  const via = h("input", { id: "m-via", placeholder: t("movements.via_hint") });
  const departure = h("input", { id: "m-departure", type: "datetime-local", required: true, value: pkInputValue(now) });
  const arrival = h("input", { id: "m-arrival", type: "datetime-local", required: true, value: pkInputValue(new Date(now.getTime() + 8 * 3600 * 1000)) });
  const vehicles = h("input", { id: "m-vehicles", type: "number", min: 1, max: 100, value: 2 });
  const party = h("input", { id: "m-party", type: "number", min: 1, max: 500, value: 3 });
  const purpose = h("input", { id: "m-purpose", placeholder: t("movements.purpose_hint") });
  // active alert areas (a fresh incident, a site under threat) can be kept out of
  const alertAreas = [];
  const avoidAlerts = h("input", { type: "checkbox", id: "m-avoid-alerts" });
  const avoidLabel = h("label.check", { hidden: true }, avoidAlerts, h("span", { id: "m-avoid-label" }));
  if (ctx.me.permissions.includes("alert.read")) {
    api("/alerts", { query: { status: "active" } }).then((rows) => {
      alertAreas.push(...rows.map((a) => areaPolygon(a.area)));
      avoidLabel.querySelector("span").textContent = t("movements.avoid_alerts", { n: alertAreas.length });
      avoidLabel.hidden = !alertAreas.length;
    }).catch(() => {});
  }
  const compare = h("button", { type: "button", id: "compare-routes" }, t("movements.compare"));
  const options = h("div", { id: "route-options" });
  const form = h("form.card", { id: "movement-request" }, h("h2", {}, t("movements.request")),
    h("div.row", {}, h("label", {}, t("movements.origin"), origin), h("label", {}, t("movements.destination"), destination),
      h("label", {}, t("movements.via"), via)),
    h("div.row", {}, h("label", {}, t("movements.departure_pkt"), departure), h("label", {}, t("movements.arrival_pkt"), arrival)),
    h("div.row", {}, h("label", {}, t("movements.vehicles"), vehicles), h("label", {}, t("movements.party"), party),
      h("label", {}, t("movements.purpose"), purpose)),
    h("div.row", {}, avoidLabel), h("div.row", {}, compare, h("button", { type: "submit" }, t("movements.propose"))), options);
  const trip = () => ({
    origin: origin.value.trim(), destination: destination.value.trim(),
    via: via.value.split(";").map((s) => s.trim()).filter(Boolean),
    departure: fromPkInput(departure.value), arrival: fromPkInput(arrival.value),
    vehicles: Number(vehicles.value), party: Number(party.value),
    avoid: avoidAlerts.checked ? alertAreas : [],
  });
  // the inputs changed since the options were shown: the ranks no longer apply
  form.addEventListener("input", (ev) => { if (!options.contains(ev.target)) clearOptions(options); });
  compare.addEventListener("click", async () => {
    if (!form.reportValidity()) return;
    try {
      const found = await api("/movement-routes", { method: "POST", body: { ...trip(), alternatives: 3 } });
      showOptions(options, found);
    } catch (err) {
      ctx.showError(err);
    }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = trip();
    if (purpose.value.trim()) body.purpose = purpose.value.trim();
    const picked = options.querySelector("input[name=route]:checked");
    if (picked) body.route = Number(picked.value);
    try {
      const m = await api("/movements", { method: "POST", body });
      location.hash = `#/movements/${m.id}`;
    } catch (err) {
      ctx.showError(err);
    }
  });
  return form;
}

const OPTION_COLOURS = ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#558b2f"];

function clearOptions(box) {
  if (optionsMap) optionsMap.remove();
  optionsMap = null;
  box.replaceChildren();
}

// The proposed routes side by side: time, distance, highest threat level, what the policy
// would decide and require; the chosen one (the recommended one unless changed) is requested.
function showOptions(box, found) {
  clearOptions(box);
  box.dataset.avoided = String(found.options[0]?.route.avoided_areas ?? 0);
  const rows = found.options.map((o) => {
    const d = o.decision;
    const radio = h("input", { type: "radio", name: "route", value: String(o.rank), checked: o.rank === 0,
      "aria-label": t("movements.option", { n: o.rank + 1 }) });
    return h("tr", { dataset: { rank: String(o.rank), decision: d.status, level: String(o.assessment.max_level) } },
      h("td", {}, h("label.check", {}, radio, h("span", { style: `color:${OPTION_COLOURS[o.rank]}` }, "■ "),
        o.rank === 0 ? t("movements.recommended") : t("movements.option", { n: o.rank + 1 }))),
      h("td", {}, `${(o.route.time_s / 3600).toFixed(1)} h`), h("td", {}, `${o.route.length_km.toFixed(0)} km`),
      h("td", {}, levelBadge(o.assessment.max_level)), h("td", {}, tv("decision", d.status)),
      h("td.needs", {}, (d.missing_measures || []).map((x) => tv("measure", x)).join(", ") || "—"),
      h("td", {}, t("movements.approvals_short", { n: d.approvals_required ?? 0 })));
  });
  const map = h("div.map.small", { id: "options-map" });
  box.append(h("h3", {}, t("movements.options")),
    h("table.grid", {}, h("thead", {}, h("tr", {}, ["movements.option_col", "movements.time", "movements.distance",
      "movements.level", "movements.decision", "movements.needs", "movements.approvals_col"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows)), map);
  if (!window.L) return;
  optionsMap = L.map(map, { preferCanvas: true, minZoom: 4, maxZoom: 15 });
  addBaseLayers(optionsMap).catch(() => {});
  const all = [];
  for (const o of [...found.options].reverse()) {
    const line = o.route.coordinates.map(([lon, lat]) => [lat, lon]);
    all.push(...line);
    L.polyline(line, { color: OPTION_COLOURS[o.rank], weight: o.rank === 0 ? 6 : 4, opacity: 0.85 })
      .bindTooltip(o.rank === 0 ? t("movements.recommended") : t("movements.option", { n: o.rank + 1 })).addTo(optionsMap);
  }
  optionsMap.fitBounds(L.latLngBounds(all).pad(0.15));
  map.dataset.routes = String(found.options.length);
}

async function renderDetail(main, ctx, id) {
  const res = await api(`/movements/${id}`, { raw: true });
  const m = await res.json();
  const perms = ctx.me.permissions;
  const d = m.decision || {};
  const a = m.assessment || {};
  main.append(h("p", {}, h("a", { href: "#/movements" }, `← ${t("movements.back")}`)),
    h("h1", {}, `${m.origin.label} → ${m.destination.label}`),
    h("p.summary", { id: "movement-summary", dataset: { state: m.state, decision: d.status || "" } },
      h("span.badge", {}, tv("state", m.state)), " ", t("movements.max_level"), " ", levelBadge(a.max_level), " · ",
      `${t("movements.decision")}: `, h("strong", { id: "decision-status" }, tv("decision", d.status)),
      ` · ${(m.route.length_km).toFixed(0)} km · ${(m.route.time_s / 3600).toFixed(1)} h · ${t("movements.departure")} ${pkTime(m.departure_start)}`));
  const box = h("div.map.small", { id: "movement-map" });
  main.append(box);
  if (window.L) {
    miniMap = L.map(box, { preferCanvas: true, minZoom: 4, maxZoom: 15 });
    addBaseLayers(miniMap).catch(() => {});
    const line = m.route.coordinates.map(([lon, lat]) => [lat, lon]);
    const levels = a.levels_by_segment || [];
    L.polyline(line, { color: "#455a64", weight: 6 }).addTo(miniMap);
    for (const r of a.riskiest || []) {
      L.polyline([r.start, r.end], { color: LEVEL_COLOURS[r.level], weight: 8 }).bindTooltip(r.reason).addTo(miniMap);
    }
    miniMap.fitBounds(L.latLngBounds(line).pad(0.2));
    box.dataset.segments = String(levels.length);
  }
  main.append(h("h2", {}, t("movements.fired")),
    h("table.grid", { id: "fired-rules" }, h("thead", {}, h("tr", {}, ["movements.rule", "movements.effect", "movements.why"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, (d.fired || []).map((r) => h("tr", {}, h("td", {}, h("strong", {}, r.rule), h("div", {}, r.description)),
        h("td", {}, tv("effect", r.effect)), h("td", {}, r.why))))));
  if (!(d.fired || []).length) main.append(h("p.empty", {}, t("movements.no_rules")));
  main.append(h("h3", {}, t("movements.required")),
    h("ul", { id: "required-measures" }, (d.required_measures || []).map((x) => {
      const met = !(d.missing_measures || []).includes(x);
      return h("li", { class: met ? "ok" : "bad", dataset: { measure: x, met: met ? "yes" : "no" } },
        `${met ? "✓" : "✗"} ${tv("measure", x)} · `, h("em", {}, t(met ? "movements.measure_in_place" : "movements.measure_missing")));
    })));
  if ((d.reasons || []).length) main.append(h("ul.reasons", {}, d.reasons.map((r) => h("li", {}, r))));
  main.append(h("p", {}, t("movements.approvals", { have: (m.approvals || []).length, need: d.approvals_required ?? 0 })));

  const act = (path, body) => api(`/movements/${m.id}${path}`, { method: "POST", body })
    .then(() => { ctx.status(t("common.saved")); window.dispatchEvent(new HashChangeEvent("hashchange")); })
    .catch(ctx.showError);
  const actions = h("div.actions.card", { id: "movement-actions" });
  if (perms.includes("movement.request") && ["draft", "submitted"].includes(m.state)) {
    const boxes = MEASURES.map((x) => h("label.check", {}, h("input", { type: "checkbox", value: x, checked: m.measures.includes(x) }), tv("measure", x)));
    const save = h("button", { type: "button", id: "save-measures" }, t("movements.save_measures"));
    save.addEventListener("click", () => api(`/movements/${m.id}/measures`, { method: "PUT",
      body: { measures: boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value) } })
      .then(() => window.dispatchEvent(new HashChangeEvent("hashchange"))).catch(ctx.showError));
    actions.append(h("fieldset", {}, h("legend", {}, t("movements.measures")), boxes, save));
    if (m.state === "draft") actions.append(button(t("movements.submit"), () => act("/submit")));
  }
  if (perms.includes("movement.approve") && m.state === "submitted") {
    const reason = h("input", { id: "reject-reason", placeholder: t("movements.reject_reason") });
    actions.append(button(t("movements.approve"), () => act("/approve"), "approve"), reason,
      button(t("movements.reject"), () => act("/reject", { reason: reason.value }), "reject", "danger"));
  }
  if (perms.includes("movement.request")) {
    if (m.state === "approved") actions.append(button(t("movements.start"), () => act("/start"), "start"));
    if (["under_way", "overdue"].includes(m.state)) {
      const here = m.route.coordinates[Math.floor(m.route.coordinates.length / 2)];
      actions.append(button(t("movements.check_in"), () => act("/check-ins", { lat: here[1], lon: here[0], note: t("movements.check_in_note") }), "check-in"),
        button(t("movements.arrive"), () => act("/arrive"), "arrive"));
    }
    if (["draft", "submitted", "approved"].includes(m.state)) {
      actions.append(button(t("movements.cancel"), () => act("/cancel", { reason: t("movements.cancel_reason") }), "cancel", "danger"));
    }
  }
  if (actions.childNodes.length) main.append(actions);
  if (["arrived", "incident", "cancelled"].includes(m.state)) main.append(reviewSection(m, perms, act));
  main.append(h("h2", {}, t("movements.history")),
    h("ol.events", {}, (m.events || []).map((e) => h("li", { dataset: { kind: e.kind, auto: e.detail?.auto ? "yes" : "no" } },
      e.kind === "check_in"
        ? `${pkTime(e.at)} · ${tv("event", e.kind)}${e.detail?.auto ? ` (${t("movements.auto")})` : ""} · ${e.detail?.note || ""}`
        : e.to_state
          ? `${pkTime(e.at)} · ${tv("event", e.kind)} · ${e.from_state ? tv("state", e.from_state) : ""} → ${tv("state", e.to_state)}`
          : `${pkTime(e.at)} · ${tv("event", e.kind)}`))));
}

function button(label, onClick, name = "", kind = "") {
  const b = h(`button${kind ? `.${kind}` : ""}`, { type: "button", dataset: { action: name } }, label);
  b.addEventListener("click", onClick);
  return b;
}

const WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function adviceText(a) {
  const share = Math.round(a.share * 100);
  if (a.code === "same_hour") return t("patterns.same_hour", { share, from: String(a.value).padStart(2, "0"), to: String((a.value + 1) % 24).padStart(2, "0") });
  if (a.code === "same_weekday") return t("patterns.same_weekday", { share, day: t(`weekday.${WEEKDAY_KEYS[a.value]}`) });
  if (a.code === "same_route") return t("patterns.same_route", { share });
  return a.text;
}

// How predictable the organisation's movements have been: pairs travelled three times or
// more, most predictable first, with what to change.
async function patternsSection() {
  const rows = await api("/movement-patterns").catch(() => []);
  const box = h("section.card", { id: "movement-patterns" }, h("h2", {}, t("patterns.title")), h("p.hint", {}, t("patterns.explain")));
  if (!rows.length) {
    box.append(h("p.empty", {}, t("patterns.none")));
    return box;
  }
  box.append(h("table.grid", {},
    h("thead", {}, h("tr", {}, ["movements.route", "patterns.movements", "patterns.roads", "patterns.score", "patterns.advice"]
      .map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, rows.map((p) => h("tr", { dataset: { score: String(p.predictability) } },
      h("td", {}, `${p.origin} → ${p.destination}`), h("td", {}, String(p.movements)), h("td", {}, String(p.routes)),
      h("td", {}, h("meter", { min: 0, max: 1, value: p.predictability, high: 0.6, optimum: 0 }), ` ${Math.round(p.predictability * 100)} %`),
      h("td", {}, p.advice.length ? h("ul", {}, p.advice.map((a) => h("li", {}, adviceText(a)))) : "—"))))));
  return box;
}

const REVIEW_TEXTS = ["summary", "deviations", "incidents", "lessons"];

// The post-movement review (debrief): shown once written, else a form for the requester side.
function reviewSection(m, perms, act) {
  const box = h("section.card", { id: "movement-review" }, h("h2", {}, t("review_m.title")));
  if (m.review) {
    const effective = m.review.measures_effective;
    box.append(h("dl", {}, REVIEW_TEXTS.filter((k) => m.review[k]).flatMap((k) => [h("dt", {}, t(`review_m.${k}`)), h("dd", {}, m.review[k])]),
      h("dt", {}, t("review_m.effective")), h("dd", {}, effective == null ? "—" : t(effective ? "answer.yes" : "answer.no"))),
    h("p.hint", {}, `${m.review.by} · ${pkTime(m.review.at)}`));
    return box;
  }
  if (!perms.includes("movement.request")) {
    box.append(h("p.empty", {}, t("review_m.none")));
    return box;
  }
  const fields = Object.fromEntries(REVIEW_TEXTS.map((k) => [k, h("textarea", { id: `rv-${k}`, rows: 2, maxlength: 2000, required: k === "summary" })]));
  const effective = h("select", { id: "rv-effective" }, h("option", { value: "" }, "—"),
    h("option", { value: "yes" }, t("answer.yes")), h("option", { value: "no" }, t("answer.no")));
  const form = h("form", { id: "review-form" }, h("p.hint", {}, t("review_m.explain")),
    REVIEW_TEXTS.map((k) => h("label", {}, t(`review_m.${k}`), fields[k])),
    h("label", {}, t("review_m.effective"), effective), h("button", { type: "submit" }, t("review_m.save")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(REVIEW_TEXTS.map((k) => [k, fields[k].value]));
    body.measures_effective = effective.value === "" ? null : effective.value === "yes";
    act("/review", body);
  });
  box.append(form);
  return box;
}

// An alert's area as a GeoJSON polygon: circles become 32-sided polygons (lon/lat degrees).
function areaPolygon(area) {
  if (area.type !== "Circle") return area;
  const [lon, lat] = area.center;
  const dLat = area.radius_km / 111.32;
  const dLon = dLat / Math.max(0.01, Math.cos((lat * Math.PI) / 180));
  const ring = Array.from({ length: 33 }, (_, i) => {
    const a = ((i % 32) / 32) * 2 * Math.PI;
    return [lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)];
  });
  return { type: "Polygon", coordinates: [ring] };
}
