// The review queue: draft incidents (from intake and imports) and community tips awaiting triage.
import { api } from "../api.js";
import { h, levelBadge, pkDate, pkTime } from "../dom.js";
import { t, tv } from "../i18n.js";

const OUTCOMES = ["verified", "duplicate", "not_actionable", "malicious"];

export async function render(main, ctx) {
  main.append(h("h1", {}, t("review.title")));
  const drafts = await api("/incidents", { query: { status: "draft", limit: 100 } });
  main.append(h("h2", {}, t("review.drafts", { n: drafts.items.length })));
  if (!drafts.items.length) main.append(h("p.empty", {}, t("review.no_drafts")));
  main.append(h("ul.queue", {}, drafts.items.map((i) => h("li", {},
    h("a", { href: `#/incidents/${i.id}` }, `${pkDate(i.occurred_at)} · ${tv("attack", i.attack_type)} · ${i.place || i.district || ""}`),
    h("p", {}, i.summary || "")))));

  const tips = await api("/tips", { query: { status: "new" } }).catch(() => null);
  if (tips === null) return;
  main.append(h("h2", {}, t("review.tips", { n: tips.length })));
  if (!tips.length) main.append(h("p.empty", {}, t("review.no_tips")));
  for (const tip of tips) {
    const outcome = h("select", {}, OUTCOMES.map((o) => h("option", { value: o }, tv("outcome", o))));
    const note = h("input", { placeholder: t("review.note") });
    const go = h("button", { type: "button" }, t("review.triage"));
    const card = h("article.card.tip", { dataset: { tip: tip.id } },
      h("header", {}, `${pkTime(tip.received_at)} · ${tip.where_text || ""}`),
      h("p", {}, tip.what), h("p", {}, `${t("review.when")}: ${tip.when_text || "—"}`),
      contextOf(tip.context), h("div.actions", {}, outcome, note, go));
    go.addEventListener("click", () => api(`/tips/${tip.id}/triage`, { method: "POST", body: { outcome: outcome.value, note: note.value } })
      .then(() => { card.remove(); ctx.status(t("common.saved")); }).catch(ctx.showError));
    main.append(card);
  }
}

// Beside a tip: where it is about, the threat level there and the incidents already known
// nearby (a duplicate to merge, or a pattern).
function contextOf(c) {
  if (!c || !c.point) return h("p.hint.context", {}, t("review.no_point"));
  const threat = c.threat
    ? h("p.threat", { title: c.threat.reason }, `${t("review.threat")}: `, levelBadge(c.threat.level), ` ${c.threat.reason}`)
    : h("p.hint", {}, t("review.no_threat"));
  const nearby = c.nearby.length
    ? h("ul.nearby", {}, c.nearby.map((n) => h("li", {}, h("a", { href: `#/incidents/${n.id}` },
      `${pkDate(n.occurred_at)} · ${tv("attack", n.attack_type)} · ${n.place} · ${n.distance_km} km`))))
    : h("p.hint", {}, t("review.no_nearby"));
  return h("div.context", {},
    h("p.hint", {}, t("review.point", { lat: c.point.lat.toFixed(3), lon: c.point.lon.toFixed(3),
      basis: t(`review.basis_${c.point.basis}`, { place: c.point.place || "" }) })),
    threat, h("h3", {}, t("review.nearby")), nearby);
}
