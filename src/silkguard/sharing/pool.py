"""Pooled, anonymous contributions to a sharing group.

A member organisation contributes one of its confirmed incidents to a group: silkguard stores
a *copy* owned by the group's pool organisation (kind ``pool``, made on the first
contribution, no users), shared with the group, with one source record that names no
organisation or user. The group sees the incident, not who contributed it. The link between
copy and original (:class:`~silkguard.sharing.models.PoolContribution`) is read only for the
contributing organisation. Services flush; the edge commits and audits. docs/sharing.md."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import h3
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from silkguard.auth.models import POOL_ORG_KIND, Organisation, SharingGroup, SharingGroupMember
from silkguard.auth.roles import Permission
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, NotFound, PermissionDenied
from silkguard.core.tlp import TLP
from silkguard.geo.cells import cells_for
from silkguard.incidents import service as incidents_service
from silkguard.incidents.fields import IncidentFields, content_hash
from silkguard.incidents.models import Incident, IncidentShare, SourceRecord
from silkguard.incidents.query import get_visible
from silkguard.incidents.review import new_draft
from silkguard.incidents.vocab import (
    GeoPrecision,
    IncidentStatus,
    SourceKind,
)
from silkguard.sharing.models import PoolContribution
from silkguard.sharing.service import incident_fields, require, to_shareable

__all__ = [
    "Contribution",
    "contribute",
    "contributions",
    "find_group",
    "pool_org",
    "withdraw",
]

_POOLABLE = (TLP.CLEAR.value, TLP.GREEN.value, TLP.AMBER.value)
_GENERALISED_RES = 6
# Precisions finer than a district, which generalising coarsens to one.
_FINER_THAN_DISTRICT = frozenset({GeoPrecision.EXACT, GeoPrecision.PLACE})


@dataclass(frozen=True, slots=True)
class Contribution:
    """One of the caller's contributions: to which group, as which pooled incident."""

    group_id: uuid.UUID
    group_name: str
    pool_incident_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    refreshed: bool = False  # an existing copy was brought up to date
    warnings: list[str] = field(default_factory=list)


def _member_group(session: Session, principal: Principal, group_id: uuid.UUID) -> SharingGroup:
    group = session.get(SharingGroup, group_id)
    member = session.get(SharingGroupMember, (group_id, principal.org_id))
    if group is None or member is None:
        msg = (
            f"sharing group {group_id} does not exist or your organisation is not a member; "
            "list yours with GET /api/v1/sharing-groups"
        )
        raise NotFound(msg)
    return group


def find_group(session: Session, principal: Principal, name_or_id: str) -> uuid.UUID:
    """The id of a sharing group of the caller's organisation, given by id or by name."""
    text = name_or_id.strip()
    try:
        wanted = select(SharingGroup.id).where(SharingGroup.id == uuid.UUID(text))
    except ValueError:
        wanted = select(SharingGroup.id).where(SharingGroup.name == text)
    found = session.execute(
        wanted.join(SharingGroupMember, SharingGroupMember.group_id == SharingGroup.id).where(
            SharingGroupMember.org_id == principal.org_id
        )
    ).scalar_one_or_none()
    if found is None:
        msg = (
            f"sharing group {text!r} does not exist or your organisation is not a member; "
            "give the name or id of one of your groups"
        )
        raise NotFound(msg)
    return found


def _own_incident(session: Session, principal: Principal, incident_id: uuid.UUID) -> Incident:
    incident = get_visible(session, principal=principal, incident_id=incident_id)
    if incident.org_id != principal.org_id:
        msg = (
            f"incident {incident_id} belongs to another organisation; only its owner may "
            "contribute it to a sharing group"
        )
        raise PermissionDenied(msg)
    return incident


