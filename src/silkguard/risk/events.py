"""Events as the risk models see them: time, place and a mark, as parallel numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from silkguard.core.errors import InvalidInput
from silkguard.risk.projection import PAKISTAN_PROJECTION, Projection

__all__ = ["EPOCH", "Events", "days_to_datetime", "to_days"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS_PER_DAY = 86_400.0

FloatArray = npt.NDArray[np.float64]


def to_days(when: datetime) -> float:
    """A timezone-aware datetime as days since the Unix epoch (the time axis of the models)."""
    if when.tzinfo is None:
        msg = f"datetime {when.isoformat()} has no timezone; give it in UTC (e.g. '...+00:00')"
        raise InvalidInput(msg)
    return (when - EPOCH).total_seconds() / _SECONDS_PER_DAY


def days_to_datetime(days: float) -> datetime:
    """The inverse of :func:`to_days`, in UTC."""
    return EPOCH + timedelta(days=float(days))


def _empty_marks() -> npt.NDArray[np.str_]:
    return np.empty(0, dtype="<U1")


@dataclass(frozen=True, eq=False)
class Events:
    """Events sorted by time; ``x``/``y`` are km on :attr:`projection`.

    ``marks`` is an optional label per event (the attack type), ``weight`` how much each event
    counts (1.0 unless an importer knows better). Slicing helpers keep every array aligned.
    """

    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    x: FloatArray
    y: FloatArray
    projection: Projection = PAKISTAN_PROJECTION
    marks: npt.NDArray[np.str_] = field(default_factory=_empty_marks)

    @classmethod
    def from_arrays(
        cls,
        t: npt.ArrayLike,
        lat: npt.ArrayLike,
        lon: npt.ArrayLike,
        *,
        marks: Sequence[str] | npt.ArrayLike | None = None,
        projection: Projection = PAKISTAN_PROJECTION,
    ) -> Events:
        """Build from days, latitudes and longitudes (any order; the result is time-sorted)."""
        t_arr = np.asarray(t, dtype=np.float64).ravel()
        lat_arr = np.asarray(lat, dtype=np.float64).ravel()
        lon_arr = np.asarray(lon, dtype=np.float64).ravel()
        if not t_arr.shape == lat_arr.shape == lon_arr.shape:
            msg = (
                f"events need one time, latitude and longitude each; got {t_arr.size} times, "
                f"{lat_arr.size} latitudes and {lon_arr.size} longitudes"
            )
            raise InvalidInput(msg)
        bad = ~(np.isfinite(t_arr) & np.isfinite(lat_arr) & np.isfinite(lon_arr))
        bad |= (np.abs(lat_arr) > 90) | (np.abs(lon_arr) > 180)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            msg = (
                f"event {first} has an invalid time or position "
                f"(t={t_arr[first]}, lat={lat_arr[first]}, lon={lon_arr[first]}); "
                "drop it or fix its coordinates"
            )
            raise InvalidInput(msg)
        order = np.argsort(t_arr, kind="stable")
        mark_arr = (
            np.asarray(marks, dtype=np.str_).ravel()[order]
            if marks is not None
            else np.full(t_arr.size, "", dtype="<U1")
        )
        if mark_arr.size != t_arr.size:
            msg = f"got {mark_arr.size} marks for {t_arr.size} events; give one per event"
            raise InvalidInput(msg)
        lat_s, lon_s = lat_arr[order], lon_arr[order]
        x, y = projection.forward(lat_s, lon_s)
        return cls(t_arr[order], lat_s, lon_s, x, y, projection, mark_arr)

    @classmethod
    def from_datetimes(
        cls,
        when: Sequence[datetime],
        lat: npt.ArrayLike,
        lon: npt.ArrayLike,
        *,
        marks: Sequence[str] | None = None,
        projection: Projection = PAKISTAN_PROJECTION,
    ) -> Events:
        """Build from timezone-aware datetimes."""
        return cls.from_arrays(
            [to_days(w) for w in when], lat, lon, marks=marks, projection=projection
        )

    @classmethod
    def empty(cls, projection: Projection = PAKISTAN_PROJECTION) -> Events:
        return cls.from_arrays([], [], [], projection=projection)

    def __len__(self) -> int:
        return int(self.t.size)

    def select(self, mask: npt.NDArray[np.bool_] | slice) -> Events:
        """The events where ``mask`` is true (order kept)."""
        return Events(
            self.t[mask],
            self.lat[mask],
            self.lon[mask],
            self.x[mask],
            self.y[mask],
            self.projection,
            self.marks[mask],
        )

    def before(self, until: float) -> Events:
        """Events strictly before ``until`` (days): all a model fitted at ``until`` may see."""
        return self.select(slice(0, int(np.searchsorted(self.t, until, side="left"))))

    def between(self, t0: float, t1: float) -> Events:
        """Events in the half-open window ``[t0, t1)``."""
        lo = int(np.searchsorted(self.t, t0, side="left"))
        hi = int(np.searchsorted(self.t, t1, side="left"))
        return self.select(slice(lo, hi))
