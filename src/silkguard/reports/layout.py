"""What both renderers show, as text: the sections in order, the summary lines and every table
as rows of strings. ``reports.html`` and ``reports.pdf`` only decide how it looks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from silkguard.reports.sitrep import PKT, Sitrep
from silkguard.risk.levels import LEVEL_NAMES

__all__ = [
    "CHART_SECTIONS",
    "NONE_TEXT",
    "SECTIONS",
    "TITLE",
    "Table",
    "alert_table",
    "forecast_lines",
    "incident_table",
    "level_change_table",
    "movement_state_line",
    "movement_table",
    "pkt",
    "risk_table",
    "summary_lines",
]

TITLE = "Situation report"
NONE_TEXT = "None in this period."
CHART_SECTIONS = (
    "Incidents on the map",
    "Incidents per week",
    "Incidents by province",
    "Incidents by type",
    "Casualties",
)
SECTIONS = (
    "Summary",
    *CHART_SECTIONS,
    "Threat-level changes",
    "Movements",
    "Alerts and roll-call",
    "Top risks ahead",
    "Incident list",
)
_SUMMARY_CHARS = 240


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    widths: tuple[float, ...]  # relative column widths (the PDF's layout)


def pkt(moment: datetime, *, with_time: bool = True) -> str:
    """A UTC moment as Pakistan time: ``2024-03-26 14:05 PKT``."""
    local = moment.astimezone(PKT)
    return f"{local:%Y-%m-%d %H:%M} PKT" if with_time else f"{local:%Y-%m-%d}"


def _level(level: int | None) -> str:
    if level is None:
        return "-"
    return f"{level} {LEVEL_NAMES.get(level, '')}".strip()


def summary_lines(sitrep: Sitrep) -> list[tuple[str, str]]:
    s = sitrep.summary
    return [
        ("Period", f"{sitrep.period.label} ({sitrep.period.days} days, Pakistan time)"),
        ("Generated", pkt(sitrep.generated_at)),
        ("Seen as", sitrep.reader),
        ("Incidents", str(s.incidents)),
        ("Killed", str(s.killed)),
        ("Wounded", str(s.wounded)),
        ("Movements", str(s.movements)),
        ("Alerts", str(s.alerts)),
        ("People unaccounted", str(s.unaccounted)),
    ]


def level_change_table(sitrep: Sitrep) -> Table:
    return Table(
        ("When", "Scope", "Name", "From → to", "Reason"),
        [
            (
                pkt(c.at),
                c.scope,
                c.name,
                f"{_level(c.old_level)} → {_level(c.new_level)}",
                c.reason,
            )
            for c in sitrep.level_changes
        ],
        (1.3, 0.7, 1.3, 1.6, 4.0),
    )


def movement_table(sitrep: Sitrep) -> Table:
    return Table(
        ("Ref.", "From → to", "Departure", "State", "Highest level", "Approvals"),
        [
            (
                m.reference,
                f"{m.origin} → {m.destination}",
                pkt(m.departure),
                m.state.replace("_", " "),
                _level(m.max_level),
                f"{m.approvals} of {m.approvals_required}",
            )
            for m in sitrep.movements
        ],
        (0.9, 3.0, 1.5, 1.0, 1.2, 0.9),
    )


def movement_state_line(sitrep: Sitrep) -> str:
    counts = sitrep.movement_states
    parts = [f"{state.replace('_', ' ')}: {n}" for state, n in counts.items()]
    return "By final state: " + "; ".join(parts) + "."


def alert_table(sitrep: Sitrep) -> Table:
    return Table(
        ("Raised", "Headline", "Recipients", "Safe", "Need help", "Unaccounted"),
        [
            (
                pkt(a.raised_at),
                f"{a.headline} (drill)" if a.drill else a.headline,
                str(a.recipients),
                str(a.safe),
                str(a.need_help),
                str(a.unaccounted),
            )
            for a in sitrep.alerts
        ],
        (1.4, 3.2, 1.0, 0.7, 0.9, 1.1),
    )


def forecast_lines(sitrep: Sitrep) -> list[str]:
    f = sitrep.forecast
    if f is None:
        return [
            "There is no risk forecast yet, so no risks ahead can be shown. Run "
            "`silkguard risk forecast` (or POST /api/v1/risk/forecasts) and make the report again."
        ]
    return [
        f"From the latest forecast ({f.model}, made {pkt(f.created_at)}), for "
        f"{pkt(f.horizon_start, with_time=False)} to {pkt(f.horizon_end, with_time=False)}: "
        f"the {len(f.top)} districts and sites with the highest threat levels."
    ]


def risk_table(sitrep: Sitrep) -> Table:
    top = sitrep.forecast.top if sitrep.forecast is not None else []
    return Table(
        ("Scope", "Name", "Level", "x corridor mean", "Reason"),
        [(r.scope, r.name, _level(r.level), f"{r.ratio:.1f}", r.reason) for r in top],
        (0.7, 1.4, 1.1, 0.9, 4.6),
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1] + "…"


def _place(place: str, district: str) -> str:
    if district and district.lower() not in place.lower():
        return f"{place}, {district}" if place else district
    return place or "-"


def incident_table(sitrep: Sitrep) -> Table:
    return Table(
        ("Date", "Place", "Province", "Type", "Killed", "Wounded", "TLP", "Summary"),
        [
            (
                pkt(i.occurred_at, with_time=False),
                _place(i.place, i.district),
                i.province or "-",
                i.attack_type.replace("_", " "),
                str(i.killed),
                str(i.wounded),
                i.tlp,
                _short(i.summary),
            )
            for i in sitrep.incidents
        ],
        (1.0, 1.45, 1.3, 0.9, 0.65, 0.95, 0.7, 2.95),
    )
