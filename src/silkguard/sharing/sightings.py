"""Sightings over STIX: each shared incident with sightings gets one aggregated, unnamed
``sighting`` (the total count, first and last seen, no organisation); an imported sighting of
an incident the importer can see is stored as the importing organisation's. docs/sharing.md."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.core.access import Principal
from silkguard.incidents import sightings as sightings_service
from silkguard.incidents.models import Incident
from silkguard.incidents.query import visible
from silkguard.incidents.sightings import SightingTotal
from silkguard.sharing.extension import NAMESPACE
from silkguard.sharing.model import ShareableIncident, ShareableSighting
from silkguard.sharing.stix_export import incident_stix_id, sighting_object, sighting_stix_id

__all__ = [
    "SightingImport",
    "aggregate_id",
    "aggregated",
    "aggregated_object",
    "aggregated_sightings",
    "store_sightings",
]

_CHUNK = 500


def aggregate_id(incident_id: uuid.UUID) -> uuid.UUID:
    """The silkguard id of an incident's aggregated sighting (its STIX id derives from it)."""
    return uuid.uuid5(NAMESPACE, f"sightings-of:{incident_id}")


def aggregated(inc: ShareableIncident, total: SightingTotal) -> ShareableSighting:
    """The one unnamed sighting of ``inc`` that stands for all of its sightings."""
    created = total.created_at or inc.updated_at
    return ShareableSighting(
        id=aggregate_id(inc.id),
        sighting_of_ref=incident_stix_id(inc.id),
        count=total.count,
        created_at=created,
        updated_at=max(created, total.updated_at or created),
        tlp=inc.tlp,
        first_seen=total.first_seen,
        last_seen=total.last_seen,
        organisation=None,
    )


def aggregated_sightings(
    session: Session, incidents: Sequence[ShareableIncident]
) -> list[ShareableSighting]:
    """One unnamed sighting per incident of ``incidents`` that has any (one query per 500
    incidents). The incidents are ones the reader may see; the sighting takes their marking."""
    out: list[ShareableSighting] = []
    for start in range(0, len(incidents), _CHUNK):
        chunk = incidents[start : start + _CHUNK]
        totals = sightings_service.totals(session, [inc.id for inc in chunk])
        for inc in chunk:
            total = totals.get(inc.id)
            if total is not None and total.count > 0:
                out.append(aggregated(inc, total))
    return out


def aggregated_object(inc: ShareableIncident, total: SightingTotal) -> dict[str, Any]:
    """The STIX object of :func:`aggregated` (for TAXII units)."""
    return sighting_object(aggregated(inc, total))


@dataclass
class SightingImport:
    stored: int = 0
    unchanged: int = 0
    ignored: dict[str, str] = field(default_factory=dict)  # STIX id -> why not stored


def _visible_stix_ids(
    session: Session, principal: Principal, wanted: set[str]
) -> dict[str, uuid.UUID]:
    """STIX id -> incident id for the incidents the caller may see whose id is wanted. STIX
    ids are uuid5 hashes of silkguard ids and cannot be turned back, so the visible ids are
    hashed (one pass, only when a bundle carries sightings)."""
    found: dict[str, uuid.UUID] = {}
    stmt = select(Incident.id).where(visible(principal)).execution_options(yield_per=5000)
    result = session.execute(stmt)
    try:
        for incident_id in result.scalars():
            sid = incident_stix_id(incident_id)
            if sid in wanted:
                found[sid] = incident_id
                if len(found) == len(wanted):
                    break
    finally:
        result.close()  # a server-side cursor on PostgreSQL, left open by the early stop
    return found


def store_sightings(
    session: Session, *, principal: Principal, sightings: Iterable[ShareableSighting]
) -> SightingImport:
    """Store each sighting of an incident the caller may see as the caller's organisation's,
    keyed by its STIX id (a re-import replaces the count, it does not add to it). Sightings of
    anything else, and silkguard's own aggregated sightings coming back, are ignored."""
    result = SightingImport()
    items = list(sightings)
    if not items:
        return result
    refs = _visible_stix_ids(session, principal, {s.sighting_of_ref for s in items})
    for sig in items:
        oid = sig.stix_id or sighting_stix_id(sig.id)
        incident_id = refs.get(sig.sighting_of_ref)
        if incident_id is None:
            result.ignored[oid] = (
                f"sighting_of_ref {sig.sighting_of_ref} is not an incident of this silkguard "
                "that you may see; only sightings of those are stored"
            )
            continue
        if sig.id == aggregate_id(incident_id):
            result.ignored[oid] = (
                "silkguard's own count of the sightings of this incident; it is not stored again"
            )
            continue
        first = sig.first_seen or sig.last_seen or sig.created_at
        last = sig.last_seen or sig.first_seen or sig.updated_at
        changed = sightings_service.store_external(
            session,
            org_id=principal.org_id,
            incident_id=incident_id,
            external_id=oid,
            count=max(sig.count, 1),
            first_seen=min(first, last),
            last_seen=max(first, last),
        )
        if changed:
            result.stored += 1
        else:
            result.unchanged += 1
    return result
