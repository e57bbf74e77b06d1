"""Analyst work on incidents: create a draft, correct it (optimistic concurrency), confirm or
reject, merge incidents, split source records off. Services flush; the edge commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from silkguard.auth.models import SharingGroupMember, User
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from silkguard.core.tlp import TLP, most_restrictive
from silkguard.geo.cells import cells_for
from silkguard.incidents import service as incidents_service
from silkguard.incidents.enrich import enrich
from silkguard.incidents.fields import IncidentFields, content_hash
from silkguard.incidents.models import Incident, IncidentRecipient, IncidentShare, SourceRecord
from silkguard.incidents.query import get_visible
from silkguard.incidents.schemas import IncidentCreate, IncidentUpdate
from silkguard.incidents.vocab import GeoPrecision, IncidentStatus, SourceKind

__all__ = [
    "check_version",
    "confirm",
    "create_draft",
    "merge",
    "new_draft",
    "reject",
    "split",
    "update",
]


def _require_own(incident: Incident, principal: Principal, verb: str) -> None:
    if incident.org_id is not None and incident.org_id != principal.org_id:
        msg = (
            f"incident {incident.id} belongs to another organisation; only its owner may "
            f"{verb} it (share your own report instead)"
        )
        raise PermissionDenied(msg)


def _check_audience(session: Session, principal: Principal, data: IncidentCreate) -> None:
    groups = set(data.share_with_groups)
    if groups:
        mine = set(
            session.execute(
                select(SharingGroupMember.group_id).where(
                    SharingGroupMember.org_id == principal.org_id,
                    SharingGroupMember.group_id.in_(sorted(groups)),
                )
            ).scalars()
        )
        if groups - mine:
            unknown = ", ".join(sorted(str(g) for g in groups - mine))
            msg = (
                f"share_with_groups: {unknown} are not sharing groups of your organisation; "
                "list yours with GET /api/v1/sharing-groups"
            )
            raise InvalidInput(msg)
    people = set(data.recipients)
    if people:
        known = set(session.execute(select(User.id).where(User.id.in_(sorted(people)))).scalars())
        if people - known:
            unknown = ", ".join(sorted(str(u) for u in people - known))
            msg = f"recipients: no user has the id(s) {unknown}; name existing users"
            raise InvalidInput(msg)


def new_draft(
    fields: IncidentFields, *, org_id: uuid.UUID, created_by: uuid.UUID | None, now: datetime
) -> Incident:
    """A new draft incident of ``org_id`` holding ``fields`` (not yet added to a session)."""
    return Incident(
        id=uuid.uuid4(),
        org_id=org_id,
        created_by=created_by,
        occurred_at=fields.occurred_at,
        date_precision=fields.date_precision.value,
        latitude=fields.latitude,
        longitude=fields.longitude,
        geo_precision=fields.geo_precision.value,
        place=fields.place,
        district=fields.district,
        province=fields.province,
        country=fields.country,
        h3_r4=fields.h3.get(4),
        h3_r6=fields.h3.get(6),
        h3_r8=fields.h3.get(8),
        attack_type=fields.attack_type.value,
        target_type=fields.target_type.value,
        perpetrator=fields.perpetrator,
        claimed=fields.claimed,
        killed=fields.killed,
        injured=fields.injured,
        killed_foreign=fields.killed_foreign,
        injured_foreign=fields.injured_foreign,
        nationalities=fields.nationalities,
        on_the_move=fields.on_the_move,
        summary=fields.summary,
        tlp=fields.tlp.value,
        status=IncidentStatus.DRAFT.value,
        overrides={},
        created_at=now,
        updated_at=now,
    )


def create_draft(session: Session, *, principal: Principal, data: IncidentCreate) -> Incident:
    """Store a report as a draft incident owned by the caller's organisation.

    ``share_with_groups`` must be sharing groups the organisation belongs to and
    ``recipients`` existing users; anything else is :class:`InvalidInput`."""
    _check_audience(session, principal, data)
    fields = IncidentFields(
        occurred_at=data.occurred_at,
        date_precision=data.date_precision,
        attack_type=data.attack_type,
        target_type=data.target_type,
        latitude=data.latitude,
        longitude=data.longitude if data.latitude is not None else None,
        geo_precision=(data.geo_precision or GeoPrecision.PLACE)
        if data.latitude is not None and data.longitude is not None
        else GeoPrecision.COUNTRY,
        place=data.place,
        district=data.district,
        province=data.province,
        perpetrator=data.perpetrator,
        claimed=data.claimed,
        killed=data.killed,
        injured=data.injured,
        killed_foreign=data.killed_foreign,
        injured_foreign=data.injured_foreign,
        nationalities=sorted(set(data.nationalities)),
        on_the_move=data.on_the_move,
        summary=data.summary,
        tlp=data.tlp,
        url=data.source_url,
    )
    if (data.latitude is None) != (data.longitude is None):
        msg = "latitude and longitude must come together; send both, or neither to geocode"
        raise InvalidInput(msg)
    problems = enrich(fields, line=0)
    if problems:
        raise InvalidInput(
            f"province {problems[0].value!r}: {problems[0].reason}; {problems[0].fix}"
        )
    now = utcnow()
    incident = new_draft(fields, org_id=principal.org_id, created_by=principal.user_id, now=now)
    session.add(incident)
    raw = data.model_dump(mode="json")
    session.add(
        SourceRecord(
            incident_id=incident.id,
            source_kind=SourceKind.FIELD.value,
            source_name=f"api:{principal.org_id}",
            external_id=str(incident.id),
            url=data.source_url,
            raw=raw,
            normalized=fields.to_json(),
            content_hash=content_hash(raw),
            imported_at=now,
        )
    )
    for group_id in set(data.share_with_groups):
        session.add(IncidentShare(incident_id=incident.id, group_id=group_id))
    for user_id in set(data.recipients):
        session.add(IncidentRecipient(incident_id=incident.id, user_id=user_id))
    session.flush()
    return incident


def check_version(incident: Incident, if_match: str | None) -> None:
    """Optimistic concurrency: the caller must name the version it read (its ETag)."""
    if if_match is None:
        msg = (
            "send If-Match with the ETag from your last GET of this incident, so that a change "
            "made meanwhile by someone else is not overwritten"
        )
        raise InvalidInput(msg)
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if wanted != str(incident.version):
        msg = (
            f"incident {incident.id} changed since you read it (it is at version "
            f"{incident.version}, you sent {wanted}); GET it again and reapply your change"
        )
        raise Conflict(msg)


def update(
    session: Session,
    *,
    principal: Principal,
    incident_id: uuid.UUID,
    data: IncidentUpdate,
    if_match: str | None,
) -> tuple[Incident, dict[str, Any]]:
    """Apply an analyst's corrections; returns the incident and the changed fields."""
    incident = get_visible(session, principal=principal, incident_id=incident_id)
    _require_own(incident, principal, "edit")
    check_version(incident, if_match)
    changes = data.model_dump(mode="json", exclude_unset=True)
    if not changes:
        msg = "the request changes nothing; send at least one field to correct"
        raise InvalidInput(msg)
    overrides = dict(incident.overrides or {})
    for name, value in changes.items():
        if value is None and name in {
            "attack_type",
            "target_type",
            "tlp",
            "date_precision",
            "geo_precision",
            "occurred_at",
            "nationalities",
        }:
            msg = f"{name} cannot be emptied; send a value"
            raise InvalidInput(msg)
        overrides[name] = value
    if "latitude" in changes or "longitude" in changes:
        lat, lon = overrides.get("latitude"), overrides.get("longitude")
        if lat is None or lon is None:
            msg = "correct latitude and longitude together"
            raise InvalidInput(msg)
        # The same nested cells as on import (coarse ones are parents of the finest), so an
        # h3 search at any resolution finds the corrected position.
        for res, cell in cells_for(lat, lon).items():
            overrides[f"h3_r{res}"] = cell
        overrides.setdefault("geo_precision", GeoPrecision.EXACT.value)
    incident.overrides = overrides
    # The incident already shows its sources' merged view under the earlier overrides, and
    # overrides only accumulate, so laying them on the columns gives what recompute() would;
    # recompute() itself reloads the row and so would discard this unflushed change.
    for name, value in overrides.items():
        setattr(incident, name, datetime.fromisoformat(value) if name == "occurred_at" else value)
    session.flush()  # one UPDATE: the version (ETag) goes up by one
    return incident, changes


