"""Security-game solver speed (issue 8): ORIGAMI, ERASER, DOBSS and multiple LPs.

Games are seeded random instances in the standard model (defender covered payoff in [0, 10],
uncovered in [-10, -0.1]; attacker uncovered in [0.1, 10], covered in [-10, 0]).

1. ORIGAMI on 1,000,000 targets (1,000 and 100,000 resources), best of three, beside the same
   algorithm with one full sort of all targets (the textbook way) as the peer; both must give
   identical coverage.
2. ORIGAMI against the ERASER MILP (HiGHS) on the same 2,000-target game (20 resources):
   speed ratio (goal >= 10,000x) and the relative difference of the defender's utility (goal
   < 1e-6). ORIGAMI is timed as the best of many repetitions, ERASER once.
3. Bayesian games: DOBSS (one MILP) against multiple LPs (one LP per profile of attacker
   responses, ``targets ** types`` LPs) on the same games; a table of targets x types x
   runtime, with the utilities checked to agree to 1e-6. Multiple LPs are skipped above
   ``MAX_LP_PROFILES`` profiles.

4. Schedule games: column generation against the full ERASER-C MILP on one game of 200
   targets and 1,000 random schedules (2-6 targets each, 10 patrols): ratio (goal 100x) and
   utilities (must agree to 1e-6), wall-clock and CPU time (column generation best of
   ``CG_REPEATS``, the MILP once); then column generation alone on growing games (targets x
   schedules) until one takes more than ``CG_STOP_S``: the largest solved within 60 s.

Results are printed and written to ``benchmarks/results/protection.json``.
"""

from __future__ import annotations

