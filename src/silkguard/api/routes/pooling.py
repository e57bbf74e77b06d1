"""``/api/v1/incidents/{id}/contributions`` and ``.../sightings``: contribute an incident to a
sharing group without naming your organisation, and count sightings without naming who saw
what. Who sees what: docs/sharing.md ("Pooled contributions and sightings")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.incidents import sightings as sightings_service
from silkguard.incidents.schemas import IsoDateTime
from silkguard.incidents.sightings import SightingTotal
from silkguard.sharing import pool as pool_service
from silkguard.sharing.pool import Contribution

__all__ = ["router"]

router = APIRouter(prefix="/incidents", tags=["sharing"])
Reader = Annotated[Principal, Depends(require(Permission.INCIDENT_READ))]
Creator = Annotated[Principal, Depends(require(Permission.INCIDENT_CREATE))]
# Contributing derives a new shared incident from one of your own; who may correct your
# incidents may share them this way (and see where they were contributed).
Contributor = Annotated[Principal, Depends(require(Permission.INCIDENT_UPDATE))]


class ContributionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: uuid.UUID
    summary: Annotated[str, Field(max_length=20_000)] | None = Field(
        default=None,
        description="Replaces the summary in the copy (a summary can name its author).",
    )
    generalise_location: Annotated[bool, Field(strict=True)] = Field(
        default=False,
        description="Snap the position to its H3 resolution-6 cell centre, drop the place "
        "name and give it as known to the district.",
    )


class ContributionRead(BaseModel):
    group_id: uuid.UUID
    group_name: str
    pool_incident_id: uuid.UUID = Field(description="The copy the group sees.")
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(
        default_factory=list,
        description="Ways the group could still tell that the copy is yours.",
    )


class SightingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seen_at: IsoDateTime | None = Field(default=None, description="Default: now.")
    count: Annotated[int, Field(ge=1, le=100_000, strict=True)] = 1


class SightingsRead(BaseModel):
    count: int = Field(description="Sightings reported, all organisations together.")
    organisations: int = Field(description="How many organisations reported them (unnamed).")
    first_seen: datetime | None
    last_seen: datetime | None


def _contribution(c: Contribution) -> ContributionRead:
    return ContributionRead(
        group_id=c.group_id,
        group_name=c.group_name,
        pool_incident_id=c.pool_incident_id,
        created_at=c.created_at,
        updated_at=c.updated_at,
        warnings=c.warnings,
    )


def _sightings(t: SightingTotal) -> SightingsRead:
    return SightingsRead(
        count=t.count, organisations=t.organisations, first_seen=t.first_seen, last_seen=t.last_seen
    )


@router.post(
    "/{incident_id:uuid}/contributions",
    status_code=201,
    summary="Contribute to a sharing group anonymously",
    response_model=ContributionRead,
    responses={
        200: {
            "description": "Contributed before: the copy was brought up to date.",
            "model": ContributionRead,
        },
        **problem_responses(400, 401, 403, 404, 422),
    },
)
def contribute(
    incident_id: uuid.UUID,
    data: ContributionCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Contributor,
) -> ContributionRead:
    """The group gets a copy of your confirmed CLEAR, GREEN or AMBER incident owned by its
    pool, naming neither your organisation nor you. 201 for a new contribution; 200 when the
    incident was contributed to the group before and its copy was refreshed."""
    made = pool_service.contribute(
        session,
        principal=principal,
        incident_id=incident_id,
        group_id=data.group_id,
        summary=data.summary,
        generalise_location=data.generalise_location,
    )
    audit(
        session,
        request,
        principal,
        "incident.contribute",
        incident_id,
        {
            "group": str(made.group_id),
            "pool_incident": str(made.pool_incident_id),
            "refreshed": made.refreshed,
            "generalise_location": data.generalise_location,
            "summary_replaced": data.summary is not None,
        },
    )
    session.commit()
    if made.refreshed:
        response.status_code = 200
    return _contribution(made)


@router.get(
    "/{incident_id:uuid}/contributions",
    summary="Where your incident is contributed",
    response_model=list[ContributionRead],
    responses=problem_responses(401, 403, 404, 422),
)
def list_contributions(
    incident_id: uuid.UUID, session: SessionDep, principal: Contributor
) -> list[ContributionRead]:
    """The sharing groups this incident of your organisation is contributed to."""
    found = pool_service.contributions(session, principal=principal, incident_id=incident_id)
    return [_contribution(c) for c in found]


@router.delete(
    "/{incident_id:uuid}/contributions/{group_id:uuid}",
    status_code=204,
    summary="Withdraw a contribution",
    responses=problem_responses(401, 403, 404, 422),
)
def withdraw(
    incident_id: uuid.UUID,
    group_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Contributor,
) -> Response:
    """The group's copy is deleted (its sightings with it); your incident stays as it is."""
    gone = pool_service.withdraw(
        session, principal=principal, incident_id=incident_id, group_id=group_id
    )
    audit(
        session,
        request,
        principal,
        "incident.withdraw",
        incident_id,
        {"group": str(group_id), "pool_incident": str(gone)},
    )
    session.commit()
    return Response(status_code=204)


@router.post(
    "/{incident_id:uuid}/sightings",
    status_code=201,
    summary="Report a sighting (we saw this too)",
    response_model=SightingsRead,
    responses=problem_responses(400, 401, 403, 404, 422),
)
def add_sighting(
    incident_id: uuid.UUID,
    data: SightingCreate,
    request: Request,
    session: SessionDep,
    principal: Creator,
) -> SightingsRead:
    """Counts for your organisation on any incident you may see; posting again adds to your
    organisation's count. Returns the totals, which never name an organisation."""
    total = sightings_service.record(
        session,
        principal=principal,
        incident_id=incident_id,
        seen_at=data.seen_at,
        count=data.count,
    )
    audit(
        session,
        request,
        principal,
        "incident.sighting",
        incident_id,
        {
            "count": data.count,
            "seen_at": None if data.seen_at is None else data.seen_at.isoformat(),
        },
    )
    session.commit()
    return _sightings(total)


@router.get(
    "/{incident_id:uuid}/sightings",
    summary="How often an incident was seen",
    response_model=SightingsRead,
    responses=problem_responses(401, 403, 404, 422),
)
def read_sightings(incident_id: uuid.UUID, session: SessionDep, principal: Reader) -> SightingsRead:
    """Totals only: not even the incident's owner learns which organisations saw it."""
    total = sightings_service.summary(session, principal=principal, incident_id=incident_id)
    return _sightings(total)
