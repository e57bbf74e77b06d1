"""Bulk loading of positions into PostgreSQL: binary ``COPY`` built from numpy arrays.

Position rows are fixed-width (uuid, timestamptz, float8, a short code), so PostgreSQL's
binary COPY format (a 19-byte header, per row a 16-bit field count and per field a 32-bit
length and the value in network byte order, a 16-bit trailer) can be written for a whole
batch with a few numpy operations instead of one Python call per row and field. Rows go into
a session-local temporary table and from there into the real table with one
``INSERT ... SELECT`` (so conflicts are resolved by the database, all or nothing in the
caller's transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

__all__ = ["Column", "binary_copy", "copy_and_insert", "timestamptz_micros"]

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)
#: PostgreSQL counts timestamps in microseconds from 2000-01-01 00:00 UTC.
_PG_EPOCH_FROM_UNIX_US = 946_684_800_000_000


def timestamptz_micros(unix_micros: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Microseconds since the Unix epoch -> PostgreSQL's binary ``timestamptz`` values
    (big-endian)."""
    return np.asarray(np.asarray(unix_micros, dtype=np.int64) - _PG_EPOCH_FROM_UNIX_US, ">i8")


@dataclass(frozen=True)
class Column:
    """One column of a binary COPY: its name, fixed-width big-endian values (``dtype``
    such as ``>f8``, ``>i8``, ``S16`` for a uuid's bytes, ``S4`` for a 4-byte text) and
    optionally which rows are NULL. A single value (a 0-d array) stands for every row."""

    name: str
    values: npt.NDArray[Any]
    null: npt.NDArray[np.bool_] | None = None


def binary_copy(columns: list[Column], rows: int) -> bytes:
    """The complete binary COPY stream (header, rows, trailer) of ``rows`` rows."""
    if rows == 0:
        return _SIGNATURE + _TRAILER
    pattern = np.zeros(rows, dtype=np.int64)
    for k, col in enumerate(columns):
        if col.null is not None:
            pattern |= col.null.astype(np.int64) << k
    chunks = [_SIGNATURE]
    patterns: list[int] = np.unique(pattern).tolist()
    # each pattern of NULLs has its own fixed row width; rows may go in any order
    for bits in patterns:
        take = None if len(patterns) == 1 else np.flatnonzero(pattern == bits)
        fields: list[tuple[str, Any]] = [("n", ">i2")]
        for k, col in enumerate(columns):
            fields.append((f"l{k}", ">i4"))
            if not (bits >> k) & 1:
                fields.append((f"v{k}", col.values.dtype))
        out = np.empty(rows if take is None else take.size, dtype=np.dtype(fields))
        out["n"] = len(columns)
        for k, col in enumerate(columns):
            if (bits >> k) & 1:
                out[f"l{k}"] = -1
                continue
            out[f"l{k}"] = col.values.dtype.itemsize
            out[f"v{k}"] = col.values if take is None or col.values.ndim == 0 else col.values[take]
        chunks.append(out.tobytes())
    chunks.append(_TRAILER)
    return b"".join(chunks)


def copy_and_insert(
    session: Session,
    *,
    table: str,
    columns: list[Column],
    rows: int,
    tail: str,
    select: str | None = None,
) -> int:
    """COPY ``rows`` rows into a temporary twin of ``table`` (same column types, no defaults,
    no constraints, emptied at commit), then ``INSERT INTO table (...) SELECT ... {tail}``;
    returns how many rows the insert wrote. ``select`` replaces the plain column list of the
    SELECT (e.g. ``DISTINCT ON``)."""
    names = ", ".join(c.name for c in columns)
    staging = f"sg_{table}_bin"
    payload = binary_copy(columns, rows)
    dbapi = session.connection().connection.driver_connection
    with dbapi.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608 - fixed names
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
        cur.execute(f"TRUNCATE {staging}")
        with cur.copy(f"COPY {staging} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(payload)
        cur.execute(
            f"INSERT INTO {table} ({names}) SELECT {select or names} FROM {staging} {tail}"  # noqa: S608 - fixed names
        )
        return int(cur.rowcount)