import importlib
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from silkguard.protection import (
    AttackerType,
    Payoffs,
    ResourceType,
    SecurityGame,
    column_generation,
    dobss,
    eraser,
    multiple_lps,
    origami,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

BIG_TARGETS = 1_000_000
BIG_RESOURCES = (1_000, 100_000)
MILP_TARGETS = 2_000
MILP_RESOURCES = 20
MILP_TIME_LIMIT_S = 240.0
BAYES_TARGETS = (4, 6, 8, 12, 20, 40)
BAYES_TYPES = (1, 2, 3)
MAX_LP_PROFILES = 2_000
CG_TARGETS, CG_SCHEDULES, CG_PATROLS = 200, 1_000, 10
CG_SCALING = (
    (500, 5_000, 25),
    (1_000, 10_000, 50),
    (1_500, 20_000, 75),
    (2_000, 40_000, 100),
    (5_000, 100_000, 250),
)
CG_REPEATS = 10
CG_STOP_S = 20.0
REL_TOL = 1e-6
GOALS = {
    "origami_1m_s": 1.0,
    "origami_vs_eraser_speedup": 10_000.0,
    "utility_rel_diff": 1e-6,
    "colgen_vs_milp_speedup": 100.0,
}

_origami_module = importlib.import_module("silkguard.protection.origami")


def _payoffs(rng: np.random.Generator, n: int) -> Payoffs:
    return Payoffs(
        rng.uniform(0.0, 10.0, n),
        -rng.uniform(0.1, 10.0, n),
        -rng.uniform(0.0, 10.0, n),
        rng.uniform(0.1, 10.0, n),
    )


def _best_of(fn: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    best = float("inf")
    out = None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


def bench_origami_big() -> list[dict[str, Any]]:
    rows = []
    for m in BIG_RESOURCES:
        game = SecurityGame.single(
            _payoffs(np.random.default_rng(m), BIG_TARGETS), [ResourceType("teams", m)]
        )
        fast, fast_s = _best_of(lambda g=game: origami(g), 3)
        saved = _origami_module._SORT_ALL_BELOW  # the peer: one full sort
        _origami_module._SORT_ALL_BELOW = 10**12
        try:
            full, full_s = _best_of(lambda g=game: origami(g), 3)
        finally:
            _origami_module._SORT_ALL_BELOW = saved
        same = bool(np.array_equal(fast.coverage, full.coverage))
        if not same:
            msg = f"ORIGAMI partial and full sort disagree at {m} resources"
            raise RuntimeError(msg)
        rows.append(
            {
                "targets": BIG_TARGETS,
                "resources": m,
                "origami_s": fast_s,
                "origami_full_sort_s": full_s,
                "speedup_vs_full_sort": full_s / fast_s,
                "attack_set_covered_targets": int((fast.coverage > 0).sum()),
                "defender_utility": fast.defender_utility,
                "goal_s": GOALS["origami_1m_s"],
                "meets_goal": fast_s < GOALS["origami_1m_s"],
            }
        )
    return rows


def bench_origami_vs_eraser() -> dict[str, Any]:
    game = SecurityGame.single(
        _payoffs(np.random.default_rng(2_000), MILP_TARGETS),
        [ResourceType("teams", MILP_RESOURCES)],
    )
    fast, fast_s = _best_of(lambda: origami(game), 200)
    start = time.perf_counter()
    milp = eraser(game, time_limit_s=MILP_TIME_LIMIT_S)
    milp_s = time.perf_counter() - start
    rel = _rel(fast.defender_utility, milp.defender_utility)
    speedup = milp_s / fast_s
    return {
        "targets": MILP_TARGETS,
        "resources": MILP_RESOURCES,
        "origami_s": fast_s,
        "eraser_highs_s": milp_s,
        "speedup": speedup,
        "origami_utility": fast.defender_utility,
        "eraser_utility": milp.defender_utility,
        "utility_rel_diff": rel,
        "goal_speedup": GOALS["origami_vs_eraser_speedup"],
        "meets_goal": speedup >= GOALS["origami_vs_eraser_speedup"] and rel < REL_TOL,
    }


def bench_bayesian() -> list[dict[str, Any]]:
    rows = []
    for types in BAYES_TYPES:
        for n in BAYES_TARGETS:
            rng = np.random.default_rng(10 * n + types)
            priors = rng.dirichlet(np.ones(types))
            priors = priors / priors.sum()
            kinds = tuple(
                AttackerType(f"type{k}", float(p), _payoffs(rng, n)) for k, p in enumerate(priors)
            )
            game = SecurityGame(kinds, (ResourceType("teams", max(1, n // 4)),))
            d, d_s = _best_of(lambda g=game: dobss(g), 1)
            row: dict[str, Any] = {
                "targets": n,
                "types": types,
                "profiles": n**types,
                "dobss_s": d_s,
                "dobss_utility": d.defender_utility,
            }
            if n**types <= MAX_LP_PROFILES:
                ref, ref_s = _best_of(lambda g=game: multiple_lps(g), 1)
                rel = _rel(d.defender_utility, ref.defender_utility)
                if rel >= REL_TOL:
                    msg = f"DOBSS and multiple LPs disagree ({n} targets, {types} types)"
                    raise RuntimeError(msg)
                row |= {"multiple_lps_s": ref_s, "ratio": ref_s / d_s, "utility_rel_diff": rel}
            else:
                row |= {"multiple_lps_s": None, "ratio": None, "utility_rel_diff": None}
            rows.append(row)
    return rows


def _schedule_game(n: int, n_sched: int, patrols: int, seed: int) -> SecurityGame:
    rng = np.random.default_rng(seed)
    pay = _payoffs(rng, n)
    scheds = tuple(
        tuple(sorted(int(t) for t in rng.choice(n, int(rng.integers(2, 7)), replace=False)))
        for _ in range(n_sched)
    )
    return SecurityGame.single(pay, [ResourceType("patrols", patrols, scheds)])


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    """Best wall-clock and best process (CPU) time of ``repeats`` runs. Both solvers run
    HiGHS on one thread, so CPU time is the load-independent figure on a shared machine."""
    best_wall = best_cpu = float("inf")
    out = None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return out, best_wall, best_cpu


def bench_column_generation() -> dict[str, Any]:
    game = _schedule_game(CG_TARGETS, CG_SCHEDULES, CG_PATROLS, 1)
    cg, cg_s, cg_cpu = _timed(lambda: column_generation(game), CG_REPEATS)
    milp, milp_s, milp_cpu = _timed(lambda: eraser(game, time_limit_s=MILP_TIME_LIMIT_S), 1)
    rel = _rel(cg.defender_utility, milp.defender_utility)
    if rel >= REL_TOL:
        msg = "column generation and the ERASER-C MILP disagree"
        raise RuntimeError(msg)
    scaling = []
    for n, n_sched, patrols in CG_SCALING:
        big = _schedule_game(n, n_sched, patrols, n)
        sol, sol_s = _best_of(lambda g=big: column_generation(g), 1)
        scaling.append(
            {
                "targets": n,
                "schedules": n_sched,
                "patrols": patrols,
                "colgen_s": sol_s,
                "schedules_generated": sol.notes[0],
            }
        )
        if sol_s > CG_STOP_S:
            break
    within = [r for r in scaling if r["colgen_s"] <= 60.0]
    return {
        "targets": CG_TARGETS,
        "schedules": CG_SCHEDULES,
        "patrols": CG_PATROLS,
        "colgen_s": cg_s,
        "milp_s": milp_s,
        "speedup": milp_s / cg_s,
        "colgen_cpu_s": cg_cpu,
        "milp_cpu_s": milp_cpu,
        "speedup_cpu": milp_cpu / cg_cpu,
        "utility_rel_diff": rel,
        "schedules_generated": cg.notes[0],
        "goal_speedup": GOALS["colgen_vs_milp_speedup"],
        "meets_goal": milp_s / cg_s >= GOALS["colgen_vs_milp_speedup"],
        "scaling": scaling,
        "largest_within_60s": within[-1] if within else None,
    }


def _print(result: dict[str, Any]) -> None:
    print("ORIGAMI, 1,000,000 targets (best of 3)")
    for r in result["origami_1m"]:
        print(
            f"  {r['resources']:>7} resources: {r['origami_s']:.3f} s "
            f"(full sort {r['origami_full_sort_s']:.3f} s, x{r['speedup_vs_full_sort']:.1f}); "
            f"goal < {r['goal_s']} s: {'met' if r['meets_goal'] else 'MISSED'}"
        )
    e = result["origami_vs_eraser"]
    print(f"ORIGAMI vs ERASER MILP (HiGHS), {e['targets']} targets, {e['resources']} resources")
    print(
        f"  ORIGAMI {e['origami_s'] * 1e6:.0f} us, ERASER {e['eraser_highs_s']:.2f} s: "
        f"x{e['speedup']:,.0f} (goal x{e['goal_speedup']:,.0f}); utility rel diff "
        f"{e['utility_rel_diff']:.1e}: {'met' if e['meets_goal'] else 'MISSED'}"
    )
    print("DOBSS vs multiple LPs (seconds)")
    head = ("targets", "types", "profiles", "DOBSS", "mult.LPs", "ratio")
    print("  " + " ".join(f"{h:>9}" for h in head))
    for r in result["bayesian"]:
        lps = "skipped" if r["multiple_lps_s"] is None else f"{r['multiple_lps_s']:.3f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.1f}"
        print(
            f"  {r['targets']:>9} {r['types']:>9} {r['profiles']:>9} "
            f"{r['dobss_s']:>9.3f} {lps:>9} {ratio:>9}"
        )


def _print_cg(c: dict[str, Any]) -> None:
    print(
        f"Column generation vs ERASER-C MILP, {c['targets']} targets x {c['schedules']} "
        f"schedules x {c['patrols']} patrols"
    )
    print(
        f"  column generation {c['colgen_s']:.3f} s ({c['schedules_generated']}), MILP "
        f"{c['milp_s']:.2f} s: x{c['speedup']:.0f} (goal x{c['goal_speedup']:.0f}: "
        f"{'met' if c['meets_goal'] else 'MISSED'}); utility rel diff {c['utility_rel_diff']:.1e}"
    )
    print(
        f"  CPU time: column generation {c['colgen_cpu_s']:.3f} s, MILP {c['milp_cpu_s']:.2f} s: "
        f"x{c['speedup_cpu']:.0f}"
    )
    for r in c["scaling"]:
        print(
            f"  {r['targets']:>6} targets x {r['schedules']:>7} schedules x {r['patrols']:>4} "
            f"patrols: {r['colgen_s']:.2f} s ({r['schedules_generated']})"
        )


def run() -> dict[str, Any]:
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "origami_1m": bench_origami_big(),
        "origami_vs_eraser": bench_origami_vs_eraser(),
        "bayesian": bench_bayesian(),
        "column_generation": bench_column_generation(),
    }
    _print(result)
    _print_cg(result["column_generation"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "protection.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result
