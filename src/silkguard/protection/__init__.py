"""Protection planner: Stackelberg security games that randomize escorts, patrols and guard
posts so that no target is a sure bet (issue 8).

Pure solvers (no database): build a :class:`SecurityGame`, solve it with :func:`origami`
(no schedules, exact, vectorised), :func:`eraser` (schedules, MILP), :func:`dobss` (several
attacker types, MILP), :func:`multiple_lps` (exact reference) or :func:`robust_epsilon`
(epsilon-optimal attacker), :func:`column_generation` (schedule games with many
schedules), then turn the :class:`Solution` into plans with
:func:`sample_plan` or :func:`calendar`.
"""

from __future__ import annotations

from silkguard.protection.baselines import evaluate, static_coverage, uniform_coverage
from silkguard.protection.colgen import column_generation
from silkguard.protection.dobss import dobss, multiple_lps
from silkguard.protection.eraser import eraser
from silkguard.protection.game import (
    AttackerType,
    Payoffs,
    ResourceType,
    SecurityGame,
    Target,
)
from silkguard.protection.origami import origami
from silkguard.protection.robust import (
    RobustSolution,
    quantal_response,
    quantal_response_utility,
    robust_epsilon,
    worst_case_utility,
)
from silkguard.protection.sampling import (
    Assignment,
    Calendar,
    DayPlan,
    Plan,
    calendar,
    comb_decomposition,
    comb_sample,
    realised_coverage,
    sample_plan,
)
from silkguard.protection.solution import Solution

__all__ = [
    "Assignment",
    "AttackerType",
    "Calendar",
    "DayPlan",
    "Payoffs",
    "Plan",
    "ResourceType",
    "RobustSolution",
    "SecurityGame",
    "Solution",
    "Target",
    "calendar",
    "column_generation",
    "comb_decomposition",
    "comb_sample",
    "dobss",
    "eraser",
    "evaluate",
    "multiple_lps",
    "origami",
    "quantal_response",
    "quantal_response_utility",
    "realised_coverage",
    "robust_epsilon",
    "sample_plan",
    "static_coverage",
    "uniform_coverage",
    "worst_case_utility",
]
