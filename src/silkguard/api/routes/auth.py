"""``/api/v1/auth``: log in (JWT access + refresh token), refresh, log out, who am I."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from silkguard.api.audit import audit
from silkguard.api.deps import CurrentPrincipal, SessionDep, SettingsDep
from silkguard.api.problems import problem_responses
from silkguard.auth import service as auth_service
from silkguard.auth.models import Organisation, User
from silkguard.auth.roles import ROLE_PERMISSIONS, Role
from silkguard.auth.tokens import create_access_token
from silkguard.core.clock import utcnow
from silkguard.core.errors import RateLimited, SilkguardError

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=64, examples=["analyst.dasu"])]
    password: Annotated[
        str, Field(min_length=1, max_length=1024, examples=["correct horse battery"])
    ]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class TokenPair(BaseModel):
    access_token: str
    token_type: str = Field(default="bearer", examples=["bearer"])
    expires_in: int = Field(description="Seconds the access token is valid.", examples=[900])
    refresh_token: str = Field(description="Trade it at /auth/refresh; single use.")


class Me(BaseModel):
    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    org_id: uuid.UUID
    role: Role
    permissions: list[str]
    org_slug: str = Field(
        description="Your organisation's short name (its tip line is /tip/<slug>)"
    )
    username: str | None = Field(default=None, description="Your user name (none for an API key)")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _pair(settings: SettingsDep, session: SessionDep, user: User) -> TokenPair:
    now = utcnow()
    access = create_access_token(
        user_id=user.id,
        org_id=user.org_id,
        role=Role(user.role),
        secret=settings.secret_key,
        ttl_s=settings.access_token_ttl_s,
        now=now,
    )
    refresh = auth_service.issue_refresh_token(
        session, user=user, now=now, ttl_s=settings.refresh_token_ttl_s
    )
    return TokenPair(
        access_token=access, expires_in=settings.access_token_ttl_s, refresh_token=refresh
    )


@router.post(
    "/login",
    summary="Log in",
    response_model=TokenPair,
    responses=problem_responses(400, 401, 422, 429),
)
def login(
    data: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    """A short-lived access token and a single-use refresh token. Repeated failures lock the
    account for a while; many attempts from one client are refused with 429."""
    limiter = request.app.state.login_limiter
    now = utcnow()
    key = f"{_client(request)}|{data.username.strip().lower()}"
    if not limiter.hit(key, now.timestamp()):
        wait_s = limiter.retry_after(key, now.timestamp())
        msg = f"too many login attempts from this client; try again in {wait_s:.0f} s"
        raise RateLimited(msg, retry_after_s=wait_s)
    rid = getattr(request.state, "request_id", None)
    try:
        user = auth_service.authenticate(
            session,
            username=data.username,
            password=data.password,
            now=now,
            max_failures=settings.login_max_failures,
            lockout_s=settings.login_lockout_s,
            request_id=rid,
        )
    except SilkguardError:
        session.commit()  # failures and lockouts are recorded even though the login fails
        raise
    pair = _pair(settings, session, user)
    session.commit()
    return pair


@router.post(
    "/refresh",
    summary="Trade a refresh token for new tokens",
    response_model=TokenPair,
    responses=problem_responses(400, 401, 422),
)
def refresh(
    data: RefreshRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    """The old refresh token stops working. Presenting a used one again revokes its family."""
    try:
        user, new_refresh = auth_service.rotate_refresh_token(
            session,
            token=data.refresh_token,
            now=utcnow(),
            ttl_s=settings.refresh_token_ttl_s,
            request_id=getattr(request.state, "request_id", None),
        )
    except SilkguardError:
        session.commit()  # a reuse revokes the family; keep that
        raise
    access = create_access_token(
        user_id=user.id,
        org_id=user.org_id,
        role=Role(user.role),
        secret=settings.secret_key,
        ttl_s=settings.access_token_ttl_s,
        now=utcnow(),
    )
    session.commit()
    return TokenPair(
        access_token=access, expires_in=settings.access_token_ttl_s, refresh_token=new_refresh
    )


@router.post(
    "/logout",
    summary="Revoke a refresh token",
    status_code=204,
    responses=problem_responses(400, 401, 422),
)
def logout(
    data: RefreshRequest, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Access tokens expire by themselves within minutes."""
    auth_service.revoke_refresh_token(session, token=data.refresh_token, now=utcnow())
    audit(session, request, principal, "auth.logout", principal.user_id, object_type="user")
    session.commit()
    return Response(status_code=204)


@router.get("/me", summary="Who am I", response_model=Me, responses=problem_responses(401))
def me(principal: CurrentPrincipal, session: SessionDep) -> Me:
    """The caller's organisation, role and permissions."""
    org = session.get(Organisation, principal.org_id)
    user = session.get(User, principal.user_id) if principal.user_id else None
    perms = sorted(p.value for p in ROLE_PERMISSIONS[Role(principal.role)])
    if principal.scopes:
        perms = [p for p in perms if p in principal.scopes]
    return Me(
        user_id=principal.user_id,
        api_key_id=principal.api_key_id,
        org_id=principal.org_id,
        role=Role(principal.role),
        permissions=perms,
        org_slug=org.slug if org else "",
        username=user.username if user else None,
    )
