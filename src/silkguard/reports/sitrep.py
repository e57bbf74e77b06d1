"""The situation report as data: what happened in a period, as one reader may see it.

:func:`build_sitrep` reads the store through each feature's own visibility rule (incidents
through ``incidents.query``, movements through ``journeys.service``, alerts through
``alerts.service``, levels through ``risk.service``) and returns plain dataclasses; the
renderers (``reports.html``, ``reports.pdf``) never touch the database. A period is a range of
whole days in Pakistan time (Asia/Karachi, UTC+05:00, no daylight saving)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from silkguard.alerts import service as alerts_service
from silkguard.core.access import Principal
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.incidents import query as incidents_query
from silkguard.incidents.models import Incident
from silkguard.incidents.vocab import IncidentStatus
from silkguard.journeys import service as movements_service
from silkguard.journeys.models import MovementApproval
from silkguard.journeys.states import MovementState
from silkguard.risk import service as risk_service

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_PERIOD_DAYS",
    "PKT",
    "TOP_RISKS",
    "AlertRow",
    "Forecast",
    "IncidentRow",
    "LevelChangeRow",
    "MovementRow",
    "Period",
    "ReportFormat",
    "RiskRow",
    "Sitrep",
    "Summary",
    "build_sitrep",
    "make_period",
    "parse_date",
    "parse_format",
]

PKT = ZoneInfo("Asia/Karachi")
MAX_PERIOD_DAYS = 366
TOP_RISKS = 10
# Dates outside these bounds are refused: no incident data is older, and the conversion to
# UTC must not run off the ends of the calendar.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2100, 12, 31)
_MANY = 100_000  # "all of them" for service listings that take a limit


class ReportFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return "text/html; charset=utf-8" if self is ReportFormat.HTML else "application/pdf"


def parse_format(text: str) -> ReportFormat:
    """``ReportFormat`` from user input, naming the accepted values when it is not one."""
    try:
        return ReportFormat(text.strip().lower())
    except ValueError:
        accepted = ", ".join(f.value for f in ReportFormat)
        msg = f"format {text!r} is not a report format; use one of {accepted}"
        raise InvalidInput(msg, field="format") from None


def parse_date(text: str, *, field_name: str) -> date:
    """A ``YYYY-MM-DD`` date from user input (``field_name`` is named in the error)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        msg = f"{field_name} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-03-26"
        raise InvalidInput(msg, field=field_name) from None


@dataclass(frozen=True)
class Period:
    """Whole days ``first`` to ``last`` (both included) in Pakistan time."""

    first: date
    last: date

    @property
    def since_utc(self) -> datetime:
        return datetime.combine(self.first, time(), PKT).astimezone(UTC)

    @property
    def until_utc(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), PKT).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"

    def weeks(self) -> list[date]:
        """The Mondays of the weeks the period touches, in order."""
        monday = self.first - timedelta(days=self.first.weekday())
        out = []
        while monday <= self.last:
            out.append(monday)
            monday += timedelta(days=7)
        return out


def make_period(first: date, last: date) -> Period:
    """A checked period: ``first`` not after ``last``, at most 366 days, within 1970-2100."""
    for name, value in (("from", first), ("to", last)):
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            msg = (
                f"{name} {value.isoformat()} is out of range; use a date between "
                f"{EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"
            )
            raise InvalidInput(msg, field=name)
    if first > last:
        msg = (
            f"from {first.isoformat()} is after to {last.isoformat()}; the period runs from the "
            "earlier date to the later one, so swap them"
        )
        raise InvalidInput(msg, field="from")
    period = Period(first, last)
    if period.days > MAX_PERIOD_DAYS:
        msg = (
            f"the period {period.label} is {period.days} days long; a report covers at most "
            f"{MAX_PERIOD_DAYS} days, so move `from` or `to` closer together (or make one "
            "report per year)"
        )
        raise InvalidInput(msg, field="to")
    return period


