// Incidents: a searchable list, and a detail page with sources, how records were merged, the
// TLP marking, correction (If-Match: a stale edit gets 409 and loses nothing) and review.
import { api } from "../api.js";
import { h, pkDate, pkTime } from "../dom.js";
import { t, tv } from "../i18n.js";
import { ATTACK_TYPES, PROVINCES } from "./map.js";

const TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];

export async function render(main, ctx) {
  if (ctx.param) return renderDetail(main, ctx, ctx.param);
  const q = h("input", { type: "search", id: "q", placeholder: t("incidents.search_hint") });
  const status = h("select", { id: "f-status" }, ["", "draft", "confirmed", "rejected"].map((s) =>
    h("option", { value: s }, s ? tv("status", s) : t("filter.any"))));
  const province = h("select", { id: "f-province" }, h("option", { value: "" }, t("filter.any")),
    PROVINCES.map((v) => h("option", { value: v }, v)));
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  const exportLink = h("button", { type: "button" }, t("incidents.export_csv"));
  let cursor = null;
  const form = h("form.filters", {}, h("label", {}, t("incidents.search"), q), h("label", {}, t("filter.status"), status),
    h("label", {}, t("filter.province"), province), h("button", { type: "submit" }, t("filter.apply")), exportLink);
  main.append(h("h1", {}, t("incidents.title")), form,
    h("table.grid", { id: "incident-table" },
      h("thead", {}, h("tr", {}, ["incidents.date", "incidents.place", "incidents.attack", "incidents.target",
        "incident.killed", "incident.injured", "incidents.status", "incidents.tlp"].map((k) => h("th", { scope: "col" }, t(k))))),
      body), more);

  const query = () => ({ q: q.value.trim(), status: status.value, province: province.value });
  async function load(reset) {
    if (reset) { body.replaceChildren(); cursor = null; }
    const page = await api("/incidents", { query: { ...query(), limit: 50, cursor } });
    for (const i of page.items) {
      body.append(h("tr", {},
        h("td", {}, h("a", { href: `#/incidents/${i.id}` }, pkDate(i.occurred_at))),
        h("td", {}, [i.place, i.district, i.province].filter(Boolean).join(", ")),
        h("td", {}, tv("attack", i.attack_type)), h("td", {}, tv("target", i.target_type)),
        h("td.num", {}, i.killed ?? "?"), h("td.num", {}, i.injured ?? "?"),
        h("td", {}, tv("status", i.status)), h("td", {}, h("span.tlp", { dataset: { tlp: i.tlp } }, `TLP:${i.tlp}`))));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(true).catch(ctx.showError); });
  more.addEventListener("click", () => load(false).catch(ctx.showError));
  exportLink.addEventListener("click", async () => {
    try {
      const res = await api("/incidents/export.csv", { query: query(), raw: true, accept: "text/csv" });
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: "incidents.csv" });
      document.body.append(a);
      a.click();
      a.remove();
      URL.revokeObjectURL(url);
    } catch (err) {
      ctx.showError(err);
    }
  });
  await load(true);
}

function row(label, value) {
  return [h("dt", {}, t(label)), h("dd", {}, value ?? "—")];
}

