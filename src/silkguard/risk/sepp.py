"""A self-exciting point process (space-time Hawkes) model, fitted by EM.

The conditional intensity (events per day per km2) is, after Mohler et al. (2011),

.. math::

    \\lambda(t, x, y) = \\mu\\, g(t)\\, f(x, y)
        + \\sum_{t_j < t} \\theta\\, \\omega e^{-\\omega (t - t_j)}\\,
          \\mathcal{N}\\big((x, y) - (x_j, y_j); \\sigma^2 I\\big)

* ``mu`` background events per day (averaged over the training window), ``g`` a temporal
  trend with mean 1 over the window (``trend="constant"``: ``g = 1``; ``"smoothed"``: a
  Gaussian kernel smoothing of the background events' times, edge corrected, bandwidth
  ``trend_bandwidth_days``), ``f`` the background spatial density: a Gaussian kernel density
  of the events weighted by their background probabilities, mixed with a fraction
  ``bg_floor`` of a uniform density over the events' bounding box padded by 100 km so that no
  event has zero density.
* ``theta`` the branching ratio (expected direct offspring per event), ``omega`` the decay
  rate per day (mean delay ``1 / omega``), ``sigma`` the spatial spread of offspring in km.

Fitting (:meth:`SEPP.fit`) is expectation-maximisation over *neighbour pairs only*: a pair
(parent ``j``, child ``i``) is kept when ``0 < t_i - t_j <= 16 / omega`` and their distance is
at most ``6 sigma`` (found with a k-d tree in scaled space-time). The pair list is rebuilt
whenever the current ``omega`` or ``sigma`` make it tighter than ``14 / omega`` or
``5.5 sigma`` (the kernel mass left out is then below 1e-6), or needlessly wide. The
background kernel is cut at 4 bandwidths. The background
density at an event leaves the event itself out (leave-one-out), which keeps the EM from
explaining every event as its own background. The M-step is closed form: ``mu = sum p_ii / T``;
``theta`` and ``omega`` maximise the expected complete-data likelihood *with the edge term*
``theta * sum_j (1 - exp(-omega (T - t_j)))`` (a short fixed-point iteration);
``sigma^2 = sum p_ij d_ij^2 / (2 sum p_ij)``, kept at or above ``min_sigma_km``, with
``theta`` kept below 0.99 and the mean delay at most ``max_delay_days``.
``declustering="stochastic"`` samples one parent per event each iteration (Zhuang et al.
2002) and averages the estimates after a burn-in.

With ``bg_bandwidth_km="auto"`` the background bandwidth maximises the weighted
leave-one-out log likelihood of the background density over a geometric grid of 2 to 80 km
(with ``bg_two_scale``, a sharp and a broad bandwidth mixed, the broad weight chosen with them)
(on at most 1,500 events evenly spaced in time, the result scaled by ``(m / n) ** (1 / 6)``),
re-chosen after the EM converges until it stops changing.

Forecasts (:meth:`SEPPModel.intensity`) are expected counts per cell; see that method for the
treatment of events that occur inside the forecast window.
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.spatial import cKDTree

from silkguard.core.errors import InvalidInput
from silkguard.risk.events import Events
from silkguard.risk.grid import Grid
from silkguard.risk.kernels import gaussian_weight, kernel_mass

__all__ = [
    "AUTO_BANDWIDTHS",
    "MIN_EVENTS",
    "SEPP",
    "SEPPModel",
    "SEPPParams",
    "TriggerPairs",
    "e_step",
    "trigger_pairs",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

VERSION = "sepp-1"
#: Fewest training events a fit accepts.
MIN_EVENTS = 10
#: Candidate background bandwidths (km) for ``bg_bandwidth_km="auto"``.
AUTO_BANDWIDTHS: tuple[float, ...] = tuple(float(round(b, 3)) for b in np.geomspace(2.0, 80.0, 17))
_LOO_MAX_EVENTS = 1500
_MAX_BANDWIDTH_ROUNDS = 5
#: Background kernel cut-off in bandwidths during the fit.
_BG_CUTOFF = 4.0
#: Trigger pair cut-offs: built at BUILD, rebuilt when below MIN or above MAX (in 1/omega, sigma).
_TIME_BUILD, _TIME_MIN, _TIME_MAX = 16.0, 14.0, 40.0
_SPACE_BUILD, _SPACE_MIN, _SPACE_MAX = 6.0, 5.5, 12.0
_FLOOR_PAD_KM = 100.0
#: The branching ratio is kept below 1: a fitted process must not explode over a forecast.
_MAX_THETA = 0.99
#: Past events whose remaining triggering mass is below this fraction of theta are skipped.
_REMAINING_MASS = 1e-6
_TINY = 1e-300


# --------------------------------------------------------------------------------------------
# parameters and small numerical helpers


@dataclass(frozen=True)
class SEPPParams:
    """The fitted scalars: ``mu`` per day, ``theta`` (branching ratio), ``omega`` per day and
    ``sigma`` km."""

    mu: float
    theta: float
    omega: float
    sigma: float

    def as_array(self) -> FloatArray:
        return np.array([self.mu, self.theta, self.omega, self.sigma], dtype=np.float64)

    @classmethod
    def from_array(cls, a: npt.ArrayLike) -> SEPPParams:
        v = np.asarray(a, dtype=np.float64)
        return cls(float(v[0]), float(v[1]), float(v[2]), float(v[3]))


def _phi(rate: float, length: float) -> float:
    """``(1 - exp(-rate * length)) / rate``, continuous at ``rate = 0`` (any sign of rate)."""
    z = rate * length
    if abs(z) < 1e-8:
        return length * (1.0 - 0.5 * z)
    return float(-math.expm1(-z) / rate)


def _psi(rate: float, length: float) -> float:
    """``(length - _phi(rate, length)) / rate``; ``length ** 2 / 2`` at ``rate = 0``."""
    z = rate * length
    if abs(z) < 1e-4:
        return length * length * (0.5 - z / 6.0 + z * z / 24.0)
    return (length - _phi(rate, length)) / rate


def _dot(a: FloatArray, b: FloatArray) -> float:
    """``a . b`` without BLAS (whose thread wake-ups cost milliseconds on short vectors)."""
    return float(np.multiply(a, b).sum())


def _rel_change(new: FloatArray, old: FloatArray) -> float:
    return float(np.max(np.abs(new - old) / np.maximum(np.abs(old), 1e-8)))


# --------------------------------------------------------------------------------------------
# neighbour pairs


@dataclass(frozen=True, eq=False)
class TriggerPairs:
    """Candidate (parent, child) pairs sorted by child, with time lag (days) and squared
    distance (km2), found within ``time_cutoff`` days and ``space_cutoff`` km."""

    parent: IntArray
    child: IntArray
    dt: FloatArray
    d2: FloatArray
    time_cutoff: float
    space_cutoff: float

    def __len__(self) -> int:
        return int(self.child.size)


def trigger_pairs(
    t: FloatArray, x: FloatArray, y: FloatArray, time_cutoff: float, space_cutoff: float
) -> TriggerPairs:
    """Every pair with ``0 < t_child - t_parent <= time_cutoff`` and distance at most
    ``space_cutoff`` (``t`` sorted ascending), via a k-d tree on scaled space-time."""
    n = t.size
    tc = max(float(time_cutoff), 1e-9)
    dc = max(float(space_cutoff), 1e-9)
    if n < 2:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return TriggerPairs(empty_i, empty_i, empty_f, empty_f, tc, dc)
    pts = np.column_stack([x / dc, y / dc, (t - t[0]) / tc])
    pairs = cKDTree(pts).query_pairs(1.0 + 1e-9, p=np.inf, output_type="ndarray")
    a = pairs[:, 0].astype(np.int64)
    b = pairs[:, 1].astype(np.int64)
    # a < b and t is sorted, so a is the earlier event unless they tie
    parent = np.minimum(a, b)
    child = np.maximum(a, b)
    dt = t[child] - t[parent]
    d2 = (x[child] - x[parent]) ** 2 + (y[child] - y[parent]) ** 2
    keep = (dt > 0) & (dt <= tc) & (d2 <= dc * dc)
    parent, child, dt, d2 = parent[keep], child[keep], dt[keep], d2[keep]
    order = np.lexsort((parent, child))
    return TriggerPairs(parent[order], child[order], dt[order], d2[order], tc, dc)


@dataclass(frozen=True, eq=False)
class _BackgroundPairs:
    """Unordered event pairs within ``radius`` km (each once) with their squared distance."""

    a: IntArray
    b: IntArray
    d2: FloatArray

    @classmethod
    def build(cls, x: FloatArray, y: FloatArray, radius: float) -> _BackgroundPairs:
        pts = np.column_stack([x, y])
        pairs = cKDTree(pts).query_pairs(radius, output_type="ndarray")
        a = pairs[:, 0].astype(np.int64)
        b = pairs[:, 1].astype(np.int64)
        d2 = ((pts[a] - pts[b]) ** 2).sum(axis=1)
        order = np.argsort(d2, kind="stable")
        return cls(a[order], b[order], d2[order])

    def within(self, radius: float) -> _BackgroundPairs:
        stop = int(np.searchsorted(self.d2, radius * radius, side="right"))
        return _BackgroundPairs(self.a[:stop], self.b[:stop], self.d2[:stop])


@dataclass(frozen=True)
class _Bandwidths:
    """The background's kernel density: a sharp bandwidth ``h`` and, with weight ``share``, a
    broad one (``share == 0``: a single scale)."""

    h: float
    broad: float
    share: float

    def scaled(self, factor: float) -> _Bandwidths:
        return _Bandwidths(self.h * factor, self.broad * factor, self.share)


#: Weights of the broad component tried by the two-scale background.
_BROAD_SHARES: tuple[float, ...] = (0.0, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8)


def _loo_density(
    pairs: _BackgroundPairs,
    kvals: FloatArray,
    q: FloatArray,
    floor: float,
    floor_density: float,
) -> FloatArray:
    """Leave-one-out weighted KDE at each event, mixed with the uniform floor (per km2)."""
    n = q.size
    s = np.bincount(pairs.a, weights=kvals * q[pairs.b], minlength=n)
    s += np.bincount(pairs.b, weights=kvals * q[pairs.a], minlength=n)
    others = np.maximum(float(q.sum()) - q, _TINY)
    return np.asarray((1.0 - floor) * s / others + floor * floor_density, dtype=np.float64)


def _kernel_matrix(x: FloatArray, y: FloatArray, h: float) -> sp.csr_matrix:
    """Upper triangle (``i < k``) of the matrix of ``N(d_ik; h^2 I)`` within ``_BG_CUTOFF * h``;
    ``U @ q + U.T @ q`` sums the kernel over every other event."""
    n = x.size
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(_BG_CUTOFF * h, output_type="ndarray")
    a, b = pairs[:, 0], pairs[:, 1]
    vals = gaussian_weight((x[a] - x[b]) ** 2 + (y[a] - y[b]) ** 2, h)
    return sp.coo_matrix((vals, (a, b)), shape=(n, n)).tocsr()


# --------------------------------------------------------------------------------------------
# temporal trend


@dataclass(frozen=True, eq=False)
class _Trend:
    """``g`` on equal bins of the training window (mean exactly 1), and its value at events."""

    centres: FloatArray
    values: FloatArray
    at_events: FloatArray


def _trend(
    kind: str, t: FloatArray, q: FloatArray, t0: float, t1: float, bandwidth: float
) -> _Trend:
    if kind == "constant":
        return _Trend(np.array([0.5 * (t0 + t1)]), np.ones(1), np.ones(t.size))
    span = t1 - t0
    nb = max(1, math.ceil(span))
    width = span / nb
    idx = np.clip(((t - t0) / width).astype(np.int64), 0, nb - 1)
    counts = np.bincount(idx, weights=q, minlength=nb)
    half = max(1, math.ceil(4.0 * bandwidth / width))
    offs = np.arange(-half, half + 1, dtype=np.float64) * width
    kern = np.exp(-0.5 * (offs / bandwidth) ** 2)
    kern /= kern.sum()
    num = np.convolve(counts, kern)[half : half + nb]
    den = np.convolve(np.ones(nb), kern)[half : half + nb]
    rate = num / np.maximum(den, _TINY)
    mean = float(rate.mean())
    values = rate / mean if mean > 0 else np.ones(nb)
    centres = np.asarray(t0 + (np.arange(nb) + 0.5) * width, dtype=np.float64)
    return _Trend(centres, values, np.interp(t, centres, values))


# --------------------------------------------------------------------------------------------
# E-step, M-step, likelihood


@dataclass(frozen=True, eq=False)
class _EStep:
    lam: FloatArray  # intensity at each event
    p_bg: FloatArray  # probability each event is background
    p_pair: FloatArray  # probability of each candidate pair


def e_step(
    params: SEPPParams,
    bg_density: FloatArray,
    trend_at_events: FloatArray,
    pairs: TriggerPairs,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Background and parent probabilities of every event.

    Parameters
    ----------
    params
        Current parameters.
    bg_density
        Background spatial density ``f`` at each event (per km2).
    trend_at_events
        ``g(t_i)`` at each event.
    pairs
        Candidate (parent, child) pairs.

    Returns
    -------
    tuple
        ``lam`` (intensity at each event, per day per km2), ``p_bg`` (per event) and
        ``p_pair`` (per pair, aligned with ``pairs``).
    """
    s2 = params.sigma * params.sigma
    k = (
        params.theta
        * params.omega
        * np.exp(-params.omega * pairs.dt - 0.5 * pairs.d2 / s2)
        / (2.0 * np.pi * s2)
    )
    bg = params.mu * trend_at_events * bg_density
    lam = bg + np.bincount(pairs.child, weights=k, minlength=bg.size)
    lam = np.maximum(lam, _TINY)
    return lam, bg / lam, k / lam[pairs.child]


