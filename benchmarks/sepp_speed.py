"""SEPP fit and forecast speed, and agreement with the dense O(N^2) EM of the same model.

Histories of about 4,000 and 15,000 events over ten years are simulated from the model itself
(:func:`silkguard.risk.simulate.simulate_sepp`, a dozen background blobs spread over a
1,200 km square centred on Pakistan). For each:

* ``SEPP`` fitted with a fixed background bandwidth (the one ``"auto"`` chose, for a fair
  comparison with the reference) and with ``"auto"``;
* the dense reference (:mod:`benchmarks.sepp_reference`) on the same events with the same
  bandwidth: all 4,000 events; at 15,000 events its matrices would need about 11 GB, so it runs
  on the first 5,000 events (the sparse fit is repeated on that subset for the comparison);
* a one-week forecast on ``Grid.pakistan(6)`` (22,838 cells, 7 sample points each): the first
  call (which builds the background surface and the grid's search trees) and a second call.

Results are printed and written to ``benchmarks/results/sepp_speed.json``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.sepp_reference import dense_em
from silkguard.risk.events import Events
from silkguard.risk.grid import Grid
from silkguard.risk.sepp import SEPP
from silkguard.risk.simulate import Blob, simulate_sepp

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

T_START = 14_610.0  # 2010-01-01 in days since the epoch
YEARS = 10.0
THETA, OMEGA, SIGMA = 0.4, 1.0 / 20.0, 6.0
DENSE_MAX = 5_000
GOALS = {"fit_4k_s": 1.0, "fit_15k_s": 20.0, "speedup": 10.0, "param_rel": 0.01, "week_s": 1.0}


def _blobs(seed: int) -> list[Blob]:
    rng = np.random.default_rng(seed)
    return [
        Blob(
            float(rng.uniform(-600, 600)),
            float(rng.uniform(-600, 600)),
            float(rng.uniform(10, 80)),
            float(rng.uniform(0.3, 3.0)),
        )
        for _ in range(12)
    ]


def _history(n_target: int, seed: int) -> Events:
    span = YEARS * 365.25
    mu = n_target * (1 - THETA) / span
    sim = simulate_sepp(
        mu_per_day=mu,
        theta=THETA,
        omega_per_day=OMEGA,
        sigma_km=SIGMA,
        t_start=T_START,
        t_end=T_START + span,
        seed=seed,
        blobs=_blobs(seed),
    )
    return sim.events


def _params(mu: float, theta: float, omega: float, sigma: float) -> dict[str, float]:
    return {"mu": mu, "theta": theta, "omega": omega, "sigma": sigma}


def _timed_fit(spec: SEPP, events: Events, until: float) -> tuple[Any, float]:
    start = time.perf_counter()
    model = spec.fit(events, until)
    return model, time.perf_counter() - start


def _one(n_target: int, seed: int, grid: Grid) -> dict[str, Any]:
    events = _history(n_target, seed)
    until = T_START + YEARS * 365.25
    auto, auto_s = _timed_fit(SEPP(), events, until)
    h = auto.bg_bandwidth_km
    fixed, fixed_s = _timed_fit(SEPP(bg_bandwidth_km=h), events, until)
    sub = events if len(events) <= DENSE_MAX else events.select(slice(0, DENSE_MAX))
    sub_until = until if len(sub) == len(events) else float(sub.t[-1]) + 1e-6
    sparse_sub, sparse_sub_s = (
        (fixed, fixed_s)
        if len(sub) == len(events)
        else _timed_fit(SEPP(bg_bandwidth_km=h), sub, sub_until)
    )
    dense = dense_em(sub.t, sub.x, sub.y, sub_until, bandwidth_km=h)
    sp = sparse_sub.params
    ours = _params(sp.mu, sp.theta, sp.omega, sp.sigma)
    ref = dense.as_dict()
    rel = {k: abs(ours[k] / ref[k] - 1.0) for k in ours}

    t0 = until
    start = time.perf_counter()
    first = fixed.intensity(grid, t0, t0 + 7.0)
    week_first_s = time.perf_counter() - start
    start = time.perf_counter()
    fixed.intensity(grid, t0 + 7.0, t0 + 14.0)
    week_second_s = time.perf_counter() - start

    fp = fixed.params
    return {
        "events": len(events),
        "truth": _params(n_target * (1 - THETA) / (YEARS * 365.25), THETA, OMEGA, SIGMA),
        "fit_auto_s": auto_s,
        "fit_auto_iterations": auto.iterations,
        "bg_bandwidth_km": h,
        "fit_fixed_s": fixed_s,
        "fit_fixed_iterations": fixed.iterations,
        "fitted": _params(fp.mu, fp.theta, fp.omega, fp.sigma),
        "trigger_pairs": fixed.n_pairs,
        "dense_events": len(sub),
        "dense_s": dense.seconds,
        "dense_iterations": dense.iterations,
        "sparse_on_dense_events_s": sparse_sub_s,
        "speedup_vs_dense": dense.seconds / sparse_sub_s,
        "sparse_params": ours,
        "dense_params": ref,
        "max_rel_param_diff": max(rel.values()),
        "rel_param_diff": rel,
        "week_forecast_first_s": week_first_s,
        "week_forecast_second_s": week_second_s,
        "week_expected_total_grid": float(first.sum()),
        "week_expected_total_plane": fixed.expected_total(t0, t0 + 7.0),
    }


def _print(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'events':>7} {'fit auto':>9} {'fit fixed':>9} {'dense N':>8} {'dense':>8} "
        f"{'sparse':>8} {'speed-up':>8} {'max rel diff':>12} {'week 1st':>9} {'week 2nd':>9}"
    )
    print("SEPP speed (seconds)")
    print(head)
    for r in rows:
        print(
            f"{r['events']:>7} {r['fit_auto_s']:>9.2f} {r['fit_fixed_s']:>9.2f} "
            f"{r['dense_events']:>8} {r['dense_s']:>8.2f} {r['sparse_on_dense_events_s']:>8.3f} "
            f"{r['speedup_vs_dense']:>7.0f}x {r['max_rel_param_diff']:>12.2e} "
            f"{r['week_forecast_first_s']:>9.3f} {r['week_forecast_second_s']:>9.3f}"
        )
    print(f"goals: {GOALS}")


def run() -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    grid = Grid.pakistan(6)
    _ = grid.sample_xy, grid.area_km2, grid.xy
    grid_s = time.perf_counter() - start
    rows = [_one(4_000, 1, grid), _one(15_000, 2, grid)]
    _print(rows)
    small, large = rows
    result: dict[str, Any] = {
        "benchmark": "sepp_speed",
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "grid_cells": len(grid),
        "grid_geometry_s": grid_s,
        "goals": GOALS,
        "met": {
            "fit_4k_fixed": small["fit_fixed_s"] < GOALS["fit_4k_s"],
            "fit_4k_auto": small["fit_auto_s"] < GOALS["fit_4k_s"],
            "fit_15k_auto": large["fit_auto_s"] < GOALS["fit_15k_s"],
            "speedup": all(r["speedup_vs_dense"] >= GOALS["speedup"] for r in rows),
            "params_within_1pct": all(r["max_rel_param_diff"] < GOALS["param_rel"] for r in rows),
            "week_forecast": all(r["week_forecast_first_s"] < GOALS["week_s"] for r in rows),
        },
        "runs": rows,
    }
    out = RESULTS / "sepp_speed.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"met: {result['met']}\nwritten to {out.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    run()
