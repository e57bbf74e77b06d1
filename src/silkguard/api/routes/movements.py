"""``/api/v1/movements``: request a movement (planned on the risk-weighted route and judged by
the organisation's policy), approve or reject it, run it (start, check in, arrive, report an
incident, cancel) and read its whole record; the organisation's movement policy.

A movement is seen by its organisation, as its TLP marking allows (AMBER by default). Illegal
transitions answer 409 with the states that would allow the action."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.journeys import service as movements
from silkguard.journeys.models import Movement, MovementPolicy
from silkguard.journeys.policy import Policy, default_policy, default_policy_text
from silkguard.journeys.schemas import (
    CheckInCreate,
    IncidentNote,
    MeasuresUpdate,
    MovementBoard,
    MovementCreate,
    MovementDetail,
    MovementRead,
    ParetoPoint,
    PolicyRevisionRead,
    PolicyWrite,
    Reason,
    ReviewCreate,
    RouteOptionRead,
    RouteOptionsRead,
    RouteOptionsRequest,
)
from silkguard.journeys.states import MovementState
from silkguard.protection import movement_draw
from silkguard.protection import service as planner
from silkguard.protection.route_plans import GameSettings

__all__ = ["options_router", "patterns_router", "router"]

router = APIRouter(prefix="/movements", tags=["movements"], responses=problem_responses(403))
#: Route options live beside /movements, not under it, where a name would be read as an id.
options_router = APIRouter(
    prefix="/movement-routes", tags=["movements"], responses=problem_responses(403)
)
Reader = Annotated[Principal, Depends(require(Permission.MOVEMENT_READ))]
Requester = Annotated[Principal, Depends(require(Permission.MOVEMENT_REQUEST))]
Approver = Annotated[Principal, Depends(require(Permission.MOVEMENT_APPROVE))]
PolicyManager = Annotated[Principal, Depends(require(Permission.MOVEMENT_POLICY))]
ACTION = problem_responses(404, 409)


def _read(m: Movement) -> MovementRead:
    out = MovementRead.model_validate(m)
    out.max_level = m.assessment.get("max_level")
    out.decision_status = m.decision.get("status")
    return out


def _detail(session: SessionDep, m: Movement, response: Response | None = None) -> MovementDetail:
    if response is not None:
        response.headers["ETag"] = f'W/"{m.version}"'
    return MovementDetail.model_validate(movements.movement_record(session, movement_id=m.id))


def _finish(session: SessionDep, m: Movement) -> MovementDetail:
    detail = _detail(session, m)
    session.commit()
    return detail


@router.get("", summary="Movements you may see, by departure")
def list_movements(
    session: SessionDep,
    principal: Reader,
    state: Annotated[
        MovementState | None, Query(description="Only movements in this state")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MovementRead]:
    found = movements.list_movements(
        session, principal=principal, state=None if state is None else state.value, limit=limit
    )
    return [_read(m) for m in found]


@router.get("/board", summary="The movement board: counts per state and the overdue list")
def movement_board(session: SessionDep, principal: Reader) -> MovementBoard:
    overdue = movements.list_movements(
        session, principal=principal, state=MovementState.OVERDUE.value
    )
    return MovementBoard(
        counts=movements.board(session, principal=principal), overdue=[_read(m) for m in overdue]
    )


@options_router.post(
    "",
    summary="Route options for a movement: each route's risk, threat levels and what the "
    "policy would require (nothing is stored)",
    responses=problem_responses(400, 404, 422),
)
def route_options(
    body: RouteOptionsRequest, session: SessionDep, principal: Requester
) -> RouteOptionsRead:
    """Up to ``alternatives`` diverse routes (one when the movement passes through ``via``
    places), best first under travel time plus the risk weight times exposure to the newest
    forecast; each with its riskiest stretches and the decision the organisation's policy
    would take on it. Request the chosen one with ``POST /movements`` and its ``route`` rank."""
    found = movements.route_options(
        session, principal=principal, alternatives=body.alternatives, **body.trip_fields()
    )
    return RouteOptionsRead(
        points=found.points,
        options=[RouteOptionRead.model_validate(asdict(o)) for o in found.options],
        pareto=[ParetoPoint(risk_weight=w, time_s=t, exposure=r) for w, t, r in found.pareto],
    )


@router.post(
    "",
    status_code=201,
    summary="Request a movement: route, risk, required measures and the policy's decision",
    responses=problem_responses(400, 404, 409, 422),
)
def request_movement(
    body: MovementCreate, session: SessionDep, principal: Requester
) -> MovementDetail:
    m = movements.request_movement(
        session,
        principal=principal,
        **body.trip_fields(),
        party_ids=body.party_ids,
        purpose=body.purpose,
        tlp=body.tlp.value,
        submit=body.submit,
        route=body.route,
    )
    return _finish(session, m)


@router.get("/policy", summary="The movement policy in force for your organisation")
def get_policy(session: SessionDep, principal: Reader) -> PolicyRevisionRead:
    stored = movements.policy_revisions(session, org_id=principal.org_id)
    if stored:
        return _policy_read(stored[0], movements.org_policy(session, org_id=principal.org_id))
    policy = default_policy()
    return PolicyRevisionRead(
        revision=policy.revision,
        name=policy.name,
        fingerprint=policy.fingerprint,
        created_by="silkguard (shipped default)",
        created_at=None,
        document=default_policy_text(),
        rules=_rules(policy),
    )


@router.put(
    "/policy",
    summary="Replace your organisation's movement policy with a newer revision",
    responses=problem_responses(400, 409, 422),
)
def put_policy(
    body: PolicyWrite, session: SessionDep, principal: PolicyManager
) -> PolicyRevisionRead:
    row = movements.set_policy(session, principal=principal, document=body.document)
    out = _policy_read(row, movements.org_policy(session, org_id=principal.org_id))
    session.commit()
    return out


@router.get("/{movement_id}", summary="A movement's whole record", responses=problem_responses(404))
def get_movement(
    movement_id: uuid.UUID, session: SessionDep, principal: Reader, response: Response
) -> MovementDetail:
    m = movements.get_movement(session, principal=principal, movement_id=movement_id)
    return _detail(session, m, response)


@router.post("/{movement_id}/submit", summary="Submit a draft for approval", responses=ACTION)
def submit(movement_id: uuid.UUID, session: SessionDep, principal: Requester) -> MovementDetail:
    return _finish(session, movements.submit(session, principal=principal, movement_id=movement_id))


@router.put(
    "/{movement_id}/measures",
    summary="Replace the planned protective measures and decide again",
    responses=problem_responses(400, 404, 409, 422),
)
def update_measures(
    movement_id: uuid.UUID, body: MeasuresUpdate, session: SessionDep, principal: Requester
) -> MovementDetail:
    m = movements.update_measures(
        session, principal=principal, movement_id=movement_id, measures=body.measures
    )
    return _finish(session, m)


@router.post("/{movement_id}/approve", summary="Sign off a submitted movement", responses=ACTION)
def approve(movement_id: uuid.UUID, session: SessionDep, principal: Approver) -> MovementDetail:
    return _finish(
        session, movements.approve(session, principal=principal, movement_id=movement_id)
    )


@router.post(
    "/{movement_id}/reject",
    summary="Reject a submitted movement, with the reason",
    responses=problem_responses(400, 404, 409, 422),
)
def reject(
    movement_id: uuid.UUID, body: Reason, session: SessionDep, principal: Approver
) -> MovementDetail:
    m = movements.reject(session, principal=principal, movement_id=movement_id, reason=body.reason)
    return _finish(session, m)


@router.post(
    "/{movement_id}/cancel",
    summary="Cancel a draft, submitted or approved movement",
    responses=problem_responses(400, 404, 409, 422),
)
def cancel(
    movement_id: uuid.UUID, body: Reason, session: SessionDep, principal: Requester
) -> MovementDetail:
    m = movements.cancel(session, principal=principal, movement_id=movement_id, reason=body.reason)
    return _finish(session, m)


@router.post("/{movement_id}/start", summary="The party has left", responses=ACTION)
def start(movement_id: uuid.UUID, session: SessionDep, principal: Requester) -> MovementDetail:
    return _finish(session, movements.start(session, principal=principal, movement_id=movement_id))


@router.post("/{movement_id}/arrive", summary="The party has arrived", responses=ACTION)
def arrive(movement_id: uuid.UUID, session: SessionDep, principal: Requester) -> MovementDetail:
    return _finish(session, movements.arrive(session, principal=principal, movement_id=movement_id))


@router.post(
    "/{movement_id}/incident",
    summary="Something happened to the movement on the road",
    responses=problem_responses(400, 404, 409, 422),
)
def report_incident(
    movement_id: uuid.UUID, body: IncidentNote, session: SessionDep, principal: Requester
) -> MovementDetail:
    m = movements.report_incident(
        session, principal=principal, movement_id=movement_id, note=body.note
    )
    return _finish(session, m)


@router.post(
    "/{movement_id}/review",
    summary="The post-movement review (debrief) of a movement that is over",
    responses=problem_responses(400, 404, 409, 422),
)
def review_movement(
    movement_id: uuid.UUID, body: ReviewCreate, session: SessionDep, principal: Requester
) -> MovementDetail:
    """Once per movement, after it arrived, met an incident or was cancelled: how it went,
    deviations from the plan, incidents and near misses, lessons, whether the measures
    worked. It goes into the movement's record and the audit trail."""
    m = movements.review(
        session,
        principal=principal,
        movement_id=movement_id,
        summary=body.summary,
        deviations=body.deviations,
        incidents=body.incidents,
        lessons=body.lessons,
        measures_effective=body.measures_effective,
    )
    return _finish(session, m)


