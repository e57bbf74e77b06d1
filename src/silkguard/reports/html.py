"""The situation report as one self-contained HTML page: styles inline, pictures as base64 PNG
data URIs, every piece of text escaped, nothing loaded from anywhere else."""

from __future__ import annotations

import base64
from html import escape

from silkguard.reports.charts import Chart, charts
from silkguard.reports.layout import (
    CHART_SECTIONS,
    NONE_TEXT,
    SECTIONS,
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

__all__ = ["render_html"]

_STYLE = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 60em;
       color: #1c1c1c; line-height: 1.4; padding: 0 1em; }
h1 { margin-bottom: 0.1em; } .sub { color: #555; margin-top: 0; }
h2 { border-bottom: 2px solid #35608f; padding-bottom: 0.15em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.45em; text-align: left; vertical-align: top; }
th { background: #eef2f7; } tr:nth-child(even) td { background: #fafafa; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.2em; }
dl.summary dt { font-weight: bold; } dl.summary dd { margin: 0; }
img { max-width: 100%; height: auto; } .none { color: #555; font-style: italic; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _none() -> str:
    return f'<p class="none">{_e(NONE_TEXT)}</p>'


def _table(table: Table) -> str:
    if not table.rows:
        return _none()
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(chart: Chart | None) -> str:
    if chart is None:
        return _none()
    data = base64.b64encode(chart.png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(chart.alt)}">'


def _summary(sitrep: Sitrep) -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in summary_lines(sitrep))
    return f'<dl class="summary">{items}</dl>'


def _movements(sitrep: Sitrep) -> str:
    if not sitrep.movements:
        return _none()
    return f"<p>{_e(movement_state_line(sitrep))}</p>{_table(movement_table(sitrep))}"


def _risks(sitrep: Sitrep) -> str:
    lines = "".join(f"<p>{_e(line)}</p>" for line in forecast_lines(sitrep))
    if sitrep.forecast is None:
        return lines
    return lines + _table(risk_table(sitrep))


def render_html(sitrep: Sitrep) -> str:
    """The whole report as an HTML document (UTF-8 text)."""
    pictures = charts(sitrep)
    bodies = {
        "Summary": _summary(sitrep),
        **{heading: _chart(pictures.get(heading)) for heading in CHART_SECTIONS},
        "Threat-level changes": _table(level_change_table(sitrep)),
        "Movements": _movements(sitrep),
        "Alerts and roll-call": _table(alert_table(sitrep)),
        "Top risks ahead": _risks(sitrep),
        "Incident list": _table(incident_table(sitrep)),
    }
    sections = "\n".join(
        f'<section id="s{n}"><h2>{_e(heading)}</h2>{bodies[heading]}</section>'
        for n, heading in enumerate(SECTIONS, start=1)
    )
    title = f"{TITLE}, {sitrep.period.label}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>\n"
        f'<h1>{_e(TITLE)}</h1><p class="sub">{_e(sitrep.period.label)}, Pakistan time; '
        f"generated {_e(pkt(sitrep.generated_at))}</p>\n{sections}\n</body></html>\n"
    )
