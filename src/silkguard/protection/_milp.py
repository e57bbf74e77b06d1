"""A small sparse model builder over highspy, and the coverage block every LP/MILP shares.

Columns and rows are added in blocks as numpy arrays; the model is handed to HiGHS in one
``passModel`` call (column-wise sparse matrix), which is much faster than adding rows one
Python object at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from highspy._core import _Highs

from silkguard.core.errors import InvalidInput, ServiceUnavailable
from silkguard.protection.game import FloatArray, IntArray, SecurityGame

__all__ = ["CoverageBlock", "ModelBuilder", "add_coverage_block"]

INF = highspy.kHighsInf
#: Tight tolerances: the solvers are compared with each other to 1e-6.
_OPTIONS: dict[str, float | int | bool | str] = {
    "output_flag": False,
    "mip_rel_gap": 1e-9,
    "mip_abs_gap": 1e-9,
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
    "mip_feasibility_tolerance": 1e-9,
    "threads": 1,
}


@dataclass
class ModelBuilder:
    """Accumulates columns (bounds, cost, integrality) and rows (COO triplets, bounds)."""

    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    cost: list[FloatArray] = field(default_factory=list)
    integer: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    rows: list[IntArray] = field(default_factory=list)
    cols: list[IntArray] = field(default_factory=list)
    vals: list[FloatArray] = field(default_factory=list)
    row_lower: list[FloatArray] = field(default_factory=list)
    row_upper: list[FloatArray] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def add_cols(
        self,
        n: int,
        lower: float | FloatArray,
        upper: float | FloatArray,
        *,
        cost: float | FloatArray = 0.0,
        integer: bool = False,
    ) -> IntArray:
        """Add ``n`` columns; return their indices."""
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy())
        self.integer.append(np.full(n, integer, dtype=bool))
        idx = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64)
        self.n_cols += n
        return idx

    def add_rows(
        self,
        n: int,
        rows: IntArray,
        cols: IntArray,
        vals: FloatArray,
        lower: float | FloatArray,
        upper: float | FloatArray,
    ) -> IntArray:
        """Add ``n`` rows with entries ``(rows[i], cols[i], vals[i])``, rows counted from 0."""
        self.rows.append(np.asarray(rows, dtype=np.int64) + self.n_rows)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=np.float64))
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)).copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)).copy())
        idx = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64)
        self.n_rows += n
        return idx

    def solve(self, *, maximize: bool, what: str, time_limit_s: float | None = None) -> FloatArray:
        """Solve; return the column values. Infeasible models raise InvalidInput."""
        values = self.solve_or_none(maximize=maximize, what=what, time_limit_s=time_limit_s)
        if values is None:
            msg = (
                f"infeasible constraints: HiGHS found no strategy satisfying the {what}; "
                "check the minimum coverages against the resources and their schedules"
            )
            raise InvalidInput(msg)
        return values

    def solve_or_none(
        self, *, maximize: bool, what: str, time_limit_s: float | None = None
    ) -> FloatArray | None:
        """Solve; return the column values, or None when the model is infeasible."""
        h = self._run(maximize=maximize, what=what, time_limit_s=time_limit_s)
        if h is None:
            return None
        return np.asarray(h.getSolution().col_value, dtype=np.float64)

    def solve_with_duals(
        self, *, maximize: bool, what: str
    ) -> tuple[FloatArray, FloatArray, float] | None:
        """Solve an LP; return (column values, row duals, objective) or None if infeasible.
        Row duals follow HiGHS's convention: reduced cost = cost - A^T duals."""
        h = self._run(maximize=maximize, what=what, time_limit_s=None)
        if h is None:
            return None
        sol = h.getSolution()
        return (
            np.asarray(sol.col_value, dtype=np.float64),
            np.asarray(sol.row_dual, dtype=np.float64),
            float(h.getInfo().objective_function_value),
        )

    def build(self, *, maximize: bool, time_limit_s: float | None = None) -> _Highs:
        """A HiGHS instance holding this model with the house options, not yet run."""
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = np.concatenate(self.cost)
        lp.col_lower_ = np.concatenate(self.lower)
        lp.col_upper_ = np.concatenate(self.upper)
        lp.row_lower_ = np.concatenate(self.row_lower) if self.row_lower else np.zeros(0)
        lp.row_upper_ = np.concatenate(self.row_upper) if self.row_upper else np.zeros(0)
        lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(self.cols) if self.cols else np.zeros(0, dtype=np.int64)
        vals = np.concatenate(self.vals) if self.vals else np.zeros(0)
        mat = sp.csc_matrix((vals, (rows, cols)), shape=(self.n_rows, self.n_cols))
        mat.sum_duplicates()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = self.n_cols
        lp.a_matrix_.num_row_ = self.n_rows
        lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
        lp.a_matrix_.index_ = mat.indices.astype(np.int32)
        lp.a_matrix_.value_ = mat.data.astype(np.float64)
        integer = np.concatenate(self.integer)
        if integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in integer
            ]
        # the C++ class, not highspy.Highs: that subclass enables callbacks that print the HiGHS
        # banner to stdout even with output_flag off, which would pollute CLI output
        h = _Highs()
        for name, value in _OPTIONS.items():
            h.setOptionValue(name, value)
        if time_limit_s is not None:
            h.setOptionValue("time_limit", float(time_limit_s))
        h.passModel(lp)
        return h

    def _run(self, *, maximize: bool, what: str, time_limit_s: float | None) -> _Highs | None:
        h = self.build(maximize=maximize, time_limit_s=time_limit_s)
        h.run()
        return check_status(h, what)


