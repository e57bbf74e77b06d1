"""Column generation for schedule games with many schedules (in the spirit of ASPEN).

The ERASER-C MILP carries one variable per schedule. With thousands of schedules most of them
are never used, so this solver keeps a small *active* set and adds schedules only when the
LP duals say they would help (pricing is one sparse matrix-vector product per resource type).

It solves the same compact model as :func:`silkguard.protection.eraser.eraser`, exactly, by
bounding instead of branching:

1. The minimax LP ``min x  s.t.  U_a(t) <= x for all t`` (solved by column generation) gives
   the least utility ``x_low`` the attacker can be held to. Any coverage under which the
   attacker attacks ``j`` has ``U_a(j) >= x_low``, so the defender can get at most
   ``UB_j = U_d(j, (Ra_j - x_low) / D_j)`` from ``j``, and targets with ``Ra_j < x_low`` can
   never be attacked.
2. Candidates are taken in decreasing ``UB_j``; for each, the LP "best coverage given that
   ``j`` is a best response" is solved by column generation (phase 1 with elastic slacks to
   find a feasible point or prove there is none, phase 2 for the optimum). The search stops
   when the next bound cannot beat the best value found.

One attacker type; no policy floors (use ``eraser`` for those).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from highspy._core import _Highs

from silkguard.core.errors import InvalidInput
from silkguard.protection._milp import INF, ModelBuilder, check_status
from silkguard.protection.game import FloatArray, IntArray, SecurityGame
from silkguard.protection.solution import Solution, make_solution

__all__ = ["column_generation"]

_RC_TOL = 1e-9
_BATCH = 40


@dataclass
class _Pricing:
    incidence: list[sp.csr_matrix | None]  # per type: schedules x targets
    active: list[list[int]]


def _incidence(game: SecurityGame) -> list[sp.csr_matrix | None]:
    out: list[sp.csr_matrix | None] = []
    n = game.n_targets
    for res in game.resources:
        if res.schedules is None or res.count == 0:
            out.append(None)
            continue
        lengths = np.array([len(s) for s in res.schedules])
        cols = np.concatenate([np.asarray(s, dtype=np.int64) for s in res.schedules])
        rows = np.repeat(np.arange(len(res.schedules)), lengths)
        out.append(sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(len(res.schedules), n)))
    return out


@dataclass
class _Master:
    """One restricted LP held in HiGHS, grown by column generation."""

    h: _Highs
    coverage: IntArray
    pool: IntArray | None
    count_rows: list[int | None]
    col_of: list[list[int]]  # model column of each active schedule, per type
    slack: IntArray | None = None


def _build_master(game: SecurityGame, pricing: _Pricing, target: int | None) -> _Master:
    """The restricted LP over the active schedules: the minimax LP (``target=None``,
    ``min x``) or phase 1 for ``target`` (``min`` of the elastic slacks of its best-response
    rows)."""
    n = game.n_targets
    pay = game.payoffs
    loss = pay.attacker_loss
    ra = pay.attacker_uncovered
    model = ModelBuilder()
    c = model.add_cols(n, 0.0, 1.0)
    link_r: list[IntArray] = [np.arange(n)]
    link_c: list[IntArray] = [c]
    link_v: list[FloatArray] = [np.ones(n)]
    f = None
    if game.pool_count > 0:
        f = model.add_cols(n, 0.0, 1.0)
        link_r.append(np.arange(n))
        link_c.append(f)
        link_v.append(-np.ones(n))
    q_cols: list[IntArray | None] = []
    for act, inc in zip(pricing.active, pricing.incidence, strict=True):
        if inc is None:
            q_cols.append(None)
            continue
        q = model.add_cols(len(act), 0.0, 1.0)
        sub = inc[act].tocoo()
        link_r.append(sub.col.astype(np.int64))
        link_c.append(q[sub.row])
        link_v.append(-np.ones(sub.nnz))
        q_cols.append(q)
    model.add_rows(
        n, np.concatenate(link_r), np.concatenate(link_c), np.concatenate(link_v), 0.0, 0.0
    )
    count_rows: list[int | None] = []
    if f is not None:
        model.add_rows(1, np.zeros(n, dtype=np.int64), f, np.ones(n), -INF, game.pool_count)
    for res, qc in zip(game.resources, q_cols, strict=True):
        if qc is None:
            count_rows.append(None)
            continue
        row = model.add_rows(
            1, np.zeros(qc.size, dtype=np.int64), qc, np.ones(qc.size), -INF, res.count
        )
        count_rows.append(int(row[0]))
    rows = np.arange(n)
    slack = None
    if target is None:
        x = model.add_cols(1, -INF, INF, cost=1.0)
        model.add_rows(  # loss_t c_t + x >= Ra_t
            n,
            np.concatenate([rows, rows]),
            np.concatenate([c, np.full(n, x[0])]),
            np.concatenate([loss, np.ones(n)]),
            ra,
            INF,
        )
    else:
        others = np.delete(rows, target)
        m = others.size
        r2 = np.arange(m)
        slack = model.add_cols(m, 0.0, INF, cost=1.0)
        model.add_rows(  # loss_t c_t - loss_j c_j + slack_t >= Ra_t - Ra_j
            m,
            np.concatenate([r2, r2, r2]),
            np.concatenate([c[others], np.full(m, c[target]), slack]),
            np.concatenate([loss[others], np.full(m, -loss[target]), np.ones(m)]),
            ra[others] - ra[target],
            INF,
        )
    h = model.build(maximize=False)
    h.setOptionValue("presolve", "off")  # presolve would discard the warm-started basis
    col_of = [[] if qc is None else [int(x) for x in qc] for qc in q_cols]
    return _Master(h, c, f, count_rows, col_of, slack)


def _generate(
    game: SecurityGame, pricing: _Pricing, master: _Master, what: str, *, maximize: bool
) -> bool:
    """Solve and price until no schedule improves; False if the LP is infeasible."""
    n = game.n_targets
    while True:
        master.h.run()
        if check_status(master.h, what) is None:
            return False
        row_dual = np.asarray(master.h.getSolution().row_dual, dtype=np.float64)
        new = _price(pricing, row_dual[:n], master.count_rows, row_dual, maximize=maximize)
        if not new:
            return True
        _add_columns(master.h, game, new, master.count_rows, master.col_of, pricing)


def _read(
    game: SecurityGame, pricing: _Pricing, master: _Master
) -> tuple[float, FloatArray, FloatArray, list[FloatArray | None]]:
    values = np.asarray(master.h.getSolution().col_value, dtype=np.float64)
    objective = float(master.h.getInfo().objective_function_value)
    cov = np.clip(values[master.coverage], 0.0, 1.0)
    pool = np.zeros(game.n_targets) if master.pool is None else np.clip(values[master.pool], 0, 1)
    probs: list[FloatArray | None] = []
    for res, act, cols in zip(game.resources, pricing.active, master.col_of, strict=True):
        if res.schedules is None:
            probs.append(None)
            continue
        full = np.zeros(len(res.schedules))
        if cols:
            full[act] = np.clip(values[cols], 0.0, 1.0)
        probs.append(full)
    return objective, cov, pool, probs


def _best_for_target(
    game: SecurityGame, pricing: _Pricing, target: int, *, feasible: bool
) -> tuple[FloatArray, FloatArray, list[FloatArray | None]] | None:
    """Phase 1 (is ``target`` a possible best response?) then phase 2 (the defender's best
    coverage given that it is), in one warm-started HiGHS model. ``feasible``: the active
    schedules are known to admit a coverage where ``target`` is a best response (phase 1 is
    skipped)."""
    master = _build_master(game, pricing, target)
    if not feasible:
        if not _generate(game, pricing, master, "column generation phase 1", maximize=False):
            return None
        if _read(game, pricing, master)[0] > 1e-7:
            return None  # no coverage makes the target a best response
    assert master.slack is not None
    h = master.h
    k = master.slack.size
    h.changeColsBounds(k, master.slack.astype(np.int32), np.zeros(k), np.zeros(k))
    h.changeColsCost(k, master.slack.astype(np.int32), np.zeros(k))
    col = np.array([master.coverage[target]], dtype=np.int32)
    h.changeColsCost(1, col, np.array([game.payoffs.defender_gain[target]]))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    if not _generate(game, pricing, master, "column generation phase 2", maximize=True):
        return None  # pragma: no cover - phase 1 found a feasible point
    _, cov, pool, probs = _read(game, pricing, master)
    return cov, pool, probs


def _add_columns(
    h: _Highs,
    game: SecurityGame,
    new: list[tuple[int, int]],
    count_rows: list[int | None],
    col_of: list[list[int]],
    pricing: _Pricing,
) -> None:
    """Append schedule columns ``(type, schedule)`` to the model in ``h`` (warm start)."""
    starts: list[int] = []
    index: list[int] = []
    first = h.getNumCol()
    for k, sched in new:
        res_scheds = game.resources[k].schedules
        assert res_scheds is not None
        row = count_rows[k]
        assert row is not None
        starts.append(len(index))
        index.extend(sorted(res_scheds[sched]))
        index.append(row)
        col_of[k].append(first + len(starts) - 1)
        pricing.active[k].append(sched)
    values = np.ones(len(index))
    members = np.ones(len(index), dtype=bool)
    # link rows get -1, the count row +1 (the last entry of each column)
    ends = [*starts[1:], len(index)]
    members[np.asarray(ends) - 1] = False
    values[members] = -1.0
    h.addCols(
        len(new),
        np.zeros(len(new)),
        np.zeros(len(new)),
        np.ones(len(new)),
        len(index),
        np.asarray(starts, dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        values,
    )


def _price(
    pricing: _Pricing,
    link_dual: FloatArray,
    count_rows: list[int | None],
    row_dual: FloatArray,
    *,
    maximize: bool,
) -> list[tuple[int, int]]:
    """The schedules ``(type, schedule)`` with the most improving reduced cost.

    A schedule column has -1 in the link row of each of its targets and +1 in its type's
    count row, and no cost, so its reduced cost is ``sum(link duals) - count dual``.
    """
    new: list[tuple[int, int]] = []
    for k, (inc, row) in enumerate(zip(pricing.incidence, count_rows, strict=True)):
        if inc is None or row is None:
            continue
        rc = inc @ link_dual - row_dual[row]
        score = rc if maximize else -rc
        score[pricing.active[k]] = -np.inf
        best = np.argsort(-score, kind="stable")[:_BATCH]
        best = best[score[best] > _RC_TOL]
        new.extend((k, int(b)) for b in best)
    return new


def column_generation(game: SecurityGame) -> Solution:
    """Solve a one-type schedule game (the ERASER-C model) by column generation."""
    start = time.perf_counter()
    if len(game.attacker_types) != 1:
        msg = "column_generation handles one attacker type; use dobss for Bayesian games"
        raise InvalidInput(msg)
    if game.min_coverage is not None and np.any(game.min_coverage > 0):
        msg = "column_generation does not take min_coverage floors; use eraser for those"
        raise InvalidInput(msg)
    pay = game.payoffs
    pricing = _Pricing(_incidence(game), [[] for _ in game.resources])
    minimax = _build_master(game, pricing, None)
    _generate(game, pricing, minimax, "column generation minimax LP", maximize=False)
    x_low, minimax_cov, _, _ = _read(game, pricing, minimax)
    u_minimax = pay.attacker_uncovered - minimax_cov * pay.attacker_loss
    # targets the minimax coverage already makes best responses need no phase 1
    in_attack_set = u_minimax >= u_minimax.max() - 1e-9 * max(1.0, abs(x_low))
    tol = 1e-9 * max(1.0, abs(x_low))
    reach = np.clip((pay.attacker_uncovered - x_low) / pay.attacker_loss, 0.0, 1.0)
    bound = pay.defender_uncovered + reach * pay.defender_gain
    candidates = np.flatnonzero(pay.attacker_uncovered >= x_low - tol)
    candidates = candidates[np.argsort(-bound[candidates], kind="stable")]
    best: tuple[float, int, FloatArray, FloatArray, list[FloatArray | None]] | None = None
    for j in (int(t) for t in candidates):
        if best is not None and bound[j] <= best[0] + 1e-12:
            break
        found = _best_for_target(game, pricing, j, feasible=bool(in_attack_set[j]))
        if found is None:
            continue
        cov, pool, probs = found
        value = float(pay.defender_uncovered[j] + cov[j] * pay.defender_gain[j])
        if best is None or value > best[0]:
            best = (value, j, cov, pool, probs)
    if best is None:  # pragma: no cover - some target is always a best response
        msg = "column generation found no feasible attacked target"
        raise InvalidInput(msg)
    _, chosen, cov, pool, probs = best
    n_active = sum(len(a) for a in pricing.active)
    return make_solution(
        game,
        "column-generation",
        cov,
        pool_coverage=pool,
        schedule_probabilities=tuple(probs),
        preferred_targets=[chosen],
        runtime_s=time.perf_counter() - start,
        notes=(f"{n_active} schedules generated",),
    )
