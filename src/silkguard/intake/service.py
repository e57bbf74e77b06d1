"""Free-text reports into the review queue: the extractor's draft becomes a draft incident of
the reporting organisation (never a confirmed one), with the extraction and its supporting
spans kept on the source record and nearby incidents suggested as possible duplicates.
Analysts then confirm (after editing), merge or reject it through the incidents API."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.core.access import Principal
from silkguard.core.tlp import TLP
from silkguard.geo.distance import haversine_km
from silkguard.incidents import review
from silkguard.incidents.models import Incident
from silkguard.incidents.query import visible
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, DatePrecision, SourceKind, TargetType
from silkguard.intake.draft import IncidentDraft
from silkguard.intake.extract import default_extractor

__all__ = ["DUPLICATE_DAYS", "DUPLICATE_KM", "Submitted", "submit_report"]

PKT = timezone(timedelta(hours=5))
DUPLICATE_DAYS = 2
DUPLICATE_KM = 25.0


@dataclass
class Submitted:
    draft: IncidentDraft
    incident: Incident | None
    duplicates: list[dict[str, Any]] = field(default_factory=list)


def _occurred(draft: IncidentDraft, report_date: date) -> tuple[datetime, DatePrecision]:
    day = draft.date or report_date
    precision = draft.date_precision or DatePrecision.DAY
    if draft.time_local and draft.date is not None:
        hh, mm = (int(x) for x in draft.time_local.split(":"))
        return datetime.combine(day, time(hh, mm), PKT), DatePrecision.TIME
    if precision is DatePrecision.TIME:
        precision = DatePrecision.DAY
    return datetime.combine(day, time(12, 0), PKT), precision


def _duplicates(
    session: Session, principal: Principal, when: datetime, lat: float | None, lon: float | None
) -> list[dict[str, Any]]:
    if lat is None or lon is None:
        return []
    dlat = DUPLICATE_KM / 111.0
    dlon = DUPLICATE_KM / (111.0 * max(math.cos(math.radians(lat)), 0.01))
    rows = session.execute(
        select(Incident)
        .where(
            visible(principal),
            Incident.occurred_at.between(
                when - timedelta(days=DUPLICATE_DAYS), when + timedelta(days=DUPLICATE_DAYS)
            ),
            Incident.latitude.between(lat - dlat, lat + dlat),
            Incident.longitude.between(lon - dlon, lon + dlon),
        )
        .limit(50)
    ).scalars()
    out = []
    for inc in rows:
        if inc.latitude is None or inc.longitude is None:
            continue
        km = haversine_km(lat, lon, inc.latitude, inc.longitude)
        if km <= DUPLICATE_KM:
            out.append(
                {
                    "incident_id": str(inc.id),
                    "km": round(km, 1),
                    "days": round(abs((inc.occurred_at - when).total_seconds()) / 86400, 1),
                    "status": inc.status,
                    "summary": (inc.summary or "")[:200],
                }
            )
    return sorted(out, key=lambda d: (d["days"], d["km"]))


def submit_report(
    session: Session,
    *,
    principal: Principal,
    text: str,
    report_date: date,
    tlp: TLP = TLP.AMBER,
    force: bool = False,
    source_kind: str = SourceKind.FIELD.value,
) -> Submitted:
    """Extract a report; store it as a draft incident when it reads as one (or ``force``)."""
    draft = default_extractor().extract(text, report_date)
    if not draft.is_incident and not force:
        return Submitted(draft=draft, incident=None)
    when, precision = _occurred(draft, report_date)
    data = IncidentCreate(
        occurred_at=when,
        date_precision=precision,
        place=draft.place or draft.road,
        district=draft.district,
        province=draft.province,
        latitude=draft.latitude,
        longitude=draft.longitude,
        geo_precision=draft.geo_precision,
        attack_type=draft.attack_type or AttackType.UNKNOWN,
        target_type=draft.target_type or TargetType.UNKNOWN,
        perpetrator=draft.perpetrator or "unknown",
        claimed=draft.perpetrator_status == "claimed" if draft.perpetrator else None,
        killed=draft.killed,
        injured=draft.injured,
        nationalities=list(draft.nationalities),
        summary=text.strip()[:20_000],
        tlp=tlp,
    )
    duplicates = _duplicates(session, principal, when, draft.latitude, draft.longitude)
    incident = review.create_draft(session, principal=principal, data=data)
    source = incident.sources[-1] if incident.sources else None
    if source is not None:
        source.source_kind = SourceKind(source_kind).value
        source.raw = {
            **(source.raw or {}),
            "intake": draft.as_dict(),
            "report_date": str(report_date),
        }
    session.flush()
    duplicates = [d for d in duplicates if d["incident_id"] != str(incident.id)]
    return Submitted(draft=draft, incident=incident, duplicates=duplicates)
