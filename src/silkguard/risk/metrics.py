"""Scores of a forecast against what happened: hit rate, PAI, Poisson log score, calibration.

All functions take one forecast window: ``intensity`` (expected count per cell), ``area``
(km2 per cell) and ``counts`` (observed events per cell). Accumulators pool many windows.

Conventions
-----------
* **Ranking is by density** (expected count per km2), not by count, so large cells do not win
  by size. The top ``a`` of the area holds the highest-density cells whose cumulative area stays
  within ``a`` of the total.
* **Ties** (cells of equal density, e.g. the uniform floor of a baseline) are ranked as one
  block. When a tied block straddles the area cut, it contributes the included share of its area
  times its hits: the expected hits under a random order of the tied cells, so no model gains
  or loses by cell order.
* **Hit rate** pooled over windows is total hits / total events (windows with more events
  weigh more); the **PAI** is hit rate / area fraction.
* **Log score** is ``sum_cells log Poisson(k; lambda)``, higher is better.
* **Calibration**: cell-windows are binned by predicted count (approximately into deciles by
  number, through a fine log-scale histogram so no per-cell array is kept), and each bin's mean
  prediction is set beside its mean observed count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

__all__ = [
    "CURVE_FRACTIONS",
    "HIT_FRACTIONS",
    "CalibrationHistogram",
    "WindowScore",
    "WindowScores",
    "hit_rate",
    "hits_at",
    "pai",
    "poisson_log_score",
    "score_window",
]

FloatArray = npt.NDArray[np.float64]

#: The area fractions reported in tables: top 1 %, 5 % and 10 % of the area.
HIT_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.10)
#: The area fractions of the hit-rate curve (0 to 20 % in steps of 0.5 %).
CURVE_FRACTIONS: tuple[float, ...] = tuple(round(0.005 * i, 6) for i in range(41))

_TIE_RTOL = 1e-9


def _as_inputs(
    intensity: npt.ArrayLike, area: npt.ArrayLike, counts: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    lam = np.asarray(intensity, dtype=np.float64).ravel()
    ar = np.asarray(area, dtype=np.float64).ravel()
    obs = np.asarray(counts, dtype=np.float64).ravel()
    if not lam.shape == ar.shape == obs.shape:
        msg = (
            f"intensity, area and counts need one value per cell; got {lam.size}, {ar.size} "
            f"and {obs.size}"
        )
        raise ValueError(msg)
    if lam.size == 0:
        msg = "a forecast needs at least one cell"
        raise ValueError(msg)
    if (ar <= 0).any() or not np.isfinite(ar).all():
        msg = "cell areas must be positive and finite"
        raise ValueError(msg)
    if (lam < 0).any() or not np.isfinite(lam).all():
        msg = "predicted intensities must be non-negative and finite"
        raise ValueError(msg)
    return lam, ar, obs


def hits_at(
    intensity: npt.ArrayLike,
    area: npt.ArrayLike,
    counts: npt.ArrayLike,
    fractions: Sequence[float] | npt.ArrayLike,
) -> FloatArray:
    """Events falling in the top ``fractions`` of the area, ranked by predicted density.

    Parameters
    ----------
    intensity
        Expected count per cell.
    area
        Cell areas (km2), positive.
    counts
        Observed events per cell.
    fractions
        Area fractions in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        Hits (possibly fractional where a tied block straddles the cut), one per fraction.
    """
    lam, ar, obs = _as_inputs(intensity, area, counts)
    frac = np.asarray(fractions, dtype=np.float64).ravel()
    if ((frac < 0) | (frac > 1)).any():
        msg = f"area fractions must lie in [0, 1], got {frac.tolist()}"
        raise ValueError(msg)
    density = lam / ar
    order = np.argsort(-density, kind="stable")
    d, a_sorted, c_sorted = density[order], ar[order], obs[order]
    # blocks of tied densities: a new block starts where the density drops noticeably
    new_block = np.ones(d.size, dtype=bool)
    new_block[1:] = ~np.isclose(d[1:], d[:-1], rtol=_TIE_RTOL, atol=0.0)
    block_id = np.cumsum(new_block) - 1
    n_blocks = int(block_id[-1]) + 1
    block_area = np.bincount(block_id, weights=a_sorted, minlength=n_blocks)
    block_hits = np.bincount(block_id, weights=c_sorted, minlength=n_blocks)
    block_size = np.bincount(block_id, minlength=n_blocks)
    area_end = np.cumsum(block_area)
    area_start = area_end - block_area
    hits_start = np.cumsum(block_hits) - block_hits
    target = frac * ar.sum()
    # the block holding the cut: the first whose end lies beyond the target
    b = np.searchsorted(area_end, target * (1 + 1e-12), side="right")
    out = np.empty(frac.size, dtype=np.float64)
    full = b >= n_blocks
    out[full] = obs.sum()
    part = ~full
    bp = b[part]
    share = np.where(
        block_size[bp] > 1,
        np.clip((target[part] - area_start[bp]) / block_area[bp], 0.0, 1.0),
        0.0,
    )
    out[part] = hits_start[bp] + share * block_hits[bp]
    return out


def hit_rate(
    intensity: npt.ArrayLike, area: npt.ArrayLike, counts: npt.ArrayLike, fraction: float
) -> float:
    """Share of the observed events in the top ``fraction`` of the area (NaN with no events)."""
    total = float(np.asarray(counts, dtype=np.float64).sum())
    hits = float(hits_at(intensity, area, counts, [fraction])[0])
    return hits / total if total > 0 else float("nan")


def pai(rate: float, fraction: float) -> float:
    """Predictive accuracy index: hit rate divided by the area fraction."""
    if not fraction > 0:
        msg = f"the PAI needs a positive area fraction, got {fraction}"
        raise ValueError(msg)
    return rate / fraction


def poisson_log_score(intensity: npt.ArrayLike, counts: npt.ArrayLike) -> float:
    """``sum_i log Poisson(counts_i; intensity_i)``; ``-inf`` if an event falls where the
    forecast says zero."""
    lam = np.asarray(intensity, dtype=np.float64).ravel()
    k = np.asarray(counts, dtype=np.float64).ravel()
    if lam.shape != k.shape:
        msg = f"got {lam.size} intensities for {k.size} counts"
        raise ValueError(msg)
    pos = k > 0
    if (lam[pos] <= 0).any():
        return float("-inf")
    lam_pos, k_pos = lam[pos], k[pos]
    terms = k_pos * np.log(lam_pos) - gammaln(k_pos + 1.0)
    return float(terms.sum() - lam.sum())


@dataclass(frozen=True)
class WindowScore:
    """The scores of one forecast window."""

    events: int
    predicted: float
    hits: FloatArray
    log_score: float


def score_window(
    intensity: npt.ArrayLike,
    area: npt.ArrayLike,
    counts: npt.ArrayLike,
    fractions: Sequence[float] = CURVE_FRACTIONS,
) -> WindowScore:
    """Hits at ``fractions``, log score and totals of one window."""
    lam, ar, obs = _as_inputs(intensity, area, counts)
    return WindowScore(
        events=int(obs.sum()),
        predicted=float(lam.sum()),
        hits=hits_at(lam, ar, obs, fractions),
        log_score=poisson_log_score(lam, obs),
    )


@dataclass
class WindowScores:
    """Pools :class:`WindowScore` values over windows (one model, one period, one year)."""

    fractions: tuple[float, ...] = CURVE_FRACTIONS
    windows: int = 0
    events: int = 0
    predicted: float = 0.0
    log_score: float = 0.0
    hits: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if self.hits.size == 0:
            self.hits = np.zeros(len(self.fractions), dtype=np.float64)

    def add(self, score: WindowScore) -> None:
        self.windows += 1
        self.events += score.events
        self.predicted += score.predicted
        self.log_score += score.log_score
        self.hits = self.hits + score.hits

    def hit_rates(self) -> FloatArray:
        if self.events == 0:
            return np.full(len(self.fractions), np.nan)
        return np.asarray(self.hits / self.events, dtype=np.float64)

    def summary(self, report: Sequence[float] = HIT_FRACTIONS) -> dict[str, Any]:
        """Pooled figures as JSON-able values (``None`` for undefined ones)."""
        rates = self.hit_rates()
        out: dict[str, Any] = {
            "windows": self.windows,
            "events": self.events,
            "predicted": self.predicted,
            "log_score_per_window": _num(self.log_score / self.windows) if self.windows else None,
            "log_score_per_event": _num(self.log_score / self.events) if self.events else None,
            "log_score_total": _num(self.log_score),
        }
        for f in report:
            i = _fraction_index(self.fractions, f)
            rate = float(rates[i])
            key = _pct(f)
            out[f"hit_rate_{key}"] = _num(rate)
            out[f"pai_{key}"] = _num(rate / f) if f > 0 else None
        out["curve"] = {
            "area_fraction": list(self.fractions),
            "hit_rate": [_num(float(r)) for r in rates],
        }
        return out


def _fraction_index(fractions: Sequence[float], f: float) -> int:
    arr = np.asarray(fractions)
    i = int(np.argmin(np.abs(arr - f)))
    if abs(arr[i] - f) > 1e-9:
        msg = f"area fraction {f} is not among the scored fractions"
        raise ValueError(msg)
    return i


def _pct(f: float) -> str:
    return f"{round(f * 100, 3):g}pct"


def _num(value: float) -> float | None:
    """A float, or None where JSON has no number (NaN, infinities)."""
    return float(value) if np.isfinite(value) else None


@dataclass
class CalibrationHistogram:
    """Predicted versus observed counts over cell-windows, binned by predicted count.

    A fine histogram over ``log10(prediction)`` (``resolution`` decades per bin) accumulates
    the number of cell-windows, the predicted and the observed sums; :meth:`bins` merges the
    fine bins into ``n`` groups of about equal size. Tied predictions share a fine bin and are
    never split, so groups can be fewer or uneven when many cells share one value.
    """

    lo: float = -12.0
    hi: float = 4.0
    resolution: float = 0.005
    n: FloatArray = field(default_factory=lambda: np.zeros(0))
    pred: FloatArray = field(default_factory=lambda: np.zeros(0))
    obs: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        size = round((self.hi - self.lo) / self.resolution) + 2
        if self.n.size != size:
            self.n = np.zeros(size)
            self.pred = np.zeros(size)
            self.obs = np.zeros(size)

    def _bin(self, lam: FloatArray) -> npt.NDArray[np.int64]:
        positive = lam > 0
        logs = np.log10(np.where(positive, lam, 1.0))
        idx = np.floor((logs - self.lo) / self.resolution).astype(np.int64) + 1
        return np.where(positive, np.clip(idx, 1, self.n.size - 1), 0)

    def add(self, intensity: npt.ArrayLike, counts: npt.ArrayLike) -> None:
        lam = np.asarray(intensity, dtype=np.float64).ravel()
        k = np.asarray(counts, dtype=np.float64).ravel()
        idx = self._bin(lam)
        size = self.n.size
        self.n += np.bincount(idx, minlength=size)
        self.pred += np.bincount(idx, weights=lam, minlength=size)
        self.obs += np.bincount(idx, weights=k, minlength=size)

    def bins(self, n: int = 10) -> list[dict[str, Any]]:
        """About ``n`` equal-count groups, from the lowest predictions to the highest."""
        total = float(self.n.sum())
        if total == 0:
            return []
        cum_before = np.cumsum(self.n) - self.n
        group = np.minimum((cum_before / total * n).astype(np.int64), n - 1)
        out: list[dict[str, Any]] = []
        for g in range(n):
            sel = (group == g) & (self.n > 0)
            if not sel.any():
                continue
            count = float(self.n[sel].sum())
            used = np.flatnonzero(sel)
            out.append(
                {
                    "bin": len(out),
                    "cell_windows": int(count),
                    "pred_low": _edge(self.lo + (used[0] - 1) * self.resolution),
                    "pred_high": _edge(self.lo + used[-1] * self.resolution),
                    "mean_predicted": float(self.pred[sel].sum() / count),
                    "mean_observed": float(self.obs[sel].sum() / count),
                }
            )
        return out


def _edge(log_value: float) -> float:
    return float(10.0**log_value)