def confirm(session: Session, *, principal: Principal, incident_id: uuid.UUID) -> Incident:
    incident = get_visible(session, principal=principal, incident_id=incident_id)
    _require_own(incident, principal, "confirm")
    if incident.status == IncidentStatus.CONFIRMED.value:
        msg = f"incident {incident_id} is already confirmed"
        raise Conflict(msg)
    incident.status = IncidentStatus.CONFIRMED.value
    incident.review_note = None
    session.flush()
    return incident


def reject(
    session: Session, *, principal: Principal, incident_id: uuid.UUID, reason: str
) -> Incident:
    incident = get_visible(session, principal=principal, incident_id=incident_id)
    _require_own(incident, principal, "reject")
    incident.status = IncidentStatus.REJECTED.value
    incident.review_note = reason
    session.flush()
    return incident


def merge(
    session: Session, *, principal: Principal, incident_id: uuid.UUID, others: list[uuid.UUID]
) -> Incident:
    """Move the source records of ``others`` into ``incident_id`` and delete the others."""
    if incident_id in others:
        msg = "an incident cannot be merged into itself; remove its own id from incident_ids"
        raise InvalidInput(msg)
    target = get_visible(session, principal=principal, incident_id=incident_id)
    _require_own(target, principal, "merge into")
    marking = TLP(target.tlp)
    recipients = set(
        session.execute(
            select(IncidentRecipient.user_id).where(IncidentRecipient.incident_id == target.id)
        ).scalars()
    )
    for other_id in dict.fromkeys(others):
        other = get_visible(session, principal=principal, incident_id=other_id)
        _require_own(other, principal, "merge")
        # The whole takes its most restrictive part, and a RED part keeps its recipients:
        # a merge must never declassify (an analyst's override of the target included).
        marking = most_restrictive(marking, TLP(other.tlp))
        for (user_id,) in session.execute(
            select(IncidentRecipient.user_id).where(IncidentRecipient.incident_id == other.id)
        ):
            if user_id not in recipients:
                recipients.add(user_id)
                session.add(IncidentRecipient(incident_id=target.id, user_id=user_id))
        for record in list(other.sources):
            # Through the relationship, so the record also leaves other.sources; setting only
            # the column left it there, and deleting `other` then nulled its incident_id.
            record.incident = target
            record.match_reason = f"merged by hand into {target.id} from {other.id}"
        session.flush()
        session.execute(delete(IncidentShare).where(IncidentShare.incident_id == other.id))
        session.execute(delete(IncidentRecipient).where(IncidentRecipient.incident_id == other.id))
        session.delete(other)
    if marking.rank > TLP(target.tlp).rank:
        target.overrides = {**(target.overrides or {}), "tlp": marking.value}
    session.flush()
    return incidents_service.recompute(session, incident_id=target.id)


