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
  since. Otherwise the database answers, and a new copy is made (in the server, on a
  background thread; at most once per ``refresh_s``).
- Who may see what stays in one place, the SQL rule of :func:`incidents.query.visible`:
  the set of incidents a caller may see is read once per caller (organisation, user, groups)
  and copy, with that rule, as a mask over the arrays (in the background too: the database
  answers that caller's searches until it is ready).
- Only the searches the copy can answer exactly are answered from it (box and/or time range
  and cursor; no polygon, cell, text or other filter); every other search goes to the
  database. Tests compare both answers, pages and cursors, on random data and callers.

Memory: about the size of the stored Feature texts plus 40 bytes per incident, per process
(measured: 280 MB more per process for 200,000 incidents, 144 MB of it the Feature texts);
``max_rows`` bounds it (above it the database answers)."""

from __future__ import annotations

import bisect
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from silkguard.core.access import Principal
from silkguard.core.changes import INCIDENTS, read_counters
from silkguard.incidents.geojson import render_feature
from silkguard.incidents.models import Incident
from silkguard.incidents.query import IncidentFilter, decode_cursor, encode_cursor, visible

__all__ = ["MapIndex", "MapSnapshot", "answerable"]

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MASKS_KEPT = 64  # callers' visibility masks per copy (200 KB each for 200k incidents)
_FIRST_CHUNK = 4096


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_LOW_64 = 0xFFFF_FFFF_FFFF_FFFF
# An incident's id as the database's text (hex on SQLite, hyphenated on PostgreSQL): reading
# 200,000 of them makes no uuid.UUID objects (a copy loads in half the time, a mask in a
# fifth), and a dict of strings is not tracked by the garbage collector.
_KEY = cast(Incident.id, String).label("key")


def _id_halves(ident: uuid.UUID) -> tuple[int, int]:
    value = ident.int
    return value >> 64, value & _LOW_64


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
    neg_times: list[int]  # -occurred_at in microseconds: ascending
    time: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]  # NaN where unknown (never inside a box)
    lat: npt.NDArray[np.float64]
    id_hi: npt.NDArray[np.uint64]
    id_lo: npt.NDArray[np.uint64]
    features: list[str]
    position: dict[str, int]  # _KEY -> position

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def load(cls, session: Session, counter: int) -> MapSnapshot:
        """Every incident's position, time, id and Feature text, in the session's
        transaction (which read ``counter``)."""
        stmt = select(
            _KEY,
            Incident.occurred_at,
            Incident.longitude,
            Incident.latitude,
            Incident.feature,
        )
        rows = session.execute(stmt).all()
        n = len(rows)
        keys, times, lons, lats, texts = zip(*rows, strict=True) if rows else ((),) * 5
        missing = [uuid.UUID(k) for k, t in zip(keys, texts, strict=True) if t is None]
        rendered: dict[uuid.UUID, str] = {}
        if missing:
            full = select(Incident).where(Incident.id.in_(missing))
            rendered = {i.id: render_feature(i) for i in session.execute(full).scalars()}
        when = np.fromiter(map(_micros, times), np.int64, n)
        numbers = [int(k.replace("-", ""), 16) for k in keys]
        hi = np.fromiter((x >> 64 for x in numbers), np.uint64, n)
        lo = np.fromiter((x & _LOW_64 for x in numbers), np.uint64, n)
        lon = np.array(lons, dtype=float).reshape(n)  # None (unknown) becomes NaN
        lat = np.array(lats, dtype=float).reshape(n)
        # newest first, then the larger id first (ORDER BY occurred_at DESC, id DESC)
        order = np.lexsort((lo, hi, when))[::-1]
        at = order.tolist()
        return cls(
            counter=counter,
            neg_times=(-when[order]).tolist(),
            time=np.ascontiguousarray(when[order]),
            lon=np.ascontiguousarray(lon[order]),
            lat=np.ascontiguousarray(lat[order]),
            id_hi=np.ascontiguousarray(hi[order]),
            id_lo=np.ascontiguousarray(lo[order]),
            features=[
                texts[i] if texts[i] is not None else rendered[uuid.UUID(keys[i])] for i in at
            ],
            position={keys[i]: p for p, i in enumerate(at)},
        )

    def visible_mask(self, session: Session, principal: Principal) -> npt.NDArray[np.bool_]:
        """Which incidents ``principal`` may see, by the one SQL rule (in the session's
        transaction, which must be at this copy's counter)."""
        mask = np.zeros(len(self), dtype=bool)
        keys = session.execute(select(_KEY).where(visible(principal))).scalars()
        where = self.position
        positions = [p for p in map(where.get, keys) if p is not None]
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
        # bisect on a list, not numpy's searchsorted: that lets go of the GIL, and under load
        # getting it back waits for the other threads' switch interval (up to 5 ms)
        start, stop = 0, len(self)
        if filters.since is not None:
            # occurred_at >= since  <=>  -occurred_at <= -since
            stop = bisect.bisect_right(self.neg_times, -_micros(filters.since))
        if filters.until is not None:
            # occurred_at < until  <=>  -occurred_at > -until
            start = bisect.bisect_right(self.neg_times, -_micros(filters.until))
        after: tuple[int, int, int] | None = None
        if cursor is not None:
            when, ident = decode_cursor(cursor)
            after = (_micros(when), *_id_halves(ident))
            # rows at the cursor's time or older; those at its time are tested below
            start = max(start, bisect.bisect_left(self.neg_times, -after[0]))
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

    Thread-safe: requests run on a thread pool. A copy, once made, is never changed; a newer
    one replaces it. With ``session_factory`` (the server), copies and masks are made on one
    background thread, in sessions of their own, while the database answers the searches
    that need them: no search waits for a copy (seconds for 200,000 incidents). Without it
    (tests), the search that needs one makes it in its own session."""

    def __init__(
        self,
        session_factory: Callable[[], Session] | None = None,
        *,
        max_rows: int = 300_000,
        refresh_s: float = 10.0,
    ) -> None:
        self.max_rows = max_rows
        self.refresh_s = refresh_s
        self._factory = session_factory
        self._background = (
            ThreadPoolExecutor(1, thread_name_prefix="silkguard-map-index")
            if session_factory is not None
            else None
        )
        self._snapshot: MapSnapshot | None = None
        self._masks: OrderedDict[_Caller, npt.NDArray[np.bool_]] = OrderedDict()
        self._pending: set[_Caller] = set()  # masks being made in the background
        self._lock = threading.Lock()
        self._building = threading.Lock()
        self._last_build = -float("inf")
        self.builds = 0  # copies made, and searches answered from one (tests, benchmarks)
        self.answered = 0

    @property
    def snapshot(self) -> MapSnapshot | None:
        return self._snapshot

    @property
    def in_background(self) -> bool:
        """Whether copies and masks are made on the index's own thread: a search then does
        no I/O (it never uses its session)."""
        return self._background is not None

    def search(
        self,
        session: Session | None,
        *,
        counters: dict[str, int] | None,
        principal: Principal,
        filters: IncidentFilter,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[str], str | None] | None:
        """The page from memory, or None when the database must answer (a search the copy
        cannot answer, no counter read, a copy older than the request's counter, or a caller
        whose mask is still being made).

        ``counters`` were read by this request before (in ``session``'s transaction or an
        earlier one): the answer is the data as of that read. ``session`` is used only to
        make a copy or a mask without ``session_factory`` (None: the search answers only from
        what is ready); each is kept only if the counter, read again after it, has not
        moved."""
        if counters is None or INCIDENTS not in counters or not answerable(filters):
            return None
        counter = counters[INCIDENTS]
        snapshot = self._snapshot
        if snapshot is None or snapshot.counter != counter:
            self._refresh(session)
            snapshot = self._snapshot
            if snapshot is None or snapshot.counter != counter:
                return None
        mask = self._mask(session, snapshot, principal)
        if mask is None:
            return None
        self.answered += 1
        return snapshot.page(filters, mask, limit, cursor)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait for the background work asked for so far (tests)."""
        if self._background is not None:
            self._background.submit(lambda: None).result(timeout)

    def close(self) -> None:
        """Drop the work not yet started and wait for the one running (a copy takes a few
        seconds at most): its connection must be back in the pool before the engine is
        disposed, or it would be dropped unclosed."""
        logger.info(
            "map index: %d copies made, %d searches answered from them", self.builds, self.answered
        )
        if self._background is not None:
            self._background.shutdown(wait=True, cancel_futures=True)

    def _refresh(self, session: Session | None) -> None:
        """Make a new copy (at most once per ``refresh_s``, one at a time)."""
        if session is None and self._background is None:
            return
        now = time.monotonic()
        if now - self._last_build < self.refresh_s or not self._building.acquire(blocking=False):
            return
        self._last_build = now
        if self._background is None:
            assert session is not None
            try:
                self._build(session)
            finally:
                self._building.release()
            return
        self._background.submit(self._apart, self._build_apart)

    def _apart(self, work: Callable[[Session], object]) -> None:
        assert self._factory is not None
        try:
            with self._factory() as session:
                try:
                    work(session)
                finally:
                    session.rollback()  # it only read
        except Exception:
            # the database answers meanwhile; the next search past refresh_s tries again
            logger.exception("map index: background work failed")

    def _build_apart(self, session: Session) -> None:
        try:
            self._build(session)
        finally:
            self._building.release()

    def _build(self, session: Session) -> None:
        counter = read_counters(session).get(INCIDENTS)
        if counter is None:
            return
        count = session.scalar(select(func.count()).select_from(Incident))
        if count is None or count > self.max_rows:
            return
        fresh = MapSnapshot.load(session, counter)
        if not self._unchanged(session, counter):
            return
        with self._lock:
            self._snapshot = fresh
            self._masks.clear()
            self._pending.clear()
            self.builds += 1

    @staticmethod
    def _unchanged(session: Session, counter: int) -> bool:
        # PostgreSQL reads each statement at its own snapshot (READ COMMITTED): the counter is
        # read again after the data; the same value means nothing was committed in between
        return read_counters(session).get(INCIDENTS) == counter

    def _mask(
        self, session: Session | None, snapshot: MapSnapshot, principal: Principal
    ) -> npt.NDArray[np.bool_] | None:
        key = _caller(principal)
        with self._lock:
            if self._snapshot is not snapshot:
                return None
            mask = self._masks.get(key)
            if mask is not None:
                self._masks.move_to_end(key)
                return mask
            if self._background is not None:
                if key not in self._pending:
                    self._pending.add(key)
                    self._background.submit(
                        self._apart, lambda s: self._make_mask(s, snapshot, principal)
                    )
                return None
        if session is None:
            return None
        return self._make_mask(session, snapshot, principal)

    def _make_mask(
        self, session: Session, snapshot: MapSnapshot, principal: Principal
    ) -> npt.NDArray[np.bool_] | None:
        key = _caller(principal)
        try:
            mask = snapshot.visible_mask(session, principal)
            if not self._unchanged(session, snapshot.counter):
                return None
            with self._lock:
                if self._snapshot is not snapshot:
                    return None
                self._masks[key] = mask
                while len(self._masks) > _MASKS_KEPT:
                    self._masks.popitem(last=False)
            return mask
        finally:
            with self._lock:
                self._pending.discard(key)