async function renderDetail(main, ctx, id) {
  const res = await api(`/incidents/${id}`, { raw: true });
  const etag = res.headers.get("ETag");
  const inc = await res.json();
  const perms = ctx.me.permissions;
  main.append(h("p", {}, h("a", { href: "#/incidents" }, `← ${t("incidents.back")}`)),
    h("h1", {}, `${pkDate(inc.occurred_at)} · ${tv("attack", inc.attack_type)} · ${inc.place || inc.district || ""}`),
    h("p", {}, h("span.tlp", { dataset: { tlp: inc.tlp } }, `TLP:${inc.tlp}`), " ", h("span.badge", {}, tv("status", inc.status))),
    h("dl.facts", {},
      row("incidents.when", pkTime(inc.occurred_at)), row("incidents.place", [inc.place, inc.district, inc.province].filter(Boolean).join(", ")),
      row("incidents.attack", tv("attack", inc.attack_type)), row("incidents.target", tv("target", inc.target_type)),
      row("incidents.perpetrator", inc.perpetrator), row("incident.killed", inc.killed), row("incident.injured", inc.injured),
      row("incidents.foreign", (inc.nationalities || []).join(", ")), row("incidents.summary", inc.summary)));

  main.append(h("h2", {}, t("incidents.sources")));
  const list = h("ol.sources");
  for (const s of inc.sources || []) {
    list.append(h("li", {},
      h("strong", {}, s.source_name), ` · ${s.source_kind} · ${s.external_id || ""}`,
      h("div", {}, `${t("incidents.imported")}: ${pkTime(s.imported_at)}`),
      s.url ? h("div.url", { translate: "no" }, s.url) : null,
      h("div", {}, `${t("incidents.merge_reason")}: ${s.match_reason || t("incidents.first_source")}`)));
  }
  main.append(list);
  const conflicts = Object.entries(inc.conflicts || {});
  if (conflicts.length) {
    main.append(h("h3", {}, t("incidents.conflicts")),
      h("ul", {}, conflicts.map(([field, values]) => h("li", {}, `${field}: ${JSON.stringify(values)}`))));
  }
  if (perms.includes("incident.update")) main.append(editForm(inc, etag, ctx));
  if (inc.status === "draft" && perms.includes("incident.review")) main.append(reviewButtons(inc, ctx));
}

function editForm(inc, etag, ctx) {
  const killed = h("input", { type: "number", min: 0, id: "e-killed", value: inc.killed ?? "" });
  const injured = h("input", { type: "number", min: 0, id: "e-injured", value: inc.injured ?? "" });
  const attack = h("select", { id: "e-attack" }, ATTACK_TYPES.map((v) => h("option", { value: v, selected: v === inc.attack_type }, tv("attack", v))));
  const tlp = h("select", { id: "e-tlp" }, TLPS.map((v) => h("option", { value: v, selected: v === inc.tlp }, `TLP:${v}`)));
  const summary = h("textarea", { id: "e-summary", rows: 3 }, inc.summary || "");
  const form = h("form.card", {}, h("h2", {}, t("incidents.edit")),
    h("label", {}, t("incident.killed"), killed), h("label", {}, t("incident.injured"), injured),
    h("label", {}, t("incidents.attack"), attack), h("label", {}, t("incidents.tlp"), tlp),
    h("label", {}, t("incidents.summary"), summary), h("button", { type: "submit" }, t("common.save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { attack_type: attack.value, tlp: tlp.value, summary: summary.value };
    if (killed.value !== "") body.killed = Number(killed.value);
    if (injured.value !== "") body.injured = Number(injured.value);
    try {
      await api(`/incidents/${inc.id}`, { method: "PATCH", body, headers: { "If-Match": etag } });
      ctx.status(t("common.saved"));
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (err) {
      ctx.showError(err);
    }
  });
  return form;
}

function reviewButtons(inc, ctx) {
  const reason = h("input", { id: "reject-reason", placeholder: t("review.reject_reason") });
  const confirm = h("button", { type: "button" }, t("review.confirm"));
  const reject = h("button.danger", { type: "button" }, t("review.reject"));
  confirm.addEventListener("click", () => api(`/incidents/${inc.id}/confirm`, { method: "POST" })
    .then(() => { ctx.status(t("review.confirmed")); location.hash = "#/review"; }).catch(ctx.showError));
  reject.addEventListener("click", () => api(`/incidents/${inc.id}/reject`, { method: "POST", body: { reason: reason.value } })
    .then(() => { ctx.status(t("review.rejected")); location.hash = "#/review"; }).catch(ctx.showError));
  return h("div.card", {}, h("h2", {}, t("review.title")), confirm, reason, reject);
}
