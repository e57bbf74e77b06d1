"""Dependencies: the database session of a request, the caller (bearer JWT or API key), and
declarative permission checks. Routes are edges: they commit their own unit of work."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from silkguard.api.callers import CallerCache
from silkguard.auth import service as auth_service
from silkguard.auth.models import ApiKey
from silkguard.auth.roles import Permission, Role, allowed
from silkguard.auth.tokens import decode_access_token
from silkguard.core.access import Principal
from silkguard.core.changes import (
    PRINCIPALS,
    SharedCounterReads,
    current_counters,
    read_counters,
)
from silkguard.core.clock import utcnow
from silkguard.core.db import for_writing, in_read_only_transaction, read_only
from silkguard.core.errors import PermissionDenied, Unauthenticated
from silkguard.core.settings import Settings

__all__ = [
    "CurrentPrincipal",
    "SessionDep",
    "SettingsDep",
    "get_principal",
    "get_session",
    "principal_in_session",
    "reading_session",
    "reject_nul_characters",
    "require",
]

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login")
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key (machines); instead of a bearer token.",
)
_NUL = "\x00"
_NUL_REASON = "text must not contain NUL characters (\\u0000); remove them"


def _nul_path(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(value, str):
        return path if _NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = (*path, key) if _NUL in str(key) else _nul_path(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, (*path, index))
            if found is not None:
                return found
    return None


async def reject_nul_characters(request: Request) -> None:
    """Refuse NUL characters in query parameters and JSON bodies with a 422 naming the field.

    No text field has a use for them, and PostgreSQL cannot store them (in text or JSONB), so
    letting one through would turn a bad request into a server error. Applied to every route."""
    for name, value in request.query_params.multi_items():
        if _NUL in name or _NUL in value:
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": _NUL_REASON, "type": "value_error"}]
            )
    if "json" not in request.headers.get("content-type", "json"):
        return  # forms and uploads are parsed by their route (reading here would consume them)
    body = await request.body()
    if b"\\u0000" not in body:  # a NUL can reach a JSON string only as this escape
        return
    try:
        data = json.loads(body)
    except ValueError:
        return  # not JSON: the route's own body validation answers
    where = _nul_path(data, ("body",))
    if where is not None:
        raise RequestValidationError([{"loc": where, "msg": _NUL_REASON, "type": "value_error"}])


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request; the route commits, anything uncommitted is rolled back
    (a read-only transaction that succeeded is committed, which changes nothing).

    Opened and closed on the event loop, not in the thread pool: the closing ROLLBACK never
    waits for a lock, whereas a thread hop would need a token of the pool the routes run in.
    On SQLite a route that only reads holds the write lock (BEGIN IMMEDIATE) until that
    rollback; when every token was taken by requests waiting for the same lock, the close
    could not run and they all failed with "database is locked" after the busy timeout
    (the dashboard's pages send several requests at once).

    For the same reason a GET or HEAD gets a read-only session (DEFERRED on SQLite): an
    ordinary transaction takes SQLite's write lock and keeps it until the response has been
    serialised, which FastAPI does on another thread of the pool. GET routes that write an
    audit record call core.db.for_writing first and commit before they return."""
    factory = request.app.state.session_factory
    if request.method in ("GET", "HEAD"):
        session: Session = factory(bind=request.app.state.read_engine)
    else:
        session = factory()
    succeeded = False
    try:
        yield session
        succeeded = True
    finally:
        # A read that succeeded ends with COMMIT, not ROLLBACK: psycopg forgets every statement
        # it has prepared on a connection at each ROLLBACK, so the searches (the same text for
        # every box) would never run prepared.
        if succeeded and in_read_only_transaction(session):
            session.commit()
        else:
            session.rollback()
        session.close()


@contextmanager
def reading_session(request: Request) -> Iterator[Session]:
    """A read-only session of the request's own, for a route that opens one only when it
    needs it (on a worker thread); ended as get_session ends one."""
    session: Session = request.app.state.session_factory(bind=request.app.state.read_engine)
    try:
        read_only(session)
        yield session
        session.commit()
    finally:
        session.rollback()
        session.close()


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in
# the thread pool, and each such hop costs more than the work under load.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _key_principal(session: Session, key_text: str, now: datetime) -> tuple[Principal, ApiKey]:
    key = auth_service.verify_api_key(session, key=key_text, now=now)
    principal = Principal(
        org_id=key.org_id,
        role=key.role,
        api_key_id=key.id,
        group_ids=frozenset(auth_service.groups_of_org(session, org_id=key.org_id)),
        scopes=frozenset(key.scopes or []),
    )
    return principal, key


def _from_api_key(
    session: Session, callers: CallerCache, counter: int | None, key_text: str, now: datetime
) -> Principal:
    """The caller of an API key, looked up (``counter``: the principals counter, read
    before)."""
    read_only(session)
    # One transaction for the key and its organisation's groups: the key's last_used_at
    # (written at most once a minute) is committed with the read below.
    try:
        principal, key = _key_principal(session, key_text, now)
        session.commit()
    except OperationalError:
        # SQLite: another writer got in first; the write is retried in an ordinary
        # (IMMEDIATE) transaction, which waits for the lock.
        session.rollback()
        for_writing(session)
        counter = read_counters(session).get(PRINCIPALS)
        principal, key = _key_principal(session, key_text, now)
        session.commit()
    callers.remember_api_key(
        key_text, counter, principal, expires_at=key.expires_at, last_used_at=key.last_used_at
    )
    return principal


