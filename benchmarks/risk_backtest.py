"""Rolling-origin backtests of the risk models, on real and on synthetic data.

1. **Real**: ``../shared/data/pk_incidents_2007_2015.csv`` (495 attacks, the usable ones
   located to a place or district and dated to the day), held out 2012-2015, weekly and
   monthly windows, models naive, kde, prospective and sepp, each refitted for every window,
   on the resolution-6 grid of Pakistan; the SEPP's margins over the best baseline printed.
2. **Synthetic**: a 10-year, ~15,000-event self-exciting history
   (:mod:`benchmarks.risk_synthetic`), held out the last 4 years, with the true model as the
   oracle so the best achievable hit rate stands beside each model.

Results: Rich tables on stdout, ``benchmarks/results/risk_backtest.json`` and PNG hit-rate
curves and calibration plots in ``benchmarks/results/``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
REAL_FILE = "pk_incidents_2007_2015.csv"
REAL_MAPPING = "pk_incidents_2007_2015"

#: Refit spans (days) of the slow models in the synthetic run; the rest refit every window.
SYNTHETIC_REFIT_DAYS: Mapping[str, float] = {"kde": 28.0, "sepp": 28.0}
REAL_REFIT_DAYS: Mapping[str, float] = {}  # every model refits for every window


def _models() -> dict[str, Any]:
    from silkguard.risk.registry import make_forecaster

    return {name: make_forecaster(name) for name in ("naive", "kde", "prospective", "sepp")}


BASELINES = ("naive", "kde", "prospective")


def margins(result: Any) -> dict[str, dict[str, float]]:
    """Per period: the SEPP's hit rate at 5 % and mean log score minus the best baseline's
    (positive: the SEPP is better), and its hit rate at 5 % as a share of the oracle's."""
    out: dict[str, dict[str, float]] = {}
    for period in result.periods:
        m = result.metrics
        sepp = m["sepp"][period]
        row = {
            "hit5_minus_best_baseline": sepp["hit_rate_5pct"]
            - max(m[b][period]["hit_rate_5pct"] for b in BASELINES),
            "log_score_minus_best_baseline": sepp["log_score_per_window"]
            - max(m[b][period]["log_score_per_window"] for b in BASELINES),
        }
        if result.oracle is not None:
            row["hit5_share_of_oracle"] = sepp["hit_rate_5pct"] / max(
                m[result.oracle][period]["hit_rate_5pct"], 1e-12
            )
        out[period] = row
        print(f"  SEPP margins, {period}: " + ", ".join(f"{k} {v:+.4f}" for k, v in row.items()))
    return out


def _progress() -> Any:
    last: dict[tuple[str, str], float] = {}

    def report(model: str, period: str, done: int, total: int) -> None:
        now = time.perf_counter()
        key = (model, period)
        if done == total or now - last.get(key, 0.0) > 10.0:
            last[key] = now
            print(f"  {model:12s} {period:5s} {done:4d}/{total}", file=sys.stderr, flush=True)

    return report


def run_real(*, held_out: tuple[int, int] = (2012, 2015), seed: int = 0) -> dict[str, Any]:
    """The backtest on the shared 2007-2015 incident list."""
    from rich.console import Console

    from silkguard.incidents.importers.pipeline import ImportFormat
    from silkguard.risk.backtest import backtest, render_table
    from silkguard.risk.grid import Grid
    from silkguard.risk.plots import calibration_plot, hit_rate_curve
    from silkguard.risk.sources import events_from_file

    path = SHARED / REAL_FILE
    if not path.exists():
        msg = f"{path} is missing: the risk backtest needs ../shared beside the repository"
        raise SystemExit(msg)
    loaded = events_from_file(path, fmt=ImportFormat.CSV, mapping=REAL_MAPPING)
    grid = Grid.pakistan(6)
    models = _models()
    start = time.perf_counter()
    result = backtest(
        loaded.events,
        models,
        grid,
        held_out_years=held_out,
        seed=seed,
        refit_days=REAL_REFIT_DAYS,
        progress=_progress(),
    )
    seconds = time.perf_counter() - start
    title = f"Real incidents {held_out[0]}-{held_out[1]} ({len(loaded.events)} usable events)"
    Console(width=160).print(render_table(result, title=title))
    curve = hit_rate_curve(result, RESULTS / "risk_backtest_real_hits.png", title=title)
    calib = calibration_plot(result, RESULTS / "risk_backtest_real_calibration.png", title=title)
    return {
        "file": str(path.relative_to(REPO.parent)),
        "rows": loaded.rows,
        "bad_rows": loaded.bad_rows,
        "imprecise_rows": loaded.imprecise_rows,
        "usable_events": len(loaded.events),
        "wall_seconds": seconds,
        "plots": [str(curve.relative_to(REPO)), str(calib.relative_to(REPO))],
        "margins": margins(result),
        "result": result.to_dict(),
    }


def run_synthetic(*, n_events: int = 15_000, seed: int = 0) -> dict[str, Any]:
    """The backtest on a simulated history with its true model as the oracle."""
    from rich.console import Console

    from benchmarks.risk_synthetic import simulate
    from silkguard.risk.backtest import backtest, render_table
    from silkguard.risk.events import days_to_datetime
    from silkguard.risk.grid import Grid
    from silkguard.risk.plots import calibration_plot, hit_rate_curve

    history = simulate(n_events=n_events, seed=seed)
    last_year = days_to_datetime(history.t_end - 1.0).year
    held_out = (last_year - 3, last_year)
    grid = Grid.pakistan(6)
    models = _models()
    start = time.perf_counter()
    result = backtest(
        history.events,
        models,
        grid,
        held_out_years=held_out,
        seed=seed,
        refit_days=SYNTHETIC_REFIT_DAYS,
        oracle=history.oracle(),
        progress=_progress(),
    )
    seconds = time.perf_counter() - start
    title = (
        f"Synthetic history ({len(history.events)} events, {history.triggered_share:.0%} "
        f"triggered), held out {held_out[0]}-{held_out[1]}"
    )
    Console(width=160).print(render_table(result, title=title))
    curve = hit_rate_curve(result, RESULTS / "risk_backtest_synthetic_hits.png", title=title)
    calib = calibration_plot(
        result, RESULTS / "risk_backtest_synthetic_calibration.png", title=title
    )
    return {
        "history": history.describe(),
        "wall_seconds": seconds,
        "plots": [str(curve.relative_to(REPO)), str(calib.relative_to(REPO))],
        "margins": margins(result),
        "result": result.to_dict(),
    }


def run(*, synthetic_events: int = 15_000, seed: int = 0) -> dict[str, Any]:
    """Both backtests; prints tables, writes ``benchmarks/results/risk_backtest.json``."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if not (SHARED / REAL_FILE).exists():
        msg = f"{SHARED / REAL_FILE} is missing: the benchmark needs ../shared beside the repo"
        raise SystemExit(msg)
    RESULTS.mkdir(parents=True, exist_ok=True)
    print("risk backtest on real incidents ...")
    real = run_real(seed=seed)
    print("risk backtest on a synthetic history ...")
    synthetic = run_synthetic(n_events=synthetic_events, seed=seed)
    out = {
        "real": real,
        "synthetic": synthetic,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
    }
    path = RESULTS / "risk_backtest.json"
    path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    run()
