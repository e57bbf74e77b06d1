"""Personal positions: ingest (HTTP batches and MQTT), the latest position per person, the
retention purge, and audited reads.

Every report is checked before anything is stored: the person must exist in the sending
organisation (by person id or device id), the time must carry a zone, be no more than
:data:`MAX_CLOCK_SKEW` in the future and inside the organisation's retention window, the
coordinates must be finite degrees, and the accuracy (metres) positive and at most
:data:`MAX_ACCURACY_M`. Reports of a person without location consent are dropped and counted,
never stored. A repeat of (person, time) is stored once. The latest position of a person only
moves forward in time, so a late report never replaces a newer one.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, String, Uuid, any_, delete, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth.models import Organisation
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, PayloadTooLarge
from silkguard.geo.cells import cell_int_to_str
from silkguard.geo.distance import haversine_km_array
from silkguard.people import batches
from silkguard.people.models import LatestPosition, Person, Position, PositionReject, Site

__all__ = [
    "MAX_ACCURACY_M",
    "MAX_BATCH",
    "MAX_CLOCK_SKEW",
    "IngestReport",
    "PositionIn",
    "count_positions",
    "ingest_positions",
    "latest_position",
    "positions_of",
    "purge_positions",
    "record_reject",
    "summary",
]

MAX_CLOCK_SKEW = timedelta(minutes=2)
MAX_ACCURACY_M = 50_000.0
MAX_BATCH = 10_000
SOURCES = ("http", "mqtt")
#: How many problems an error message lists before it says "and N more".
_SHOWN = 20


@dataclass(frozen=True)
class PositionIn:
    """One reported position. ``person`` is the person's id or the reporting device's id."""

    person: str
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    without_consent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "without_consent": self.without_consent,
            "rejected": [{"index": i, "reason": r} for i, r in self.rejected],
        }


def _problem(item: PositionIn, now: datetime, oldest: datetime) -> str | None:
    if item.at.tzinfo is None:
        return "at: the time has no zone; send ISO 8601 with an offset, e.g. 2026-12-02T10:00:00Z"
    if item.at > now + MAX_CLOCK_SKEW:
        return f"at: {item.at.isoformat()} is in the future (device clock wrong?)"
    if item.at < oldest:
        return (
            f"at: {item.at.isoformat()} is older than the retention window "
            f"(since {oldest:%Y-%m-%d})"
        )
    if not (math.isfinite(item.lat) and -90.0 <= item.lat <= 90.0):
        return f"lat: {item.lat} is not a latitude in degrees (-90..90)"
    if not (math.isfinite(item.lon) and -180.0 <= item.lon <= 180.0):
        return f"lon: {item.lon} is not a longitude in degrees (-180..180)"
    acc = item.accuracy_m
    if acc is not None and not (math.isfinite(acc) and 0.0 < acc <= MAX_ACCURACY_M):
        return f"accuracy_m: {acc} must be metres, above 0 and at most {MAX_ACCURACY_M:.0f}"
    return None


def _people(
    session: Session, org_id: uuid.UUID, refs: Sequence[str]
) -> dict[str, tuple[uuid.UUID, bool]]:
    """person id or device id -> (person id, consent) for the organisation's active people."""
    ids: list[uuid.UUID] = []
    devices: list[str] = []
    for ref in refs:
        # most references are device ids: only strings that long can be a person id
        if len(ref) >= 32:
            try:
                ids.append(uuid.UUID(ref))
                continue
            except ValueError:
                pass
        devices.append(ref)
    conds = []
    if session.get_bind().dialect.name == "postgresql":
        # one array parameter instead of thousands: much less to bind and to plan
        if ids:
            conds.append(Person.id == any_(literal(ids, postgresql.ARRAY(Uuid))))
        if devices:
            conds.append(Person.device_id == any_(literal(devices, postgresql.ARRAY(String))))
    else:
        if ids:
            conds.append(Person.id.in_(ids))
        if devices:
            conds.append(Person.device_id.in_(devices))
    if not conds:
        return {}
    rows = session.execute(
        select(Person.id, Person.device_id, Person.location_consent).where(
            Person.org_id == org_id, Person.active.is_(True), or_(*conds)
        )
    ).all()
    found: dict[str, tuple[uuid.UUID, bool]] = {}
    for pid, device, consent in rows:
        found[str(pid)] = (pid, bool(consent))
        if device is not None:
            found[device] = (pid, bool(consent))
    return found