@dataclass(frozen=True)
class IncidentRow:
    occurred_at: datetime  # UTC
    place: str
    district: str
    province: str
    attack_type: str
    killed: int
    wounded: int
    tlp: str
    summary: str
    latitude: float | None
    longitude: float | None

    @property
    def casualties(self) -> int:
        return self.killed + self.wounded


@dataclass(frozen=True)
class LevelChangeRow:
    at: datetime  # UTC
    scope: str  # district | site
    name: str
    old_level: int | None
    new_level: int
    reason: str


@dataclass(frozen=True)
class MovementRow:
    reference: str
    origin: str
    destination: str
    departure: datetime  # UTC, start of the departure window
    state: str
    max_level: int | None
    approvals: int
    approvals_required: int


@dataclass(frozen=True)
class AlertRow:
    raised_at: datetime  # UTC
    headline: str
    drill: bool
    recipients: int
    safe: int
    need_help: int
    unaccounted: int


@dataclass(frozen=True)
class RiskRow:
    scope: str  # district | site
    name: str
    level: int
    ratio: float  # expected attacks against the corridor mean
    reason: str


@dataclass(frozen=True)
class Forecast:
    model: str
    created_at: datetime  # UTC
    horizon_start: datetime
    horizon_end: datetime
    top: list[RiskRow]


@dataclass(frozen=True)
class Summary:
    incidents: int
    killed: int
    wounded: int
    movements: int
    alerts: int
    unaccounted: int


