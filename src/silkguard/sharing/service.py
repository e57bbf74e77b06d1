"""STIX sharing on the store: incidents to shareable records (what the caller may see, and
never another organisation's AMBER+STRICT or RED), and bundles into draft incidents of the
caller's organisation with provenance and de-duplication. Services flush; the edge commits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import h3
from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from silkguard.auth.models import Organisation, SharingGroupMember
from silkguard.auth.roles import Permission, Role, allowed
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import PermissionDenied
from silkguard.core.tlp import TLP
from silkguard.geo.cells import cells_for
from silkguard.incidents import service as incidents_service
from silkguard.incidents.dedup import StoredIncident, find_match, max_reach_km, mergeable
from silkguard.incidents.fields import IncidentFields, content_hash
from silkguard.incidents.models import Incident, IncidentShare, SourceRecord
from silkguard.incidents.query import visible
from silkguard.incidents.review import new_draft
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
)
from silkguard.sharing.model import (
    ObjectError,
    OrganisationRef,
    ShareableIncident,
    ShareableSighting,
    SharedSource,
)
from silkguard.sharing.sightings import aggregated_sightings, store_sightings
from silkguard.sharing.stix_export import export_bundle, incident_stix_id
from silkguard.sharing.stix_import import parse_bundle

__all__ = [
    "SHAREABLE_TLPS",
    "OrgRefs",
    "ShareImportReport",
    "export_incidents",
    "group_condition",
    "import_bundle",
    "incident_fields",
    "org_condition",
    "outward_condition",
    "require",
    "shareable_incidents",
    "to_shareable",
]

# Markings that may leave their organisation at all (AMBER only through a sharing group).
SHAREABLE_TLPS = (TLP.CLEAR.value, TLP.GREEN.value, TLP.AMBER.value)
_CLOSED_TLPS = (TLP.AMBER_STRICT.value, TLP.RED.value)
_DEDUP_RES = 4
_CHUNK = 500


def outward_condition(principal: Principal) -> ColumnElement[bool]:
    """Visible to ``principal`` and not another organisation's AMBER+STRICT or RED. The
    visibility rule already hides AMBER+STRICT; a RED incident of another organisation is
    visible to its named recipients, but it is never exported or served over TAXII."""
    return and_(
        visible(principal),
        or_(Incident.tlp.not_in(_CLOSED_TLPS), Incident.org_id == principal.org_id),
    )


def org_condition(principal: Principal) -> ColumnElement[bool]:
    """The incidents of the caller's own organisation that the caller may see."""
    return and_(visible(principal), Incident.org_id == principal.org_id)


def group_condition(
    principal: Principal, group_id: uuid.UUID, *, hidden_membership: bool = False
) -> ColumnElement[bool]:
    """Incidents visible to the caller through sharing group ``group_id``: confirmed, marked
    CLEAR, GREEN or AMBER, and either shared with the group or (CLEAR, GREEN) owned by a
    member organisation. Never AMBER+STRICT or RED, whoever owns them. When the group hides
    its membership, only what was shared with it: the members' own open incidents would
    name the members."""
    shared = exists().where(
        IncidentShare.incident_id == Incident.id, IncidentShare.group_id == group_id
    )
    base = and_(
        visible(principal),
        Incident.status == IncidentStatus.CONFIRMED.value,
        Incident.tlp.in_(SHAREABLE_TLPS),
    )
    if hidden_membership:
        return and_(base, shared)
    member = Incident.org_id.in_(
        select(SharingGroupMember.org_id).where(SharingGroupMember.group_id == group_id)
    )
    return and_(
        base, or_(shared, and_(Incident.tlp.in_((TLP.CLEAR.value, TLP.GREEN.value)), member))
    )


