// The review queue: draft incidents (from intake and imports) and community tips awaiting triage.
import { api } from "../api.js";
import { h, pkDate, pkTime } from "../dom.js";
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
    const card = h("article.card.tip", {},
      h("header", {}, `${pkTime(tip.received_at)} · ${tip.where_text || ""}`),
      h("p", {}, tip.what), h("p", {}, `${t("review.when")}: ${tip.when_text || "—"}`),
      h("div.actions", {}, outcome, note, go));
    go.addEventListener("click", () => api(`/tips/${tip.id}/triage`, { method: "POST", body: { outcome: outcome.value, note: note.value } })
      .then(() => { card.remove(); ctx.status(t("common.saved")); }).catch(ctx.showError));
    main.append(card);
  }
}