def _m_step_trigger(
    w_pair: FloatArray,
    pairs: TriggerPairs,
    remaining: FloatArray,
    omega0: float,
    sigma0: float,
) -> tuple[float, float, float]:
    """``theta``, ``omega``, ``sigma`` maximising the expected complete-data likelihood, with the
    edge term (``remaining = T - t_j``).

    Setting the derivatives to zero gives ``theta = S / sum_j (1 - e^{-omega r_j})`` and
    ``omega = S / (D + theta sum_j r_j e^{-omega r_j})`` (``S`` the total pair weight, ``D`` the
    weighted sum of lags); ``omega`` is the fixed point of the second equation after
    substituting the first, found by the secant method to 1e-14 relative."""
    total = float(w_pair.sum())
    if total <= 1e-12:
        return 0.0, omega0, sigma0
    lag = _dot(w_pair, pairs.dt)
    sigma = math.sqrt(max(_dot(w_pair, pairs.d2) / (2.0 * total), 1e-12))

    def step(omega: float) -> tuple[float, float]:
        e = np.exp(-omega * remaining)
        theta = total / float(np.sum(1.0 - e))
        return total / (lag + theta * _dot(remaining, e)), theta

    w0 = omega0
    w1, theta = step(w0)
    f0 = w0 - w1
    for _ in range(100):
        if abs(w1 - w0) <= 1e-14 * abs(w1):
            break
        nxt, theta = step(w1)
        f1 = w1 - nxt
        w2 = w1 - f1 * (w1 - w0) / (f1 - f0) if f1 != f0 else nxt
        if not (math.isfinite(w2) and w2 > 0):
            w2 = nxt
        w0, f0, w1 = w1, f1, w2
    omega = w1
    theta = total / float(np.sum(-np.expm1(-omega * remaining)))
    return theta, omega, sigma