def require(principal: Principal, permission: Permission) -> None:
    """PermissionDenied unless the caller's role (and key scopes) allow ``permission``."""
    role_ok = allowed(Role(principal.role), permission)
    if not role_ok or (principal.scopes and permission.value not in principal.scopes):
        msg = (
            f"the role {principal.role!r} (or this API key's scopes) may not "
            f"{permission.value}; ask an administrator of your organisation for one that does"
        )
        raise PermissionDenied(msg)


class OrgRefs:
    """Organisation references, read once per export."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[uuid.UUID, OrganisationRef | None] = {}

    def get(self, org_id: uuid.UUID | None) -> OrganisationRef | None:
        if org_id is None:
            return None
        if org_id not in self.cache:
            org = self.session.get(Organisation, org_id)
            self.cache[org_id] = (
                None if org is None else OrganisationRef(org.id, org.name, org.created_at)
            )
        return self.cache[org_id]


def _source(record: SourceRecord) -> SharedSource:
    kind = SourceKind(record.source_kind)
    extra: dict[str, Any] = {}
    if kind is SourceKind.STIX and isinstance(record.raw, dict):
        kept = record.raw.get("extra")
        extra = dict(kept) if isinstance(kept, dict) else {}
    return SharedSource(
        kind=kind,
        title=record.source_name,
        url=record.url,
        external_id=record.external_id,
        extra=extra,
    )


def to_shareable(
    session: Session, incident: Incident, *, orgs: OrgRefs | None = None
) -> ShareableIncident:
    """What ``incident`` carries when shared: its merged columns, owning organisation and
    source records (a STIX record keeps the foreign properties it arrived with)."""
    ref = (orgs or OrgRefs(session)).get(incident.org_id)
    return ShareableIncident(
        id=incident.id,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        occurred_at=incident.occurred_at,
        date_precision=DatePrecision(incident.date_precision),
        attack_type=AttackType(incident.attack_type),
        target_type=TargetType(incident.target_type),
        tlp=TLP(incident.tlp),
        status=IncidentStatus(incident.status),
        place=incident.place,
        district=incident.district,
        province=incident.province,
        country=incident.country,
        latitude=incident.latitude,
        longitude=incident.longitude,
        geo_precision=GeoPrecision(incident.geo_precision),
        perpetrator=incident.perpetrator,
        claimed=incident.claimed,
        killed=incident.killed,
        injured=incident.injured,
        killed_foreign=incident.killed_foreign,
        injured_foreign=incident.injured_foreign,
        nationalities=tuple(incident.nationalities or ()),
        on_the_move=incident.on_the_move,
        summary=incident.summary,
        organisation=ref,
        sources=tuple(_source(r) for r in incident.sources),
    )


def shareable_incidents(
    session: Session,
    *,
    condition: ColumnElement[bool],
    since: datetime | None = None,
    include_drafts: bool = False,
) -> Iterator[ShareableIncident]:
    """Every incident matching ``condition`` (updated after ``since``), oldest change first,
    read in chunks with their source records."""
    orgs = OrgRefs(session)
    where = [condition]
    if since is not None:
        where.append(Incident.updated_at > since)
    if not include_drafts:
        where.append(Incident.status == IncidentStatus.CONFIRMED.value)
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt = select(Incident).where(*where)
        if last is not None:
            stmt = stmt.where(
                or_(
                    Incident.updated_at > last[0],
                    and_(Incident.updated_at == last[0], Incident.id > last[1]),
                )
            )
        stmt = (
            stmt.order_by(Incident.updated_at, Incident.id)
            .limit(_CHUNK)
            .options(selectinload(Incident.sources))
        )
        rows = list(session.execute(stmt).scalars())
        for row in rows:
            yield to_shareable(session, row, orgs=orgs)
        if len(rows) < _CHUNK:
            return
        last = (rows[-1].updated_at, rows[-1].id)


def export_incidents(
    session: Session,
    *,
    principal: Principal,
    since: datetime | None = None,
    include_drafts: bool = False,
) -> dict[str, Any]:
    """A STIX bundle of the incidents ``principal`` may see, changed after ``since``; never
    another organisation's AMBER+STRICT or RED. Drafts (only ever the caller's own) only
    with ``include_drafts``. Needs ``incident.export``."""
    require(principal, Permission.INCIDENT_EXPORT)
    exported: list[ShareableIncident] = []

    def incidents() -> Iterator[ShareableIncident]:
        for inc in shareable_incidents(
            session,
            condition=outward_condition(principal),
            since=since,
            include_drafts=include_drafts,
        ):
            exported.append(inc)
            yield inc

    def sightings() -> Iterator[ShareableSighting]:  # read once the incidents are written
        yield from aggregated_sightings(session, exported)

    return export_bundle(incidents=incidents(), sightings=sightings())


@dataclass
class ShareImportReport:
    """What an import stored. ``incident_ids`` are the stored incidents, new or matched."""

    new: int = 0
    merged: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ObjectError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # why an ignored object was not stored, when it is not simply its type
    ignored_reasons: dict[str, str] = field(default_factory=dict)
    accepted: list[str] = field(default_factory=list)  # STIX ids of the valid objects
    incident_ids: list[uuid.UUID] = field(default_factory=list)
    sightings: int = 0  # sightings stored or updated (unchanged ones not counted)

    def summary_line(self) -> str:
        return (
            f"{self.new} new draft incidents, {self.merged} merged into existing incidents, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.sightings} sightings "
            f"stored, {len(self.errors)} invalid objects rejected, {len(self.ignored)} objects "
            "not stored (types silkguard does not store, sightings of unknown incidents)"
        )


def _precision(inc: ShareableIncident) -> GeoPrecision:
    """Without coordinates, a position is known at most to the district."""
    if inc.latitude is not None and inc.longitude is not None:
        return inc.geo_precision
    if inc.geo_precision in {GeoPrecision.EXACT, GeoPrecision.PLACE}:
        return GeoPrecision.COUNTRY
    return inc.geo_precision


def incident_fields(inc: ShareableIncident) -> IncidentFields:
    """The columns an import (or a pooled copy) of ``inc`` gets: its merged view, the first
    source URL, cells for its position, and a precision no finer than what it carries."""
    url = next((s.url for s in inc.sources if s.url), None)
    fields = IncidentFields(
        occurred_at=inc.occurred_at,
        date_precision=inc.date_precision,
        attack_type=inc.attack_type,
        target_type=inc.target_type,
        latitude=inc.latitude,
        longitude=inc.longitude if inc.latitude is not None else None,
        geo_precision=_precision(inc),
        place=inc.place,
        district=inc.district,
        province=inc.province,
        country=inc.country,
        perpetrator=inc.perpetrator,
        claimed=inc.claimed,
        killed=inc.killed,
        injured=inc.injured,
        killed_foreign=inc.killed_foreign,
        injured_foreign=inc.injured_foreign,
        nationalities=sorted(set(inc.nationalities)),
        on_the_move=inc.on_the_move,
        summary=inc.summary,
        tlp=inc.tlp,
        url=url,
    )
    if fields.latitude is not None and fields.longitude is not None:
        fields.h3 = cells_for(fields.latitude, fields.longitude)
    return fields


def _raw(inc: ShareableIncident) -> dict[str, Any]:
    """The provenance kept on the STIX source record: where the object came from, its
    original sources and every foreign property silkguard does not map."""
    extra: dict[str, Any] = {}
    for source in inc.sources:
        if source.kind is SourceKind.STIX and source.extra:
            extra.update(source.extra)
    return {
        "stix_id": incident_stix_id(inc.id),
        "silkguard_id": str(inc.id),
        "organisation": None
        if inc.organisation is None
        else {"id": str(inc.organisation.id), "name": inc.organisation.name},
        "created": inc.created_at.isoformat(),
        "modified": inc.updated_at.isoformat(),
        "status_at_source": inc.status.value,
        "sources": [
            {
                "kind": s.kind.value,
                "title": s.title,
                "url": s.url,
                "external_id": s.external_id,
            }
            for s in inc.sources
        ],
        "extra": extra,
    }


def _candidates(
    session: Session, org_id: uuid.UUID, fields: list[IncidentFields], source_name: str
) -> list[StoredIncident]:
    """The caller's own incidents that a new record could describe (an import never merges
    into another organisation's incident: only the owner may change those)."""
    keyed = [f for f in fields if mergeable(f)]
    if not keyed:
        return []
    edge_km = float(h3.average_hexagon_edge_length(_DEDUP_RES, unit="km"))
    ring_k = max(1, int(max_reach_km(25.0) // (edge_km * 1.5)) + 1)
    cells: set[int] = set()
    for centre in {f.h3[_DEDUP_RES] for f in keyed}:
        cells.update(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(centre), ring_k))
    pad = timedelta(days=1, hours=12)
    same_source = exists().where(
        SourceRecord.incident_id == Incident.id,
        SourceRecord.source_kind == SourceKind.STIX.value,
        SourceRecord.source_name == source_name,
    )
    stmt = select(
        Incident.id,
        Incident.occurred_at,
        Incident.date_precision,
        Incident.latitude,
        Incident.longitude,
        Incident.geo_precision,
        Incident.attack_type,
        Incident.target_type,
    ).where(
        Incident.org_id == org_id,
        Incident.h3_r4.in_(sorted(cells)),
        Incident.occurred_at.between(
            min(f.occurred_at for f in keyed) - pad, max(f.occurred_at for f in keyed) + pad
        ),
        Incident.status != IncidentStatus.REJECTED.value,
        ~same_source,
    )
    return [
        StoredIncident(
            r[0],
            r[1],
            DatePrecision(r[2]),
            r[3],
            r[4],
            GeoPrecision(r[5]),
            AttackType(r[6]),
            TargetType(r[7]),
        )
        for r in session.execute(stmt)
    ]


def source_name_for(org_id: uuid.UUID) -> str:
    """The source name of STIX records imported by an organisation (one per organisation, so
    two organisations importing the same bundle keep their own records)."""
    return f"stix:{org_id}"


def import_bundle(
    session: Session,
    *,
    principal: Principal,
    data: bytes | str | Mapping[str, Any],
    skip_bad: bool = False,
    default_tlp: TLP = TLP.GREEN,
    received: Mapping[str, Any] | None = None,
) -> ShareImportReport:
    """Store the incidents of a STIX bundle as draft incidents of the caller's organisation.

    Each incident keeps a source record of kind ``stix`` (its STIX id, origin, original
    sources and unmapped properties). An incident already imported by this organisation is
    unchanged (or updated if its content changed); one of the organisation's own incidents
    coming back is unchanged; one that matches an incident of the organisation (same day,
    close by, compatible attack type) is merged into it. Without ``skip_bad`` an invalid
    object raises :class:`~silkguard.sharing.model.StixObjectErrors` before anything is
    written. ``received`` (how the bundle arrived, e.g. the TAXII collection it was pulled
    from) is kept on each new or changed source record; it is not part of the content hash,
    so the same object arriving another way is not a change. Needs ``incident.create``."""
    require(principal, Permission.INCIDENT_CREATE)
    result = parse_bundle(data, skip_bad=skip_bad, default_tlp=default_tlp)
    report = ShareImportReport(errors=list(result.errors), ignored=list(result.ignored))
    bad = {e.object_id for e in result.errors}
    report.accepted = sorted(_valid_ids(data, bad))
    name = source_name_for(principal.org_id)
    _import_incidents(session, principal, name, result.incidents, report, received)
    seen = store_sightings(session, principal=principal, sightings=result.sightings)
    report.sightings = seen.stored
    report.ignored += sorted(seen.ignored)
    report.ignored_reasons.update(seen.ignored)
    return report


def _import_incidents(
    session: Session,
    principal: Principal,
    name: str,
    incidents: list[ShareableIncident],
    report: ShareImportReport,
    received: Mapping[str, Any] | None,
) -> None:
    if not incidents:
        return
    ids = [str(inc.id) for inc in incidents]
    existing = {
        r[0]: (r[1], r[2])
        for r in session.execute(
            select(SourceRecord.external_id, SourceRecord.incident_id, SourceRecord.id).where(
                SourceRecord.source_kind == SourceKind.STIX.value,
                SourceRecord.source_name == name,
                SourceRecord.external_id.in_(ids),
            )
        )
    }
    own = set(
        session.execute(
            select(Incident.id).where(
                Incident.id.in_([inc.id for inc in incidents]),
                Incident.org_id == principal.org_id,
            )
        ).scalars()
    )
    fresh: list[tuple[ShareableIncident, IncidentFields]] = []
    touched: set[uuid.UUID] = set()
    for inc in incidents:
        if inc.id in own:
            report.unchanged += 1
            report.incident_ids.append(inc.id)
            continue
        found = existing.get(str(inc.id))
        if found is None:
            fresh.append((inc, incident_fields(inc)))
            continue
        incident_id, record_id = found
        report.incident_ids.append(incident_id)
        record = session.get_one(SourceRecord, record_id)
        raw = _raw(inc)
        digest = content_hash(raw)
        if record.content_hash == digest:
            report.unchanged += 1
            continue
        fields = incident_fields(inc)
        if received is not None:
            raw["received"] = dict(received)
        record.raw, record.normalized, record.content_hash = raw, fields.to_json(), digest
        record.url = fields.url
        touched.add(incident_id)
        report.updated += 1
    _insert(session, principal, name, fresh, report, received)
    session.flush()
    for incident_id in touched:
        incidents_service.recompute(session, incident_id=incident_id)


def _valid_ids(data: bytes | str | Mapping[str, Any], bad: set[str]) -> Iterable[str]:
    if isinstance(data, Mapping):
        objects = data.get("objects") if data.get("type") == "bundle" else [data]
    else:
        loaded = json.loads(data)
        is_bundle = isinstance(loaded, dict) and loaded.get("type") == "bundle"
        objects = loaded.get("objects") if is_bundle else [loaded]
    for obj in objects or []:
        if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"] not in bad:
            yield obj["id"]


def _insert(
    session: Session,
    principal: Principal,
    name: str,
    fresh: list[tuple[ShareableIncident, IncidentFields]],
    report: ShareImportReport,
    received: Mapping[str, Any] | None,
) -> None:
    if not fresh:
        return
    candidates = _candidates(session, principal.org_id, [f for _, f in fresh], name)
    now = utcnow()
    merged: set[uuid.UUID] = set()
    for inc, fields in fresh:
        match = find_match(fields, candidates, window_days=1, radius_km=25.0)
        raw = _raw(inc)
        digest = content_hash(raw)
        if received is not None:
            raw["received"] = dict(received)
        if match is None:
            incident = new_draft(
                fields, org_id=principal.org_id, created_by=principal.user_id, now=now
            )
            session.add(incident)
            incident_id = incident.id
            report.new += 1
        else:
            incident_id = match.incident_id
            merged.add(incident_id)
            report.merged += 1
        session.add(
            SourceRecord(
                incident_id=incident_id,
                source_kind=SourceKind.STIX.value,
                source_name=name,
                external_id=str(inc.id),
                url=fields.url,
                raw=raw,
                normalized=fields.to_json(),
                content_hash=digest,
                imported_at=now,
                match_reason=None if match is None else match.reason,
            )
        )
        report.incident_ids.append(incident_id)
    session.flush()
    for incident_id in merged:
        incidents_service.recompute(session, incident_id=incident_id)
