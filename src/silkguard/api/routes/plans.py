"""``/api/v1/plans``: randomised guard coverage of your organisation's sites, and escort
coverage of the road segments x time slots its movements use, explained, with seeded
calendars drawn from them (the seed goes into the audit trail)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.protection import route_plans
from silkguard.protection import service as planner
from silkguard.protection.route_plans import GameSettings

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


# -- route segments x time slots: the escort game --------------------------------------------


class RoutePair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: str = Field(min_length=1, max_length=200, description="Place name or LAT,LON")
    destination: str = Field(min_length=1, max_length=200)
    party: int = Field(1, ge=1, le=500, description="People on the move (counted in every slot)")


class TargetEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    likelihood: float | None = Field(None, gt=0, le=1e9)
    consequence: float | None = Field(None, gt=0, le=1e9)


class RouteGameRequest(BaseModel):
    """The escort game's horizon, resources and policy choices (every number is editable)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"days": 3, "teams": 2, "checkposts": 1, "slots": 4}]},
    )

    start: date | None = Field(None, description="First day (Pakistan time); today by default")
    days: int = Field(3, ge=1, le=31)
    teams: int = Field(1, ge=0, le=1000, description="Escort teams")
    qrf: int = Field(0, ge=0, le=1000, description="Quick-reaction forces")
    checkposts: int = Field(0, ge=0, le=1000)
    slots: int = Field(4, ge=1, le=24, description="Equal slots of the day; must divide 24")
    slot_weights: list[Annotated[float, Field(gt=0, le=1000)]] | None = Field(
        None, max_length=24, description="One weight per slot (default: 1 + night share)"
    )
    escort_span_km: float = Field(150.0, gt=0, le=5000)
    qrf_span_km: float = Field(300.0, gt=0, le=5000)
    segment_km: float = Field(50.0, ge=1, le=1000, description="Longest segment, km")
    idle_people: float = Field(1.0, gt=0, le=10000)
    pairs: list[RoutePair] = Field(default_factory=list, max_length=50)
    overrides: dict[str, TargetEdit] = Field(default_factory=dict, max_length=1000)
    solver: Literal["colgen", "eraser"] = "colgen"

    def settings(self) -> GameSettings:
        return GameSettings(
            teams=self.teams,
            qrf=self.qrf,
            checkposts=self.checkposts,
            slots=self.slots,
            slot_weights=None if self.slot_weights is None else tuple(self.slot_weights),
            escort_span_km=self.escort_span_km,
            qrf_span_km=self.qrf_span_km,
            max_km=self.segment_km,
            idle_people=self.idle_people,
            overrides={k: v.model_dump(exclude_none=True) for k, v in self.overrides.items()},
            solver=self.solver,
        )


class RouteCalendarRequest(RouteGameRequest):
    seed: int | None = Field(None, ge=0, le=2**62, description="Default: fresh (audited)")


@router.post(
    "/routes",
    summary="Optimal randomised escort coverage of your movements' road segments x time slots",
    responses=problem_responses(400, 422),
)
def route_coverage(
    body: RouteGameRequest, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    plan = route_plans.plan_routes(
        session,
        principal=principal,
        settings=body.settings(),
        days=body.days,
        start=body.start,
        pairs=[p.model_dump() for p in body.pairs],
    )
    return plan.as_dict()


@router.post(
    "/routes/calendar",
    summary="Draw daily escort, reaction-force and checkpost plans (seed audited)",
    responses=problem_responses(400, 422),
)
def route_calendar(
    body: RouteCalendarRequest, session: SessionDep, principal: Manager
) -> dict[str, Any]:
    plan, cal = route_plans.sample_routes(
        session,
        principal=principal,
        settings=body.settings(),
        days=body.days,
        start=body.start,
        pairs=[p.model_dump() for p in body.pairs],
        seed=body.seed,
    )
    out = {"seed": cal.seed, "start": plan.start.isoformat(), "days": plan.calendar_days(cal)}
    session.commit()
    return out
