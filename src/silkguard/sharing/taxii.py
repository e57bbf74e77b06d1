"""TAXII 2.1 on the store: the caller's collections, pages of STIX objects with the TAXII
filters and ``next`` cursors, manifests, versions, and status resources of POSTs (kept in the
database). The HTTP edge is :mod:`silkguard.api.routes.taxii`; docs/sharing.md describes the server.

A collection serves incidents. Each incident is one *unit* of objects (the incident, its
location, threat actor, relationships and the reporting organisation), all with the
incident's ``updated_at`` as ``date_added``. One more unit holds the objects every bundle
needs (the TLP 2.0 marking definitions, silkguard's extension definition and system
identity), dated :data:`COMMON_DATE_ADDED`. Units are ordered by (date added, id) and a
``next`` cursor names a position inside a unit, so ``limit`` counts objects exactly."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from silkguard.auth.models import Organisation, SharingGroup, SharingGroupMember
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, NotFound, PermissionDenied
from silkguard.core.tlp import TLP
from silkguard.incidents import sightings as sightings_service
from silkguard.incidents.models import Incident
from silkguard.incidents.sightings import SightingTotal
from silkguard.sharing.extension import NAMESPACE, extension_definition, system_identity
from silkguard.sharing.model import ShareableIncident
from silkguard.sharing.models import TaxiiStatus
from silkguard.sharing.service import (
    OrgRefs,
    ShareImportReport,
    group_condition,
    import_bundle,
    org_condition,
    require,
    to_shareable,
)
from silkguard.sharing.sightings import aggregated_object
from silkguard.sharing.stix_export import export_bundle, incident_objects, organisation_stix_id
from silkguard.sharing.tlp import marking_definition

__all__ = [
    "COMMON_DATE_ADDED",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "STATUS_DAYS",
    "STIX_MEDIA_TYPE",
    "TAXII_MEDIA_TYPE",
    "Collection",
    "ObjectQuery",
    "Page",
    "add_objects",
    "collections_for",
    "find_collection",
    "format_date_added",
    "load_status",
    "object_versions",
    "objects_page",
    "parse_timestamp",
    "save_status",
    "status_resource",
]

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
# date_added of the objects every collection carries (the TLP 2.0 markings' publication)
COMMON_DATE_ADDED = datetime(2022, 10, 1, tzinfo=UTC)
_COMMON_KEY = uuid.UUID(int=0)
# rows read per query: a page of `limit` objects reads limit // 4 + 2 rows at once (a unit
# holds 3 to 6 objects, so that is usually all the page needs), within these bounds
_CHUNK_MIN = 50
_CHUNK_MAX = 2_500
_VERSION_WORDS = frozenset({"last", "first", "all"})


@dataclass(frozen=True, slots=True)
class Collection:
    """A TAXII collection: an organisation's own incidents, or what a sharing group shows."""

    id: str
    title: str
    description: str
    can_read: bool
    can_write: bool
    kind: str  # "organisation" or "group"
    ref: uuid.UUID  # the organisation or sharing group
    hidden: bool = False  # a group that hides its membership

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": self.can_read,
            "can_write": self.can_write,
            "media_types": [STIX_MEDIA_TYPE],
        }


def _collection_id(kind: str, ref: uuid.UUID) -> str:
    return str(uuid.uuid5(NAMESPACE, f"taxii:{kind}:{ref}"))


def _may(principal: Principal, permission: Permission) -> bool:
    try:
        require(principal, permission)
    except PermissionDenied:
        return False
    return True