def _compensator(params: SEPPParams, trend_integral: float, remaining: FloatArray) -> float:
    return params.mu * trend_integral + params.theta * float(
        np.sum(-np.expm1(-params.omega * remaining))
    )


# --------------------------------------------------------------------------------------------
# kernel mass on a grid


# --------------------------------------------------------------------------------------------
# the fitted model


@dataclass(eq=False)
class SEPPModel:
    """A fitted SEPP: parameters, background sources and the training events.

    Attributes
    ----------
    params
        ``mu`` (background events per day, window average), ``theta``, ``omega``, ``sigma``.
    bg_bandwidth_km, bg_broad_km, bg_broad_share
        The background kernel density: sharp bandwidth, broad bandwidth and the broad
        component's weight (0 for a single-scale background).
    trend_level
        ``g`` used for forecasts: 1 for a constant trend, else the mean of the smoothed trend
        over the last ``trend_bandwidth_days`` of training (flat extrapolation).
    """

    name: str
    trained_from: float
    trained_until: float
    params: SEPPParams
    bg_bandwidth_km: float
    bg_broad_km: float
    bg_broad_share: float
    bg_floor: float
    bg_weights: FloatArray
    box: tuple[float, float, float, float]
    trend: str
    trend_bandwidth_days: float
    trend_centres: FloatArray
    trend_values: FloatArray
    trend_level: float
    t: FloatArray
    x: FloatArray
    y: FloatArray
    declustering: str
    iterations: int
    converged: bool
    loglik: float
    fit_seconds: float
    n_pairs: int
    _bg_cache: weakref.WeakKeyDictionary[Grid, tuple[FloatArray, FloatArray]] = field(
        default_factory=weakref.WeakKeyDictionary, repr=False
    )

    @property
    def n_events(self) -> int:
        return int(self.t.size)

    @property
    def background_probability(self) -> FloatArray:
        """Each training event's (final) probability of being a background event."""
        return self.bg_weights

    def log_likelihood(self) -> float:
        """Log likelihood of the fitted model on the training events: ``sum log lambda_i`` (the
        background density leave-one-out, triggering over the neighbour pairs) minus the exact
        compensator ``mu * int g + theta * sum_j (1 - exp(-omega (T - t_j)))``."""
        return self.loglik

    def _floor_mass(self, grid: Grid) -> FloatArray:
        x0, x1, y0, y1 = self.box
        cx, cy = grid.xy
        inside = (cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)
        return np.where(inside, grid.area_km2 / ((x1 - x0) * (y1 - y0)), 0.0)

    def background_mass(self, grid: Grid) -> tuple[FloatArray, FloatArray]:
        """``int_cell f`` and ``int_cell f * N(sigma)`` (the spread of background events'
        offspring: the kernel density with bandwidth ``sqrt(h^2 + sigma^2)``); cached per grid."""
        found = self._bg_cache.get(grid)
        if found is not None:
            return found
        q = self.bg_weights
        total = max(float(q.sum()), _TINY)
        floor = self._floor_mass(grid)
        scales = [(self.bg_bandwidth_km, 1.0 - self.bg_broad_share)]
        if self.bg_broad_share > 0:
            scales.append((self.bg_broad_km, self.bg_broad_share))
        masses: list[FloatArray] = []
        for spread in (0.0, self.params.sigma):
            kde = sum(
                (
                    share * kernel_mass(grid, self.x, self.y, q, math.hypot(bw, spread))
                    for bw, share in scales
                ),
                start=np.zeros(len(grid)),
            )
            masses.append((1.0 - self.bg_floor) * kde / total + self.bg_floor * floor)
        found = (masses[0], masses[1])
        self._bg_cache[grid] = found
        return found

    def intensity(self, grid: Grid, t0: float, t1: float) -> FloatArray:
        """Expected number of events per cell in ``[t0, t1)``, ``t0 >= trained_until``.

        With ``nu = mu * trend_level``, ``L = t1 - t0`` and ``kappa = omega (1 - theta)``, the
        expected rate of the process over the window solves the renewal equation of the
        exponential kernel exactly in time, so every generation born inside the window is
        counted:

        * background: ``nu L`` spread by ``f``;
        * offspring of the window's background events, all generations:
          ``nu theta omega (L - (1 - e^{-kappa L}) / kappa) / kappa``, spread by ``f``
          convolved with ``N(sigma)``;
        * first-generation offspring of each past event ``j``:
          ``theta (e^{-omega (t0 - t_j)} - e^{-omega (t1 - t_j)})``, spread by ``N(sigma)``
          around it;
        * later generations descending from past event ``j``:
          ``theta omega e^{-omega (t0 - t_j)} ((1 - e^{-kappa L}) / kappa
          - (1 - e^{-omega L}) / omega)``, spread by ``N(sigma sqrt 2)`` (the
          approximation: the spread of the second generation is used for all later ones;
          their share of the total is small for windows shorter than ``1 / omega``).

        Events before ``trained_until`` but unseen by the fit are not used. Past events whose
        remaining triggering mass ``e^{-omega (t0 - t_j)}`` is below 1e-6 are skipped.
        """
        if t0 < self.trained_until - 1e-9:
            msg = (
                f"a SEPP forecast must start at or after the end of its training window "
                f"({self.trained_until}); got t0={t0}. Refit with an earlier 'until'."
            )
            raise InvalidInput(msg)
        if not t1 >= t0:
            msg = f"forecast window ends ({t1}) before it starts ({t0})"
            raise InvalidInput(msg)
        length = t1 - t0
        p = self.params
        nu = p.mu * self.trend_level
        kappa = p.omega * (1.0 - p.theta)
        bg_mass, bg_wide = self.background_mass(grid)
        out = nu * length * bg_mass + nu * p.theta * p.omega * _psi(kappa, length) * bg_wide
        if p.theta <= 0 or length <= 0:
            return np.asarray(out, dtype=np.float64)
        decay = np.exp(-p.omega * (t0 - self.t))
        live = decay >= _REMAINING_MASS
        if np.any(live):
            first = p.theta * decay[live] * -math.expm1(-p.omega * length)
            later = p.theta * p.omega * decay[live] * (_phi(kappa, length) - _phi(p.omega, length))
            xs, ys = self.x[live], self.y[live]
            out = out + kernel_mass(grid, xs, ys, first, p.sigma)
            if float(later.sum()) > 0:
                out = out + kernel_mass(grid, xs, ys, later, p.sigma * math.sqrt(2.0))
        return np.asarray(out, dtype=np.float64)

    def expected_total(self, t0: float, t1: float) -> float:
        """The expected number of events in ``[t0, t1)`` over the whole plane (the sum that
        :meth:`intensity` spreads over cells, before any mass falls outside the grid)."""
        length = t1 - t0
        p = self.params
        nu = p.mu * self.trend_level
        kappa = p.omega * (1.0 - p.theta)
        total = nu * length + nu * p.theta * p.omega * _psi(kappa, length)
        decay = np.exp(-p.omega * (t0 - self.t))
        decay = decay[decay >= _REMAINING_MASS]
        return float(total + p.theta * p.omega * decay.sum() * _phi(kappa, length))

    def describe(self) -> dict[str, Any]:
        """Fitted parameters and diagnostics (JSON-able)."""
        p = self.params
        return {
            "model": self.name,
            "version": VERSION,
            "params": {
                "mu_per_day": p.mu,
                "theta": p.theta,
                "omega_per_day": p.omega,
                "mean_delay_days": 1.0 / p.omega if p.omega > 0 else None,
                "sigma_km": p.sigma,
                "bg_bandwidth_km": self.bg_bandwidth_km,
                "bg_broad_km": self.bg_broad_km,
                "bg_broad_share": self.bg_broad_share,
                "bg_floor": self.bg_floor,
                "trend": self.trend,
                "trend_bandwidth_days": self.trend_bandwidth_days,
                "trend_level": self.trend_level,
            },
            "declustering": self.declustering,
            "n_events": self.n_events,
            "n_pairs": self.n_pairs,
            "background_share": float(self.bg_weights.sum() / max(self.n_events, 1)),
            "iterations": self.iterations,
            "converged": self.converged,
            "log_likelihood": self.loglik,
            "fit_seconds": self.fit_seconds,
            "trained_from": self.trained_from,
            "trained_until": self.trained_until,
        }


