"""Administration: organisations, users and roles, API keys, sharing groups, the audit trail.
Users, keys and audit entries are those of the caller's own organisation."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from silkguard.api.audit import audit
from silkguard.api.deps import SessionDep, require
from silkguard.api.problems import problem_responses
from silkguard.auth import audit as audit_log
from silkguard.auth import groups as groups_service
from silkguard.auth import service as auth_service
from silkguard.auth.models import OrgKind, User
from silkguard.auth.roles import Permission, Role
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import for_writing
from silkguard.core.errors import NotFound, PermissionDenied
from silkguard.incidents.schemas import IsoDateTime

__all__ = ["router"]

router = APIRouter()
AUDIT_ID_MAX = 2**31 - 1  # audit entry ids are a 32-bit INTEGER column
OrgReader = Annotated[Principal, Depends(require(Permission.ORG_READ))]
OrgAdmin = Annotated[Principal, Depends(require(Permission.ORG_MANAGE))]
UserReader = Annotated[Principal, Depends(require(Permission.USER_READ))]
UserAdmin = Annotated[Principal, Depends(require(Permission.USER_MANAGE))]
KeyAdmin = Annotated[Principal, Depends(require(Permission.KEY_MANAGE))]
AuditReader = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]
SharingAdmin = Annotated[Principal, Depends(require(Permission.SHARING_MANAGE))]


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Annotated[str, Field(min_length=2, max_length=64, examples=["dasu-hpp-security"])]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: OrgKind = OrgKind.OPERATOR


class OrgRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    name: str
    kind: str
    country: str


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=3, max_length=64, examples=["li.wei"])]
    password: Annotated[str, Field(min_length=12, max_length=1024)]
    role: Role
    full_name: Annotated[str, Field(max_length=200)] = ""
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )
    languages: list[Annotated[str, Field(pattern="^(en|zh|ur)$")]] = Field(
        default_factory=list, max_length=3
    )


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    org_id: uuid.UUID
    username: str
    full_name: str
    email: str | None
    role: Role
    languages: list[str]
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["tracker-gateway"])]
    role: Role
    scopes: list[Permission] = Field(default_factory=list, description="Empty: all of the role's.")
    expires_in_days: Annotated[int, Field(ge=1, le=3650, strict=True)] | None = 365


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="The key itself. It is shown this once and never again.")


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["KKH contractors"])]
    hidden_membership: Annotated[bool, Field(strict=True)] = False


class GroupMember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: uuid.UUID


class GroupRead(BaseModel):
    id: uuid.UUID
    name: str
    owner_org_id: uuid.UUID
    hidden_membership: bool
    members: list[uuid.UUID] | None = Field(description="Null when membership is hidden from you.")


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    org_id: uuid.UUID | None
    action: str
    object_type: str | None
    object_id: str | None
    request_id: str | None
    detail: dict[str, Any]


class AuditCheck(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str


# --- organisations ---------------------------------------------------------------------------


@router.get(
    "/orgs",
    tags=["admin"],
    summary="List organisations",
    response_model=list[OrgRead],
    responses=problem_responses(401, 403),
)
def list_orgs(session: SessionDep, _principal: OrgReader) -> list[OrgRead]:
    """Every organisation on the platform (names are not secret; their data is)."""
    return [OrgRead.model_validate(o) for o in auth_service.list_orgs(session)]


@router.post(
    "/orgs",
    tags=["admin"],
    summary="Add an organisation",
    status_code=201,
    response_model=OrgRead,
    responses=problem_responses(400, 401, 403, 409, 422),
)
def create_org(
    data: OrgCreate, request: Request, session: SessionDep, principal: OrgAdmin
) -> OrgRead:
    """Platform administrators add partner and operator organisations."""
    org = auth_service.create_org(session, slug=data.slug, name=data.name, kind=data.kind.value)
    audit(session, request, principal, "org.create", org.id, {"slug": org.slug}, object_type="org")
    session.commit()
    return OrgRead.model_validate(org)


# --- users -----------------------------------------------------------------------------------


def _own_user(session: SessionDep, principal: Principal, user_id: uuid.UUID) -> User:
    user = auth_service.get_user(session, user_id=user_id)
    if user.org_id != principal.org_id:
        msg = f"user {user_id} does not exist in your organisation"
        raise NotFound(msg)
    return user


@router.get(
    "/users",
    tags=["admin"],
    summary="List your organisation's users",
    response_model=list[UserRead],
    responses=problem_responses(401, 403),
)
def list_users(request: Request, session: SessionDep, principal: UserReader) -> list[UserRead]:
    """Reading user records is a read of personal data and is audited."""
    for_writing(session)  # the read is audited
    users = auth_service.list_users(session, org_id=principal.org_id)
    body = [UserRead.model_validate(u) for u in users]
    audit(
        session,
        request,
        principal,
        "personal_data.read",
        None,
        {"users": len(body)},
        object_type="user",
    )
    session.commit()
    return body


@router.post(
    "/users",
    tags=["admin"],
    summary="Add a user",
    status_code=201,
    response_model=UserRead,
    responses=problem_responses(400, 401, 403, 409, 422),
)
def create_user(
    data: UserCreate, request: Request, session: SessionDep, principal: UserAdmin
) -> UserRead:
    user = auth_service.create_user(
        session,
        org_id=principal.org_id,
        username=data.username,
        password=data.password,
        role=data.role,
        full_name=data.full_name,
        email=data.email,
        languages=data.languages,
    )
    audit(
        session, request, principal, "user.create", user.id, {"role": user.role}, object_type="user"
    )
    session.commit()
    return UserRead.model_validate(user)


@router.post(
    "/users/{user_id}/disable",
    tags=["admin"],
    summary="Disable a user",
    response_model=UserRead,
    responses=problem_responses(401, 403, 404, 422),
)
def disable_user(
    user_id: uuid.UUID, request: Request, session: SessionDep, principal: UserAdmin
) -> UserRead:
    """The user can no longer log in; their refresh tokens stop working."""
    _own_user(session, principal, user_id)
    user = auth_service.disable_user(session, user_id=user_id, now=utcnow())
    audit(session, request, principal, "user.disable", user.id, object_type="user")
    session.commit()
    return UserRead.model_validate(user)


@router.put(
    "/users/{user_id}/role",
    tags=["admin"],
    summary="Change a user's role",
    response_model=UserRead,
    responses=problem_responses(400, 401, 403, 404, 422),
)
def change_role(
    user_id: uuid.UUID,
    data: RoleChange,
    request: Request,
    session: SessionDep,
    principal: UserAdmin,
) -> UserRead:
    """A permission change; recorded in the audit trail with the old and new role."""
    before = _own_user(session, principal, user_id).role
    user = auth_service.set_role(session, user_id=user_id, role=data.role)
    audit(
        session,
        request,
        principal,
        "user.role_change",
        user.id,
        {"from": before, "to": user.role},
        object_type="user",
    )
    session.commit()
    return UserRead.model_validate(user)


# --- API keys --------------------------------------------------------------------------------


@router.get(
    "/keys",
    tags=["admin"],
    summary="List your organisation's API keys",
    response_model=list[KeyRead],
    responses=problem_responses(401, 403),
)
def list_keys(session: SessionDep, principal: KeyAdmin) -> list[KeyRead]:
    return [
        KeyRead.model_validate(k)
        for k in auth_service.list_api_keys(session, org_id=principal.org_id)
    ]


@router.post(
    "/keys",
    tags=["admin"],
    summary="Create an API key",
    status_code=201,
    response_model=KeyCreated,
    responses=problem_responses(400, 401, 403, 422),
)
def create_key(
    data: KeyCreate, request: Request, session: SessionDep, principal: KeyAdmin
) -> KeyCreated:
    """The response holds the key once; only its hash is stored."""
    expires = utcnow() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    key, plain = auth_service.create_api_key(
        session,
        org_id=principal.org_id,
        name=data.name,
        role=data.role,
        scopes=data.scopes,
        expires_at=expires,
        created_by=principal.user_id,
    )
    audit(session, request, principal, "key.create", key.id, {"role": key.role}, object_type="key")
    session.commit()
    return KeyCreated(**KeyRead.model_validate(key).model_dump(), key=plain)


@router.delete(
    "/keys/{key_id}",
    tags=["admin"],
    summary="Revoke an API key",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def revoke_key(
    key_id: uuid.UUID, request: Request, session: SessionDep, principal: KeyAdmin
) -> Response:
    key = auth_service.get_api_key(session, key_id=key_id)
    if key.org_id != principal.org_id:
        msg = f"API key {key_id} does not exist in your organisation"
        raise NotFound(msg)
    auth_service.revoke_api_key(session, key_id=key_id, now=utcnow())
    audit(session, request, principal, "key.revoke", key_id, object_type="key")
    session.commit()
    return Response(status_code=204)


# --- sharing groups --------------------------------------------------------------------------


def _group_read(session: SessionDep, principal: Principal, group_id: uuid.UUID) -> GroupRead:
    group = groups_service.get_sharing_group(session, group_id=group_id)
    members = auth_service.group_members(session, group_id=group_id)
    if principal.org_id not in members and group.owner_org_id != principal.org_id:
        msg = f"sharing group {group_id} does not exist or you are not a member"
        raise NotFound(msg)
    show = not group.hidden_membership or group.owner_org_id == principal.org_id
    return GroupRead(
        id=group.id,
        name=group.name,
        owner_org_id=group.owner_org_id,
        hidden_membership=group.hidden_membership,
        members=members if show else None,
    )


@router.get(
    "/sharing-groups",
    tags=["sharing"],
    summary="Your sharing groups",
    response_model=list[GroupRead],
    responses=problem_responses(401, 403),
)
def list_groups(session: SessionDep, principal: OrgReader) -> list[GroupRead]:
    ids = auth_service.groups_of_org(session, org_id=principal.org_id)
    return [_group_read(session, principal, gid) for gid in ids]


@router.post(
    "/sharing-groups",
    tags=["sharing"],
    summary="Create a sharing group",
    status_code=201,
    response_model=GroupRead,
    responses=problem_responses(400, 401, 403, 409, 422),
)
def create_group(
    data: GroupCreate, request: Request, session: SessionDep, principal: SharingAdmin
) -> GroupRead:
    """Your organisation owns the group and is its first member."""
    group = auth_service.create_sharing_group(
        session,
        name=data.name,
        owner_org_id=principal.org_id,
        hidden_membership=data.hidden_membership,
    )
    audit(
        session, request, principal, "sharing.group_create", group.id, object_type="sharing_group"
    )
    body = _group_read(session, principal, group.id)
    session.commit()
    return body


@router.post(
    "/sharing-groups/{group_id}/members",
    tags=["sharing"],
    summary="Add an organisation",
    response_model=GroupRead,
    responses=problem_responses(400, 401, 403, 404, 422),
)
def add_member(
    group_id: uuid.UUID,
    data: GroupMember,
    request: Request,
    session: SessionDep,
    principal: SharingAdmin,
) -> GroupRead:
    """Only the owning organisation changes membership. A group your organisation is not in
    is reported as not found, as everywhere else (its existence is not revealed)."""
    _group_read(session, principal, group_id)  # 404 unless a member or the owner
    group = groups_service.get_sharing_group(session, group_id=group_id)
    if group.owner_org_id != principal.org_id:
        msg = "only the organisation that owns a sharing group may change its members"
        raise PermissionDenied(msg)
    auth_service.get_org(session, org_id=data.org_id)
    auth_service.add_group_member(session, group_id=group_id, org_id=data.org_id)
    audit(
        session,
        request,
        principal,
        "sharing.member_add",
        group_id,
        {"org": str(data.org_id)},
        object_type="sharing_group",
    )
    body = _group_read(session, principal, group_id)
    session.commit()
    return body


# --- audit -----------------------------------------------------------------------------------


@router.get(
    "/audit",
    tags=["admin"],
    summary="Query the audit trail",
    response_model=list[AuditRead],
    responses=problem_responses(401, 403, 422),
)
def query_audit(
    session: SessionDep,
    principal: AuditReader,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[IsoDateTime | None, Query()] = None,
    until: Annotated[IsoDateTime | None, Query()] = None,
    after_id: Annotated[int | None, Query(ge=0, le=AUDIT_ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRead]:
    """Entries of your organisation, oldest first; page with `after_id`."""
    rows = audit_log.query(
        session,
        actor=actor,
        action=action,
        org_id=principal.org_id,
        since=since,
        until=until,
        limit=limit,
        after_id=after_id,
    )
    return [AuditRead.model_validate(r) for r in rows]


@router.get(
    "/audit/verify",
    tags=["admin"],
    summary="Verify the audit hash chain",
    response_model=AuditCheck,
    responses=problem_responses(401, 403),
)
def verify_audit(session: SessionDep, _principal: AuditReader) -> AuditCheck:
    """Walks the whole chain and reports the first broken link, if any."""
    result = audit_log.verify(session)
    return AuditCheck(
        ok=result.ok,
        checked=result.checked,
        first_broken_id=result.first_broken_id,
        reason=result.reason,
    )
