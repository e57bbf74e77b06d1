"""Pulling from partners' TAXII 2.1 servers: an organisation subscribes to a remote
collection, and a scheduled job (``sharing.pull``) pages through what was added since the last
pull with the real ``taxii2-client`` library and imports it as draft incidents with provenance.

The bookmark is the remote server's ``X-TAXII-Date-Added-Last`` header of each page, kept only
once the page is stored: a pull that fails part-way leaves the store and the bookmark as they
were, and the next pull starts again from the same place. Credentials for the remote server
are stored encrypted (Fernet) with a key derived from the instance's secret key."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from taxii2client.v21 import Collection, as_pages

from silkguard.auth import audit
from silkguard.auth.groups import groups_of_org
from silkguard.auth.models import User
from silkguard.auth.roles import Permission, Role, allowed
from silkguard.core.access import Principal
from silkguard.core.db import session_scope
from silkguard.core.errors import Conflict, InvalidInput, NotFound, SilkguardError
from silkguard.sharing.models import TaxiiSubscription
from silkguard.sharing.service import import_bundle

__all__ = [
    "PAGE_SIZE",
    "TIMEOUT_SECONDS",
    "PullFailed",
    "PullReport",
    "due_subscriptions",
    "get_subscription",
    "list_subscriptions",
    "pull",
    "pull_and_record",
    "record_failure",
    "subscribe",
    "unsubscribe",
]

PAGE_SIZE = 1000
TIMEOUT_SECONDS = 30.0  # connect and read, per request
MAX_BACKOFF = 16  # a failing subscription waits at most this many intervals
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_INFO = b"silkguard taxii subscription credentials v1"


class PullFailed(SilkguardError):
    """The remote server could not be reached, refused us, or sent something that is not a
    TAXII envelope. Nothing of the failed pull was stored."""

    http_status = 502
    title = "The remote TAXII server failed"


@dataclass
class PullReport:
    """What one pull of one subscription stored."""

    pages: int = 0
    objects: int = 0
    new: int = 0
    merged: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    ignored: int = 0
    added_after: str | None = None
    errors: list[str] = field(default_factory=list)

    def summary_line(self) -> str:
        return (
            f"{self.objects} objects in {self.pages} pages: {self.new} new draft incidents, "
            f"{self.merged} merged, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.rejected} invalid objects rejected, {self.ignored} not stored; "
            f"next pull asks for objects added after {self.added_after or '(the beginning)'}"
        )


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _check_url(url: str) -> str:
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = f"{url!r} is not an http(s) URL of a TAXII collection"
        raise InvalidInput(msg, field="url")
    if not text.endswith("/"):
        text += "/"
    if "/collections/" not in parts.path:
        msg = (
            f"{url!r} is not a collection URL; give the full URL of the remote collection, "
            "…/<api-root>/collections/<collection id>/ (the partner's `silkguard share "
            "collections` lists the ids)"
        )
        raise InvalidInput(msg, field="url")
    return text


def _importer(session: Session, user: User) -> Principal:
    if not user.is_active:
        msg = f"user {user.username!r} is disabled; pulls must run as an active user"
        raise InvalidInput(msg, field="run_as")
    if not allowed(Role(user.role), Permission.INCIDENT_CREATE):
        msg = (
            f"user {user.username!r} is a {user.role}, who may not create incidents; pulls "
            "must run as an analyst or administrator"
        )
        raise InvalidInput(msg, field="run_as")
    return Principal(
        org_id=user.org_id,
        role=user.role,
        user_id=user.id,
        group_ids=frozenset(groups_of_org(session, org_id=user.org_id)),
    )


def subscribe(
    session: Session,
    *,
    run_as: User,
    name: str,
    url: str,
    credential: str,
    secret_key: str,
    username: str = "",
    interval_minutes: int = 15,
    replace: bool = False,
) -> TaxiiSubscription:
    """Subscribe ``run_as``'s organisation to a remote collection (imports run as
    ``run_as``). ``credential`` is the API key (or password, with ``username``) that the
    remote server issued to us. With ``replace`` an existing subscription of that name gets
    the new URL and credential and keeps its bookmark only if the URL is unchanged."""
    clean = name.strip().lower()
    if not _NAME.match(clean):
        msg = (
            f"subscription name {name!r} must be 1-64 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
        raise InvalidInput(msg, field="name")
    target = _check_url(url)
    if not credential.strip():
        msg = "the credential for the remote server is empty; give the API key it issued to you"
        raise InvalidInput(msg, field="credential")
    if not 1 <= interval_minutes <= 7 * 24 * 60:
        msg = f"interval {interval_minutes} minutes is out of range; use 1 to 10080 (a week)"
        raise InvalidInput(msg, field="interval_minutes")
    _importer(session, run_as)
    token = _fernet(secret_key).encrypt(credential.strip().encode("utf-8")).decode("ascii")
    found = session.execute(
        select(TaxiiSubscription).where(
            TaxiiSubscription.org_id == run_as.org_id, TaxiiSubscription.name == clean
        )
    ).scalar_one_or_none()
    if found is not None and not replace:
        msg = f"a subscription named {clean!r} exists already; choose another name or replace it"
        raise Conflict(msg)
    if found is None:
        found = TaxiiSubscription(org_id=run_as.org_id, name=clean, added_after=None)
        session.add(found)
    elif found.url != target:
        found.added_after = None
    found.url, found.username, found.secret = target, username.strip(), token
    found.run_as, found.interval_minutes = run_as.id, interval_minutes
    found.enabled, found.failures, found.last_outcome = True, 0, ""
    session.flush()
    return found


def get_subscription(session: Session, *, org_id: uuid.UUID, name: str) -> TaxiiSubscription:
    found = session.execute(
        select(TaxiiSubscription).where(
            TaxiiSubscription.org_id == org_id, TaxiiSubscription.name == name.strip().lower()
        )
    ).scalar_one_or_none()
    if found is None:
        msg = f"your organisation has no TAXII subscription named {name!r}"
        raise NotFound(msg)
    return found


def list_subscriptions(session: Session, *, org_id: uuid.UUID) -> list[TaxiiSubscription]:
    stmt = (
        select(TaxiiSubscription)
        .where(TaxiiSubscription.org_id == org_id)
        .order_by(TaxiiSubscription.name)
    )
    return list(session.execute(stmt).scalars())


def unsubscribe(session: Session, *, org_id: uuid.UUID, name: str) -> None:
    """Stop pulling (what was imported stays, as drafts or reviewed incidents)."""
    session.delete(get_subscription(session, org_id=org_id, name=name))
    session.flush()


def due_subscriptions(session: Session, *, now: datetime) -> list[uuid.UUID]:
    """The enabled subscriptions whose next pull is due: ``interval_minutes`` after the last
    one, doubled for every failure in a row (at most :data:`MAX_BACKOFF` intervals)."""
    due = []
    for sub in session.execute(
        select(TaxiiSubscription).where(TaxiiSubscription.enabled.is_(True))
    ).scalars():
        wait = timedelta(minutes=sub.interval_minutes) * min(2**sub.failures, MAX_BACKOFF)
        if sub.last_polled_at is None or sub.last_polled_at + wait <= now:
            due.append(sub.id)
    return due


class _TimeoutAdapter(HTTPAdapter):
    """Every request of the pull gets a timeout (taxii2-client sets none)."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(
            request,
            stream=stream,
            timeout=TIMEOUT_SECONDS if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


