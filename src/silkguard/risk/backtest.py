"""Rolling-origin backtest of risk forecasters over calendar weeks and months.

For every window of the held-out years (calendar weeks Monday to Sunday, UTC, and calendar
months) each forecaster is fitted on the events strictly before a fit time ``t_fit <= t0`` and
asked for the expected count per grid cell in ``[t0, t1)``; the forecast is scored against the
events of the window (see :mod:`silkguard.risk.metrics`).

Choices
-------
* **Windows** are those lying wholly inside the held-out years, so no window is scored on days
  outside them (2012-2015 gives 208 weeks and 48 months). A window counts towards the year
  holding most of its days.
* **Refitting**: by default every window gets its own fit at its start (``t_fit = t0``). Slow
  models can be refitted less often with ``refit_days``: a model fitted at ``t_fit`` is reused
  for later windows until ``t0 - t_fit >= refit_days``. It still never sees an event on or after
  ``t_fit``, so no forecast uses the future; it only forgoes the events of ``[t_fit, t0)``.
  Fits at the same instant are shared between periods.
* **Events outside the grid** are counted per period (``events_outside_grid``) and left out of
  the scores, since no cell can hold them.
* **Oracle**: pass the true model of synthetic data as ``oracle``; it is scored as a model named
  ``"oracle"`` and marked in the result, so the best achievable figures stand beside the rest.
* **Warm starts**: a forecaster whose ``fit`` takes ``init=`` (the SEPP) starts each refit from
  the latest earlier fit of the run, which saw only earlier events.
* **Seeds**: a forecaster that is a dataclass with a ``seed`` field gets ``seed`` through
  :func:`dataclasses.replace`, so a run is reproducible.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import numpy.typing as npt

from silkguard.risk.base import Forecaster, Model
from silkguard.risk.events import Events, to_days
from silkguard.risk.grid import Grid
from silkguard.risk.metrics import (
    CURVE_FRACTIONS,
    HIT_FRACTIONS,
    CalibrationHistogram,
    WindowScores,
    score_window,
)

if TYPE_CHECKING:  # rich is imported lazily
    from rich.table import Table

__all__ = [
    "BacktestResult",
    "Period",
    "Window",
    "backtest",
    "calendar_windows",
    "held_out_year_list",
    "render_table",
]

Period = Literal["week", "month"]
PERIODS: tuple[Period, ...] = ("week", "month")
ORACLE = "oracle"

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class Window:
    """One forecast window ``[t0, t1)`` in days, with its calendar start and end."""

    period: Period
    start: datetime
    end: datetime
    year: int

    @property
    def t0(self) -> float:
        return to_days(self.start)

    @property
    def t1(self) -> float:
        return to_days(self.end)

    @property
    def label(self) -> str:
        if self.period == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m-%d}"


def held_out_year_list(held_out_years: tuple[int, int] | Iterable[int]) -> list[int]:
    """The held-out years: a ``(first, last)`` tuple is an inclusive range; any other iterable
    (list, range, set) is taken as the years themselves."""
    if isinstance(held_out_years, tuple) and len(held_out_years) == 2:
        first, last = (int(y) for y in held_out_years)
        if last < first:
            msg = f"held-out years {held_out_years} end before they start"
            raise ValueError(msg)
        years = list(range(first, last + 1))
    else:
        years = sorted({int(y) for y in held_out_years})
    if not years:
        msg = "give at least one held-out year"
        raise ValueError(msg)
    return years


def calendar_windows(period: Period, years: Sequence[int]) -> list[Window]:
    """Calendar weeks (Monday 00:00 UTC to the next Monday) or months lying wholly inside
    ``years``."""
    wanted = set(years)
    lo = datetime(min(wanted), 1, 1, tzinfo=UTC)
    hi = datetime(max(wanted) + 1, 1, 1, tzinfo=UTC)
    out: list[Window] = []
    if period == "week":
        start = lo + timedelta(days=(7 - lo.weekday()) % 7)
        while start + timedelta(days=7) <= hi:
            end = start + timedelta(days=7)
            last_day = end - timedelta(days=1)
            if start.year in wanted and last_day.year in wanted:
                out.append(Window("week", start, end, (start + timedelta(days=3)).year))
            start = end
    elif period == "month":
        for year in sorted(wanted):
            for month in range(1, 13):
                start = datetime(year, month, 1, tzinfo=UTC)
                end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
                out.append(Window("month", start, end, year))
    else:
        msg = f"backtest period {period!r} is not known; use 'week' or 'month'"
        raise ValueError(msg)
    return out


@dataclass
class _Tally:
    """Scores of one model over one period: pooled, per year, calibration, timings."""

    pooled: WindowScores = field(default_factory=WindowScores)
    by_year: dict[int, WindowScores] = field(default_factory=dict)
    calibration: CalibrationHistogram = field(default_factory=CalibrationHistogram)


@dataclass
class BacktestResult:
    """The outcome of :func:`backtest`; :meth:`to_dict` is JSON-able, :meth:`from_dict` reads it
    back.

    ``metrics[model][period]`` holds the pooled figures (``hit_rate_1pct``, ``pai_5pct``,
    ``log_score_per_window``, ..., ``curve``), ``by_year`` and ``calibration``.
    """

    models: list[str]
    periods: list[str]
    oracle: str | None
    windows: dict[str, int]
    events: dict[str, Any]
    metrics: dict[str, dict[str, dict[str, Any]]]
    timings: dict[str, dict[str, float]]
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BacktestResult:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: data[k] for k in names})


def _named(
    forecasters: Mapping[str, Forecaster] | Sequence[Forecaster],
) -> dict[str, Forecaster]:
    if isinstance(forecasters, Mapping):
        named = dict(forecasters)
    else:
        named = {}
        for f in forecasters:
            if f.name in named:
                msg = f"two forecasters are named {f.name!r}; pass a mapping of distinct names"
                raise ValueError(msg)
            named[f.name] = f
    if not named:
        msg = "give at least one forecaster to backtest"
        raise ValueError(msg)
    return named


def _seeded(forecaster: Forecaster, seed: int) -> Forecaster:
    if (
        dataclasses.is_dataclass(forecaster)
        and not isinstance(forecaster, type)
        and "seed" in {f.name for f in dataclasses.fields(forecaster) if f.init}
    ):
        seeded: Forecaster = dataclasses.replace(forecaster, seed=seed)
        return seeded
    return forecaster


def _describe(forecaster: Forecaster) -> dict[str, Any]:
    if dataclasses.is_dataclass(forecaster) and not isinstance(forecaster, type):
        out: dict[str, Any] = {"name": forecaster.name}
        for f in dataclasses.fields(forecaster):
            value = getattr(forecaster, f.name)
            if f.init and isinstance(value, str | int | float | bool | None):
                out[f.name] = value
        return out
    return {"name": forecaster.name}


@dataclass(frozen=True)
class _Observed:
    """Observed counts per cell of every window, and the events the grid cannot hold."""

    counts: dict[str, list[FloatArray]]
    in_windows: dict[str, int]
    outside: dict[str, int]


def _observe(events: Events, grid: Grid, windows: Mapping[Period, Sequence[Window]]) -> _Observed:
    cell_of = grid.locate(events.lat, events.lon) if len(events) else np.zeros(0, np.int64)
    n_cells = len(grid)
    counts: dict[str, list[FloatArray]] = {}
    outside: dict[str, int] = {}
    in_windows: dict[str, int] = {}
    for p, ws in windows.items():
        obs_list: list[FloatArray] = []
        n_out = n_all = 0
        for w in ws:
            lo = int(np.searchsorted(events.t, w.t0, side="left"))
            hi = int(np.searchsorted(events.t, w.t1, side="left"))
            idx = cell_of[lo:hi]
            n_all += hi - lo
            n_out += int((idx < 0).sum())
            obs_list.append(np.bincount(idx[idx >= 0], minlength=n_cells).astype(np.float64))
        counts[p], outside[p], in_windows[p] = obs_list, n_out, n_all
    return _Observed(counts, in_windows, outside)


@dataclass
class _ModelRun:
    """One model through every window of every period, with its fits shared and timed."""

    name: str
    forecaster: Forecaster
    events: Events
    grid: Grid
    refit_days: float
    progress: Progress | None
    fit_seconds: float = 0.0
    forecast_seconds: float = 0.0
    fits: dict[float, Model] = field(default_factory=dict)

    @property
    def _warm(self) -> bool:
        """Whether the forecaster's ``fit`` takes ``init=`` (a warm start, as the SEPP does)."""
        try:
            return "init" in inspect.signature(self.forecaster.fit).parameters
        except (TypeError, ValueError):
            return False

    def _model_at(self, t_fit: float) -> Model:
        found = self.fits.get(t_fit)
        if found is None:
            start = time.perf_counter()
            earlier = [t for t in self.fits if t < t_fit]
            if earlier and self._warm:
                # start from the latest earlier fit (it saw fewer events, never later ones)
                fit_from = cast("Any", self.forecaster).fit
                found = fit_from(self.events, t_fit, init=self.fits[max(earlier)])
            else:
                found = self.forecaster.fit(self.events, t_fit)
            self.fit_seconds += time.perf_counter() - start
            self.fits[t_fit] = found
        return found

    def run(
        self, period: str, windows: Sequence[Window], counts: list[FloatArray]
    ) -> dict[str, Any]:
        tally = _Tally()
        spent_before = self.fit_seconds + self.forecast_seconds
        area = self.grid.area_km2
        n_cells = len(self.grid)
        current: tuple[float, Model] | None = None
        for i, w in enumerate(windows):
            t0, t1 = w.t0, w.t1
            if current is None or t0 - current[0] >= self.refit_days - 1e-9:
                current = (t0, self._model_at(t0))
            start = time.perf_counter()
            lam = np.asarray(current[1].intensity(self.grid, t0, t1), dtype=np.float64)
            self.forecast_seconds += time.perf_counter() - start
            if lam.shape != (n_cells,):
                msg = f"model {self.name!r} returned {lam.shape} intensities for {n_cells} cells"
                raise ValueError(msg)
            score = score_window(lam, area, counts[i])
            tally.pooled.add(score)
            tally.by_year.setdefault(w.year, WindowScores()).add(score)
            tally.calibration.add(lam, counts[i])
            if self.progress is not None:
                self.progress(self.name, period, i + 1, len(windows))
        summary = tally.pooled.summary()
        summary["by_year"] = {
            str(y): {k: v for k, v in s.summary().items() if k != "curve"}
            for y, s in sorted(tally.by_year.items())
        }
        summary["calibration"] = tally.calibration.bins(10)
        summary["seconds"] = self.fit_seconds + self.forecast_seconds - spent_before
        return summary

    def timings(self) -> dict[str, float]:
        return {
            "fit_seconds": self.fit_seconds,
            "forecast_seconds": self.forecast_seconds,
            "total_seconds": self.fit_seconds + self.forecast_seconds,
            "fits": float(len(self.fits)),
        }