def collections_for(session: Session, principal: Principal) -> list[Collection]:
    """The caller's organisation's collection (read, and write with ``incident.create``) and
    one read-only collection per sharing group the organisation is a member of."""
    can_read = _may(principal, Permission.INCIDENT_READ)
    org = session.get(Organisation, principal.org_id)
    org_name = org.name if org is not None else str(principal.org_id)
    out = [
        Collection(
            id=_collection_id("org", principal.org_id),
            title=f"{org_name} incidents",
            description=(
                f"Incidents of {org_name} that you may see, drafts included; POST STIX "
                "incidents here to store them as drafts of your organisation."
            ),
            can_read=can_read,
            can_write=_may(principal, Permission.INCIDENT_CREATE),
            kind="organisation",
            ref=principal.org_id,
        )
    ]
    groups = session.execute(
        select(SharingGroup.id, SharingGroup.name, SharingGroup.hidden_membership)
        .join(SharingGroupMember, SharingGroupMember.group_id == SharingGroup.id)
        .where(SharingGroupMember.org_id == principal.org_id)
        .order_by(SharingGroup.name, SharingGroup.id)
    )
    for group_id, name, hidden in groups:
        what = (
            f"Confirmed incidents shared with sharing group {name}, its pooled (anonymous) "
            "contributions included."
            if hidden
            else f"Confirmed incidents shared with sharing group {name} (TLP:AMBER), its "
            "pooled (anonymous) contributions, and the TLP:CLEAR and TLP:GREEN incidents of "
            "its members."
        )
        out.append(
            Collection(
                id=_collection_id("group", group_id),
                title=f"{name} (sharing group)",
                description=what,
                can_read=can_read,
                can_write=False,
                kind="group",
                ref=group_id,
                hidden=bool(hidden),
            )
        )
    return out


def find_collection(session: Session, principal: Principal, collection_id: str) -> Collection:
    for coll in collections_for(session, principal):
        if coll.id == collection_id.strip().lower():
            return coll
    msg = (
        f"collection {collection_id} does not exist or is not yours; list yours with "
        "GET /taxii2/api/collections/"
    )
    raise NotFound(msg)


def _condition(principal: Principal, coll: Collection) -> ColumnElement[bool]:
    if coll.kind == "organisation":
        return org_condition(principal)
    return group_condition(principal, coll.ref, hidden_membership=coll.hidden)