@router.post(
    "/{movement_id}/check-ins",
    status_code=201,
    summary="A position report from a movement on the road",
    responses=problem_responses(400, 404, 409, 422),
)
def check_in(
    movement_id: uuid.UUID, body: CheckInCreate, session: SessionDep, principal: Requester
) -> MovementDetail:
    ev = movements.check_in(
        session,
        principal=principal,
        movement_id=movement_id,
        lat=body.lat,
        lon=body.lon,
        note=body.note,
    )
    m = movements.get_movement(session, principal=principal, movement_id=ev.movement_id)
    return _finish(session, m)


@router.post(
    "/{movement_id}/departure",
    summary="Draw the departure at random among the equally good ones of the window (audited)",
    responses=problem_responses(400, 404, 422),
)
def randomize_departure(
    movement_id: uuid.UUID,
    session: SessionDep,
    principal: Requester,
    every_minutes: Annotated[int, Query(ge=1, le=240)] = 15,
    seed: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> dict[str, Any]:
    choice = planner.randomize_departure(
        session,
        principal=principal,
        movement_id=movement_id,
        every=timedelta(minutes=every_minutes),
        seed=seed,
    )
    session.commit()
    return {
        "departure": choice.chosen.isoformat(),
        "candidates": [d.isoformat() for d in choice.candidates],
        "seed": choice.seed,
    }


@router.post(
    "/{movement_id}/route-draw",
    summary="Draw the route and departure together among those policy allows, favouring the "
    "routes the escort game covers more (audited)",
    responses=problem_responses(400, 404, 422),
)
def draw_route(
    movement_id: uuid.UUID,
    session: SessionDep,
    principal: Requester,
    teams: Annotated[int, Query(ge=0, le=1000, description="Escort teams")] = 1,
    qrf: Annotated[int, Query(ge=0, le=1000, description="Quick-reaction forces")] = 0,
    checkposts: Annotated[int, Query(ge=0, le=1000)] = 0,
    slots: Annotated[int, Query(ge=1, le=24, description="Slots of the day (divide 24)")] = 4,
    tolerance: Annotated[float, Query(ge=0, le=10, description="Route risk over the best")] = 0.25,
    every_minutes: Annotated[int, Query(ge=1, le=240)] = 15,
    seed: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> dict[str, Any]:
    drawn = movement_draw.draw_route(
        session,
        principal=principal,
        movement_id=movement_id,
        settings=GameSettings(teams=teams, qrf=qrf, checkposts=checkposts, slots=slots),
        every=timedelta(minutes=every_minutes),
        tolerance=tolerance,
        seed=seed,
    )
    session.commit()
    return {
        "route": drawn.route,
        "departure": drawn.departure.isoformat(),
        "probability": drawn.probability,
        "seed": drawn.seed,
        "candidates": drawn.candidates,
        "excluded": drawn.excluded,
        "coordinates": drawn.route_doc["coordinates"],
        "time_s": drawn.route_doc["time_s"],
        "exposure": drawn.route_doc.get("exposure"),
    }


# -- helpers ----------------------------------------------------------------------------------


def _rules(policy: Policy) -> list[dict[str, Any]]:
    out = []
    for rule in policy.rules:
        doc = asdict(rule)
        doc["require"] = sorted(rule.require)
        doc["effect"] = rule.effect
        doc["applies"] = rule.when.describe()
        out.append(doc)
    return out


def _policy_read(row: MovementPolicy, policy: Policy) -> PolicyRevisionRead:
    out = PolicyRevisionRead.model_validate(row)
    out.rules = _rules(policy)
    return out


patterns_router = APIRouter(
    prefix="/movement-patterns", tags=["movements"], responses=problem_responses(403)
)


class PatternAdvice(BaseModel):
    code: Annotated[str, Field(description="same_hour, same_weekday or same_route")]
    share: Annotated[float, Field(description="Share of the pair's movements in the pattern")]
    value: Annotated[int | None, Field(description="The hour (0-23, PKT) or weekday (0 Monday)")]
    text: str


class PairPatternRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "origin": "Islamabad",
                    "destination": "Dasu",
                    "movements": 6,
                    "hour_spread": 0.0,
                    "weekday_spread": 0.0,
                    "route_spread": 0.0,
                    "routes": 1,
                    "predictability": 1.0,
                    "advice": [
                        {
                            "code": "same_hour",
                            "share": 1.0,
                            "value": 7,
                            "text": "100% left between 07:00 and 08:00 PKT: ...",
                        }
                    ],
                }
            ]
        }
    )
    origin: str
    destination: str
    movements: int
    hour_spread: Annotated[float, Field(description="0 = always the same hour, 1 = spread out")]
    weekday_spread: float
    route_spread: float
    routes: Annotated[int, Field(description="Distinct roads taken")]
    predictability: Annotated[float, Field(description="0 = nothing to learn, 1 = predictable")]
    advice: list[PatternAdvice]


@patterns_router.get(
    "",
    summary="How predictable your organisation's movements have been, per origin and "
    "destination, with what to change",
    responses=problem_responses(422),
)
def movement_patterns(
    session: SessionDep,
    principal: Reader,
    days: Annotated[int, Query(ge=1, le=3650, description="Look back this many days")] = 180,
) -> list[PairPatternRead]:
    """Pairs travelled three times or more: the spread of departure hours (Pakistan time),
    weekdays and roads, and a predictability from 0 to 1, most predictable first."""
    found = movements.movement_patterns(session, principal=principal, days=days)
    return [PairPatternRead.model_validate(asdict(p)) for p in found]