# --------------------------------------------------------------------------------------------
# the forecaster


def _check_number(name: str, value: object, *, low: float = 0.0, integer: bool = False) -> None:
    ok_type = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type):
        kind = "an integer" if integer else "a number"
        msg = f"SEPP.{name} must be {kind} greater than {low}, got {value!r}"
        raise ValueError(msg)
    if not (math.isfinite(float(value)) and float(value) > low):
        msg = f"SEPP.{name} must be greater than {low}, got {value!r}"
        raise ValueError(msg)


@dataclass(frozen=True)
class SEPP:
    """Space-time Hawkes forecaster (see the module notes for the model).

    Parameters
    ----------
    trend
        ``"constant"`` background rate over the training window, or ``"smoothed"`` (kernel
        smoothing of the background events' times; forecasts use its level over the last
        ``trend_bandwidth_days``).
    trend_bandwidth_days
        Standard deviation of the trend's Gaussian kernel (days).
    bg_bandwidth_km
        Background kernel standard deviation (km), or ``"auto"`` (leave-one-out likelihood).
    bg_floor
        Share of the background density spread uniformly over the events' padded bounding box.
    declustering
        ``"full"`` (weighted EM) or ``"stochastic"`` (one sampled parent per event each
        iteration, estimates averaged after a burn-in of a fifth of ``max_iter``).
    window_days
        Fit on the last ``window_days`` before ``until`` only; ``None`` uses every event.
    tol
        Convergence: largest relative change of ``mu, theta, omega, sigma`` in an iteration.
    max_iter
        Most EM iterations per bandwidth round (the number of iterations when stochastic).
    seed
        Seed of the random generator of stochastic declustering.
    bg_two_scale
        Let ``"auto"`` mix a sharp and a broad bandwidth (weight chosen with them): incidents
        recur at the same towns, and new ones appear around them.
    min_sigma_km
        Floor of the offspring spread ``sigma``: the precision of the positions. Incidents
        located to a town share its coordinates, and without a floor ``sigma`` collapses to 0.
    max_delay_days
        Ceiling of the mean triggering delay ``1 / omega`` (``None``: none). Near-repeat
        effects last weeks to a few months; without a ceiling, towns hit again years apart
        are explained as a year-long triggering that belongs in the background.
    """

    name = "sepp"  # not a field: no parameter, and settable as the protocol asks
    trend: Literal["constant", "smoothed"] = "constant"
    trend_bandwidth_days: float = 90.0
    bg_bandwidth_km: float | Literal["auto"] = "auto"
    bg_floor: float = 0.01
    declustering: Literal["full", "stochastic"] = "full"
    window_days: float | None = None
    tol: float = 1e-6
    max_iter: int = 200
    seed: int = 0
    bg_two_scale: bool = True
    min_sigma_km: float = 0.5
    max_delay_days: float | None = 90.0

    def __post_init__(self) -> None:
        if self.trend not in ("constant", "smoothed"):
            msg = f"SEPP.trend must be 'constant' or 'smoothed', got {self.trend!r}"
            raise ValueError(msg)
        if self.declustering not in ("full", "stochastic"):
            msg = f"SEPP.declustering must be 'full' or 'stochastic', got {self.declustering!r}"
            raise ValueError(msg)
        _check_number("trend_bandwidth_days", self.trend_bandwidth_days)
        if self.bg_bandwidth_km != "auto":
            _check_number("bg_bandwidth_km", self.bg_bandwidth_km)
        if (
            isinstance(self.bg_floor, bool)
            or not isinstance(self.bg_floor, int | float)
            or not 0 < self.bg_floor < 1
        ):
            msg = (
                f"SEPP.bg_floor must be a fraction strictly between 0 and 1, got {self.bg_floor!r}"
            )
            raise ValueError(msg)
        if self.window_days is not None:
            _check_number("window_days", self.window_days)
        _check_number("tol", self.tol)
        if not isinstance(self.bg_two_scale, bool):
            msg = f"SEPP.bg_two_scale must be true or false, got {self.bg_two_scale!r}"
            raise ValueError(msg)
        _check_number("min_sigma_km", self.min_sigma_km, low=-1e-12)
        if self.max_delay_days is not None:
            _check_number("max_delay_days", self.max_delay_days)
        _check_number("max_iter", self.max_iter, integer=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            msg = f"SEPP.seed must be an integer, got {self.seed!r}"
            raise ValueError(msg)

    def fit(self, events: Events, until: float, *, init: SEPPModel | None = None) -> SEPPModel:
        """Fit on ``events.before(until)`` (and within ``window_days`` of it, if set).

        Parameters
        ----------
        events
            The event history.
        until
            End of the training window (days); the forecast may start here.
        init
            A previously fitted model to start the EM from (warm start: rolling refits converge
            in a few iterations); its bandwidth is the first candidate when ``"auto"``.
        """
        started = time.perf_counter()
        train = events.before(until)
        if self.window_days is not None:
            train = train.between(until - self.window_days, until)
        n = len(train)
        if n < MIN_EVENTS:
            msg = (
                f"the SEPP model needs at least {MIN_EVENTS} events before {until:.1f} to fit; "
                f"got {n}. Use a longer history, a larger area, or the 'naive' model."
            )
            raise InvalidInput(msg)
        return _Fit(self, train, float(until), init, started).run()


# --------------------------------------------------------------------------------------------
# the EM driver


class _Fit:
    """One fit: holds the events, pair lists and the current state."""

    def __init__(
        self, spec: SEPP, ev: Events, until: float, init: SEPPModel | None, started: float
    ) -> None:
        self.spec = spec
        self.started = started
        self.t = np.asarray(ev.t, dtype=np.float64)
        self.x = np.asarray(ev.x, dtype=np.float64)
        self.y = np.asarray(ev.y, dtype=np.float64)
        self.n = self.t.size
        self.t0 = float(self.t[0])
        if self.spec.window_days is not None:
            self.t0 = min(self.t0, until - float(self.spec.window_days))
        self.t1 = until
        self.span = max(self.t1 - self.t0, 1e-9)
        self.remaining = self.t1 - self.t
        pad = _FLOOR_PAD_KM
        self.box = (
            float(self.x.min()) - pad,
            float(self.x.max()) + pad,
            float(self.y.min()) - pad,
            float(self.y.max()) + pad,
        )
        self.floor_density = 1.0 / ((self.box[1] - self.box[0]) * (self.box[3] - self.box[2]))
        self.iterations = 0
        self.rng = np.random.default_rng(spec.seed)
        if init is not None:
            ip = init.params
            self.params = SEPPParams(
                mu=max(ip.mu, 1e-6),
                theta=min(max(ip.theta, 0.01), 0.99),
                omega=max(ip.omega, 1e-6),
                sigma=max(ip.sigma, 0.05),
            )
            self.h_start: _Bandwidths | None = _Bandwidths(
                init.bg_bandwidth_km, init.bg_broad_km, init.bg_broad_share
            )
        else:
            self.params = SEPPParams(
                mu=0.5 * self.n / self.span,
                theta=0.5,
                omega=1.0 / min(10.0, self.span / 20.0),
                sigma=5.0,
            )
            self.h_start = None
        self.q = np.full(self.n, 0.5)  # background probabilities of the first E-step
        self.pairs = self._build_pairs(self.params)
        self._bg_cache: dict[float, sp.csr_matrix] = {}
        self._loo: _BackgroundPairs | None = None
        self._loo_pick: IntArray | None = None

    # -- pair lists -------------------------------------------------------------------------

    def _build_pairs(self, p: SEPPParams) -> TriggerPairs:
        return trigger_pairs(self.t, self.x, self.y, _TIME_BUILD / p.omega, _SPACE_BUILD * p.sigma)

    def _refresh_pairs(self) -> None:
        p = self.params
        tc = self.pairs.time_cutoff * p.omega
        dc = self.pairs.space_cutoff / p.sigma
        if not (_TIME_MIN <= tc <= _TIME_MAX and _SPACE_MIN <= dc <= _SPACE_MAX):
            self.pairs = self._build_pairs(p)

    def _bg_matrix(self, h: float) -> sp.csr_matrix:
        found = self._bg_cache.get(h)
        if found is None:
            found = _kernel_matrix(self.x, self.y, h)
            while len(self._bg_cache) >= 2:  # keep two matrices: they can be large
                self._bg_cache.pop(next(iter(self._bg_cache)))
            self._bg_cache[h] = found
        return found

    # -- bandwidth --------------------------------------------------------------------------

    def _select_bandwidth(self, q: FloatArray) -> _Bandwidths:
        """The background maximising the weighted leave-one-out log likelihood of ``f``: one
        candidate bandwidth, or (``bg_two_scale``) a sharp and a broad one mixed."""
        n = self.n
        if self._loo is None:
            m = min(n, _LOO_MAX_EVENTS)
            pick = np.linspace(0, n - 1, m).round().astype(np.int64)
            self._loo_pick = pick
            self._loo = _BackgroundPairs.build(
                self.x[pick], self.y[pick], _BG_CUTOFF * max(AUTO_BANDWIDTHS)
            )
        assert self._loo_pick is not None
        pick = self._loo_pick
        qs = q[pick]
        weight = max(float(qs.sum()), _TINY)
        floor, floor_density = self.spec.bg_floor, self.floor_density
        # the leave-one-out kernel density of each candidate, before the floor is mixed in
        kdes = []
        for h in AUTO_BANDWIDTHS:
            sub = self._loo.within(_BG_CUTOFF * h)
            kdes.append(_loo_density(sub, gaussian_weight(sub.d2, h), qs, 0.0, 0.0))
        best, best_score = _Bandwidths(AUTO_BANDWIDTHS[0], AUTO_BANDWIDTHS[0], 0.0), -math.inf
        shares = _BROAD_SHARES if self.spec.bg_two_scale else (0.0,)
        for i, h in enumerate(AUTO_BANDWIDTHS):
            for j in range(i, len(AUTO_BANDWIDTHS)):
                for share in shares:
                    if (share == 0.0) != (j == i):
                        continue
                    mix = (1.0 - share) * kdes[i] + share * kdes[j]
                    dens = (1.0 - floor) * mix + floor * floor_density
                    score = _dot(qs, np.log(dens)) / weight
                    if score > best_score:
                        best = _Bandwidths(h, AUTO_BANDWIDTHS[j], share)
                        best_score = score
        return best.scaled((pick.size / n) ** (1.0 / 6.0))

    # -- iterations -------------------------------------------------------------------------

    def _state(self, bw: _Bandwidths, q: FloatArray) -> tuple[FloatArray, _Trend]:
        """Background density at the events (leave-one-out) and the trend, from weights ``q``."""
        upper = self._bg_matrix(bw.h)
        sums = (1.0 - bw.share) * (upper @ q + upper.T @ q)
        if bw.share > 0:
            broad = self._bg_matrix(bw.broad)
            sums = sums + bw.share * (broad @ q + broad.T @ q)
        others = np.maximum(float(q.sum()) - q, _TINY)
        floor = self.spec.bg_floor
        dens = (1.0 - floor) * sums / others + floor * self.floor_density
        trend = _trend(self.spec.trend, self.t, q, self.t0, self.t1, self.spec.trend_bandwidth_days)
        return np.asarray(dens, dtype=np.float64), trend

    def _m_step(self, w_bg: FloatArray, w_pair: FloatArray) -> SEPPParams:
        theta, omega, sigma = _m_step_trigger(
            w_pair, self.pairs, self.remaining, self.params.omega, self.params.sigma
        )
        sigma = max(sigma, self.spec.min_sigma_km)
        theta = min(theta, _MAX_THETA)
        if self.spec.max_delay_days is not None:
            omega = max(omega, 1.0 / self.spec.max_delay_days)
        mu = max(float(w_bg.sum()) / self.span, 1e-12)
        return SEPPParams(mu, theta, omega, sigma)

    def _run_full(self, h: _Bandwidths) -> bool:
        """EM at a fixed bandwidth until converged; returns whether it converged."""
        for _ in range(self.spec.max_iter):
            dens, trend = self._state(h, self.q)
            _, p_bg, p_pair = e_step(self.params, dens, trend.at_events, self.pairs)
            self.iterations += 1
            new = self._m_step(p_bg, p_pair)
            change = _rel_change(new.as_array(), self.params.as_array())
            self.params = new
            self.q = p_bg
            self._refresh_pairs()
            if change < self.spec.tol:
                return True
        return False

    def _sample(self, p_bg: FloatArray, p_pair: FloatArray) -> tuple[FloatArray, FloatArray]:
        """One parent per event (or none: background), drawn from the E-step probabilities."""
        u = self.rng.random(self.n)
        child = self.pairs.child
        incl = np.cumsum(p_pair)
        excl = incl - p_pair
        starts = np.searchsorted(child, np.arange(self.n), side="left")
        base = excl[np.minimum(starts, max(child.size - 1, 0))] if child.size else excl
        lo = p_bg[child] + excl - base[child]
        hi = lo + p_pair
        uc = u[child]
        chosen = (lo < uc) & (uc <= hi)
        w_bg = np.ones(self.n)
        w_bg[child[chosen]] = 0.0
        return w_bg, chosen.astype(np.float64)

    def _run_stochastic(self, h: _Bandwidths | None) -> tuple[bool, _Bandwidths]:
        total = self.spec.max_iter
        burn = max(1, total // 5)
        hh = h if h is not None else self._select_bandwidth(np.ones(self.n))
        sums = np.zeros(4)
        halves = [np.zeros(4), np.zeros(4)]
        q_sum = np.zeros(self.n)
        kept = 0
        for it in range(total):
            dens, trend = self._state(hh, self.q)
            _, p_bg, p_pair = e_step(self.params, dens, trend.at_events, self.pairs)
            self.iterations += 1
            w_bg, w_pair = self._sample(p_bg, p_pair)
            self.params = self._m_step(w_bg, w_pair)
            self.q = w_bg
            self._refresh_pairs()
            if it < burn:
                q_sum += p_bg
                if it == burn - 1 and h is None:
                    hh = self._select_bandwidth(q_sum / burn)
                    q_sum[:] = 0.0
                continue
            vec = self.params.as_array()
            sums += vec
            halves[0 if it < burn + (total - burn) // 2 else 1] += vec
            q_sum += p_bg
            kept += 1
        if kept == 0:
            return False, hh
        self.params = SEPPParams.from_array(sums / kept)
        self.q = q_sum / kept
        self._refresh_pairs()
        first_n = (total - burn) // 2
        second_n = kept - first_n
        if first_n == 0 or second_n == 0:
            return False, hh
        diff = _rel_change(halves[0] / first_n, halves[1] / second_n)
        return diff < 0.05, hh

    def _loglik(self, h: _Bandwidths) -> float:
        dens, trend = self._state(h, self.q)
        lam, _, _ = e_step(self.params, dens, trend.at_events, self.pairs)
        integral = float(trend.values.mean()) * self.span
        return float(np.log(lam).sum()) - _compensator(self.params, integral, self.remaining)

    def run(self) -> SEPPModel:
        spec = self.spec
        fixed = (
            None
            if spec.bg_bandwidth_km == "auto"
            else _Bandwidths(float(spec.bg_bandwidth_km), float(spec.bg_bandwidth_km), 0.0)
        )
        if spec.declustering == "stochastic":
            converged, h = self._run_stochastic(fixed)
        elif fixed is not None:
            h = fixed
            converged = self._run_full(h)
        else:
            h = (
                self.h_start
                if self.h_start is not None
                else self._select_bandwidth(np.ones(self.n))
            )
            converged = False
            for _ in range(_MAX_BANDWIDTH_ROUNDS):
                converged = self._run_full(h)
                h_new = self._select_bandwidth(self.q)
                if h_new == h:
                    break
                h = h_new
        trend = _trend(spec.trend, self.t, self.q, self.t0, self.t1, spec.trend_bandwidth_days)
        recent = trend.centres >= self.t1 - spec.trend_bandwidth_days
        level = float(trend.values[recent].mean()) if np.any(recent) else float(trend.values[-1])
        loglik = self._loglik(h)
        return SEPPModel(
            name=spec.name,
            trained_from=self.t0,
            trained_until=self.t1,
            params=self.params,
            bg_bandwidth_km=float(h.h),
            bg_broad_km=float(h.broad),
            bg_broad_share=float(h.share),
            bg_floor=float(spec.bg_floor),
            bg_weights=np.asarray(self.q, dtype=np.float64),
            box=self.box,
            trend=spec.trend,
            trend_bandwidth_days=float(spec.trend_bandwidth_days),
            trend_centres=trend.centres,
            trend_values=trend.values,
            trend_level=level if spec.trend == "smoothed" else 1.0,
            t=self.t,
            x=self.x,
            y=self.y,
            declustering=spec.declustering,
            iterations=self.iterations,
            converged=bool(converged),
            loglik=loglik,
            fit_seconds=time.perf_counter() - self.started,
            n_pairs=len(self.pairs),
        )