def pool_org(session: Session, group: SharingGroup) -> Organisation:
    """The group's pool organisation, made on first use."""
    if group.pool_org_id is not None:
        org = session.get(Organisation, group.pool_org_id)
        if org is not None:
            return org
    slug = f"pool-{group.id.hex[:8]}"
    if session.execute(select(Organisation.id).where(Organisation.slug == slug)).first():
        slug = f"pool-{group.id.hex}"
    org = Organisation(
        slug=slug, name=f"{group.name} (pooled)"[:200], kind=POOL_ORG_KIND, country="PK"
    )
    session.add(org)
    session.flush()
    group.pool_org_id = org.id
    session.flush()
    return org


def _copy_fields(
    session: Session, incident: Incident, *, summary: str | None, generalise_location: bool
) -> IncidentFields:
    """The original's merged view, without anything that could name its source (no URL, no
    review note), with the summary replaced and the position coarsened when asked."""
    fields = incident_fields(to_shareable(session, incident))
    fields.url = None
    if summary is not None:
        fields.summary = summary.strip() or None
    if generalise_location:
        if fields.latitude is not None and fields.longitude is not None:
            cell = h3.latlng_to_cell(fields.latitude, fields.longitude, _GENERALISED_RES)
            lat, lon = h3.cell_to_latlng(cell)
            fields.latitude, fields.longitude = round(lat, 6), round(lon, 6)
        fields.place = None  # a place name is finer than a district
        if fields.geo_precision in _FINER_THAN_DISTRICT:
            fields.geo_precision = GeoPrecision.DISTRICT
    if fields.latitude is not None and fields.longitude is not None:
        fields.h3 = cells_for(fields.latitude, fields.longitude)
    return fields


def _warnings(incident: Incident, group_id: uuid.UUID, session: Session) -> list[str]:
    """Ways the group could still tell who contributed (the copy itself names nobody)."""
    out: list[str] = []
    if incident.tlp in (TLP.CLEAR.value, TLP.GREEN.value):
        out.append(
            f"the original is marked {incident.tlp} and every organisation sees it under your "
            "name, so members can match the copy to it by its content; mark the original "
            "AMBER (shared with no group you contribute to) to stay anonymous"
        )
    shared = session.get(IncidentShare, (incident.id, group_id))
    if shared is not None:
        out.append(
            "the original is also shared with this group under your name, so members can "
            "match the copy to it by its content"
        )
    return out


def _apply(copy: Incident, fields: IncidentFields, *, org_id: uuid.UUID) -> None:
    """Bring an existing copy's columns to ``fields`` (only those that changed)."""
    fresh = new_draft(fields, org_id=org_id, created_by=None, now=utcnow())  # never added
    for name in (
        "occurred_at", "date_precision", "latitude", "longitude", "geo_precision", "place",
        "district", "province", "country", "h3_r4", "h3_r6", "h3_r8", "attack_type",
        "target_type", "perpetrator", "claimed", "killed", "injured", "killed_foreign",
        "injured_foreign", "nationalities", "on_the_move", "summary", "tlp",
    ):  # fmt: skip
        value = getattr(fresh, name)
        if getattr(copy, name) != value:
            setattr(copy, name, value)


