"""Sightings ("we saw this too"): organisations count how often they saw what an incident
describes. Readers get totals only (how many sightings, from how many organisations, first
and last seen), never which organisations; docs/sharing.md. Services flush; the edge commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput
from silkguard.incidents.models import SIGHTING_VIA_API, IncidentSighting
from silkguard.incidents.query import get_visible

__all__ = [
    "MAX_COUNT",
    "SightingTotal",
    "record",
    "store_external",
    "summary",
    "totals",
]

MAX_COUNT = 999_999_999  # the largest count a STIX sighting may carry
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SightingTotal:
    """What anyone who may see an incident learns about its sightings."""

    count: int
    organisations: int
    first_seen: datetime | None
    last_seen: datetime | None
    created_at: datetime | None = None  # of the oldest row (STIX ``created``)
    updated_at: datetime | None = None  # of the newest change (STIX ``modified``)


_EMPTY = SightingTotal(0, 0, None, None)


def _check_seen_at(seen_at: datetime, now: datetime) -> None:
    if seen_at.tzinfo is None:
        msg = f"seen_at {seen_at.isoformat()} has no time zone; send it with one (e.g. Z)"
        raise InvalidInput(msg, field="seen_at")
    if seen_at > now + _CLOCK_SKEW:
        msg = f"seen_at {seen_at.isoformat()} is in the future; send when it was seen"
        raise InvalidInput(msg, field="seen_at")


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
        msg = f"count {count!r} is not a number of sightings from 1 to {MAX_COUNT}"
        raise InvalidInput(msg, field="count")


def record(
    session: Session,
    *,
    principal: Principal,
    incident_id: uuid.UUID,
    seen_at: datetime | None = None,
    count: int = 1,
) -> SightingTotal:
    """Add ``count`` sightings by the caller's organisation of an incident it may see (of any
    organisation). Posting again adds to the organisation's count and moves its last (or
    first) seen. Returns the incident's new totals."""
    incident = get_visible(session, principal=principal, incident_id=incident_id)
    now = utcnow()
    when = now if seen_at is None else seen_at
    _check_seen_at(when, now)
    _check_count(count)
    key = (IncidentSighting.incident_id == incident.id, IncidentSighting.org_id == principal.org_id)
    for _attempt in range(2):
        row = session.execute(
            select(IncidentSighting)
            .where(*key, IncidentSighting.external_id == SIGHTING_VIA_API)
            .with_for_update()
        ).scalar_one_or_none()
        if row is not None:
            row.count = min(MAX_COUNT, row.count + count)
            row.first_seen = min(row.first_seen, when)
            row.last_seen = max(row.last_seen, when)
            session.flush()
            break
        try:
            with session.begin_nested():  # another request of the organisation may insert first
                session.add(
                    IncidentSighting(
                        incident_id=incident.id,
                        org_id=principal.org_id,
                        external_id=SIGHTING_VIA_API,
                        count=count,
                        first_seen=when,
                        last_seen=when,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            continue
        break
    return totals(session, [incident.id]).get(incident.id, _EMPTY)


def store_external(
    session: Session,
    *,
    org_id: uuid.UUID,
    incident_id: uuid.UUID,
    external_id: str,
    count: int,
    first_seen: datetime,
    last_seen: datetime,
) -> bool:
    """Store a sighting that came from outside (a STIX sighting, ``external_id`` its id) as
    ``org_id``'s. Stored again, it replaces the count and times (a re-import adds nothing).
    Returns whether anything changed."""
    _check_count(max(count, 1))
    count = min(count, MAX_COUNT)
    row = session.execute(
        select(IncidentSighting).where(
            IncidentSighting.incident_id == incident_id,
            IncidentSighting.org_id == org_id,
            IncidentSighting.external_id == external_id,
        )
    ).scalar_one_or_none()
    if row is None:
        session.add(
            IncidentSighting(
                incident_id=incident_id,
                org_id=org_id,
                external_id=external_id,
                count=count,
                first_seen=first_seen,
                last_seen=last_seen,
            )
        )
        session.flush()
        return True
    if (row.count, row.first_seen, row.last_seen) == (count, first_seen, last_seen):
        return False
    row.count, row.first_seen, row.last_seen = count, first_seen, last_seen
    session.flush()
    return True


def summary(session: Session, *, principal: Principal, incident_id: uuid.UUID) -> SightingTotal:
    """The totals of an incident the caller may see (NotFound otherwise)."""
    incident = get_visible(session, principal=principal, incident_id=incident_id)
    return totals(session, [incident.id]).get(incident.id, _EMPTY)


def totals(session: Session, incident_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, SightingTotal]:
    """Totals of the incidents that have sightings, by incident id (one query). The caller
    has checked that these incidents may be seen."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    stmt = (
        select(
            IncidentSighting.incident_id,
            func.sum(IncidentSighting.count),
            func.count(func.distinct(IncidentSighting.org_id)),
            func.min(IncidentSighting.first_seen),
            func.max(IncidentSighting.last_seen),
            func.min(IncidentSighting.created_at),
            func.max(IncidentSighting.updated_at),
        )
        .where(IncidentSighting.incident_id.in_(ids))
        .group_by(IncidentSighting.incident_id)
    )
    out: dict[uuid.UUID, SightingTotal] = {}
    for row in session.execute(stmt):
        out[row[0]] = SightingTotal(
            count=min(int(row[1] or 0), MAX_COUNT),
            organisations=int(row[2]),
            first_seen=_aware(row[3]),
            last_seen=_aware(row[4]),
            created_at=_aware(row[5]),
            updated_at=_aware(row[6]),
        )
    return out


def _aware(value: datetime | None) -> datetime | None:
    """min/max keep the column's UTC type; this only guards against a naive value."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
