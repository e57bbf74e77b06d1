"""Column generation for schedule games with many schedules (in the spirit of ASPEN).

The ERASER-C MILP carries one variable per schedule. With thousands of schedules most of them
are never used, so this solver keeps a small *active* set and adds schedules only when the
LP duals say they would help (pricing is one sparse matrix-vector product per resource type).

It solves the same compact model as :func:`silkguard.protection.eraser.eraser`, exactly, by
bounding instead of branching, in **one** HiGHS model that is only ever modified (columns
and rows added, one row's bound and some costs changed), so every solve is warm-started. The
coverage ``c_t = pool_t + sum of q_s over the schedules s containing t`` is substituted out:

    rows:  x + loss_t c_t >= Ra_t      (U_a(t) <= x) for the targets that can be attacked
           c_t <= 1                    only once a solution violates it (lazily)
           sum q <= count (per type), sum pool <= pool count

Targets with ``Ra_t`` at most a lower bound on the attacker's minimax utility never need
their row (``x`` can never fall below ``Ra_t``): the bound is the ORIGAMI value of the relaxed
game where the resources may cover any targets, as many as their largest schedules hold.

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
reduced cost (their cost minus their column times the row duals: ``loss_t`` times the
response dual plus the capacity dual of each target, plus the count dual) is negative are
added, at most one per target of the game per round, and the LP is re-solved, until none is
left; capacity rows a solution violates are added the same way.

One attacker type; no policy floors (use ``eraser`` for those).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from highspy._core import _Highs

from silkguard.core.errors import InvalidInput
from silkguard.protection._milp import INF, ModelBuilder, check_status
from silkguard.protection.game import FloatArray, IntArray, SecurityGame
from silkguard.protection.origami import origami_coverage
from silkguard.protection.solution import Solution, make_solution

__all__ = ["column_generation"]

_RC_TOL = 1e-9
#: Coverage above 1 by more than this adds the target's capacity row.
_FEAS_TOL = 1e-9
#: Most schedules added per resource type and pricing round, per target of the game (adding
#: many improving columns at once saves rounds; a basis holds at most ~2 per target).
_BATCH_PER_TARGET = 1.0
#: Simplex strategy for the warm-started re-solves: primal (4). Adding columns or changing
#: costs keeps the basis primal feasible, so the primal simplex resumes where it stopped.
_PRIMAL = 4
_DUAL = 1


@dataclass
class _Master:
    """The restricted LP held in HiGHS, grown by column and row generation."""

    game: SecurityGame
    h: _Highs
    incidence: list[sp.csr_matrix | None]  # per type: schedules x targets
    covering: list[sp.csr_matrix | None]  # per type: targets x schedules (the transpose)
    pool: IntArray | None  # pool column per target
    x: int
    response_rows: IntArray  # row of "x + loss_t c_t >= Ra_t" per target, -1 if dropped
    capacity_rows: IntArray  # row of "c_t <= 1" per target, -1 until added
    count_rows: list[int | None]
    column: list[IntArray] = field(default_factory=list)  # per type: model column or -1
    phase1_target: int | None = None  # target j while the costs are x + loss_j c_j
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


def _attacker_floor(game: SecurityGame, incidence: list[sp.csr_matrix | None]) -> float:
    """A lower bound on the attacker's minimax utility: the ORIGAMI value when the resources
    may cover any targets, each unit as many as the largest schedules of its type hold."""
    pay = game.payoffs
    units = float(game.pool_count)
    for res, inc in zip(game.resources, incidence, strict=True):
        if inc is not None:
            sizes = np.diff(inc.indptr)
            units += float(np.sort(sizes)[::-1][: res.count].sum())
    if units >= game.n_targets:
        return float(pay.attacker_covered.max())
    _, _, x_star = origami_coverage(
        pay.attacker_uncovered,
        pay.attacker_covered,
        pay.defender_uncovered,
        pay.defender_covered,
        units,
        use_spare=False,
    )
    return float(x_star)


def _build_master(game: SecurityGame) -> _Master:
    """The minimax LP over no schedules yet (they come from pricing)."""
    n = game.n_targets
    pay = game.payoffs
    incidence = _incidence(game)
    floor = _attacker_floor(game, incidence)
    model = ModelBuilder()
    x = int(model.add_cols(1, -INF, INF, cost=1.0)[0])
    pool = model.add_cols(n, 0.0, 1.0) if game.pool_count > 0 else None
    if pool is not None:
        model.add_rows(1, np.zeros(n, dtype=np.int64), pool, np.ones(n), -INF, game.pool_count)
    count_rows: list[int | None] = []
    empty = np.zeros(0, dtype=np.int64)
    for res, inc in zip(game.resources, incidence, strict=True):
        if inc is None:
            count_rows.append(None)
            continue  # the row starts empty: its schedules are added as columns
        count_rows.append(int(model.add_rows(1, empty, empty, np.zeros(0), -INF, res.count)[0]))
    # a generous margin: every target the search may try (Ra_j >= x_low - 1e-9) keeps its row
    kept = np.flatnonzero(pay.attacker_uncovered > floor - 1e-6 * max(1.0, abs(floor)))
    m = kept.size
    r = np.arange(m)
    if pool is None:
        first = model.add_rows(m, r, np.full(m, x), np.ones(m), pay.attacker_uncovered[kept], INF)
    else:
        first = model.add_rows(  # x + loss_t pool_t >= Ra_t
            m,
            np.concatenate([r, r]),
            np.concatenate([np.full(m, x), pool[kept]]),
            np.concatenate([np.ones(m), pay.attacker_loss[kept]]),
            pay.attacker_uncovered[kept],
            INF,
        )
    response_rows = np.full(n, -1, dtype=np.int64)
    response_rows[kept] = first
    h = model.build(maximize=False)
    h.setOptionValue("presolve", "off")  # presolve would discard the warm-started basis
    h.setOptionValue("simplex_strategy", _PRIMAL)
    return _Master(
        game,
        h,
        incidence,
        [None if inc is None else inc.T.tocsr() for inc in incidence],
        pool,
        x,
        response_rows,
        np.full(n, -1, dtype=np.int64),
        count_rows,
        [np.full(0 if inc is None else inc.shape[0], -1, dtype=np.int64) for inc in incidence],
    )


def _generate(master: _Master, what: str) -> bool:
    """Solve, add violated capacity rows and improving schedules, and repeat until there are
    none; False if the LP is infeasible."""
    while True:
        master.h.run()
        master.solves += 1
        if check_status(master.h, what) is None:
            return False
        sol = master.h.getSolution()
        over = np.flatnonzero(
            (_coverage(master, np.asarray(sol.col_value)) > 1.0 + _FEAS_TOL)
            & (master.capacity_rows < 0)
        )
        if over.size:
            _add_capacity_rows(master, over)
            master.h.setOptionValue("simplex_strategy", _DUAL)  # the basis stays dual feasible
            continue
        new = _price(master, np.asarray(sol.row_dual, dtype=np.float64))
        if not new:
            return True
        _add_columns(master, new)
        master.h.setOptionValue("simplex_strategy", _PRIMAL)  # the basis stays primal feasible


def _target_weights(master: _Master, row_dual: FloatArray) -> FloatArray:
    """What one unit of coverage on each target is worth to the LP: ``loss_t`` times the
    dual of its response row plus the dual of its capacity row (0 for absent rows)."""
    n = master.game.n_targets
    w = np.zeros(n)
    rows = master.response_rows
    has = rows >= 0
    w[has] = row_dual[rows[has]] * master.game.payoffs.attacker_loss[has]
    cap = master.capacity_rows
    has = cap >= 0
    w[has] += row_dual[cap[has]]
    return w


def _price(master: _Master, row_dual: FloatArray) -> list[tuple[int, int]]:
    """The schedules ``(type, schedule)`` with the most negative reduced cost (minimisation).

    A schedule column has ``loss_t`` in the response row and 1 in the capacity row of each of
    its targets and 1 in its type's count row; its cost is ``loss_j`` in phase 1 for ``j`` if
    it covers ``j``, else 0. Reduced cost = cost - column . duals.
    """
    weights = _target_weights(master, row_dual)
    j = master.phase1_target
    new: list[tuple[int, int]] = []
    for k, (inc, row) in enumerate(zip(master.incidence, master.count_rows, strict=True)):
        if inc is None or row is None:
            continue
        score = inc @ weights + row_dual[row]  # minus the reduced cost
        if j is not None:
            score[_covering(master, k, j)] -= master.game.payoffs.attacker_loss[j]
        score[master.column[k] >= 0] = -np.inf
        candidates = np.flatnonzero(score > _RC_TOL)
        batch = max(1, int(_BATCH_PER_TARGET * master.game.n_targets))
        if candidates.size > batch:
            top = np.argpartition(-score[candidates], batch - 1)[:batch]
            candidates = candidates[top]
        new.extend((k, int(b)) for b in candidates)
    return new


def _covering(master: _Master, k: int, target: int) -> IntArray:
    """The schedules of type ``k`` that cover ``target``."""
    cov = master.covering[k]
    assert cov is not None
    return np.asarray(cov.indices[cov.indptr[target] : cov.indptr[target + 1]], dtype=np.int64)


def _add_columns(master: _Master, new: list[tuple[int, int]]) -> None:
    """Append schedule columns ``(type, schedule)`` to the model (the basis is kept)."""
    h = master.h
    loss = master.game.payoffs.attacker_loss
    first = h.getNumCol()
    col_parts: list[IntArray] = []
    row_parts: list[IntArray] = []
    val_parts: list[FloatArray] = []
    costs: list[FloatArray] = []
    offset = first
    for k, inc in enumerate(master.incidence):
        scheds = np.array([sched for kk, sched in new if kk == k], dtype=np.int64)
        row = master.count_rows[k]
        if inc is None or row is None or scheds.size == 0:
            continue
        cols = offset + np.arange(scheds.size)
        master.column[k][scheds] = cols
        offset += scheds.size
        sub = inc[scheds].tocoo()  # (new column, target) pairs
        owner = cols[sub.row]
        resp = master.response_rows[sub.col]
        cap = master.capacity_rows[sub.col]
        on_resp, on_cap = resp >= 0, cap >= 0
        col_parts += [owner[on_resp], owner[on_cap], cols]
        row_parts += [resp[on_resp], cap[on_cap], np.full(cols.size, row)]
        val_parts += [loss[sub.col[on_resp]], np.ones(int(on_cap.sum())), np.ones(cols.size)]
        cost = np.zeros(scheds.size)
        j = master.phase1_target
        if j is not None:
            cost[np.isin(scheds, _covering(master, k, j))] = loss[j]
        costs.append(cost)
    count = offset - first
    col = np.concatenate(col_parts)
    order = np.argsort(col, kind="stable")
    starts = np.searchsorted(col[order], first + np.arange(count)).astype(np.int32)
    h.addCols(
        count,
        np.concatenate(costs),
        np.zeros(count),
        np.ones(count),
        col.size,
        starts,
        np.concatenate(row_parts)[order].astype(np.int32),
        np.concatenate(val_parts)[order],
    )


def _columns_covering(master: _Master, targets: IntArray) -> tuple[IntArray, IntArray]:
    """``(position in targets, model column)`` of every active column covering them,
    pool columns included."""
    where: list[IntArray] = []
    cols: list[IntArray] = []
    if master.pool is not None:
        where.append(np.arange(targets.size))
        cols.append(master.pool[targets])
    for cov, column in zip(master.covering, master.column, strict=True):
        if cov is None:
            continue
        sub = cov[targets].tocoo()  # (position, schedule)
        model_col = column[sub.col]
        on = model_col >= 0
        where.append(sub.row[on].astype(np.int64))
        cols.append(model_col[on])
    if not cols:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(where), np.concatenate(cols)


def _add_capacity_rows(master: _Master, targets: IntArray) -> None:
    """Add ``c_t <= 1`` for ``targets``."""
    h = master.h
    where, cols = _columns_covering(master, targets)
    order = np.argsort(where, kind="stable")
    where, cols = where[order], cols[order]
    starts = np.searchsorted(where, np.arange(targets.size)).astype(np.int32)
    first = h.getNumRow()
    h.addRows(
        targets.size,
        np.full(targets.size, -INF),
        np.ones(targets.size),
        cols.size,
        starts,
        cols.astype(np.int32),
        np.ones(cols.size),
    )
    master.capacity_rows[targets] = first + np.arange(targets.size)


def _probabilities(master: _Master, values: FloatArray) -> list[FloatArray | None]:
    """The probability of every schedule (0 for those never generated), per type."""
    probs: list[FloatArray | None] = []
    for res, column in zip(master.game.resources, master.column, strict=True):
        if res.schedules is None:
            probs.append(None)
            continue
        full = np.zeros(len(res.schedules))
        on = column >= 0
        full[on] = values[column[on]]
        probs.append(full)
    return probs


def _coverage(master: _Master, values: FloatArray) -> FloatArray:
    game = master.game
    cov = np.zeros(game.n_targets) if master.pool is None else values[master.pool].copy()
    for covering, q in zip(master.covering, _probabilities(master, values), strict=True):
        if covering is not None and q is not None:
            cov += covering @ q
    return cov


def _read(master: _Master) -> tuple[FloatArray, FloatArray, list[FloatArray | None]]:
    game = master.game
    values = np.asarray(master.h.getSolution().col_value, dtype=np.float64)
    cov = np.clip(_coverage(master, values), 0.0, 1.0)
    pool = np.zeros(game.n_targets) if master.pool is None else np.clip(values[master.pool], 0, 1)
    probs = [None if q is None else np.clip(q, 0.0, 1.0) for q in _probabilities(master, values)]
    return cov, pool, probs


def _objective(master: _Master) -> float:
    return float(master.h.getInfo().objective_function_value)


def _set_phase1(master: _Master, target: int | None) -> None:
    """Costs ``x + loss_j c_j`` (phase 1 for ``j = target``) or ``x`` (``target=None``)."""
    j = target if target is not None else master.phase1_target
    assert j is not None
    cost = 0.0 if target is None else float(master.game.payoffs.attacker_loss[j])
    _, cols = _columns_covering(master, np.array([j]))
    if cols.size:
        master.h.changeColsCost(cols.size, cols.astype(np.int32), np.full(cols.size, cost))
    master.phase1_target = target


def _best_for_target(
    master: _Master, target: int
) -> tuple[FloatArray, FloatArray, list[FloatArray | None]] | None:
    """The defender's best coverage given that ``target`` is a best response, or None when
    no coverage makes it one. Leaves the model as the minimax LP again."""
    h = master.h
    ra = float(master.game.payoffs.attacker_uncovered[target])
    row = int(master.response_rows[target])
    assert row >= 0, "a candidate target is above the attacker floor, so its row is kept"
    # phase 1: min x + loss_j c_j = min (x - U_a(j)) + Ra_j; j can be a best response iff 0
    _set_phase1(master, target)
    found = None
    if _generate(master, "column generation phase 1"):
        gap = _objective(master) - ra
        _set_phase1(master, None)
        if gap <= 1e-9 * max(1.0, abs(ra)):
            # phase 2: with x = U_a(j), min x maximises c_j
            h.changeRowBounds(row, ra, ra)
            h.setOptionValue("simplex_strategy", _DUAL)
            if _generate(master, "column generation phase 2"):
                found = _read(master)
            h.changeRowBounds(row, ra, INF)
    else:  # pragma: no cover - phase 1 is always feasible (x is free)
        _set_phase1(master, None)
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
    n_active = sum(int((column >= 0).sum()) for column in master.column)
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