def format_date_added(value: datetime) -> str:
    """A TAXII timestamp with microseconds, so a client can pass it back as added_after."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str, *, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        msg = f"{what} {text!r} is not a timestamp; send RFC 3339 in UTC, e.g. 2024-03-26T09:30:00Z"
        raise InvalidInput(msg)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _Position:
    when: datetime
    key: uuid.UUID
    offset: int

    def encode(self) -> str:
        raw = json.dumps([self.when.isoformat(), str(self.key), self.offset]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> _Position:
        try:
            padded = token + "=" * (-len(token) % 4)
            when, key, offset = json.loads(base64.urlsafe_b64decode(padded.encode()))
            moment = datetime.fromisoformat(when)
            if moment.tzinfo is None or not isinstance(offset, int) or offset < 0:
                raise ValueError("not a position")
            return cls(moment.astimezone(UTC), uuid.UUID(key), offset)
        except (ValueError, TypeError, binascii.Error):
            msg = "next is not a value this server issued; pass `next` from the last page as is"
            raise InvalidInput(msg) from None


@dataclass
class ObjectQuery:
    """The TAXII filters of a GET objects or manifest request."""

    added_after: datetime | None = None
    ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset({"last"})
    spec_versions: frozenset[str] = frozenset()
    limit: int = DEFAULT_LIMIT
    next: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            msg = f"limit {self.limit} is out of range; ask for 1 to {MAX_LIMIT} objects"
            raise InvalidInput(msg)
        self._times = frozenset(
            parse_timestamp(v, what="match[version]")
            for v in self.versions
            if v not in _VERSION_WORDS
        )

    def matches(self, obj: dict[str, Any]) -> bool:
        if self.ids and obj["id"] not in self.ids:
            return False
        if self.types and obj["type"] not in self.types:
            return False
        if self.spec_versions and obj.get("spec_version", "2.1") not in self.spec_versions:
            return False
        if self._times and not (self.versions & _VERSION_WORDS):
            return parse_timestamp(version_of(obj), what="version") in self._times
        return True


def version_of(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj["created"])


@dataclass
class Page:
    objects: list[tuple[dict[str, Any], datetime]] = field(default_factory=list)
    more: bool = False
    next: str | None = None

    @property
    def first_added(self) -> datetime | None:
        return self.objects[0][1] if self.objects else None

    @property
    def last_added(self) -> datetime | None:
        return self.objects[-1][1] if self.objects else None


def _common_objects() -> list[dict[str, Any]]:
    objects = [system_identity(), extension_definition()]
    objects += [marking_definition(tlp) for tlp in TLP]
    return sorted(objects, key=lambda o: str(o["id"]))


class _UnitBuilder:
    """The objects of one incident's unit: :func:`incident_objects` plus the reporting
    organisation's identity (built once per organisation). Objects are not run through the
    STIX check here (the exporter's own tests check what the builder writes; ``share export``
    checks every object); a page of 1,000 objects costs half as much without it."""

    def __init__(self) -> None:
        self.identities: dict[uuid.UUID, dict[str, Any]] = {}

    def __call__(
        self, inc: ShareableIncident, seen: SightingTotal | None = None
    ) -> list[dict[str, Any]]:
        objects = incident_objects(inc)
        if seen is not None and seen.count > 0:
            objects.append(aggregated_object(inc, seen))
        org = inc.organisation
        if org is not None:
            if org.id not in self.identities:
                bundle = export_bundle(incidents=[inc], check=False)
                wanted = organisation_stix_id(org.id)
                self.identities[org.id] = next(o for o in bundle["objects"] if o["id"] == wanted)
            objects.append(self.identities[org.id])
        return sorted(objects, key=lambda o: str(o["id"]))


def _units(
    session: Session,
    principal: Principal,
    coll: Collection,
    *,
    start: tuple[datetime, uuid.UUID] | None,
    added_after: datetime | None,
    chunk: int = _CHUNK_MIN,
) -> Iterator[tuple[tuple[datetime, uuid.UUID], list[dict[str, Any]]]]:
    """(position, objects) of every unit of the collection from ``start`` on, in order,
    reading ``chunk`` incidents per query."""
    common_at = (COMMON_DATE_ADDED, _COMMON_KEY)
    pending = (start is None or start <= common_at) and (
        added_after is None or added_after < COMMON_DATE_ADDED
    )
    where = [_condition(principal, coll)]
    if added_after is not None:
        where.append(Incident.updated_at > added_after)
    orgs = OrgRefs(session)
    build = _UnitBuilder()
    last = start
    inclusive = True
    while True:
        stmt = select(Incident).where(*where)
        if last is not None:
            after_same = Incident.id >= last[1] if inclusive else Incident.id > last[1]
            stmt = stmt.where(
                or_(
                    Incident.updated_at > last[0],
                    and_(Incident.updated_at == last[0], after_same),
                )
            )
        stmt = (
            stmt.order_by(Incident.updated_at, Incident.id)
            .limit(chunk)
            .options(selectinload(Incident.sources))
        )
        rows = list(session.execute(stmt).scalars())
        seen = sightings_service.totals(session, [row.id for row in rows])
        for row in rows:
            at = (row.updated_at, row.id)
            if pending and common_at < at:
                pending = False
                yield common_at, _common_objects()
            yield at, build(to_shareable(session, row, orgs=orgs), seen.get(row.id))
        if len(rows) < chunk:
            break
        last, inclusive = (rows[-1].updated_at, rows[-1].id), False
    if pending:
        yield common_at, _common_objects()


def objects_page(
    session: Session, principal: Principal, coll: Collection, query: ObjectQuery
) -> Page:
    """One page of the collection's objects that match ``query``: at most ``limit``, with
    ``more`` and ``next`` when another matching object follows."""
    position = _Position.decode(query.next) if query.next else None
    start = (position.when, position.key) if position is not None else None
    page = Page()
    seen: set[str] = set()
    chunk = min(max(query.limit // 4 + 2, _CHUNK_MIN), _CHUNK_MAX)
    units = _units(
        session, principal, coll, start=start, added_after=query.added_after, chunk=chunk
    )
    for at, objects in units:
        first = position.offset if position is not None and at == start else 0
        for index in range(first, len(objects)):
            obj = objects[index]
            if not query.matches(obj) or obj["id"] in seen:
                continue
            if len(page.objects) == query.limit:
                page.more = True
                page.next = _Position(at[0], at[1], index).encode()
                return page
            seen.add(obj["id"])
            page.objects.append((obj, at[0]))
    return page


def object_versions(
    session: Session, principal: Principal, coll: Collection, object_id: str
) -> list[tuple[dict[str, Any], datetime]]:
    """Every version the collection holds of ``object_id`` (silkguard keeps the current one
    of each object); NotFound if the collection does not hold it."""
    query = ObjectQuery(ids=frozenset({object_id}), versions=frozenset({"all"}), limit=MAX_LIMIT)
    found = objects_page(session, principal, coll, query).objects[:1]
    if not found:
        msg = f"object {object_id} is not in collection {coll.id} (or you may not see it)"
        raise NotFound(msg)
    return found


def add_objects(
    session: Session, principal: Principal, envelope: object
) -> tuple[ShareImportReport, list[dict[str, Any]]]:
    """Import the objects of a TAXII envelope as draft incidents (valid objects only).
    Returns the report and the envelope's objects."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        msg = 'the body must be a TAXII envelope: {"objects": [STIX objects...]}'
        raise InvalidInput(msg)
    objects: list[Any] = envelope["objects"]
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    report = import_bundle(session, principal=principal, data=bundle, skip_bad=True)
    return report, [o for o in objects if isinstance(o, dict)]


