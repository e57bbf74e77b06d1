"""Baseline forecasters the self-exciting model has to beat: counts, KDE, prospective mapping.

All three forecast expected counts, so they can be scored as Poisson means beside any other
model:

``total = recent rate x window length``
    The rate is the number of training events in the last ``rate_window_days`` (365 by
    default) divided by that span (or by the whole training span when it is shorter). With no
    event in that span the rate falls back to half an event per span, so a quiet spell never
    forecasts an exact zero.
``spatial share``
    Each model's surface, normalised so its mass over the grid equals the share of its source
    events that lie in the grid (mass for events outside the grid is not pushed inside, and
    kernel mass that spills over the grid edge is put back).
``floor``
    A fraction ``floor`` (1 % by default) of the total is spread uniformly by area, so no cell
    has a zero mean and the log score stays finite. A model with no source event at all spreads
    the whole total uniformly.

:class:`NaiveCounts`
    Events per cell in the last ``window_days``.
:class:`KDEHotspot`
    A Gaussian kernel density estimate of the training events; with ``bandwidth_km="auto"``
    the bandwidth maximises the leave-one-out log likelihood over a geometric grid of
    candidates (2 to 100 km).
:class:`ProspectiveHotspot`
    Prospective hot-spotting after Bowers, Johnson & Pease (2004): each past event adds a
    spatial kernel weighted by its age, so recent events count most. The defaults (Gaussian
    kernel of 15 km, exponential decay with a 60-day time constant, events up to 365 days old)
    suit weekly to monthly forecasts of attacks at 7 km cells; ``decay="hyperbolic"`` gives the
    original's ``1 / (1 + age / tau)`` weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from silkguard.risk.events import Events
from silkguard.risk.grid import Grid
from silkguard.risk.kernels import DEFAULT_CUTOFF, gaussian_weight, kernel_mass

__all__ = [
    "BaselineModel",
    "KDEHotspot",
    "NaiveCounts",
    "ProspectiveHotspot",
    "loo_bandwidth",
]

FloatArray = npt.NDArray[np.float64]

_EMPTY_RATE_EVENTS = 0.5
#: Candidate bandwidths (km) of the automatic KDE: geometric from 2 to 100 km.
AUTO_BANDWIDTHS: tuple[float, ...] = tuple(float(round(b, 3)) for b in np.geomspace(2.0, 100.0, 18))
#: Largest number of events the leave-one-out bandwidth search uses (evenly spaced in time).
LOO_MAX_EVENTS = 3000


def _check_positive(cls: str, name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{cls}.{name} must be a positive number, got {value!r}"
        raise ValueError(msg)
    if not (np.isfinite(value) and value > 0):
        msg = f"{cls}.{name} must be a positive number, got {value!r}"
        raise ValueError(msg)


def _check_floor(cls: str, floor: float) -> None:
    if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 < floor < 1:
        msg = f"{cls}.floor must be a fraction strictly between 0 and 1, got {floor!r}"
        raise ValueError(msg)


def _recent_rate(train: Events, until: float, rate_window_days: float) -> tuple[float, float]:
    """Events per day over the last ``rate_window_days`` before ``until``, and the span used."""
    if len(train) == 0:
        return _EMPTY_RATE_EVENTS / rate_window_days, rate_window_days
    span = min(rate_window_days, max(until - float(train.t[0]), 1.0))
    recent = len(train) - int(np.searchsorted(train.t, until - span, side="left"))
    return max(recent, _EMPTY_RATE_EVENTS) / span, span


# --------------------------------------------------------------------------------------------
# kernel sums on a grid, with the grid's search trees cached


# --------------------------------------------------------------------------------------------
# the fitted model shared by the baselines


@dataclass(eq=False)
class BaselineModel:
    """A fitted baseline: a rate, weighted source points and how to spread them.

    ``sigma_km`` is the Gaussian kernel's standard deviation, or ``None`` for per-cell counts
    (naive). ``weights`` are relative; the model rescales them per grid (see the module notes).
    """

    name: str
    trained_from: float
    trained_until: float
    rate_per_day: float
    floor: float
    x: FloatArray
    y: FloatArray
    lat: FloatArray
    lon: FloatArray
    weights: FloatArray
    sigma_km: float | None
    params: dict[str, Any]
    _cache: dict[bytes, FloatArray] = field(default_factory=dict, repr=False)

    def spatial_share(self, grid: Grid) -> FloatArray:
        """Share of the forecast mass per cell, before the floor; sums to the weighted share of
        source events inside ``grid`` (at most 1)."""
        key = np.int64(grid.resolution).tobytes() + grid.cells.tobytes()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        share = np.zeros(len(grid), dtype=np.float64)
        total_w = float(self.weights.sum())
        if self.weights.size == 0:  # nothing to go on: spread the whole forecast by area
            share = grid.area_km2 / grid.area_km2.sum()
        elif total_w > 0:
            idx = grid.locate(self.lat, self.lon)
            inside = idx >= 0
            in_mass = float(self.weights[inside].sum()) / total_w
            if self.sigma_km is None:
                counts = np.bincount(idx[inside], weights=self.weights[inside], minlength=len(grid))
                share = np.asarray(counts, dtype=np.float64) / total_w
            elif in_mass > 0:
                surface = kernel_mass(grid, self.x, self.y, self.weights, self.sigma_km)
                mass = float(surface.sum())
                if mass > 0:
                    share = surface * (in_mass / mass)
        if len(self._cache) > 4:
            self._cache.clear()
        self._cache[key] = share
        return share

    def intensity(self, grid: Grid, t0: float, t1: float) -> FloatArray:
        """Expected events per cell in ``[t0, t1)``: rate x length, spread by the surface plus
        the uniform floor."""
        if t1 < t0:
            msg = f"forecast window ends ({t1}) before it starts ({t0})"
            raise ValueError(msg)
        total = self.rate_per_day * (t1 - t0)
        area = grid.area_km2
        uniform = area / area.sum()
        share = self.spatial_share(grid)
        return np.asarray(total * ((1.0 - self.floor) * share + self.floor * uniform))

    def describe(self) -> dict[str, Any]:
        """Hyper-parameters, fitted values and training counts (JSON-able)."""
        return {
            "model": self.name,
            **self.params,
            "rate_per_day": float(self.rate_per_day),
            "n_sources": int(self.weights.size),
            "bandwidth_km_used": None if self.sigma_km is None else float(self.sigma_km),
            "trained_from": float(self.trained_from),
            "trained_until": float(self.trained_until),
        }


def _fit_common(events: Events, until: float, rate_window_days: float) -> tuple[Events, float]:
    train = events.before(until)
    rate, _ = _recent_rate(train, until, rate_window_days)
    return train, rate


def _trained_from(train: Events, until: float) -> float:
    return float(train.t[0]) if len(train) else float(until)


def _model(
    spec: Any,
    train: Events,
    until: float,
    rate: float,
    src: Events,
    weights: FloatArray,
    sigma_km: float | None,
) -> BaselineModel:
    """The fitted model of a baseline ``spec`` (a dataclass: its fields are the parameters)."""
    return BaselineModel(
        name=spec.name,
        trained_from=_trained_from(train, until),
        trained_until=float(until),
        rate_per_day=rate,
        floor=spec.floor,
        x=src.x,
        y=src.y,
        lat=src.lat,
        lon=src.lon,
        weights=weights,
        sigma_km=sigma_km,
        params=dataclasses.asdict(spec),
    )


# --------------------------------------------------------------------------------------------
# the forecasters


@dataclass(frozen=True)
class NaiveCounts:
    """Counts per cell in the last ``window_days`` before the forecast.

    Parameters
    ----------
    window_days
        How far back to count events (days).
    rate_window_days
        Span of the rate that sets the total (days).
    floor
        Share of the total spread uniformly by area.
    """

    name = "naive"  # not a field: no parameter, and settable as the protocol asks
    window_days: float = 365.0
    rate_window_days: float = 365.0
    floor: float = 0.01

    def __post_init__(self) -> None:
        _check_positive("NaiveCounts", "window_days", self.window_days)
        _check_positive("NaiveCounts", "rate_window_days", self.rate_window_days)
        _check_floor("NaiveCounts", self.floor)

    def fit(self, events: Events, until: float) -> BaselineModel:
        """Keep the events of the last ``window_days`` before ``until``."""
        train, rate = _fit_common(events, until, self.rate_window_days)
        recent = train.between(until - self.window_days, until)
        return _model(self, train, until, rate, recent, np.ones(len(recent)), None)


def loo_bandwidth(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    candidates: tuple[float, ...] = AUTO_BANDWIDTHS,
    *,
    floor: float = 0.01,
    cutoff: float = DEFAULT_CUTOFF,
) -> tuple[float, dict[float, float]]:
    """The bandwidth (km) of a Gaussian KDE that maximises the leave-one-out log likelihood.

    Each event's density under the others' KDE is mixed with ``floor`` of a uniform density
    over the events' bounding box (widened by the largest candidate), as the forecast itself
    is, so an isolated event gives a finite penalty, not ``-inf``. Neighbour pairs are found
    once for the largest candidate. Past :data:`LOO_MAX_EVENTS` events an evenly spaced subset
    is used and the result scaled by ``(m / n) ** (1 / 6)``, the rate at which the optimal
    bandwidth of a 2-D KDE shrinks with the sample size.

    Returns
    -------
    tuple
        The best bandwidth and the mean leave-one-out log likelihood of every candidate.
    """
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    n = xa.size
    if n < 2:
        return float(np.median(candidates)), {}
    scale = 1.0
    if n > LOO_MAX_EVENTS:
        pick = np.linspace(0, n - 1, LOO_MAX_EVENTS).round().astype(np.int64)
        xa, ya = xa[pick], ya[pick]
        scale = (LOO_MAX_EVENTS / n) ** (1.0 / 6.0)
        n = LOO_MAX_EVENTS
    pts = np.column_stack([xa, ya])
    pairs = cKDTree(pts).query_pairs(cutoff * max(candidates), output_type="ndarray")
    d2 = ((pts[pairs[:, 0]] - pts[pairs[:, 1]]) ** 2).sum(axis=1) if pairs.size else np.zeros(0)
    pad = max(candidates)
    box = (np.ptp(xa) + 2 * pad) * (np.ptp(ya) + 2 * pad)
    scores: dict[float, float] = {}
    for sigma in candidates:
        w = gaussian_weight(d2, sigma) if d2.size else np.zeros(0)
        dens: FloatArray = np.zeros(n)
        if pairs.size:
            dens = np.asarray(
                np.bincount(pairs[:, 0], weights=w, minlength=n)
                + np.bincount(pairs[:, 1], weights=w, minlength=n),
                dtype=np.float64,
            )
        f = (1.0 - floor) * dens / (n - 1) + floor / box
        scores[float(sigma)] = float(np.mean(np.log(f)))
    best = max(scores, key=lambda s: scores[s])
    return best * scale, scores


@dataclass(frozen=True)
class KDEHotspot:
    """A Gaussian kernel density estimate of the training events.

    Parameters
    ----------
    bandwidth_km
        Kernel standard deviation in km, or ``"auto"`` to choose it by leave-one-out log
        likelihood on the training events (see :func:`loo_bandwidth`).
    window_days
        Use only the last ``window_days`` of training for the surface; ``None`` uses all.
    rate_window_days
        Span of the rate that sets the total (days).
    floor
        Share of the total spread uniformly by area.
    """

    name = "kde"  # not a field: no parameter, and settable as the protocol asks
    bandwidth_km: float | Literal["auto"] = "auto"
    window_days: float | None = None
    rate_window_days: float = 365.0
    floor: float = 0.01

    def __post_init__(self) -> None:
        if self.bandwidth_km != "auto":
            _check_positive("KDEHotspot", "bandwidth_km", self.bandwidth_km)
        _check_positive("KDEHotspot", "window_days", self.window_days, allow_none=True)
        _check_positive("KDEHotspot", "rate_window_days", self.rate_window_days)
        _check_floor("KDEHotspot", self.floor)

    def fit(self, events: Events, until: float) -> BaselineModel:
        """Choose the bandwidth (if automatic) and keep the surface's source events."""
        train, rate = _fit_common(events, until, self.rate_window_days)
        src = train if self.window_days is None else train.between(until - self.window_days, until)
        if self.bandwidth_km == "auto":
            sigma, _ = loo_bandwidth(src.x, src.y, floor=self.floor)
        else:
            sigma = float(self.bandwidth_km)
        return _model(self, train, until, rate, src, np.ones(len(src)), sigma)


