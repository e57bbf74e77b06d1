"""Column generation for schedule games with many schedules (in the spirit of ASPEN).

The ERASER-C MILP carries one variable per schedule. With thousands of schedules most of them
are never used, so this solver keeps a small *active* set and adds schedules only when the
LP duals say they would help (pricing is one sparse matrix-vector product per resource type).

It solves the same compact model as :func:`silkguard.protection.eraser.eraser`, exactly, by
bounding instead of branching, in **one** HiGHS model that is only ever modified (columns
added, one row's bound and two costs changed), so every solve is warm-started:

    rows:  c_t - pool_t - sum_{s contains t} q_s = 0     (link, one per target)
           sum q <= count (per type), sum pool <= pool count
           loss_t c_t + x >= Ra_t                       (U_a(t) <= x, one per target)

1. ``min x`` (the minimax LP) gives the least utility ``x_low`` the attacker can be held to.
   Any coverage under which the attacker attacks ``j`` has ``U_a(j) >= x_low``, so the
   defender can get at most ``UB_j = U_d(j, (Ra_j - x_low) / D_j)`` from ``j``, and targets
   with ``Ra_j < x_low`` can never be attacked. A target already in the minimax attack set
   attains ``UB_j`` with the minimax coverage itself.
2. Other candidates are taken in decreasing ``UB_j``. Target ``j`` can be a best response iff
   ``min x - U_a(j)`` is 0 (phase 1: costs ``x + loss_j c_j``); then, with ``j``'s row made an
   equality (``x = U_a(j)``), ``min x`` maximises ``c_j`` (phase 2). The search stops when
   the next bound cannot beat the best value found.

Every LP is solved to optimality over *all* schedules: after each solve, the schedules whose
reduced cost (the sum of the link duals of their targets minus their type's count dual) is
negative are added, and the LP is re-solved, until none is left.

One attacker type; no policy floors (use ``eraser`` for those).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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
#: Most schedules added per resource type and pricing round, per target of the game (adding
#: many improving columns at once saves rounds; a basis holds at most ~2 per target).
_BATCH_PER_TARGET = 1
#: Simplex strategy for the warm-started re-solves: primal (4). Adding columns or changing
#: costs keeps the basis primal feasible, so the primal simplex resumes where it stopped.
_PRIMAL = 4
_DUAL = 1


@dataclass
class _Master:
    """The restricted LP held in HiGHS, grown by column generation."""

    game: SecurityGame
    h: _Highs
    incidence: list[sp.csr_matrix | None]  # per type: schedules x targets
    coverage: IntArray
    pool: IntArray | None
    x: int
    response_rows: IntArray  # row of "loss_t c_t + x >= Ra_t", per target
    count_rows: list[int | None]
    active: list[list[int]] = field(default_factory=list)  # active schedules, per type
    col_of: list[list[int]] = field(default_factory=list)  # their model columns, per type
    solves: int = 0


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


def _build_master(game: SecurityGame) -> _Master:
    """The minimax LP over no schedules yet (they come from pricing)."""
    n = game.n_targets
    pay = game.payoffs
    model = ModelBuilder()
    c = model.add_cols(n, 0.0, 1.0)
    pool = None
    link_r: list[IntArray] = [np.arange(n)]
    link_c: list[IntArray] = [c]
    link_v: list[FloatArray] = [np.ones(n)]
    if game.pool_count > 0:
        pool = model.add_cols(n, 0.0, 1.0)
        link_r.append(np.arange(n))
        link_c.append(pool)
        link_v.append(-np.ones(n))
    x = int(model.add_cols(1, -INF, INF, cost=1.0)[0])
    model.add_rows(
        n, np.concatenate(link_r), np.concatenate(link_c), np.concatenate(link_v), 0.0, 0.0
    )
    if pool is not None:
        model.add_rows(1, np.zeros(n, dtype=np.int64), pool, np.ones(n), -INF, game.pool_count)
    incidence = _incidence(game)
    count_rows: list[int | None] = []
    for res, inc in zip(game.resources, incidence, strict=True):
        if inc is None:
            count_rows.append(None)
            continue  # the row starts empty: its schedules are added as columns
        empty = np.zeros(0, dtype=np.int64)
        count_rows.append(int(model.add_rows(1, empty, empty, np.zeros(0), -INF, res.count)[0]))
    rows = np.arange(n)
    response_rows = model.add_rows(  # loss_t c_t + x >= Ra_t
        n,
        np.concatenate([rows, rows]),
        np.concatenate([c, np.full(n, x)]),
        np.concatenate([pay.attacker_loss, np.ones(n)]),
        pay.attacker_uncovered,
        INF,
    )
    h = model.build(maximize=False)
    h.setOptionValue("presolve", "off")  # presolve would discard the warm-started basis
    h.setOptionValue("simplex_strategy", _PRIMAL)
    types = len(game.resources)
    return _Master(
        game,
        h,
        incidence,
        c,
        pool,
        x,
        response_rows,
        count_rows,
        [[] for _ in range(types)],
        [[] for _ in range(types)],
    )


def _generate(master: _Master, what: str) -> bool:
    """Solve and price until no schedule improves; False if the LP is infeasible."""
    n = master.game.n_targets
    while True:
        master.h.run()
        master.solves += 1
        if check_status(master.h, what) is None:
            return False
        row_dual = np.asarray(master.h.getSolution().row_dual, dtype=np.float64)
        new = _price(master, row_dual[:n], row_dual)
        if not new:
            return True
        _add_columns(master, new)


def _price(master: _Master, link_dual: FloatArray, row_dual: FloatArray) -> list[tuple[int, int]]:
    """The schedules ``(type, schedule)`` with the most negative reduced cost (minimisation).

    A schedule column has -1 in the link row of each of its targets and +1 in its type's
    count row, and no cost, so its reduced cost is ``sum(link duals) - count dual``.
    """
    new: list[tuple[int, int]] = []
    for k, (inc, row) in enumerate(zip(master.incidence, master.count_rows, strict=True)):
        if inc is None or row is None:
            continue
        score = row_dual[row] - inc @ link_dual  # minus the reduced cost
        score[master.active[k]] = -np.inf
        candidates = np.flatnonzero(score > _RC_TOL)
        batch = _BATCH_PER_TARGET * master.game.n_targets
        if candidates.size > batch:
            top = np.argpartition(-score[candidates], batch - 1)[:batch]
            candidates = candidates[top]
        new.extend((k, int(b)) for b in candidates)
    return new


def _add_columns(master: _Master, new: list[tuple[int, int]]) -> None:
    """Append schedule columns ``(type, schedule)`` to the model (the basis is kept)."""
    h = master.h
    starts: list[int] = []
    index: list[int] = []
    values: list[float] = []
    first = h.getNumCol()
    for k, sched in new:
        inc = master.incidence[k]
        row = master.count_rows[k]
        assert inc is not None
        assert row is not None
        members = inc.indices[inc.indptr[sched] : inc.indptr[sched + 1]]
        starts.append(len(index))
        index.extend(int(t) for t in members)
        values.extend([-1.0] * members.size)
        index.append(row)  # link rows (-1) come first, the count row (+1) last
        values.append(1.0)
        master.col_of[k].append(first + len(starts) - 1)
        master.active[k].append(sched)
    count = len(new)
    h.addCols(
        count,
        np.zeros(count),
        np.zeros(count),
        np.ones(count),
        len(index),
        np.asarray(starts, dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        np.asarray(values),
    )


def _read(master: _Master) -> tuple[FloatArray, FloatArray, list[FloatArray | None]]:
    game = master.game
    values = np.asarray(master.h.getSolution().col_value, dtype=np.float64)
    cov = np.clip(values[master.coverage], 0.0, 1.0)
    pool = np.zeros(game.n_targets) if master.pool is None else np.clip(values[master.pool], 0, 1)
    probs: list[FloatArray | None] = []
    for res, act, cols in zip(game.resources, master.active, master.col_of, strict=True):
        if res.schedules is None:
            probs.append(None)
            continue
        full = np.zeros(len(res.schedules))
        if cols:
            full[act] = np.clip(values[cols], 0.0, 1.0)
        probs.append(full)
    return cov, pool, probs


def _objective(master: _Master) -> float:
    return float(master.h.getInfo().objective_function_value)


def _best_for_target(
    master: _Master, target: int
) -> tuple[FloatArray, FloatArray, list[FloatArray | None]] | None:
    """The defender's best coverage given that ``target`` is a best response, or None when
    no coverage makes it one. Leaves the model as the minimax LP again."""
    h = master.h
    pay = master.game.payoffs
    ra, loss = float(pay.attacker_uncovered[target]), float(pay.attacker_loss[target])
    row = int(master.response_rows[target])
    c_col = np.array([master.coverage[target]], dtype=np.int32)
    # phase 1: min x + loss_j c_j = min (x - U_a(j)) + Ra_j; j can be a best response iff 0
    h.changeColsCost(1, c_col, np.array([loss]))
    h.setOptionValue("simplex_strategy", _PRIMAL)
    found = None
    if _generate(master, "column generation phase 1"):
        gap = _objective(master) - ra
        if gap <= 1e-9 * max(1.0, abs(ra)):
            # phase 2: with x = U_a(j), min x maximises c_j
            h.changeColsCost(1, c_col, np.zeros(1))
            h.changeRowBounds(row, ra, ra)
            if _generate(master, "column generation phase 2"):
                found = _read(master)
            h.changeRowBounds(row, ra, INF)
    h.changeColsCost(1, c_col, np.zeros(1))
    return found


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
    master = _build_master(game)
    _generate(master, "column generation minimax LP")
    x_low = _objective(master)
    minimax = _read(master)
    u_minimax = pay.attacker_uncovered - minimax[0] * pay.attacker_loss
    tol = 1e-9 * max(1.0, abs(x_low))
    # targets the minimax coverage already makes best responses attain their bound with it
    in_attack_set = u_minimax >= u_minimax.max() - tol
    reach = np.clip((pay.attacker_uncovered - x_low) / pay.attacker_loss, 0.0, 1.0)
    bound = pay.defender_uncovered + reach * pay.defender_gain
    candidates = np.flatnonzero(pay.attacker_uncovered >= x_low - tol)
    candidates = candidates[np.argsort(-bound[candidates], kind="stable")]
    best: tuple[float, int, FloatArray, FloatArray, list[FloatArray | None]] | None = None
    for j in (int(t) for t in candidates):
        if best is not None and bound[j] <= best[0] + 1e-12:
            break
        found = minimax if in_attack_set[j] else _best_for_target(master, j)
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
    n_active = sum(len(a) for a in master.active)
    return make_solution(
        game,
        "column-generation",
        cov,
        pool_coverage=pool,
        schedule_probabilities=tuple(probs),
        preferred_targets=[chosen],
        runtime_s=time.perf_counter() - start,
        notes=(f"{n_active} schedules generated", f"{master.solves} LP solves"),
    )