def check_status(h: _Highs, what: str) -> _Highs | None:
    """``h`` when it holds an optimal solution, None when infeasible; otherwise raise."""
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return h
    if status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return None
    msg = (
        f"HiGHS stopped without an optimal solution for the {what} "
        f"(status {h.modelStatusToString(status)}); raise the time limit or shrink the game"
    )
    raise ServiceUnavailable(msg)


@dataclass(frozen=True)
class CoverageBlock:
    """Column indices of the coverage variables of one game inside a model."""

    coverage: IntArray  # c_t, one per target
    pool: IntArray | None  # coverage by resources without schedules, one per target
    schedules: tuple[IntArray | None, ...]  # q_s per resource type (None: no schedules)


def add_coverage_block(model: ModelBuilder, game: SecurityGame) -> CoverageBlock:
    """Columns and rows saying that ``c`` is a coverage the resources can provide.

    ``c_t = pool_t + sum of q_s over the schedules s containing t``, ``l_t <= c_t <= 1``; the
    pool has ``sum(pool) <= pool_count`` and each resource type ``sum(q) <= count``,
    ``0 <= q_s <= 1`` (resources may stay idle: free disposal).
    """
    n = game.n_targets
    c = model.add_cols(n, game.floors, 1.0)
    link_rows: list[IntArray] = [np.arange(n)]
    link_cols: list[IntArray] = [c]
    link_vals: list[FloatArray] = [np.ones(n)]
    pool = None
    if game.pool_count > 0:
        pool = model.add_cols(n, 0.0, 1.0)
        model.add_rows(1, np.zeros(n, dtype=np.int64), pool, np.ones(n), -INF, game.pool_count)
        link_rows.append(np.arange(n))
        link_cols.append(pool)
        link_vals.append(-np.ones(n))
    sched_cols: list[IntArray | None] = []
    for res in game.resources:
        if res.schedules is None or res.count == 0:
            sched_cols.append(None)
            continue
        q = model.add_cols(len(res.schedules), 0.0, 1.0)
        model.add_rows(1, np.zeros(q.size, dtype=np.int64), q, np.ones(q.size), -INF, res.count)
        lengths = np.array([len(s) for s in res.schedules], dtype=np.int64)
        members = np.concatenate([np.asarray(s, dtype=np.int64) for s in res.schedules])
        link_rows.append(members)
        link_cols.append(np.repeat(q, lengths))
        link_vals.append(-np.ones(members.size))
        sched_cols.append(q)
    model.add_rows(
        n,
        np.concatenate(link_rows),
        np.concatenate(link_cols),
        np.concatenate(link_vals),
        0.0,
        0.0,
    )
    return CoverageBlock(c, pool, tuple(sched_cols))


def read_coverage(
    block: CoverageBlock, values: FloatArray, game: SecurityGame
) -> tuple[FloatArray, FloatArray, tuple[FloatArray | None, ...]]:
    """Coverage, pool coverage and schedule probabilities from a solved model's values."""
    coverage = np.clip(values[block.coverage], 0.0, 1.0)
    pool = np.zeros(game.n_targets) if block.pool is None else np.clip(values[block.pool], 0.0, 1.0)
    scheds = tuple(None if q is None else np.clip(values[q], 0.0, 1.0) for q in block.schedules)
    return coverage, pool, scheds


def coverage_for_responses(
    game: SecurityGame, responses: tuple[int, ...]
) -> tuple[FloatArray, FloatArray, tuple[FloatArray | None, ...]] | None:
    """The best coverage for the defender given that attacker type ``k`` attacks
    ``responses[k]`` and that this must be a best response for every type (one LP).

    Returns ``(coverage, pool coverage, schedule probabilities)`` or None when no coverage
    makes that response profile optimal for the attackers.
    """
    model = ModelBuilder()
    block = add_coverage_block(model, game)
    c = block.coverage
    n = game.n_targets
    cost = np.zeros(model.n_cols)
    for k, kind in enumerate(game.attacker_types):
        pay = kind.payoffs
        j = responses[k]
        cost[c[j]] += kind.prior * pay.defender_gain[j]
        others = np.delete(np.arange(n), j)
        m = others.size
        loss = pay.attacker_loss
        # U_a(j) >= U_a(t):  loss_t c_t - loss_j c_j >= Ra_t - Ra_j
        model.add_rows(
            m,
            np.concatenate([np.arange(m), np.arange(m)]),
            np.concatenate([c[others], np.full(m, c[j])]),
            np.concatenate([loss[others], np.full(m, -loss[j])]),
            pay.attacker_uncovered[others] - pay.attacker_uncovered[j],
            INF,
        )
    model.cost = [cost]
    values = model.solve_or_none(maximize=True, what="response LP")
    if values is None:
        return None
    return read_coverage(block, values, game)