@dataclass(frozen=True)
class ProspectiveHotspot:
    """Prospective hot-spot map: recent events weigh more (Bowers, Johnson & Pease 2004).

    Parameters
    ----------
    bandwidth_km
        Gaussian kernel standard deviation (km).
    time_decay_days
        The decay's time constant ``tau`` (days).
    decay
        ``"exponential"``: weight ``exp(-age / tau)``; ``"hyperbolic"``: ``1 / (1 + age / tau)``.
        Ages are measured from the end of training.
    max_age_days
        Events older than this are ignored.
    rate_window_days
        Span of the rate that sets the total (days).
    floor
        Share of the total spread uniformly by area.
    """

    name = "prospective"  # not a field: no parameter, and settable as the protocol asks
    bandwidth_km: float = 15.0
    time_decay_days: float = 60.0
    decay: Literal["exponential", "hyperbolic"] = "exponential"
    max_age_days: float = 365.0
    rate_window_days: float = 365.0
    floor: float = 0.01

    def __post_init__(self) -> None:
        _check_positive("ProspectiveHotspot", "bandwidth_km", self.bandwidth_km)
        _check_positive("ProspectiveHotspot", "time_decay_days", self.time_decay_days)
        _check_positive("ProspectiveHotspot", "max_age_days", self.max_age_days)
        _check_positive("ProspectiveHotspot", "rate_window_days", self.rate_window_days)
        _check_floor("ProspectiveHotspot", self.floor)
        if self.decay not in ("exponential", "hyperbolic"):
            msg = (
                "ProspectiveHotspot.decay must be 'exponential' or 'hyperbolic', "
                f"got {self.decay!r}"
            )
            raise ValueError(msg)

    def weights(self, age_days: npt.ArrayLike) -> FloatArray:
        """The weight of an event ``age_days`` old."""
        age = np.asarray(age_days, dtype=np.float64) / self.time_decay_days
        w = np.exp(-age) if self.decay == "exponential" else 1.0 / (1.0 + age)
        return np.asarray(w, dtype=np.float64)

    def fit(self, events: Events, until: float) -> BaselineModel:
        """Weight the events of the last ``max_age_days`` by age."""
        train, rate = _fit_common(events, until, self.rate_window_days)
        src = train.between(until - self.max_age_days, until)
        return _model(self, train, until, rate, src, self.weights(until - src.t), self.bandwidth_km)