def backtest(
    events: Events,
    forecasters: Mapping[str, Forecaster] | Sequence[Forecaster],
    grid: Grid,
    *,
    held_out_years: tuple[int, int] | Iterable[int] = (2012, 2015),
    periods: Sequence[Period] = PERIODS,
    seed: int = 0,
    refit_days: float | Mapping[str, float] = 0.0,
    oracle: Forecaster | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Score forecasters by rolling-origin forecasts over the held-out years.

    Parameters
    ----------
    events
        All events; each fit sees only those before its fit time.
    forecasters
        Named forecasters, or a sequence named by their ``name``.
    grid
        The cells forecast and scored.
    held_out_years
        ``(first, last)`` inclusive, or a list of years.
    periods
        ``"week"`` and/or ``"month"``.
    seed
        Passed to forecasters with a ``seed`` field.
    refit_days
        Reuse a fit for windows starting less than this many days after it (0: refit every
        window); one value for all, or per model name (missing names refit every window).
    oracle
        The true model of synthetic data, scored as ``"oracle"``.
    progress
        Called as ``progress(model, period, done, total)`` after each window.

    Returns
    -------
    BacktestResult
    """
    named = {name: _seeded(f, seed) for name, f in _named(forecasters).items()}
    if oracle is not None:
        if ORACLE in named:
            msg = f"a forecaster is already named {ORACLE!r}; rename it to pass an oracle"
            raise ValueError(msg)
        named[ORACLE] = _seeded(oracle, seed)
    years = held_out_year_list(held_out_years)
    period_list = list(dict.fromkeys(periods))
    windows = {p: calendar_windows(p, years) for p in period_list}
    for p, ws in windows.items():
        if not ws:
            msg = f"no whole {p} lies in the held-out years {years}"
            raise ValueError(msg)

    observed = _observe(events, grid, windows)
    metrics: dict[str, dict[str, dict[str, Any]]] = {}
    timings: dict[str, dict[str, float]] = {}
    for name, forecaster in named.items():
        if isinstance(refit_days, Mapping):
            span = float(refit_days.get(name, 0.0))
        else:
            span = float(refit_days)
        runner = _ModelRun(name, forecaster, events, grid, span, progress)
        metrics[name] = {p: runner.run(p, ws, observed.counts[p]) for p, ws in windows.items()}
        timings[name] = runner.timings()

    first_t0 = min(ws[0].t0 for ws in windows.values())
    return BacktestResult(
        models=list(named),
        periods=[str(p) for p in period_list],
        oracle=ORACLE if oracle is not None else None,
        windows={p: len(ws) for p, ws in windows.items()},
        events={
            "total": len(events),
            "before_first_window": int(np.searchsorted(events.t, first_t0, side="left")),
            "in_windows": observed.in_windows,
            "outside_grid": observed.outside,
            "scored": {p: observed.in_windows[p] - observed.outside[p] for p in windows},
        },
        metrics=metrics,
        timings=timings,
        settings={
            "held_out_years": years,
            "seed": seed,
            "refit_days": dict(refit_days) if isinstance(refit_days, Mapping) else refit_days,
            "grid_resolution": grid.resolution,
            "grid_cells": len(grid),
            "grid_area_km2": float(grid.area_km2.sum()),
            "hit_fractions": list(HIT_FRACTIONS),
            "curve_fractions": list(CURVE_FRACTIONS),
            "forecasters": {name: _describe(f) for name, f in named.items()},
            "windows": {
                p: {"first": ws[0].label, "last": ws[-1].label} for p, ws in windows.items()
            },
        },
    )


def render_table(result: BacktestResult, *, title: str | None = None) -> Table:
    """A Rich table: one row per model and period, hit rates and PAI at 1/5/10 % of the area,
    mean log score per window and the seconds spent fitting and forecasting."""
    from rich.table import Table

    table = Table(title=title or "Backtest")
    for col in ("model", "period", "windows", "events"):
        table.add_column(col)
    for prefix in ("hit", "PAI"):
        for f in HIT_FRACTIONS:
            table.add_column(f"{prefix}@{f * 100:g}%", justify="right")
    table.add_column("log score", justify="right")
    table.add_column("seconds", justify="right")

    def fmt(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for model in result.models:
        for p in result.periods:
            m = result.metrics[model][p]
            seconds = m.get("seconds")
            cells = [
                f"{model} (true)" if model == result.oracle else model,
                p,
                str(m["windows"]),
                str(m["events"]),
            ]
            cells += [fmt(m[f"hit_rate_{_key(f)}"], ".3f") for f in HIT_FRACTIONS]
            cells += [fmt(m[f"pai_{_key(f)}"], ".1f") for f in HIT_FRACTIONS]
            cells.append(fmt(m["log_score_per_window"], ".2f"))
            cells.append(fmt(seconds, ".1f"))
            table.add_row(*cells)
    return table


def _key(f: float) -> str:
    return f"{round(f * 100, 3):g}pct"
