"""The situation report as a PDF, with fpdf2 (pure Python, no system packages).

fpdf2's built-in fonts know only latin-1, so the report embeds the DejaVu Sans TrueType fonts
that matplotlib ships (Urdu place names, dashes and accents then print as themselves). Charts
go in as PNG; tables wrap their cells and repeat their headings on every page they cross."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from PIL import Image

from silkguard.reports.charts import Chart, charts
from silkguard.reports.layout import (
    CHART_SECTIONS,
    NONE_TEXT,
    TITLE,
    Table,
    alert_table,
    forecast_lines,
    incident_table,
    level_change_table,
    movement_state_line,
    movement_table,
    pkt,
    risk_table,
    summary_lines,
)
from silkguard.reports.sitrep import Sitrep

__all__ = ["render_pdf"]

FONT = "DejaVu"
_BODY_PT = 9.5
_TABLE_PT = 7.5
_HEADING_PT = 13
_KEEP_WITH_HEADING_MM = 40  # a heading never ends a page: this much room must follow it
_HEADING_FILL = (238, 242, 247)


@cache
def _font_paths() -> tuple[Path, Path]:
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return fonts / "DejaVuSans.ttf", fonts / "DejaVuSans-Bold.ttf"


class _Document(FPDF):
    def __init__(self, sitrep: Sitrep) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.sitrep = sitrep
        regular, bold = _font_paths()
        self.add_font(FONT, "", str(regular))
        self.add_font(FONT, "B", str(bold))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(f"{TITLE}, {sitrep.period.label}")
        self.set_creator("silkguard")
        self.set_font(FONT, size=_BODY_PT)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, size=7.5)
        self.set_text_color(90, 90, 90)
        self.cell(
            0,
            6,
            f"{TITLE}, {self.sitrep.period.label}",
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.TOP,
        )
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str, *, keep_mm: float = _KEEP_WITH_HEADING_MM) -> None:
        """A section heading, on a new page unless ``keep_mm`` of what follows fits under it."""
        if self.will_page_break(min(keep_mm, self.eph - 20) + 15):
            self.add_page()
        self.ln(3)
        self.start_section(text)
        self.set_font(FONT, "B", _HEADING_PT)
        self.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(53, 96, 143)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self.set_font(FONT, size=_BODY_PT)

    def paragraph(self, text: str) -> None:
        self.set_font(FONT, size=_BODY_PT)
        self.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def none(self) -> None:
        self.paragraph(NONE_TEXT)

    def table_of(self, table: Table) -> None:
        if not table.rows:
            self.none()
            return
        self.set_font(FONT, size=_TABLE_PT)
        with self.table(
            col_widths=table.widths,
            text_align="LEFT",
            v_align="TOP",
            line_height=3.6,
            padding=1,
            headings_style=FontFace(emphasis="BOLD", fill_color=_HEADING_FILL),
            repeat_headings=1,
        ) as out:
            out.row(list(table.columns))
            for row in table.rows:
                out.row(list(row))
        self.set_font(FONT, size=_BODY_PT)
        self.ln(2)

    def picture_height(self, chart: Chart | None) -> float:
        """How tall ``chart`` is when it spans the page's width (mm)."""
        if chart is None:
            return _KEEP_WITH_HEADING_MM
        with Image.open(io.BytesIO(chart.png)) as img:
            width_px, height_px = img.size
        return float(self.epw * height_px / width_px)

    def picture(self, chart: Chart | None) -> None:
        if chart is None:
            self.none()
            return
        self.image(io.BytesIO(chart.png), w=self.epw, alt_text=chart.alt)
        self.ln(1)


def _summary(doc: _Document, sitrep: Sitrep) -> None:
    label_w = 45
    for label, value in summary_lines(sitrep):
        doc.set_font(FONT, "B", _BODY_PT)
        doc.cell(label_w, 5.5, label)
        doc.set_font(FONT, size=_BODY_PT)
        doc.multi_cell(0, 5.5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(sitrep: Sitrep) -> bytes:
    """The whole report as PDF bytes."""
    pictures = charts(sitrep)
    doc = _Document(sitrep)
    doc.add_page()
    doc.set_font(FONT, "B", 20)
    doc.cell(0, 11, TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(FONT, size=11)
    doc.cell(
        0,
        6,
        f"{sitrep.period.label} (Pakistan time); generated {pkt(sitrep.generated_at)}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    doc.heading("Summary")
    _summary(doc, sitrep)
    for heading in CHART_SECTIONS:
        doc.heading(heading, keep_mm=doc.picture_height(pictures.get(heading)))
        doc.picture(pictures.get(heading))
    doc.heading("Threat-level changes")
    doc.table_of(level_change_table(sitrep))
    doc.heading("Movements")
    if sitrep.movements:
        doc.paragraph(movement_state_line(sitrep))
        doc.ln(1)
    doc.table_of(movement_table(sitrep))
    doc.heading("Alerts and roll-call")
    doc.table_of(alert_table(sitrep))
    doc.heading("Top risks ahead")
    for line in forecast_lines(sitrep):
        doc.paragraph(line)
    if sitrep.forecast is not None:
        doc.ln(1)
        doc.table_of(risk_table(sitrep))
    doc.heading("Incident list")
    doc.table_of(incident_table(sitrep))
    return bytes(doc.output())
