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
from sqlalchemy import CursorResult, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth.models import Organisation
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, PayloadTooLarge
from silkguard.geo.cells import cell_int_to_str, cells_for_arrays
from silkguard.geo.distance import haversine_km_array
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
    session: Session, org_id: uuid.UUID, refs: set[str]
) -> dict[str, tuple[uuid.UUID, bool]]:
    """person id or device id -> (person id, consent) for the organisation's active people."""
    ids: list[uuid.UUID] = []
    devices: list[str] = []
    for ref in refs:
        try:
            ids.append(uuid.UUID(ref))
        except ValueError:
            devices.append(ref)
    conds = []
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


def _insert(session: Session, model: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    msg = f"position ingest supports SQLite and PostgreSQL, not {name}"
    raise InvalidInput(msg)


def _retention_days(session: Session, org_id: uuid.UUID) -> int:
    days = session.scalar(
        select(Organisation.position_retention_days).where(Organisation.id == org_id)
    )
    if days is None:
        msg = f"organisation {org_id} does not exist"
        raise InvalidInput(msg)
    return int(days)


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
    people = _people(session, org_id, {i.person for i in items})
    good: list[tuple[int, uuid.UUID, PositionIn]] = []
    for index, item in enumerate(items):
        problem = _problem(item, at, oldest)
        if problem is None and item.person not in people:
            problem = f"person: {item.person!r} is no active person or device of the organisation"
        if problem is None and only_person is not None and people[item.person][0] != only_person:
            problem = f"person: {item.person!r} is not you; you may report only your own position"
        if problem is not None:
            report.rejected.append((index, problem))
            continue
        pid, consent = people[item.person]
        if not consent:
            report.without_consent += 1
            continue
        good.append((index, pid, item))
    if report.rejected and all_or_nothing:
        shown = "; ".join(f"item {i}: {r}" for i, r in report.rejected[:_SHOWN])
        more = len(report.rejected) - _SHOWN
        tail = f"; and {more} more" if more > 0 else ""
        msg = (
            f"{len(report.rejected)} of {len(items)} positions are invalid and nothing was "
            f"stored: {shown}{tail}"
        )
        raise InvalidInput(msg)
    unique: dict[tuple[uuid.UUID, datetime], PositionIn] = {}
    for _, pid, item in good:
        unique.setdefault((pid, item.at), item)
    report.duplicates = len(good) - len(unique)
    if not unique:
        return report
    rows = [
        {
            "org_id": org_id,
            "person_id": pid,
            "at": when,
            "received_at": at,
            "latitude": float(item.lat),
            "longitude": float(item.lon),
            "accuracy_m": None if item.accuracy_m is None else float(item.accuracy_m),
            "source": source,
        }
        for (pid, when), item in unique.items()
    ]
    if session.get_bind().dialect.name == "postgresql" and len(rows) >= _COPY_FROM:
        stored = _copy_insert(session, rows)
    else:
        stmt = (
            _insert(session, Position)
            .on_conflict_do_nothing(index_elements=["person_id", "at"])
            .returning(Position.id)
        )
        stored = len(session.execute(stmt, rows).all())
    report.accepted = stored
    report.duplicates += len(rows) - stored
    _update_latest(session, org_id, unique)
    return report


_COPY_COLUMNS = (
    "org_id",
    "person_id",
    "at",
    "received_at",
    "latitude",
    "longitude",
    "accuracy_m",
    "source",
)
#: From this many rows on, PostgreSQL gets the rows by COPY into a temporary table and one
#: INSERT ... SELECT ... ON CONFLICT DO NOTHING (several times faster than a parameterised
#: multi-row insert; docs/benchmarks.md).
_COPY_FROM = 500


def _copy_in(
    session: Session, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]], tail: str
) -> int:
    """COPY ``rows`` into a session-local temporary twin of ``table``, then one
    ``INSERT INTO table ... SELECT ... {tail}``; returns the rows the insert wrote."""
    dbapi = session.connection().connection.driver_connection
    cols = ", ".join(columns)
    staging = f"sg_{table}_in"
    with dbapi.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
            f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        cur.execute(f"TRUNCATE {staging}")
        with cur.copy(f"COPY {staging} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging} {tail}")  # noqa: S608 - fixed names
        return int(cur.rowcount)


def _copy_insert(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` into ``positions`` on PostgreSQL by COPY; returns how many were new."""
    return _copy_in(
        session, "positions", _COPY_COLUMNS, rows, "ON CONFLICT (person_id, at) DO NOTHING"
    )


_LATEST_COLUMNS = ("person_id", "org_id", "at", "latitude", "longitude", "accuracy_m", "h3_r7")


def _copy_latest(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upsert the latest positions on PostgreSQL by COPY and one INSERT ... ON CONFLICT."""
    _copy_in(
        session,
        "latest_positions",
        _LATEST_COLUMNS,
        rows,
        "ON CONFLICT (person_id) DO UPDATE SET at = excluded.at, latitude = excluded.latitude, "
        "longitude = excluded.longitude, accuracy_m = excluded.accuracy_m, "
        "h3_r7 = excluded.h3_r7 WHERE latest_positions.at < excluded.at",
    )


def _update_latest(
    session: Session, org_id: uuid.UUID, unique: dict[tuple[uuid.UUID, datetime], PositionIn]
) -> None:
    newest: dict[uuid.UUID, PositionIn] = {}
    for (pid, when), item in unique.items():
        if pid not in newest or when > newest[pid].at:
            newest[pid] = item
    order = list(newest)
    cells = cells_for_arrays(
        np.array([newest[p].lat for p in order]), np.array([newest[p].lon for p in order]), 7
    )
    rows = [
        {
            "person_id": pid,
            "org_id": org_id,
            "at": newest[pid].at,
            "latitude": float(newest[pid].lat),
            "longitude": float(newest[pid].lon),
            "accuracy_m": newest[pid].accuracy_m,
            "h3_r7": int(cell),
        }
        for pid, cell in zip(order, cells, strict=True)
    ]
    if session.get_bind().dialect.name == "postgresql" and len(rows) >= _COPY_FROM:
        _copy_latest(session, rows)
        return
    ins = _insert(session, LatestPosition)
    stmt = ins.on_conflict_do_update(
        index_elements=["person_id"],
        set_={
            "at": ins.excluded.at,
            "latitude": ins.excluded.latitude,
            "longitude": ins.excluded.longitude,
            "accuracy_m": ins.excluded.accuracy_m,
            "h3_r7": ins.excluded.h3_r7,
        },
        where=LatestPosition.at < ins.excluded.at,
    )
    session.execute(stmt, rows)


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
