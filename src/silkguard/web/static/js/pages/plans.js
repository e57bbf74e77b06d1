// Protection plans: how much coverage each site gets from the security game and why, and the
// next days' randomized schedule of the protection teams (seeded; the seed is audited).
import { api } from "../api.js";
import { h, levelBadge } from "../dom.js";
import { t } from "../i18n.js";

export async function render(main, ctx) {
  const teams = h("input", { id: "p-teams", type: "number", min: 1, max: 50, value: 2 });
  const days = h("input", { id: "p-days", type: "number", min: 1, max: 60, value: 7 });
  const form = h("form.filters", {}, h("label", {}, t("plans.teams"), teams), h("label", {}, t("plans.days"), days),
    h("button", { type: "submit" }, t("plans.solve")));
  const out = h("div", { id: "plan-output" });
  main.append(h("h1", {}, t("plans.title")), h("p.hint", {}, t("plans.explain")), form, out);
  async function solve() {
    const plan = await api("/plans/sites", { query: { teams: teams.value } });
    const names = Object.fromEntries(plan.sites.map((s) => [s.slug, s.site]));
    const sorted = [...plan.sites].sort((a, b) => b.coverage - a.coverage);
    const table = h("table.grid", { id: "coverage-table" },
      h("thead", {}, h("tr", {}, ["plans.site", "plans.level", "plans.headcount", "plans.coverage", "plans.why"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, sorted.map((s) => h("tr", {},
        h("td", {}, s.site), h("td", {}, levelBadge(s.level)), h("td.num", {}, s.headcount ?? "—"),
        h("td", {}, h("div.bar", { style: `--v:${(s.coverage * 100).toFixed(0)}%` }, `${(s.coverage * 100).toFixed(0)}%`)),
        h("td", {}, s.why)))));
    out.replaceChildren(h("h2", {}, t("plans.coverage_title")), table,
      h("p", {}, t("plans.utility", { u: Number(plan.defender_utility).toFixed(2) })));
    if (ctx.me.permissions.includes("plan.manage")) {
      const cal = await api("/plans/sites/calendar", { method: "POST", query: { teams: teams.value, days: days.value } });
      out.append(h("h2", {}, t("plans.calendar", { seed: cal.seed })),
        h("table.grid", { id: "calendar-table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("plans.date")),
            cal.days[0].teams.map((tm) => h("th", { scope: "col" }, t("plans.team", { n: tm.team }))))),
          h("tbody", {}, cal.days.map((d) => h("tr", {}, h("td", {}, d.date),
            d.teams.map((tm) => h("td", {}, tm.sites.map((s) => names[s] || s).join(", "))))))));
    }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); solve().catch(ctx.showError); });
  await solve();
}