def _from_user(
    session: Session, callers: CallerCache, counter: int | None, user_id: uuid.UUID
) -> Principal:
    """The caller of an access token, looked up."""
    read_only(session)
    user = auth_service.get_active_user(session, user_id=user_id)
    principal = Principal(
        org_id=user.org_id,
        role=user.role,
        user_id=user.id,
        group_ids=frozenset(auth_service.groups_of_org(session, org_id=user.org_id)),
    )
    session.commit()
    callers.remember_user(counter, principal)
    return principal


class _Caller:
    """One request's credentials (a bearer token is checked here, without I/O), then the
    caller: remembered, or looked up in the database (``look_up``, on a worker thread)."""

    def __init__(
        self, request: Request, token: str | None, api_key: str | None, now: datetime
    ) -> None:
        if not api_key and token is None:
            msg = "sign in first: send `Authorization: Bearer <access token>` or `X-API-Key: <key>`"
            raise Unauthenticated(msg)
        self.callers: CallerCache = request.app.state.callers
        self.api_key = api_key
        self.now = now
        self.user_id: uuid.UUID | None = None
        if not api_key:
            settings: Settings = request.app.state.settings
            claims = decode_access_token(token or "", secret=settings.secret_key, now=now)
            self.user_id = claims.user_id

    def remembered(self, counter: int | None) -> Principal | None:
        if self.api_key:
            return self.callers.api_key(self.api_key, counter, self.now)
        assert self.user_id is not None
        return self.callers.user(self.user_id, counter)

    def look_up(self, session: Session, counter: int | None) -> Principal:
        """``counter``: the principals counter, read before."""
        if self.api_key:
            return _from_api_key(session, self.callers, counter, self.api_key, self.now)
        assert self.user_id is not None
        return _from_user(session, self.callers, counter, self.user_id)


def _found(request: Request, counters: dict[str, int], principal: Principal) -> Principal:
    # for the map search (incidents.mapindex): the counters as of this request
    request.state.counters = counters
    request.state.principal = principal
    return principal


def _look_up_apart(request: Request, caller: _Caller, counter: int | None) -> Principal:
    """A lookup in a session of its own: it ends its transaction, and its connection is back
    in the pool before the route runs (the route opens its own session, read-only for GET
    and HEAD, see get_session, so a write in it never runs on this snapshot)."""
    session: Session = request.app.state.session_factory()
    try:
        return caller.look_up(session, counter)
    finally:
        session.rollback()
        session.close()


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    x_api_key: Annotated[str | None, Depends(_api_key)] = None,
) -> Principal:
    """The caller, from ``Authorization: Bearer <jwt>`` or ``X-API-Key: <key>``.

    Callers found by an earlier request are remembered while the ``principals`` change
    counter stays the same (api.callers): the counters are read first, in a reading that
    began after this request arrived and that concurrent requests share
    (core.changes.SharedCounterReads). A remembered caller needs nothing else, and this runs
    on the event loop; a lookup (which writes last_used_at at most once a minute per key)
    runs on a worker thread. The counters are read before any lookup, so what is
    remembered is never older than the counter it is tagged with."""
    token = credentials.credentials if credentials is not None else None
    caller = _Caller(request, token, x_api_key, utcnow())
    reads: SharedCounterReads = request.app.state.counter_reads
    counters = await reads.get()
    counter = counters.get(PRINCIPALS)
    principal = caller.remembered(counter)
    if principal is None:
        principal = await run_in_threadpool(_look_up_apart, request, caller, counter)
    return _found(request, counters, principal)


def principal_in_session(
    request: Request, session: Session, *, token: str | None, api_key: str | None
) -> Principal:
    """get_principal for code that runs on a worker thread with a session of its own (the
    TAXII server): the counters are read here, a lookup uses ``session`` (and ends its
    transaction)."""
    caller = _Caller(request, token, api_key, utcnow())
    counters = current_counters(request.app.state.autocommit_engine)
    counter = counters.get(PRINCIPALS)
    principal = caller.remembered(counter) or caller.look_up(session, counter)
    return _found(request, counters, principal)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the request through only with ``permission``."""

    async def check(principal: CurrentPrincipal) -> Principal:
        role_ok = allowed(Role(principal.role), permission)
        scope_ok = (
            principal.scopes is None or not principal.scopes or permission.value in principal.scopes
        )
        if not (role_ok and scope_ok):
            msg = (
                f"the role {principal.role!r} may not {permission.value}; ask an administrator "
                "of your organisation for a role that allows it"
            )
            raise PermissionDenied(msg)
        return principal

    check.__name__ = f"require_{permission.name.lower()}"
    return check


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or uuid.uuid4())