def _retention_days(session: Session, org_id: uuid.UUID) -> int:
    days = session.scalar(
        select(Organisation.position_retention_days).where(Organisation.id == org_id)
    )
    if days is None:
        msg = f"organisation {org_id} does not exist"
        raise InvalidInput(msg)
    return int(days)


def _as_arrays(
    items: Sequence[PositionIn], people: dict[str, tuple[uuid.UUID, bool]]
) -> batches.Batch:
    slot: dict[uuid.UUID, int] = {}
    for pid, _ in people.values():
        slot.setdefault(pid, len(slot))
    consent = np.zeros(len(slot), dtype=np.bool_)
    for pid, ok in people.values():
        consent[slot[pid]] = ok
    ref_slot = {ref: slot[pid] for ref, (pid, _) in people.items()}
    n = len(items)
    return batches.Batch(
        who=np.fromiter((ref_slot.get(i.person, -1) for i in items), np.int64, n),
        micros=np.fromiter((batches.micros(i.at) for i in items), np.int64, n),
        lat=np.fromiter((i.lat for i in items), np.float64, n),
        lon=np.fromiter((i.lon for i in items), np.float64, n),
        acc=np.fromiter(
            (math.nan if i.accuracy_m is None else i.accuracy_m for i in items), np.float64, n
        ),
        pids=list(slot),
        consent=consent,
    )


def _rejected(
    items: Sequence[PositionIn],
    batch: batches.Batch,
    *,
    now: datetime,
    oldest: datetime,
    only: int | None,
) -> list[tuple[int, str]]:
    """(index, reason) of every bad report, in order; the checks run on whole arrays and the
    reasons are worded (by :func:`_problem`) only for the reports that fail them."""
    acc_given = np.array([i.accuracy_m is not None for i in items], dtype=np.bool_)
    naive = np.array([i.at.tzinfo is None for i in items], dtype=np.bool_)
    bad = naive | (batch.micros > batches.micros(now + MAX_CLOCK_SKEW))
    bad |= batch.micros < batches.micros(oldest)
    bad |= ~(np.abs(batch.lat) <= 90.0) | ~(np.abs(batch.lon) <= 180.0)  # NaN fails too
    bad |= acc_given & ~((batch.acc > 0.0) & (batch.acc <= MAX_ACCURACY_M))
    bad |= batch.who < 0
    if only is not None:
        bad |= batch.who != only
    out: list[tuple[int, str]] = []
    for index in np.flatnonzero(bad).tolist():
        item = items[index]
        problem = _problem(item, now, oldest)
        if problem is None and batch.who[index] < 0:
            problem = f"person: {item.person!r} is no active person or device of the organisation"
        if problem is None:
            problem = f"person: {item.person!r} is not you; you may report only your own position"
        out.append((index, problem))
    return out