@dataclass(frozen=True)
class Sitrep:
    """Everything a situation report shows; the renderers only lay it out."""

    period: Period
    generated_at: datetime  # UTC
    reader: str  # whose view this is, in words
    incidents: list[IncidentRow] = field(default_factory=list)
    level_changes: list[LevelChangeRow] = field(default_factory=list)
    movements: list[MovementRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    forecast: Forecast | None = None

    @property
    def summary(self) -> Summary:
        return Summary(
            incidents=len(self.incidents),
            killed=sum(i.killed for i in self.incidents),
            wounded=sum(i.wounded for i in self.incidents),
            movements=len(self.movements),
            alerts=len(self.alerts),
            unaccounted=sum(a.unaccounted for a in self.alerts),
        )

    @property
    def movement_states(self) -> dict[str, int]:
        """How many of the period's movements ended (or stand) in each state."""
        counts = Counter(m.state for m in self.movements)
        return {s.value: counts[s.value] for s in MovementState if counts[s.value]}

    def week_of(self, moment: datetime) -> date:
        local = moment.astimezone(PKT).date()
        return local - timedelta(days=local.weekday())


def _incident_row(inc: Incident) -> IncidentRow:
    return IncidentRow(
        occurred_at=inc.occurred_at,
        place=inc.place or "",
        district=inc.district or "",
        province=inc.province or "",
        attack_type=inc.attack_type,
        killed=inc.killed or 0,
        wounded=inc.injured or 0,
        tlp=inc.tlp,
        summary=inc.summary or "",
        latitude=inc.latitude,
        longitude=inc.longitude,
    )


def _incidents(session: Session, principal: Principal | None, period: Period) -> list[IncidentRow]:
    """Confirmed incidents of the period (drafts are not yet facts), oldest first."""
    if principal is None:  # trusted (the CLI without --org): every confirmed incident
        stmt = select(Incident).where(
            Incident.status == IncidentStatus.CONFIRMED.value,
            Incident.occurred_at >= period.since_utc,
            Incident.occurred_at < period.until_utc,
        )
        rows = [_incident_row(i) for i in session.execute(stmt).scalars()]
    else:
        filters = incidents_query.IncidentFilter(
            since=period.since_utc,
            until=period.until_utc,
            statuses=[IncidentStatus.CONFIRMED.value],
        )
        rows = [
            _incident_row(i)
            for i in incidents_query.iter_visible(session, principal=principal, filters=filters)
        ]
    return sorted(rows, key=lambda r: (r.occurred_at, r.place))


def _level_changes(
    session: Session, principal: Principal | None, period: Period
) -> list[LevelChangeRow]:
    changes = risk_service.level_changes(
        session,
        principal=principal,
        limit=_MANY,
        since=period.since_utc,
        until=period.until_utc,
    )
    return [
        LevelChangeRow(
            at=c.created_at,
            scope=c.subject_kind,
            name=c.subject_name,
            old_level=c.old_level,
            new_level=c.new_level,
            reason=c.reason,
        )
        for c in changes
    ]


def _movements(session: Session, principal: Principal | None, period: Period) -> list[MovementRow]:
    found = movements_service.list_movements(
        session,
        principal=principal,
        limit=_MANY,
        departs_from=period.since_utc,
        departs_before=period.until_utc,
    )
    approvals: dict[uuid.UUID, int] = {}
    ids = [m.id for m in found]
    for start in range(0, len(ids), 500):
        stmt = (
            select(MovementApproval.movement_id, func.count())
            .where(MovementApproval.movement_id.in_(ids[start : start + 500]))
            .group_by(MovementApproval.movement_id)
        )
        approvals.update({mid: int(n) for mid, n in session.execute(stmt).all()})
    rows = []
    for m in found:
        level = (m.assessment or {}).get("max_level")
        rows.append(
            MovementRow(
                reference=str(m.id)[:8],
                origin=m.origin_label,
                destination=m.destination_label,
                departure=m.departure_start,
                state=m.state,
                max_level=int(level) if level is not None else None,
                approvals=approvals.get(m.id, 0),
                approvals_required=int((m.decision or {}).get("approvals_required", 0) or 0),
            )
        )
    return rows


def _headline(messages: dict[str, object]) -> str:
    for lang in ("en", *sorted(messages)):
        text = messages.get(lang)
        if isinstance(text, dict) and text.get("headline"):
            return str(text["headline"])
    return ""


def _alerts(session: Session, principal: Principal | None, period: Period) -> list[AlertRow]:
    found = alerts_service.list_alerts(
        session,
        principal=principal,
        limit=_MANY,
        raised_from=period.since_utc,
        raised_before=period.until_utc,
    )
    rows = []
    for alert in sorted(found, key=lambda a: (a.created_at, str(a.id))):
        board = alerts_service.board(session, principal=principal, alert_id=alert.id)
        rows.append(
            AlertRow(
                raised_at=alert.created_at,
                headline=_headline(alert.messages or {}),
                drill=alert.drill,
                recipients=board.total,
                safe=len(board.safe),
                need_help=len(board.need_help),
                unaccounted=len(board.unaccounted),
            )
        )
    return rows


def _ratio(details: dict[str, object]) -> float:
    value = details.get("ratio_corridor")
    return float(value) if isinstance(value, int | float) else 0.0


def _forecast(session: Session, principal: Principal | None) -> Forecast | None:
    try:
        run = risk_service.latest_run(session, principal=principal)
    except NotFound:
        return None
    records = risk_service.stored_levels(session, run=run, principal=principal)
    ranked = sorted(
        records,
        key=lambda r: (-r.level, -_ratio(r.details or {}), r.subject_kind, r.subject_name),
    )
    top = [
        RiskRow(
            scope=r.subject_kind,
            name=r.subject_name,
            level=r.level,
            ratio=_ratio(r.details or {}),
            reason=r.reason,
        )
        for r in ranked[:TOP_RISKS]
    ]
    return Forecast(
        model=run.model,
        created_at=run.created_at,
        horizon_start=run.horizon_start,
        horizon_end=run.horizon_end,
        top=top,
    )


def build_sitrep(
    session: Session,
    *,
    principal: Principal | None,
    period: Period,
    now: datetime,
    reader: str,
) -> Sitrep:
    """The report of ``period`` as ``principal`` may see it (``None``: a trusted caller, who
    sees every organisation's). ``reader`` names that view on the report; nothing is written."""
    return Sitrep(
        period=period,
        generated_at=now.astimezone(UTC),
        reader=reader,
        incidents=_incidents(session, principal, period),
        level_changes=_level_changes(session, principal, period),
        movements=_movements(session, principal, period),
        alerts=_alerts(session, principal, period),
        forecast=_forecast(session, principal),
    )
