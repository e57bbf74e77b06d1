"""Night-time pricing of a route: when each edge is driven and how much of it is in the dark.

The forecast is a daily average; what a departure time changes is which roads are driven at
night. An edge driven for a share ``s`` of its time inside the night window has its exposure
weighted up to ``exposure x (1 + factor x s)`` (``factor`` 1 by default, the same rule as the
departure comparison of :mod:`silkguard.journeys.departures`: an edge driven wholly at night
counts double).

The night window is local Asia/Karachi time (18:00-06:00 by default; it may wrap midnight or
lie inside one day). Clock arithmetic here is vectorised over edges: instants are seconds after
the departure, turned into local wall-clock seconds with the zone's offset *at the departure*.
Asia/Karachi has kept UTC+05:00 without daylight saving since 2009, so this is exact there; for
a zone that changes its offset during a trip the window would be off by the change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

import numpy as np
import numpy.typing as npt

from silkguard.core.errors import InvalidInput
from silkguard.journeys.policy import LOCAL_TZ

__all__ = [
    "DAY_S",
    "NightWindow",
    "Schedule",
    "night_seconds_array",
    "tree_times",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAY_S = 86_400.0


def _seconds_of_day(t: time) -> float:
    return float(t.hour * 3600 + t.minute * 60 + t.second)


@dataclass(frozen=True)
class NightWindow:
    """The daily night window (local time in ``tz``) and how much night driving weighs.

    ``factor`` is the extra weight of exposure driven at night: ``exposure x (1 + factor x
    night share)``; 0 switches the night penalty off (schedules are still computed)."""

    start: time = time(18, 0)
    end: time = time(6, 0)
    factor: float = 1.0
    tz: tzinfo = LOCAL_TZ

    def __post_init__(self) -> None:
        if self.start == self.end:
            msg = (
                f"the night window {self.start:%H:%M}-{self.end:%H:%M} has zero length; give "
                "different start and end times such as 18:00 and 06:00"
            )
            raise InvalidInput(msg)
        f = float(self.factor)
        if not (math.isfinite(f) and f >= 0):
            msg = f"night_factor must be a finite number >= 0, got {self.factor!r}"
            raise InvalidInput(msg)

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} Asia/Karachi"

    def _cumulative(self, local_s: FloatArray) -> FloatArray:
        """Night seconds from local midnight of day 0 up to ``local_s`` (local wall-clock
        seconds counted from that midnight; may exceed one day or be negative)."""
        s, e = _seconds_of_day(self.start), _seconds_of_day(self.end)
        days = np.floor(local_s / DAY_S)
        r = local_s - days * DAY_S
        if s < e:  # inside one day
            per_day = e - s
            part = np.clip(r - s, 0.0, per_day)
        else:  # wraps midnight: [0, e) and [s, 24h)
            per_day = e + (DAY_S - s)
            part = np.minimum(r, e) + np.maximum(r - s, 0.0)
        return np.asarray(days * per_day + part, dtype=np.float64)

    def local_offset_s(self, depart: datetime) -> float:
        """Local wall-clock seconds since the departure's local midnight."""
        if depart.tzinfo is None or depart.utcoffset() is None:
            msg = f"the departure needs a time zone, e.g. 2026-12-03T08:00:00+05:00; got {depart}"
            raise InvalidInput(msg)
        local = depart.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return (local.replace(tzinfo=None) - midnight.replace(tzinfo=None)).total_seconds()


def night_seconds_array(
    depart: datetime,
    enter_s: npt.ArrayLike,
    leave_s: npt.ArrayLike,
    window: NightWindow | None = None,
) -> FloatArray:
    """Seconds of each interval ``[depart + enter_s, depart + leave_s)`` inside the night
    window, vectorised (non-finite or empty intervals give 0)."""
    w = window or NightWindow()
    base = w.local_offset_s(depart)
    a = np.asarray(enter_s, dtype=np.float64)
    b = np.asarray(leave_s, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b) & (b > a)
    out = np.zeros(np.broadcast(a, b).shape, dtype=np.float64)
    if ok.any():
        a_ok = np.broadcast_to(a, out.shape)[ok]
        b_ok = np.broadcast_to(b, out.shape)[ok]
        out[ok] = w._cumulative(base + b_ok) - w._cumulative(base + a_ok)
    return np.maximum(out, 0.0)


def tree_times(
    source: int, pred_edge: npt.ArrayLike, tails: npt.ArrayLike, time_s: npt.ArrayLike
) -> FloatArray:
    """Travel time from ``source`` to every node along a shortest-path tree (``pred_edge[v]``
    is the tree edge into ``v``, -1 at the source and at unreachable nodes, which get ``inf``).
    Vectorised pointer jumping: about log2(depth) passes over the nodes."""
    pred = np.asarray(pred_edge, dtype=np.int64)
    tl = np.asarray(tails, dtype=np.int64)
    tt = np.asarray(time_s, dtype=np.float64)
    n = pred.size
    has = pred >= 0
    parent = np.arange(n, dtype=np.int64)
    parent[has] = tl[pred[has]]
    acc = np.zeros(n, dtype=np.float64)
    acc[has] = tt[pred[has]]
    # pointer jumping: each pass adds the time to the current ancestor and jumps to the
    # ancestor's ancestor; roots (the source, unreachable nodes) point at themselves with 0
    while not bool(np.all(parent[parent] == parent)):
        acc = acc + acc[parent]
        parent = parent[parent]
    reached = parent == source
    return np.where(reached, acc, np.inf)


@dataclass(frozen=True)
class Schedule:
    """When each edge of a route is driven, for one departure.

    ``enter_s``/``leave_s`` are seconds after ``depart`` (one per edge, in driving order),
    ``night_s`` the seconds of each edge inside the night window and ``night_share`` their
    share of the edge's time (0 for an edge of zero duration)."""

    depart: datetime
    window: NightWindow
    enter_s: FloatArray
    leave_s: FloatArray
    night_s: FloatArray

    @classmethod
    def of(
        cls, depart: datetime, time_s: npt.ArrayLike, window: NightWindow, *, start_s: float = 0.0
    ) -> Schedule:
        """The schedule of edges driven back to back from ``depart + start_s``."""
        tt = np.asarray(time_s, dtype=np.float64)
        leave = start_s + np.cumsum(tt)
        enter = leave - tt
        return cls(
            depart=depart,
            window=window,
            enter_s=enter,
            leave_s=leave,
            night_s=night_seconds_array(depart, enter, leave, window),
        )

    @property
    def night_share(self) -> FloatArray:
        span = self.leave_s - self.enter_s
        return np.divide(
            self.night_s, span, out=np.zeros_like(self.night_s), where=span > 0
        ).astype(np.float64)

    @property
    def weights(self) -> FloatArray:
        """Each edge's exposure multiplier, ``1 + factor x night share``."""
        return np.asarray(1.0 + self.window.factor * self.night_share, dtype=np.float64)

    @property
    def at_night(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.night_s > 0)

    @property
    def arrive(self) -> datetime:
        end = float(self.leave_s[-1]) if self.leave_s.size else 0.0
        return self.depart + timedelta(seconds=end)

    def when(self, offset_s: float) -> datetime:
        """The moment ``offset_s`` seconds after departure."""
        return self.depart + timedelta(seconds=float(offset_s))