STATUS_DAYS = 7  # how long status resources stay readable


def save_status(
    session: Session, principal: Principal, collection_id: str, status: dict[str, Any]
) -> None:
    """Keep the status resource of a POST (readable by the posting organisation for
    ``STATUS_DAYS`` days, from any worker process and after a restart) and drop expired ones."""
    now = utcnow()
    session.execute(
        delete(TaxiiStatus).where(TaxiiStatus.created_at < now - timedelta(days=STATUS_DAYS))
    )
    session.add(
        TaxiiStatus(
            id=status["id"],
            org_id=principal.org_id,
            collection_id=collection_id,
            created_at=now,
            body=status,
        )
    )
    session.flush()


def load_status(session: Session, principal: Principal, status_id: str) -> dict[str, Any]:
    """A status resource of the caller's organisation; another organisation's is not found."""
    found = session.get(TaxiiStatus, status_id.strip().lower())
    if (
        found is None
        or found.org_id != principal.org_id
        or found.created_at < utcnow() - timedelta(days=STATUS_DAYS)
    ):
        msg = (
            f"status {status_id} is unknown here (statuses are kept {STATUS_DAYS} days and "
            "only the organisation that posted may read them)"
        )
        raise NotFound(msg)
    return dict(found.body)


def status_resource(
    report: ShareImportReport, objects: list[dict[str, Any]], requested_at: datetime
) -> dict[str, Any]:
    """The TAXII status of an add-objects request, completed when it is returned."""
    versions = {str(o.get("id")): str(o.get("modified") or o.get("created") or "") for o in objects}
    ignored = set(report.ignored)
    successes = [
        {"id": oid, "version": versions.get(oid, "")}
        for oid in report.accepted
        if oid not in ignored
    ]
    failures = [
        {"id": e.object_id, "version": versions.get(e.object_id, ""), "message": e.reason}
        for e in report.errors
    ] + [
        {
            "id": oid,
            "version": versions.get(oid, ""),
            "message": report.ignored_reasons.get(
                oid, "valid, but silkguard does not store objects of this type"
            ),
        }
        for oid in report.ignored
    ]
    for item in (*successes, *failures):
        if not item["version"]:
            del item["version"]
    return {
        "id": str(uuid.uuid4()),
        "status": "complete",
        "request_timestamp": format_date_added(requested_at),
        "total_count": len(successes) + len(failures),
        "success_count": len(successes),
        "successes": successes,
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    }
