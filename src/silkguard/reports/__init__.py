"""Situation reports: what happened in a period (incidents, casualties, threat-level changes,
movements, alerts and roll-call) and the risks ahead, as one reader may see them, rendered as
self-contained HTML or as PDF (docs/reports.md)."""

from __future__ import annotations

from silkguard.reports.html import render_html
from silkguard.reports.pdf import render_pdf
from silkguard.reports.sitrep import (
    ReportFormat,
    Sitrep,
    build_sitrep,
    make_period,
    parse_date,
    parse_format,
)

__all__ = [
    "ReportFormat",
    "Sitrep",
    "build_sitrep",
    "filename",
    "make_period",
    "parse_date",
    "parse_format",
    "render",
    "render_html",
    "render_pdf",
]


def render(sitrep: Sitrep, fmt: ReportFormat) -> bytes:
    """The report in ``fmt`` as bytes (HTML as UTF-8)."""
    if fmt is ReportFormat.HTML:
        return render_html(sitrep).encode("utf-8")
    return render_pdf(sitrep)


def filename(sitrep: Sitrep, fmt: ReportFormat) -> str:
    """``sitrep-2024-03-01-2024-03-31.pdf``."""
    return f"sitrep-{sitrep.period.first.isoformat()}-{sitrep.period.last.isoformat()}.{fmt.value}"
