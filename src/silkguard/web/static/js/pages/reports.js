// Situation reports: the same sitrep as `silkguard report sitrep`, downloaded as HTML or PDF.
import { api } from "../api.js";
import { h, pkDate } from "../dom.js";
import { t } from "../i18n.js";

export async function render(main, ctx) {
  const today = pkDate(new Date().toISOString());
  const from = h("input", { id: "r-from", type: "date", value: pkDate(new Date(Date.now() - 30 * 86400e3).toISOString()), required: true });
  const to = h("input", { id: "r-to", type: "date", value: today, required: true });
  const format = h("select", { id: "r-format" }, h("option", { value: "pdf" }, "PDF"), h("option", { value: "html" }, "HTML"));
  const form = h("form.card", { id: "sitrep-form" }, h("h2", {}, t("reports.sitrep")), h("p.hint", {}, t("reports.explain")),
    h("div.row", {}, h("label", {}, t("reports.from"), from), h("label", {}, t("reports.to"), to), h("label", {}, t("reports.format"), format)),
    h("button", { type: "submit" }, t("reports.download")));
  main.append(h("h1", {}, t("reports.title")), form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      ctx.status(t("reports.working"));
      const res = await api("/reports/sitrep", { query: { from: from.value, to: to.value, format: format.value }, raw: true,
        accept: format.value === "pdf" ? "application/pdf" : "text/html" });
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: `sitrep-${from.value}-${to.value}.${format.value}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      ctx.status(t("reports.done"));
    } catch (err) {
      ctx.showError(err);
    }
  });
}