def split(
    session: Session, *, principal: Principal, incident_id: uuid.UUID, record_ids: list[uuid.UUID]
) -> Incident:
    """Move the given source records of an incident into a new incident; returns the new one.
    The new incident keeps the original's marking, sharing groups and named recipients."""
    source = get_visible(session, principal=principal, incident_id=incident_id)
    _require_own(source, principal, "split")
    records = {r.id: r for r in source.sources}
    unknown = [str(r) for r in record_ids if r not in records]
    if unknown:
        msg = f"source records {', '.join(unknown)} do not belong to incident {incident_id}"
        raise NotFound(msg)
    if len(set(record_ids)) >= len(records):
        msg = "a split must leave at least one source record on the original incident"
        raise InvalidInput(msg)
    now = utcnow()
    fresh = Incident(
        id=uuid.uuid4(),
        org_id=source.org_id,
        created_by=principal.user_id,
        occurred_at=source.occurred_at,
        date_precision=source.date_precision,
        geo_precision=source.geo_precision,
        attack_type=source.attack_type,
        target_type=source.target_type,
        tlp=source.tlp,
        status=source.status,
        nationalities=[],
        overrides={},
        created_at=now,
        updated_at=now,
    )
    session.add(fresh)
    session.flush()
    for rid in set(record_ids):
        records[rid].incident_id = fresh.id
        records[rid].match_reason = f"split by hand from {source.id}"
    shares = session.execute(
        select(IncidentShare.group_id).where(IncidentShare.incident_id == source.id)
    )
    for (group_id,) in shares:
        session.add(IncidentShare(incident_id=fresh.id, group_id=group_id))
    recipients = session.execute(
        select(IncidentRecipient.user_id).where(IncidentRecipient.incident_id == source.id)
    )
    for (user_id,) in recipients:  # a RED part stays with the people it was given to
        session.add(IncidentRecipient(incident_id=fresh.id, user_id=user_id))
    session.flush()
    incidents_service.recompute(session, incident_id=source.id)
    return incidents_service.recompute(session, incident_id=fresh.id)