def ingest_positions(
    session: Session,
    *,
    org_id: uuid.UUID,
    items: Sequence[PositionIn],
    source: str,
    all_or_nothing: bool = True,
    only_person: uuid.UUID | None = None,
    now: datetime | None = None,
) -> IngestReport:
    """Store a batch of positions of one organisation's people.

    With ``all_or_nothing`` (HTTP) a batch with any bad report is refused whole with an
    :class:`InvalidInput` that lists each bad report by index and field; without it (MQTT)
    the good reports are stored and the bad ones returned in ``rejected``. ``only_person``
    limits the batch to one person (a staff member's own device)."""
    at = now or utcnow()
    if source not in SOURCES:
        msg = f"source {source!r} is not one of {', '.join(SOURCES)}"
        raise InvalidInput(msg)
    if len(items) > MAX_BATCH:
        msg = f"a batch holds at most {MAX_BATCH} positions, got {len(items)}; split it"
        raise PayloadTooLarge(msg)
    report = IngestReport()
    oldest = at - timedelta(days=_retention_days(session, org_id))
    batch = _as_arrays(items, _people(session, org_id, list({i.person for i in items})))
    only: int | None = None
    if only_person is not None:
        only = batch.pids.index(only_person) if only_person in batch.pids else -2
    report.rejected = _rejected(items, batch, now=at, oldest=oldest, only=only)
    if report.rejected and all_or_nothing:
        shown = "; ".join(f"item {i}: {r}" for i, r in report.rejected[:_SHOWN])
        more = len(report.rejected) - _SHOWN
        tail = f"; and {more} more" if more > 0 else ""
        msg = (
            f"{len(report.rejected)} of {len(items)} positions are invalid and nothing was "
            f"stored: {shown}{tail}"
        )
        raise InvalidInput(msg)
    valid = np.ones(len(items), dtype=np.bool_)
    valid[[i for i, _ in report.rejected]] = False
    with_consent = valid & batch.consent[np.maximum(batch.who, 0)]
    report.without_consent = int(valid.sum() - with_consent.sum())
    # one report per (person, time): the first of the batch wins, as it arrived
    good = np.flatnonzero(with_consent)
    order = good[np.lexsort((good, batch.micros[good], batch.who[good]))]
    who, micros = batch.who[order], batch.micros[order]
    first = np.ones(order.size, dtype=np.bool_)
    first[1:] = (who[1:] != who[:-1]) | (micros[1:] != micros[:-1])
    unique = order[first]  # sorted by person, then time
    report.duplicates = int(good.size - unique.size)
    if unique.size == 0:
        return report
    newest = unique[np.append(who[first][1:] != who[first][:-1], True)]
    if session.get_bind().dialect.name == "postgresql" and unique.size >= _COPY_FROM:
        stored = batches.copy_positions(session, org_id, batch, unique, received=at, source=source)
        batches.copy_latest(session, org_id, batch, newest)
    else:
        stored = batches.insert_positions(session, org_id, items, batch, unique, at, source)
        batches.update_latest(session, org_id, items, batch, newest)
    report.accepted = stored
    report.duplicates += int(unique.size) - stored
    return report


#: From this many rows on, PostgreSQL gets the rows by binary COPY into a temporary table and
#: one INSERT ... SELECT ... ON CONFLICT (several times faster than a parameterised multi-row
#: insert; docs/benchmarks.md).
_COPY_FROM = 500


