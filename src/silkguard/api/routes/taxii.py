"""TAXII 2.1 server under ``/taxii2/``: discovery, one API root (``/taxii2/api/``), the
caller's collections, objects (GET and POST), manifest, versions and status.

Authentication: ``X-API-Key: <key>``, HTTP Basic with an API key as the password (any user
name; that is how taxii2-client authenticates), or a bearer access token. Every answer, errors
included, is ``application/taxii+json;version=2.1``. Not in the OpenAPI document: TAXII is
its own specification (docs/sharing.md)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from silkguard.api.audit import audit
from silkguard.api.deps import principal_in_session
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import read_only
from silkguard.core.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    SilkguardError,
    Unauthenticated,
)
from silkguard.sharing import taxii
from silkguard.sharing.service import ShareImportReport, require

__all__ = ["TAXII_PREFIX", "router"]

TAXII_PREFIX = "/taxii2"
API_ROOT = "api"
router = APIRouter(prefix=TAXII_PREFIX, include_in_schema=False)
_REALM = 'Basic realm="silkguard TAXII", charset="UTF-8"'


class _TaxiiError(Exception):
    def __init__(self, status: int, title: str, description: str) -> None:
        super().__init__(description)
        self.status, self.title, self.description = status, title, description


def _respond(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=taxii.TAXII_MEDIA_TYPE,
        headers=headers,
    )


def _error(status: int, title: str, description: str) -> Response:
    headers = {"WWW-Authenticate": _REALM} if status == 401 else None
    body = {"title": title, "description": description, "http_status": str(status)}
    return _respond(body, status, headers)


def _media_ok(value: str, *, wildcards: bool) -> bool:
    for item in value.split(","):
        parts = [p.strip() for p in item.split(";")]
        kind = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        version = params.get("version", "2.1").strip().strip('"')
        if kind == "application/taxii+json" and version == "2.1":
            return True
        if wildcards and kind in {"*/*", "application/*"}:
            return True
    return False


def _check_accept(request: Request) -> None:
    accept = request.headers.get("accept", "").strip()
    if accept and not _media_ok(accept, wildcards=True):
        raise _TaxiiError(
            406,
            "Not acceptable",
            f"this server answers in {taxii.TAXII_MEDIA_TYPE}; your Accept header "
            f"({accept!r}) does not allow it",
        )


def _authenticate(request: Request, session: Session) -> Principal:
    key = request.headers.get("x-api-key") or None
    token: str | None = None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and key is None:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            msg = "the Basic credentials are not base64 of user:password; send user:<API key>"
            raise Unauthenticated(msg) from None
        key = decoded.partition(":")[2] or None
        if key is None:
            msg = "HTTP Basic needs an API key as the password (the user name is not used)"
            raise Unauthenticated(msg)
    elif scheme.lower() == "bearer" and value.strip():
        token = value.strip()
    if key is None and token is None:
        msg = (
            "sign in first: send an API key as `X-API-Key: <key>`, or as the password of HTTP "
            "Basic (any user name), or `Authorization: Bearer <access token>`"
        )
        raise Unauthenticated(msg)
    return principal_in_session(request, session, token=token, api_key=key)


def _serve(
    request: Request, handler: Callable[[Session, Principal], Response], *, writes: bool = False
) -> Response:
    """Negotiate, authenticate, run ``handler`` in one unit of work, and turn every error into
    a TAXII error message."""
    session: Session = request.app.state.session_factory()
    try:
        _check_accept(request)
        principal = _authenticate(request, session)
        if not writes:
            read_only(session)  # SQLite: reads neither wait for nor block writers
        response = handler(session, principal)
        session.commit()
        return response
    except _TaxiiError as exc:
        return _error(exc.status, exc.title, exc.description)
    except SilkguardError as exc:
        return _error(exc.http_status, exc.title, exc.msg)
    finally:
        session.rollback()
        session.close()


def _root(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{TAXII_PREFIX}/{API_ROOT}/"


@router.get("/")
def discovery(request: Request) -> Response:
    def handle(_session: Session, _principal: Principal) -> Response:
        return _respond(
            {
                "title": "silkguard TAXII 2.1",
                "description": "Incidents shared under TLP 2.0 by the organisations of this "
                "silkguard platform and their sharing groups.",
                "default": _root(request),
                "api_roots": [_root(request)],
            }
        )

    return _serve(request, handle)


@router.get(f"/{API_ROOT}/")
def api_root(request: Request) -> Response:
    def handle(_session: Session, _principal: Principal) -> Response:
        return _respond(
            {
                "title": "silkguard incidents",
                "description": "One collection per organisation and per sharing group.",
                "versions": [taxii.TAXII_MEDIA_TYPE],
                "max_content_length": int(request.app.state.settings.max_body_bytes),
            }
        )

    return _serve(request, handle)


@router.get(f"/{API_ROOT}/collections/")
def collections(request: Request) -> Response:
    def handle(session: Session, principal: Principal) -> Response:
        found = taxii.collections_for(session, principal)
        return _respond({"collections": [c.to_json() for c in found]})

    return _serve(request, handle)


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/")
def collection(request: Request, collection_id: str) -> Response:
    def handle(session: Session, principal: Principal) -> Response:
        return _respond(taxii.find_collection(session, principal, collection_id).to_json())

    return _serve(request, handle)


def _query(request: Request, *, object_id: str | None = None) -> taxii.ObjectQuery:
    params = request.query_params
    added = params.get("added_after")
    limit_text = params.get("limit")
    try:
        limit = int(limit_text) if limit_text else taxii.DEFAULT_LIMIT
    except ValueError:
        msg = f"limit {limit_text!r} is not a whole number"
        raise InvalidInput(msg) from None
    limit = min(limit, taxii.MAX_LIMIT) if limit > 0 else limit

    def values(name: str) -> frozenset[str]:
        return frozenset(v.strip() for raw in params.getlist(name) for v in raw.split(",") if v)

    ids = values("match[id]")
    if object_id is not None:
        ids = frozenset({object_id})
    versions = values("match[version]") or (
        frozenset({"last"}) if object_id is None else frozenset({"all"})
    )
    return taxii.ObjectQuery(
        added_after=taxii.parse_timestamp(added, what="added_after") if added else None,
        ids=ids,
        types=values("match[type]"),
        versions=versions,
        spec_versions=values("match[spec_version]"),
        limit=limit,
        next=params.get("next") or None,
    )


def _page_headers(page: taxii.Page) -> dict[str, str]:
    headers: dict[str, str] = {}
    if page.first_added is not None and page.last_added is not None:
        headers["X-TAXII-Date-Added-First"] = taxii.format_date_added(page.first_added)
        headers["X-TAXII-Date-Added-Last"] = taxii.format_date_added(page.last_added)
    return headers


def _envelope(page: taxii.Page) -> Response:
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    if page.objects:
        body["objects"] = [obj for obj, _ in page.objects]
    return _respond(body, headers=_page_headers(page))


def _readable(session: Session, principal: Principal, collection_id: str) -> taxii.Collection:
    require(principal, Permission.INCIDENT_READ)
    coll = taxii.find_collection(session, principal, collection_id)
    if not coll.can_read:
        msg = f"you may not read collection {collection_id}"
        raise PermissionDenied(msg)
    return coll


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/")
def get_objects(request: Request, collection_id: str) -> Response:
    def handle(session: Session, principal: Principal) -> Response:
        coll = _readable(session, principal, collection_id)
        page = taxii.objects_page(session, principal, coll, _query(request))
        return _envelope(page)

    return _serve(request, handle)


@router.post(f"/{API_ROOT}/collections/{{collection_id}}/objects/")
async def add_objects(request: Request, collection_id: str) -> Response:
    body = await request.body()

    def handle(session: Session, principal: Principal) -> Response:
        content_type = request.headers.get("content-type", "")
        if not _media_ok(content_type, wildcards=False):
            raise _TaxiiError(
                415,
                "Unsupported media type",
                f"send the envelope as {taxii.TAXII_MEDIA_TYPE} (got {content_type!r})",
            )
        require(principal, Permission.INCIDENT_CREATE)
        coll = taxii.find_collection(session, principal, collection_id)
        if not coll.can_write:
            msg = (
                f"collection {collection_id} is read-only for you; POST to your "
                "organisation's collection"
            )
            raise PermissionDenied(msg)
        try:
            envelope = json.loads(body)
        except ValueError:
            msg = "the body is not JSON; send a TAXII envelope"
            raise InvalidInput(msg) from None
        requested_at = utcnow()
        report, objects = taxii.add_objects(session, principal, envelope)
        status = taxii.status_resource(report, objects, requested_at)
        taxii.save_status(session, principal, coll.id, status)
        audit(
            session,
            request,
            principal,
            "incident.import",
            status["id"],
            _import_detail(report, coll.id),
            object_type="taxii_status",
        )
        return _respond(status, 202)

    return await run_in_threadpool(lambda: _serve(request, handle, writes=True))


def _import_detail(report: ShareImportReport, collection_id: str) -> dict[str, Any]:
    return {
        "via": "taxii",
        "collection": collection_id,
        "new": report.new,
        "merged": report.merged,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.errors),
        "incident_ids": [str(i) for i in report.incident_ids[:1000]],
    }


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/manifest/")
def manifest(request: Request, collection_id: str) -> Response:
    def handle(session: Session, principal: Principal) -> Response:
        coll = _readable(session, principal, collection_id)
        page = taxii.objects_page(session, principal, coll, _query(request))
        body: dict[str, Any] = {"more": page.more}
        if page.next is not None:
            body["next"] = page.next
        if page.objects:
            body["objects"] = [
                {
                    "id": obj["id"],
                    "date_added": taxii.format_date_added(added),
                    "version": taxii.version_of(obj),
                    "media_type": taxii.STIX_MEDIA_TYPE,
                }
                for obj, added in page.objects
            ]
        return _respond(body, headers=_page_headers(page))

    return _serve(request, handle)


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/")
def get_object(request: Request, collection_id: str, object_id: str) -> Response:
    def handle(session: Session, principal: Principal) -> Response:
        coll = _readable(session, principal, collection_id)
        page = taxii.objects_page(session, principal, coll, _query(request, object_id=object_id))
        if not page.objects and not request.query_params.get("next"):
            msg = f"object {object_id} is not in collection {collection_id}"
            raise NotFound(msg)
        return _envelope(page)

    return _serve(request, handle)


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/")
def versions(request: Request, collection_id: str, object_id: str) -> Response:
    def handle(session: Session, principal: Principal) -> Response:
        coll = _readable(session, principal, collection_id)
        found = taxii.object_versions(session, principal, coll, object_id)
        page = taxii.Page(objects=found)
        body = {"more": False, "versions": [taxii.version_of(obj) for obj, _ in found]}
        return _respond(body, headers=_page_headers(page))

    return _serve(request, handle)


@router.get(f"/{API_ROOT}/status/{{status_id}}/")
def status(request: Request, status_id: str) -> Response:
    def handle(session: Session, principal: Principal) -> Response:
        return _respond(taxii.load_status(session, principal, status_id))

    return _serve(request, handle)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(request: Request, rest: str) -> Response:
    """TAXII URLs end in a slash: a path without one is redirected (clients build status URLs
    without it); anything else is a TAXII 404."""
    if rest and not rest.endswith("/"):
        url = request.url.replace(path=f"{request.url.path}/")
        return RedirectResponse(str(url), status_code=307)
    return _error(
        404,
        "Not found",
        f"{TAXII_PREFIX}/{rest} is not a TAXII endpoint of this server; start at "
        f"{TAXII_PREFIX}/ (discovery)",
    )
