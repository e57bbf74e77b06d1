"""``/api/v1/people`` and ``/api/v1/positions``: the personnel an organisation has a duty of
care for, their consent to location sharing, and their positions.

People and positions are personal data: only the person's organisation sees them, reading
needs ``personal_data.read`` and every read is in the audit trail (reads of positions also
need a reason). Positions of a person without consent are dropped on arrival."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from silkguard.alerts.privacy import reveal_grounds
from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission, Role
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import for_writing
from silkguard.core.errors import PermissionDenied
from silkguard.people import personnel
from silkguard.people import positions as pos
from silkguard.people.schemas import (
    ConsentChange,
    ConsentRead,
    IngestRead,
    PersonCreate,
    PersonRead,
    PositionBatch,
    PositionRead,
)

__all__ = ["positions_router", "router"]

router = APIRouter(prefix="/people", tags=["people"], responses=problem_responses(403))
positions_router = APIRouter(prefix="/positions", tags=["people"], responses=problem_responses(403))
Reader = Annotated[Principal, Depends(require(Permission.PERSONAL_DATA_READ))]
Manager = Annotated[Principal, Depends(require(Permission.PERSON_MANAGE))]
Reporter = Annotated[Principal, Depends(require(Permission.POSITION_REPORT))]
SiteReader = Annotated[Principal, Depends(require(Permission.SITE_READ))]
ReasonParam = Annotated[
    str,
    Query(min_length=1, max_length=500, description="Why the position is read (audited)"),
]


@router.get("", summary="Your organisation's people (audited read of personal data)")
def list_people(
    session: SessionDep,
    principal: Reader,
    request: Request,
    site: Annotated[uuid.UUID | None, Query(description="Only people based at this site")] = None,
) -> list[PersonRead]:
    for_writing(session)  # the read is audited
    found = personnel.list_people(session, principal=principal, site_id=site)
    audit(
        session,
        request,
        principal,
        "personal_data.read",
        None,
        {"what": "people.list", "count": len(found)},
        object_type="person",
    )
    out = [PersonRead.model_validate(p) for p in found]
    session.commit()
    return out


@router.post(
    "",
    status_code=201,
    summary="Add a person to your organisation",
    responses=problem_responses(400, 409, 422),
)
def create_person(body: PersonCreate, session: SessionDep, principal: Manager) -> PersonRead:
    data = body.model_dump()
    contact = data.pop("emergency_contact")
    person = personnel.create_person(
        session, principal=principal, emergency_contact=contact, **data
    )
    out = PersonRead.model_validate(person)
    session.commit()
    return out


@router.get("/{person_id}", summary="One person (audited)", responses=problem_responses(404))
def get_person(
    person_id: uuid.UUID, session: SessionDep, principal: Reader, request: Request
) -> PersonRead:
    for_writing(session)  # the read is audited
    person = personnel.get_person(session, principal=principal, person_id=person_id)
    audit(
        session,
        request,
        principal,
        "personal_data.read",
        person.id,
        {"what": "person"},
        object_type="person",
    )
    out = PersonRead.model_validate(person)
    session.commit()
    return out


@router.post(
    "/{person_id}/consent",
    summary="Record that the person gave or withdrew consent to location sharing",
    responses=problem_responses(400, 404, 422),
)
def change_consent(
    person_id: uuid.UUID, body: ConsentChange, session: SessionDep, principal: Manager
) -> list[ConsentRead]:
    personnel.set_consent(
        session, principal=principal, person_id=person_id, given=body.given, note=body.note
    )
    history = personnel.consent_history(session, person_id=person_id)
    out = [ConsentRead.model_validate(r) for r in history]
    session.commit()
    return out


@router.get(
    "/{person_id}/positions",
    summary="A person's track while there is a protective reason (audited)",
    responses=problem_responses(404, 422),
)
def person_track(
    person_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    reason: ReasonParam,
    since: Annotated[
        datetime | None, Query(description="From this time (default: the last 24 hours)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[PositionRead]:
    for_writing(session)  # the read is audited
    personnel.get_person(session, principal=principal, person_id=person_id)
    grounds = _grounds(session, person_id)
    start = since if since is not None else utcnow() - timedelta(hours=24)
    track = pos.positions_of(
        session,
        principal=principal,
        person_id=person_id,
        since=start,
        reason=f"{reason} ({grounds})",
        limit=limit,
    )
    out = [PositionRead.model_validate(p) for p in track]
    session.commit()
    return out


@router.get(
    "/{person_id}/latest-position",
    summary="A person's latest position while there is a protective reason (audited)",
    responses=problem_responses(404, 422),
)
def person_latest(
    person_id: uuid.UUID, session: SessionDep, principal: Reader, reason: ReasonParam
) -> PositionRead | None:
    for_writing(session)  # the read is audited
    personnel.get_person(session, principal=principal, person_id=person_id)
    grounds = _grounds(session, person_id)
    found = pos.latest_position(
        session, principal=principal, person_id=person_id, reason=f"{reason} ({grounds})"
    )
    out = None if found is None else PositionRead.model_validate(found)
    session.commit()
    return out


def _grounds(session: SessionDep, person_id: uuid.UUID) -> str:
    grounds = reveal_grounds(session, person_id=person_id)
    if grounds is None:
        msg = (
            "exact positions are shown only while the person is on the roll-call of an active "
            "alert or SOS, or travelling on a movement under way; otherwise see "
            "/api/v1/positions/summary for counts per site and area"
        )
        raise PermissionDenied(msg)
    return grounds


@positions_router.get(
    "/summary",
    summary="How many of your people are at each site and in each ~5 km2 cell (no names)",
)
def positions_summary(session: SessionDep, principal: SiteReader) -> dict[str, Any]:
    return pos.summary(session, org_id=principal.org_id)


@positions_router.post(
    "",
    summary="Report positions (a batch; any bad report refuses the whole batch)",
    responses=problem_responses(400, 413, 422),
)
def report_positions(body: PositionBatch, session: SessionDep, principal: Reporter) -> IngestRead:
    only: uuid.UUID | None = None
    if principal.role == Role.STAFF.value and principal.user_id is not None:
        own = personnel.person_of_user(session, user_id=principal.user_id)
        if own is None:
            msg = "your user is not linked to a person; ask your movement controller to link it"
            raise PermissionDenied(msg)
        only = own.id
    items = [
        pos.PositionIn(person=r.person, at=r.at, lat=r.lat, lon=r.lon, accuracy_m=r.accuracy_m)
        for r in body.positions
    ]
    report = pos.ingest_positions(
        session, org_id=principal.org_id, items=items, source="http", only_person=only
    )
    session.commit()
    return IngestRead(**report.as_dict())
