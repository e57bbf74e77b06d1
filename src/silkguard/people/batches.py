"""Writing a checked batch of positions: the batch as arrays, and the inserts of positions and
latest positions (binary COPY on PostgreSQL, ``INSERT ... ON CONFLICT`` otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from silkguard.core.errors import InvalidInput
from silkguard.geo.cells import cells_for_arrays
from silkguard.people import bulk
from silkguard.people.models import LatestPosition, Position

if TYPE_CHECKING:
    from silkguard.people.positions import PositionIn

__all__ = [
    "Batch",
    "copy_latest",
    "copy_positions",
    "insert_positions",
    "micros",
    "update_latest",
]


def _insert(session: Session, model: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    msg = f"position ingest supports SQLite and PostgreSQL, not {name}"
    raise InvalidInput(msg)


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(when: datetime) -> int:
    """Microseconds since the Unix epoch (exact; 0 for a time without zone, refused anyway)."""
    if when.tzinfo is None:
        return 0
    return (when - _UNIX_EPOCH) // _MICROSECOND


@dataclass
class Batch:
    """A batch as arrays, one entry per report: who (index into ``pids``, -1 unknown), when
    (microseconds since the Unix epoch), where and how accurately (NaN for none)."""

    who: npt.NDArray[np.int64]
    micros: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    acc: npt.NDArray[np.float64]
    pids: list[uuid.UUID]
    consent: npt.NDArray[np.bool_]


def _uuid_bytes(pids: list[uuid.UUID]) -> npt.NDArray[np.bytes_]:
    return np.array([p.bytes for p in pids], dtype="S16")


def _nullable(values: npt.NDArray[np.float64]) -> bulk.Column:
    return bulk.Column("accuracy_m", values.astype(">f8"), np.isnan(values))


def copy_positions(
    session: Session,
    org_id: uuid.UUID,
    batch: Batch,
    rows: npt.NDArray[np.int64],
    *,
    received: datetime,
    source: str,
) -> int:
    """Insert the reports ``rows`` into ``positions`` by binary COPY; returns how many were
    new (a (person, time) already stored is skipped)."""
    columns = [
        bulk.Column("org_id", np.array(org_id.bytes, dtype="S16")),
        bulk.Column("person_id", _uuid_bytes(batch.pids)[batch.who[rows]]),
        bulk.Column("at", bulk.timestamptz_micros(batch.micros[rows])),
        bulk.Column("received_at", bulk.timestamptz_micros(micros(received))),
        bulk.Column("latitude", batch.lat[rows].astype(">f8")),
        bulk.Column("longitude", batch.lon[rows].astype(">f8")),
        _nullable(batch.acc[rows]),
        bulk.Column("source", np.array(source.encode(), dtype=f"S{len(source)}")),
    ]
    return bulk.copy_and_insert(
        session,
        table="positions",
        columns=columns,
        rows=int(rows.size),
        tail="ON CONFLICT (person_id, at) DO NOTHING",
    )


def copy_latest(
    session: Session, org_id: uuid.UUID, batch: Batch, rows: npt.NDArray[np.int64]
) -> None:
    """Upsert the newest report of each person (``rows``) into ``latest_positions`` by
    binary COPY and one INSERT ... ON CONFLICT that only moves forward in time."""
    lat, lon = batch.lat[rows], batch.lon[rows]
    columns = [
        bulk.Column("person_id", _uuid_bytes(batch.pids)[batch.who[rows]]),
        bulk.Column("org_id", np.array(org_id.bytes, dtype="S16")),
        bulk.Column("at", bulk.timestamptz_micros(batch.micros[rows])),
        bulk.Column("latitude", lat.astype(">f8")),
        bulk.Column("longitude", lon.astype(">f8")),
        _nullable(batch.acc[rows]),
        bulk.Column("h3_r7", np.asarray(cells_for_arrays(lat, lon, 7), dtype=">i8")),
    ]
    bulk.copy_and_insert(
        session,
        table="latest_positions",
        columns=columns,
        rows=int(rows.size),
        tail="ON CONFLICT (person_id) DO UPDATE SET at = excluded.at, "
        "latitude = excluded.latitude, longitude = excluded.longitude, "
        "accuracy_m = excluded.accuracy_m, h3_r7 = excluded.h3_r7 "
        "WHERE latest_positions.at < excluded.at",
    )


def insert_positions(
    session: Session,
    org_id: uuid.UUID,
    items: Sequence[PositionIn],
    batch: Batch,
    rows: npt.NDArray[np.int64],
    received: datetime,
    source: str,
) -> int:
    values = [
        {
            "org_id": org_id,
            "person_id": batch.pids[int(batch.who[k])],
            "at": items[k].at,
            "received_at": received,
            "latitude": float(batch.lat[k]),
            "longitude": float(batch.lon[k]),
            "accuracy_m": None if items[k].accuracy_m is None else float(batch.acc[k]),
            "source": source,
        }
        for k in rows.tolist()
    ]
    stmt = (
        _insert(session, Position)
        .on_conflict_do_nothing(index_elements=["person_id", "at"])
        .returning(Position.id)
    )
    return len(session.execute(stmt, values).all())


def update_latest(
    session: Session,
    org_id: uuid.UUID,
    items: Sequence[PositionIn],
    batch: Batch,
    rows: npt.NDArray[np.int64],
) -> None:
    cells = cells_for_arrays(batch.lat[rows], batch.lon[rows], 7)
    values = [
        {
            "person_id": batch.pids[int(batch.who[k])],
            "org_id": org_id,
            "at": items[k].at,
            "latitude": float(batch.lat[k]),
            "longitude": float(batch.lon[k]),
            "accuracy_m": None if items[k].accuracy_m is None else float(batch.acc[k]),
            "h3_r7": int(cell),
        }
        for k, cell in zip(rows.tolist(), cells, strict=True)
    ]
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
    session.execute(stmt, values)