def contribute(
    session: Session,
    *,
    principal: Principal,
    incident_id: uuid.UUID,
    group_id: uuid.UUID,
    summary: str | None = None,
    generalise_location: bool = False,
) -> Contribution:
    """Contribute the caller's organisation's confirmed CLEAR, GREEN or AMBER incident to a
    sharing group it is a member of, as an anonymous copy. Contributing the same incident to
    the same group again brings the copy up to date (with this call's options)."""
    require(principal, Permission.INCIDENT_UPDATE)
    group = _member_group(session, principal, group_id)
    incident = _own_incident(session, principal, incident_id)
    if incident.status != IncidentStatus.CONFIRMED.value:
        msg = (
            f"incident {incident_id} is a {incident.status} incident; only confirmed incidents "
            "can be contributed to a sharing group: confirm it first"
        )
        raise InvalidInput(msg, field="incident_id")
    if incident.tlp not in _POOLABLE:
        msg = (
            f"incident {incident_id} is marked {incident.tlp}, which may not leave your "
            "organisation; re-mark it CLEAR, GREEN or AMBER first (PATCH its tlp) if the "
            "group may see it"
        )
        raise InvalidInput(msg, field="incident_id")
    fields = _copy_fields(
        session, incident, summary=summary, generalise_location=generalise_location
    )
    now = utcnow()
    link = session.execute(
        select(PoolContribution).where(
            PoolContribution.source_incident_id == incident.id,
            PoolContribution.group_id == group.id,
        )
    ).scalar_one_or_none()
    org = pool_org(session, group)
    normalized = fields.to_json()
    if link is None:
        copy = new_draft(fields, org_id=org.id, created_by=None, now=now)
        copy.status = IncidentStatus.CONFIRMED.value
        session.add(copy)
        session.flush()
        session.add(
            SourceRecord(
                incident_id=copy.id,
                source_kind=SourceKind.POOL.value,
                source_name=f"pool:{group.id}",
                external_id=str(copy.id),
                raw={"pooled_in_group": str(group.id)},
                normalized=normalized,
                content_hash=content_hash(normalized),
                imported_at=now,
            )
        )
        session.add(IncidentShare(incident_id=copy.id, group_id=group.id))
        link = PoolContribution(
            pool_incident_id=copy.id,
            group_id=group.id,
            source_incident_id=incident.id,
            contributor_org_id=principal.org_id,
            created_at=now,
            updated_at=now,
        )
        session.add(link)
        session.flush()
        refreshed = False
    else:
        copy = incidents_service.get(session, incident_id=link.pool_incident_id)
        record = next(r for r in copy.sources if r.source_kind == SourceKind.POOL.value)
        record.normalized, record.content_hash = normalized, content_hash(normalized)
        _apply(copy, fields, org_id=org.id)
        link.updated_at = now
        session.flush()
        refreshed = True
    return Contribution(
        group_id=group.id,
        group_name=group.name,
        pool_incident_id=copy.id,
        created_at=link.created_at,
        updated_at=link.updated_at,
        refreshed=refreshed,
        warnings=_warnings(incident, group.id, session),
    )


def withdraw(
    session: Session, *, principal: Principal, incident_id: uuid.UUID, group_id: uuid.UUID
) -> uuid.UUID:
    """Withdraw the caller's contribution of an incident from a group: the copy is deleted
    (with its sightings). Returns the id the copy had."""
    require(principal, Permission.INCIDENT_UPDATE)
    incident = _own_incident(session, principal, incident_id)
    link = session.execute(
        select(PoolContribution).where(
            PoolContribution.source_incident_id == incident.id,
            PoolContribution.group_id == group_id,
            PoolContribution.contributor_org_id == principal.org_id,
        )
    ).scalar_one_or_none()
    if link is None:
        msg = (
            f"incident {incident_id} is not contributed to sharing group {group_id}; list its "
            f"contributions with GET /api/v1/incidents/{incident_id}/contributions"
        )
        raise NotFound(msg)
    pool_incident_id = link.pool_incident_id
    # the database cascades to the share, the source record, sightings and the link
    session.execute(delete(Incident).where(Incident.id == pool_incident_id))
    session.expire_all()
    return pool_incident_id


def contributions(
    session: Session, *, principal: Principal, incident_id: uuid.UUID
) -> list[Contribution]:
    """The groups the caller's organisation's incident is contributed to, by group name."""
    require(principal, Permission.INCIDENT_UPDATE)
    incident = _own_incident(session, principal, incident_id)
    rows = session.execute(
        select(PoolContribution, SharingGroup.name)
        .join(SharingGroup, SharingGroup.id == PoolContribution.group_id)
        .where(
            PoolContribution.source_incident_id == incident.id,
            PoolContribution.contributor_org_id == principal.org_id,
        )
        .order_by(SharingGroup.name, SharingGroup.id)
    )
    return [
        Contribution(
            group_id=link.group_id,
            group_name=name,
            pool_incident_id=link.pool_incident_id,
            created_at=link.created_at,
            updated_at=link.updated_at,
        )
        for link, name in rows
    ]