def record_reject(
    session: Session,
    *,
    source: str,
    topic: str,
    payload: bytes | str,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Keep a message that could not be accepted (a dead letter), payload cut at 4 kB."""
    text = payload.decode("utf-8", "backslashreplace") if isinstance(payload, bytes) else payload
    # databases refuse NUL in text, and a dead letter must always be storable
    text = text.replace("\x00", "\\x00")
    session.add(
        PositionReject(
            received_at=now or utcnow(),
            source=source,
            topic=topic[:300],
            payload=text[:4096],
            reason=reason.replace("\x00", "\\x00"),
        )
    )
    session.flush()


def latest_position(
    session: Session,
    *,
    principal: Principal | None,
    person_id: uuid.UUID,
    reason: str,
    now: datetime | None = None,
) -> LatestPosition | None:
    """A person's latest position, read for ``reason`` (audited as a read of personal data)."""
    found = session.get(LatestPosition, person_id)
    org = principal.org_id if principal is not None else None
    if found is not None and org is not None and found.org_id != org:
        found = None
    _audit_read(session, principal, person_id, "latest", reason, now)
    return found


def positions_of(
    session: Session,
    *,
    principal: Principal | None,
    person_id: uuid.UUID,
    since: datetime,
    reason: str,
    limit: int = 1000,
    now: datetime | None = None,
) -> Sequence[Position]:
    """A person's track since ``since``, oldest first, read for ``reason`` (audited)."""
    stmt = (
        select(Position)
        .where(Position.person_id == person_id, Position.at >= since)
        .order_by(Position.at)
        .limit(limit)
    )
    if principal is not None:
        stmt = stmt.where(Position.org_id == principal.org_id)
    found = session.execute(stmt).scalars().all()
    _audit_read(session, principal, person_id, "track", reason, now)
    return found


def _audit_read(
    session: Session,
    principal: Principal | None,
    person_id: uuid.UUID,
    what: str,
    reason: str,
    now: datetime | None,
) -> None:
    if not reason.strip() or len(reason) > 500:
        msg = "reason: say why the position is read (1-500 characters); it goes into the audit"
        raise InvalidInput(msg)
    audit.record(
        session,
        action="personal_data.read",
        actor=principal.actor if principal is not None else "system",
        org_id=principal.org_id if principal is not None else None,
        object_type="person",
        object_id=person_id,
        detail={"what": f"position.{what}", "reason": reason},
        now=now or utcnow(),
    )


def purge_positions(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Delete positions (and latest positions) older than each organisation's retention;
    each organisation's purge is one audit entry. Returns deleted rows per organisation slug."""
    at = now or utcnow()
    out: dict[str, int] = {}
    orgs = session.execute(
        select(Organisation.id, Organisation.slug, Organisation.position_retention_days)
    ).all()
    for org_id, slug, days in orgs:
        cutoff = at - timedelta(days=int(days))
        gone = cast(
            "CursorResult[Any]",
            session.execute(
                delete(Position).where(Position.org_id == org_id, Position.at < cutoff)
            ),
        )
        session.execute(
            delete(LatestPosition).where(
                LatestPosition.org_id == org_id, LatestPosition.at < cutoff
            )
        )
        n = int(gone.rowcount or 0)
        out[slug] = n
        if n:
            audit.record(
                session,
                action="position.purge",
                actor="system",
                org_id=org_id,
                object_type="organisation",
                object_id=org_id,
                detail={"deleted": n, "before": cutoff.isoformat(), "retention_days": int(days)},
                now=at,
            )
    return out


def count_positions(session: Session, *, org_id: uuid.UUID) -> int:
    """How many positions an organisation holds (for reports and tests)."""
    return int(
        session.scalar(select(func.count()).select_from(Position).where(Position.org_id == org_id))
        or 0
    )


def summary(
    session: Session, *, org_id: uuid.UUID, min_count: int = 3
) -> dict[str, list[dict[str, Any]]]:
    """How many of the organisation's people are at each site (latest position within the
    site's perimeter radius) and in each H3 cell of about 5 km² (resolution 7); cells with
    fewer than ``min_count`` people are left out so nobody is singled out."""
    rows = session.execute(
        select(LatestPosition.latitude, LatestPosition.longitude, LatestPosition.h3_r7).where(
            LatestPosition.org_id == org_id
        )
    ).all()
    lats = np.array([r[0] for r in rows], dtype=np.float64)
    lons = np.array([r[1] for r in rows], dtype=np.float64)
    sites = []
    for site in session.scalars(select(Site).where(Site.org_id == org_id).order_by(Site.slug)):
        inside = 0
        if len(rows):
            d = haversine_km_array(site.latitude, site.longitude, lats, lons)
            inside = int((d <= site.perimeter_radius_m / 1000.0).sum())
        sites.append({"site_id": str(site.id), "slug": site.slug, "people": inside})
    counts: dict[int, int] = {}
    for r in rows:
        counts[int(r[2])] = counts.get(int(r[2]), 0) + 1
    cells = [
        {"h3": cell_int_to_str(cell), "people": n}
        for cell, n in sorted(counts.items())
        if n >= min_count
    ]
    return {"sites": sites, "cells": cells}
