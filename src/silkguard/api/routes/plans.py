"""``/api/v1/plans``: randomised guard coverage of your organisation's sites, explained, and
seeded calendars drawn from it (the seed goes into the audit trail)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.protection import service as planner

__all__ = ["router"]

router = APIRouter(prefix="/plans", tags=["protection"], responses=problem_responses(403))
Reader = Annotated[Principal, Depends(require(Permission.PLAN_READ))]
Manager = Annotated[Principal, Depends(require(Permission.PLAN_MANAGE))]
TeamsParam = Annotated[int, Query(ge=1, le=10_000, description="Guard teams available per day")]


@router.get(
    "/sites",
    summary="Optimal randomised coverage of your sites by guard teams, with the reasons",
    responses=problem_responses(400, 422),
)
def site_coverage(session: SessionDep, principal: Reader, teams: TeamsParam) -> dict[str, Any]:
    plan = planner.plan_sites(session, principal=principal, teams=teams)
    return {
        "teams": teams,
        "forecast_id": plan.forecast_id,
        "defender_utility": plan.solution.defender_utility,
        "sites": plan.rows(),
    }


@router.post(
    "/sites/calendar",
    summary="Draw the next days' guard calendar from the optimal coverage (seed audited)",
    responses=problem_responses(400, 422),
)
def site_calendar(
    session: SessionDep,
    principal: Manager,
    teams: TeamsParam,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    seed: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> dict[str, Any]:
    plan, cal = planner.sample_sites(
        session, principal=principal, teams=teams, days=days, seed=seed
    )
    slugs = [t.site.slug for t in plan.targets]
    out = {
        "seed": cal.seed,
        "teams": teams,
        "days": [
            {
                "date": str(day.date),
                "teams": [
                    {"team": a.unit + 1, "sites": [slugs[t] for t in a.targets]}
                    for a in day.plan.assignments
                ],
            }
            for day in cal.days
        ],
    }
    session.commit()
    return out
