// "My safety", made for a phone: answer the roll-call of any alert you are affected by with
// one tap, raise an SOS, and reach the community tip form.
import { ApiError, api } from "../api.js";
import { h, pkTime } from "../dom.js";
import { t, tv } from "../i18n.js";

export async function render(main, ctx) {
  main.append(h("h1", {}, t("me.title")));
  let calls;
  try {
    calls = await api("/me/rollcalls");
  } catch (err) {
    // a user who is not linked to a person (an administrator, an analyst) has no roll-calls
    const unlinked = err instanceof ApiError && [403, 404].includes(err.status);
    main.append(h("p.empty", { id: "me-open", dataset: { n: "0" } }, unlinked ? t("me.not_linked") : err.message));
    return;
  }
  const open = calls.filter((c) => c.answer === "unaccounted");
  main.append(h("p", { id: "me-open", dataset: { n: String(open.length) } },
    open.length ? t("me.open", { n: open.length }) : t("me.none")));
  for (const c of calls) {
    const state = h("p.answer", {}, c.answer === "unaccounted" ? t("me.unanswered") : `${t("me.answered")}: ${tv("answer", c.answer)} · ${pkTime(c.answered_at)}`);
    const send = (answer) => api(`/me/rollcalls/${c.alert_id}`, { method: "POST", body: { answer } })
      .then(() => { state.textContent = `${t("me.answered")}: ${tv("answer", answer)}`; card.dataset.answer = answer; ctx.status(t("me.thanks")); })
      .catch(ctx.showError);
    const safe = h("button.big.ok", { type: "button", dataset: { action: "safe" } }, t("me.safe"));
    const help = h("button.big.danger", { type: "button", dataset: { action: "need_help" } }, t("me.need_help"));
    safe.addEventListener("click", () => send("safe"));
    help.addEventListener("click", () => send("need_help"));
    const card = h("article.card.rollcall", { dataset: { alert: c.alert_id, answer: c.answer } },
      h("h2", {}, c.headline), h("p", {}, c.body),
      h("p.meta", {}, `${tv("severity", c.severity)} · ${pkTime(c.created_at)}`, c.drill ? ` · ${t("alerts.drill")}` : ""),
      state, h("div.answers", {}, safe, help));
    main.append(card);
  }
  const sos = h("button.big.danger", { type: "button", id: "sos" }, t("me.sos"));
  sos.addEventListener("click", async () => {
    if (!window.confirm(t("me.sos_confirm"))) return;
    const position = await new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition((p) => resolve(p.coords), () => resolve(null), { timeout: 5000 });
    });
    const body = position ? { lat: position.latitude, lon: position.longitude } : {};
    api("/sos", { method: "POST", body }).then(() => ctx.status(t("me.sos_sent"))).catch(ctx.showError);
  });
  main.append(h("section.card", {}, h("h2", {}, t("me.emergency")), sos),
    h("p", {}, h("a", { href: "/tip/" + (ctx.me.org_slug || "") }, t("me.tip_link"))));
}
