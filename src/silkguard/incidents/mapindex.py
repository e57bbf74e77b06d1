"""The map's searches (a box and a time range, as GeoJSON) answered from memory.

A map client pans and zooms: every move is a search of a box and a time range for a page of
GeoJSON Features. Answered by the database, each costs the index descents and the page's rows
(SQLite 2.0-2.5 ms of CPU, PostgreSQL 5-6 ms; docs/benchmarks.md). Each API process instead
keeps the incidents' positions, times and stored Feature texts in arrays sorted as the search
orders them (newest first, then by id), and answers such a search with a binary search on
time and a vectorised box test over the slice.

Correctness does not depend on the copy being kept up to date by the application:

- The copy is tagged with the ``incidents`` change counter (core.changes) read in the
  transaction that loaded it. A search uses it only when the counter the request read is the
  same, i.e. nothing about incidents, their shares or their recipients has been committed
  since. Otherwise the database answers, and the copy is rebuilt (by one request at a time,
  at most once per ``refresh_s``).
- Who may see what stays in one place, the SQL rule of :func:`incidents.query.visible`:
  the set of incidents a caller may see is read once per caller (organisation, user, groups)
  and copy, with that rule, as a mask over the arrays.
- Only the searches the copy can answer exactly are answered from it (box and/or time range
  and cursor; no polygon, cell, text or other filter); every other search goes to the
  database. Tests compare both answers, pages and cursors, on random data and callers.

Memory: about the size of the stored Feature texts plus 40 bytes per incident, per process
(about 110 MB for 200,000 incidents); ``max_rows`` bounds it (above it the database answers)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from silkguard.core.access import Principal
from silkguard.core.changes import INCIDENTS, read_counters
from silkguard.incidents.geojson import render_feature
from silkguard.incidents.models import Incident
from silkguard.incidents.query import IncidentFilter, decode_cursor, encode_cursor, visible

__all__ = ["MapIndex", "MapSnapshot", "answerable"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MASKS_KEPT = 64  # callers' visibility masks per copy (200 KB each for 200k incidents)
_FIRST_CHUNK = 4096


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _id_halves(ident: uuid.UUID) -> tuple[int, int]:
    value = ident.int
    return value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF


def answerable(filters: IncidentFilter) -> bool:
    """Whether the copy answers this search exactly: only a box and a time range."""
    return (
        filters.polygon is None
        and not filters.h3_cell
        and not filters.province
        and not filters.district
        and not filters.attack_types
        and not filters.target_types
        and not filters.perpetrator
        and not filters.text
        and not filters.statuses
        and not filters.tlps
        and filters.org_id is None
    )


_Caller = tuple[uuid.UUID, uuid.UUID | None, frozenset[uuid.UUID]]


def _caller(principal: Principal) -> _Caller:
    # everything the visibility rule reads of a caller
    return principal.org_id, principal.user_id, principal.group_ids


@dataclass(frozen=True)
class MapSnapshot:
    """The incidents at one value of the ``incidents`` counter, newest first (then by id,
    descending, as the database orders them)."""

    counter: int
    neg_time: npt.NDArray[np.int64]  # -occurred_at in microseconds: ascending
    time: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]  # NaN where unknown (never inside a box)
    lat: npt.NDArray[np.float64]
    id_hi: npt.NDArray[np.uint64]
    id_lo: npt.NDArray[np.uint64]
    features: list[str]
    position: dict[uuid.UUID, int]

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def load(cls, session: Session, counter: int) -> MapSnapshot:
        """Every incident's position, time, id and Feature text, in the session's
        transaction (which read ``counter``)."""
        stmt = select(
            Incident.id,
            Incident.occurred_at,
            Incident.longitude,
            Incident.latitude,
            Incident.feature,
        )
        rows = session.execute(stmt).all()
        missing = [r.id for r in rows if r.feature is None]
        rendered: dict[uuid.UUID, str] = {}
        if missing:
            full = select(Incident).where(Incident.id.in_(missing))
            rendered = {i.id: render_feature(i) for i in session.execute(full).scalars()}
        n = len(rows)
        when = np.fromiter((_micros(r.occurred_at) for r in rows), np.int64, n)
        halves = [_id_halves(r.id) for r in rows]
        hi = np.fromiter((h for h, _ in halves), np.uint64, n)
        lo = np.fromiter((low for _, low in halves), np.uint64, n)
        lon = np.fromiter((np.nan if r.longitude is None else r.longitude for r in rows), float, n)
        lat = np.fromiter((np.nan if r.latitude is None else r.latitude for r in rows), float, n)
        # newest first, then the larger id first (ORDER BY occurred_at DESC, id DESC)
        order = np.lexsort((lo, hi, when))[::-1]
        ordered = [rows[i] for i in order]
        return cls(
            counter=counter,
            neg_time=np.ascontiguousarray(-when[order]),
            time=np.ascontiguousarray(when[order]),
            lon=np.ascontiguousarray(lon[order]),
            lat=np.ascontiguousarray(lat[order]),
            id_hi=np.ascontiguousarray(hi[order]),
            id_lo=np.ascontiguousarray(lo[order]),
            features=[r.feature if r.feature is not None else rendered[r.id] for r in ordered],
            position={r.id: i for i, r in enumerate(ordered)},
        )

    def visible_mask(self, session: Session, principal: Principal) -> npt.NDArray[np.bool_]:
        """Which incidents ``principal`` may see, by the one SQL rule (in the session's
        transaction, which must be at this copy's counter)."""
        mask = np.zeros(len(self), dtype=bool)
        ids = session.execute(select(Incident.id).where(visible(principal))).scalars()
        positions = [self.position[i] for i in ids if i in self.position]
        mask[np.fromiter(positions, np.intp, len(positions))] = True
        return mask

    def page(
        self,
        filters: IncidentFilter,
        mask: npt.NDArray[np.bool_],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[str], str | None]:
        """The Feature texts of one page and the next cursor, as incidents.query's
        search_features gives them for the same search."""
        start, stop = 0, len(self)
        if filters.since is not None:
            # occurred_at >= since  <=>  -occurred_at <= -since
            stop = int(np.searchsorted(self.neg_time, -_micros(filters.since), "right"))
        if filters.until is not None:
            # occurred_at < until  <=>  -occurred_at > -until
            start = int(np.searchsorted(self.neg_time, -_micros(filters.until), "right"))
        after: tuple[int, int, int] | None = None
        if cursor is not None:
            when, ident = decode_cursor(cursor)
            after = (_micros(when), *_id_halves(ident))
            # rows at the cursor's time or older; those at its time are tested below
            start = max(start, int(np.searchsorted(self.neg_time, -after[0], "left")))
        found: list[int] = []
        need = limit + 1
        chunk = _FIRST_CHUNK
        lo = start
        while lo < stop and len(found) < need:
            hi = min(stop, lo + chunk)
            keep = mask[lo:hi].copy()
            if filters.bbox is not None:
                min_lon, min_lat, max_lon, max_lat = filters.bbox
                lon, lat = self.lon[lo:hi], self.lat[lo:hi]
                keep &= (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)
            if after is not None and self.time[lo] == after[0]:
                at, a_hi, a_lo = after
                t, i_hi, i_lo = self.time[lo:hi], self.id_hi[lo:hi], self.id_lo[lo:hi]
                keep &= (t < at) | (i_hi < a_hi) | ((i_hi == a_hi) & (i_lo < a_lo))
            hits = np.flatnonzero(keep)[: need - len(found)]
            found.extend((hits + lo).tolist())
            lo = hi
            chunk *= 4
        features = [self.features[p] for p in found[:limit]]
        if len(found) <= limit:
            return features, None
        last = found[limit - 1]
        when_last = _EPOCH + timedelta(microseconds=int(self.time[last]))
        ident_last = uuid.UUID(int=(int(self.id_hi[last]) << 64) | int(self.id_lo[last]))
        return features, encode_cursor(when_last, ident_last)


class MapIndex:
    """One process's copy of the incidents for map searches, and the callers' masks.

    Thread-safe: requests run on a thread pool. A copy, once built, is never changed; a
    newer one replaces it. One request at a time (re)builds, while the others ask the
    database."""

    def __init__(self, *, max_rows: int = 1_000_000, refresh_s: float = 10.0) -> None:
        self.max_rows = max_rows
        self.refresh_s = refresh_s
        self._snapshot: MapSnapshot | None = None
        self._masks: OrderedDict[_Caller, npt.NDArray[np.bool_]] = OrderedDict()
        self._lock = threading.Lock()
        self._building = threading.Lock()
        self._last_build = -float("inf")
        self.builds = 0  # copies made, and searches answered from one (tests, benchmarks)
        self.answered = 0

    @property
    def snapshot(self) -> MapSnapshot | None:
        return self._snapshot

    def search(
        self,
        session: Session,
        *,
        counters: dict[str, int] | None,
        principal: Principal,
        filters: IncidentFilter,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[str], str | None] | None:
        """The page from memory, or None when the database must answer (a search the copy
        cannot answer, no counter read, or a copy older than the request's counter).
        ``counters`` were read in ``session``'s current transaction."""
        if counters is None or INCIDENTS not in counters or not answerable(filters):
            return None
        counter = counters[INCIDENTS]
        snapshot = self._current(session, counter)
        if snapshot is None:
            return None
        mask = self._mask(session, snapshot, principal)
        if mask is None:
            return None
        self.answered += 1
        return snapshot.page(filters, mask, limit, cursor)

    def _current(self, session: Session, counter: int) -> MapSnapshot | None:
        snapshot = self._snapshot
        if snapshot is not None and snapshot.counter == counter:
            return snapshot
        now = time.monotonic()
        if now - self._last_build < self.refresh_s or not self._building.acquire(blocking=False):
            return None
        try:
            self._last_build = now
            count = session.scalar(select(func.count()).select_from(Incident))
            if count is None or count > self.max_rows:
                return None
            fresh = MapSnapshot.load(session, counter)
            if not self._unchanged(session, counter):
                return None
            with self._lock:
                self._snapshot = fresh
                self._masks.clear()
                self.builds += 1
            return fresh
        finally:
            self._building.release()

    @staticmethod
    def _unchanged(session: Session, counter: int) -> bool:
        # PostgreSQL reads each statement at its own snapshot (READ COMMITTED): the counter is
        # read again after the data; the same value means nothing was committed in between
        return read_counters(session).get(INCIDENTS) == counter

    def _mask(
        self, session: Session, snapshot: MapSnapshot, principal: Principal
    ) -> npt.NDArray[np.bool_] | None:
        key = _caller(principal)
        with self._lock:
            if self._snapshot is not snapshot:
                return None
            mask = self._masks.get(key)
            if mask is not None:
                self._masks.move_to_end(key)
                return mask
        mask = snapshot.visible_mask(session, principal)
        if not self._unchanged(session, snapshot.counter):
            return None
        with self._lock:
            if self._snapshot is snapshot:
                self._masks[key] = mask
                while len(self._masks) > _MASKS_KEPT:
                    self._masks.popitem(last=False)
        return mask
