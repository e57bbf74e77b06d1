"""``/api/v1/taxii-subscriptions``: the partners' TAXII collections your organisation pulls
(docs/sharing.md, "Pulling from partners' TAXII servers"). The credential is write-only: it is
stored encrypted and never returned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth import service as auth_service
from silkguard.auth.models import User
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import read_only
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.sharing import pull as taxii_pull

__all__ = ["router"]

router = APIRouter(prefix="/taxii-subscriptions", tags=["sharing"])
Manager = Annotated[Principal, Depends(require(Permission.SHARING_MANAGE))]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "dasu-kkh",
                    "url": "https://partner.example/taxii2/api/collections/group-1a2b3c/",
                    "credential": "sg_k3y-the-partner-issued-to-you",
                    "interval_minutes": 15,
                }
            ]
        },
    )

    name: Annotated[str, Field(min_length=1, max_length=64, examples=["dasu-kkh"])]
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    credential: Annotated[
        str,
        Field(
            min_length=1,
            max_length=4096,
            description="The API key (or password) the remote server issued to your "
            "organisation. Stored encrypted; never returned.",
            json_schema_extra={"writeOnly": True},
        ),
    ]
    username: Annotated[
        str, Field(max_length=200, description="HTTP Basic user name; empty sends X-API-Key.")
    ] = ""
    interval_minutes: Annotated[int, Field(ge=1, le=10080)] = 15
    run_as: Annotated[
        str | None,
        Field(
            max_length=64,
            description="The user of your organisation whose rights imports run with "
            "(an analyst or administrator); default: you.",
        ),
    ] = None
    replace: bool = False


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    url: str
    username: str
    run_as: uuid.UUID
    interval_minutes: int
    enabled: bool
    added_after: str | None = Field(
        description="The remote X-TAXII-Date-Added-Last of the last page stored."
    )
    last_polled_at: datetime | None
    last_outcome: str
    failures: int = Field(description="Failed pulls in a row (each doubles the wait).")
    created_at: datetime


class PullRead(BaseModel):
    pages: int
    objects: int
    new: int
    merged: int
    updated: int
    unchanged: int
    rejected: int
    ignored: int
    added_after: str | None
    errors: list[str]


def _run_as(session: SessionDep, principal: Principal, username: str | None) -> User:
    if username is None:
        if principal.user_id is None:
            msg = "an API key has no user of its own; name the user imports run as (run_as)"
            raise InvalidInput(msg, field="run_as")
        return session.get_one(User, principal.user_id)
    try:
        user = auth_service.get_user_by_username(session, username=username)
    except NotFound:
        user = None
    if user is None or user.org_id != principal.org_id:
        msg = f"your organisation has no user {username!r}"
        raise InvalidInput(msg, field="run_as")
    return user


@router.get(
    "",
    summary="Your organisation's TAXII subscriptions",
    responses=problem_responses(401, 403),
)
def list_subscriptions(session: SessionDep, principal: Manager) -> list[SubscriptionRead]:
    return [
        SubscriptionRead.model_validate(s)
        for s in taxii_pull.list_subscriptions(session, org_id=principal.org_id)
    ]


@router.post(
    "",
    status_code=201,
    summary="Subscribe to a partner's TAXII collection",
    responses=problem_responses(400, 401, 403, 409, 422),
)
def create_subscription(
    body: SubscriptionCreate, request: Request, session: SessionDep, principal: Manager
) -> SubscriptionRead:
    """The schedule pulls it every `interval_minutes`; imports arrive as drafts in the review
    queue. With `replace`, a subscription of the same name gets the new URL and credential."""
    sub = taxii_pull.subscribe(
        session,
        run_as=_run_as(session, principal, body.run_as),
        name=body.name,
        url=body.url,
        credential=body.credential,
        secret_key=request.app.state.settings.secret_key,
        username=body.username,
        interval_minutes=body.interval_minutes,
        replace=body.replace,
    )
    audit(
        session,
        request,
        principal,
        "sharing.subscribe",
        sub.id,
        {"name": sub.name, "url": sub.url},
        object_type="taxii_subscription",
    )
    read = SubscriptionRead.model_validate(sub)
    session.commit()
    return read


@router.delete(
    "/{name}",
    status_code=204,
    summary="Stop pulling a collection",
    responses=problem_responses(401, 403, 404),
)
def delete_subscription(
    name: str, request: Request, session: SessionDep, principal: Manager
) -> Response:
    """What was imported stays."""
    sub = taxii_pull.get_subscription(session, org_id=principal.org_id, name=name)
    sub_id = sub.id
    taxii_pull.unsubscribe(session, org_id=principal.org_id, name=name)
    audit(
        session,
        request,
        principal,
        "sharing.unsubscribe",
        sub_id,
        {"name": name},
        object_type="taxii_subscription",
    )
    session.commit()
    return Response(status_code=204)


@router.post(
    "/{name}/pull",
    summary="Pull a subscribed collection now",
    responses=problem_responses(401, 403, 404, 502),
)
def pull_now(name: str, request: Request, session: SessionDep, principal: Manager) -> PullRead:
    """Fetches what was added since the last pull and imports it, in one transaction: a
    failure (502, with the remote server's answer) stores nothing and is recorded on the
    subscription. Large backlogs are better left to the schedule."""
    read_only(session)
    sub_id = taxii_pull.get_subscription(session, org_id=principal.org_id, name=name).id
    session.rollback()  # the pull writes in units of work of its own
    report = taxii_pull.pull_and_record(
        request.app.state.session_factory,
        sub_id,
        secret_key=request.app.state.settings.secret_key,
        now=utcnow(),
        actor=principal.actor,
    )
    return PullRead(
        pages=report.pages,
        objects=report.objects,
        new=report.new,
        merged=report.merged,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        ignored=report.ignored,
        added_after=report.added_after,
        errors=report.errors,
    )