class _Credentials(AuthBase):
    """Signs each request (``X-API-Key``, or HTTP Basic with a user name) and notes the
    ``X-TAXII-Date-Added-Last`` of each response, which taxii2-client does not return."""

    def __init__(self, username: str, credential: str) -> None:
        self.username = username
        self.credential = credential
        self.last_added: str | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.username:
            pair = f"{self.username}:{self.credential}".encode()
            request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            request.headers["X-API-Key"] = self.credential
        request.register_hook("response", self._note)  # type: ignore[no-untyped-call]
        return request

    def _note(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self.last_added = response.headers.get("X-TAXII-Date-Added-Last") or None


Pages = Iterator[tuple[list[Any], str | None]]
Fetch = Callable[[TaxiiSubscription, str], Pages]


def _remote_pages(sub: TaxiiSubscription, credential: str) -> Pages:
    """Pages of (objects, the page's X-TAXII-Date-Added-Last) added after the bookmark."""
    auth = _Credentials(sub.username, credential)
    collection = Collection(sub.url, auth=auth)
    # taxii2-client keeps its requests session on the connection; give it timeouts
    collection._conn.session.mount("http://", _TimeoutAdapter())
    collection._conn.session.mount("https://", _TimeoutAdapter())
    filters: dict[str, Any] = {}
    if sub.added_after:
        filters["added_after"] = sub.added_after
    for envelope in as_pages(collection.get_objects, per_request=PAGE_SIZE, **filters):
        if not isinstance(envelope, Mapping):
            msg = f"{sub.url} sent a page that is not a TAXII envelope"
            raise PullFailed(msg)
        objects = envelope.get("objects") or []
        if not isinstance(objects, list):
            msg = f"{sub.url} sent an envelope whose 'objects' is not a list"
            raise PullFailed(msg)
        yield objects, auth.last_added


def _describe(exc: Exception, url: str) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        hint = {
            401: "the remote server does not accept our credential; ask the partner for a "
            "new API key and replace the subscription",
            403: "the remote server refuses us this collection; ask the partner to grant it",
            404: "the remote collection does not exist (or is not visible to us); check the URL",
        }.get(code, "see the remote server's logs")
        return f"{url}: HTTP {code} ({hint})"
    if isinstance(exc, requests.Timeout):
        return f"{url}: no answer within {TIMEOUT_SECONDS:.0f} s"
    if isinstance(exc, requests.ConnectionError):
        return f"{url}: cannot connect ({type(exc).__name__}); is the server up and reachable?"
    return f"{url}: {type(exc).__name__}: {exc}"


def pull(
    session: Session,
    subscription_id: uuid.UUID,
    *,
    secret_key: str,
    now: datetime,
    fetch: Fetch | None = None,
) -> PullReport:
    """Pull everything added to the subscription's collection since its bookmark and import
    it as draft incidents of the subscribing organisation (each source record notes the
    subscription, collection and time). Flushes; the caller commits, or rolls back on
    :class:`PullFailed` and records the failure with :func:`record_failure`."""
    # Write first: the row lock (PostgreSQL) or the write lock (SQLite) makes a second pull of
    # the same subscription (the schedule and `silkguard share pull` at once) wait for this one
    # and then read its bookmark, instead of importing the same pages twice.
    session.execute(
        update(TaxiiSubscription)
        .where(TaxiiSubscription.id == subscription_id)
        .values(last_polled_at=now)
    )
    sub = session.get(TaxiiSubscription, subscription_id, populate_existing=True)
    if sub is None:
        msg = f"no TAXII subscription has id {subscription_id}"
        raise NotFound(msg)
    user = session.get(User, sub.run_as)
    if user is None:  # pragma: no cover - the foreign key cascades
        msg = f"subscription {sub.name!r} runs as a user who no longer exists"
        raise InvalidInput(msg)
    principal = _importer(session, user)
    try:
        credential = _fernet(secret_key).decrypt(sub.secret.encode("ascii")).decode("utf-8")
    except InvalidToken:
        msg = (
            f"the stored credential of subscription {sub.name!r} cannot be decrypted with this "
            "instance's SILKGUARD_SECRET_KEY (was the key changed?); subscribe again with "
            "--replace and the credential"
        )
        raise PullFailed(msg) from None
    report = PullReport(added_after=sub.added_after)
    received = {"via": "taxii", "subscription": sub.name, "collection": sub.url}
    pages = (fetch or _remote_pages)(sub, credential)
    try:
        for objects, last_added in pages:
            report.pages += 1
            report.objects += len(objects)
            if objects:
                bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
                stored = import_bundle(
                    session,
                    principal=principal,
                    data=bundle,
                    skip_bad=True,
                    received={**received, "pulled_at": now.isoformat()},
                )
                report.new += stored.new
                report.merged += stored.merged
                report.updated += stored.updated
                report.unchanged += stored.unchanged
                report.rejected += len(stored.errors)
                report.ignored += len(stored.ignored)
                report.errors.extend(e.describe() for e in stored.errors[:20])
            if last_added:
                report.added_after = last_added
    except (requests.RequestException, ValueError) as exc:
        raise PullFailed(_describe(exc, sub.url)) from exc
    sub.added_after = report.added_after
    sub.last_polled_at = now
    sub.failures = 0
    sub.last_outcome = "ok: " + report.summary_line()
    session.flush()
    return report


def record_failure(
    session: Session, subscription_id: uuid.UUID, *, message: str, now: datetime
) -> None:
    """Note a failed pull (in a fresh unit of work: the failed one was rolled back)."""
    sub = session.get(TaxiiSubscription, subscription_id)
    if sub is None:
        return
    sub.last_polled_at = now
    sub.failures += 1
    sub.last_outcome = f"failed: {message}"
    session.flush()


def pull_and_record(
    factory: sessionmaker[Session],
    subscription_id: uuid.UUID,
    *,
    secret_key: str,
    now: datetime,
    fetch: Fetch | None = None,
    actor: str = "system",
) -> PullReport:
    """One pull in its own unit of work, audited as ``actor`` (the schedule is ``system``); a
    failure is rolled back, recorded on the subscription (which then backs off) and raised
    again."""
    try:
        with session_scope(factory) as session:
            report = pull(session, subscription_id, secret_key=secret_key, now=now, fetch=fetch)
            sub = session.get_one(TaxiiSubscription, subscription_id)
            audit.record(
                session,
                action="incident.import",
                actor=actor,
                org_id=sub.org_id,
                object_type="taxii_subscription",
                object_id=sub.id,
                detail={
                    "via": "taxii-pull",
                    "subscription": sub.name,
                    "collection": sub.url,
                    "pages": report.pages,
                    "new": report.new,
                    "merged": report.merged,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "rejected": report.rejected,
                },
                now=now,
            )
            return report
    except SilkguardError as exc:
        with session_scope(factory) as session:
            record_failure(session, subscription_id, message=exc.msg, now=now)
        raise
