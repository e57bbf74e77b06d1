"""``/api/v1/sites``: the places with people to protect. A site is seen by its organisation
(and as its TLP marking allows); site locations are sensitive, so the default marking is AMBER."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.people import service as people_service
from silkguard.people.schemas import SiteCreate, SiteRead

__all__ = ["router"]

router = APIRouter(prefix="/sites", tags=["sites"], responses=problem_responses(403))
Reader = Annotated[Principal, Depends(require(Permission.SITE_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SITE_MANAGE))]


@router.get("", summary="Sites you may see, by name")
def list_sites(session: SessionDep, principal: Reader) -> list[SiteRead]:
    return [
        SiteRead.model_validate(s) for s in people_service.get_sites(session, principal=principal)
    ]


@router.post(
    "",
    status_code=201,
    summary="Add a site of your organisation",
    responses=problem_responses(400, 403, 409, 422),
)
def create_site(
    body: SiteCreate, session: SessionDep, principal: Manager, request: Request
) -> SiteRead:
    site = people_service.create_site(
        session,
        org_id=principal.org_id,
        **body.model_dump(exclude={"tlp"}),
        tlp=body.tlp.value,
    )
    audit(session, request, principal, "site.create", site.id, {"slug": site.slug})
    read = SiteRead.model_validate(site)
    session.commit()
    return read


@router.get("/{site_id}", summary="One site", responses=problem_responses(404))
def get_site(site_id: uuid.UUID, session: SessionDep, principal: Reader) -> SiteRead:
    return SiteRead.model_validate(
        people_service.get_site(session, principal=principal, site_id=site_id)
    )
