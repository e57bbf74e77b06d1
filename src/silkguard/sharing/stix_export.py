"""STIX 2.1 export: plain records in, a bundle of plain dicts out, byte-stable.

Every id is ``uuid5(NAMESPACE, "<kind>:<silkguard id>")`` and every timestamp comes from the
records, never from the clock, so exporting the same records twice gives the same bytes.
Objects are built as dicts (``stix2``'s classes are about 8x slower than this whole path,
see docs/sharing.md) and checked with
:func:`silkguard.sharing.check.check_object`; the tests parse every exported object with
``stix2`` as well. Mapping and rules: docs/sharing.md."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import DatePrecision, GeoPrecision
from silkguard.sharing.check import check_object
from silkguard.sharing.extension import (
    EXTENSION_ID,
    NAMESPACE,
    extension_definition,
    system_identity,
)
from silkguard.sharing.model import (
    OrganisationRef,
    ShareableIncident,
    ShareableNote,
    ShareableReport,
    ShareableSighting,
)
from silkguard.sharing.tlp import marking_definition, marking_id

__all__ = [
    "ATTRIBUTED_TO",
    "LOCATED_AT",
    "dumps_bundle",
    "export_bundle",
    "format_timestamp",
    "incident_objects",
    "incident_stix_id",
    "note_stix_id",
    "organisation_stix_id",
    "report_stix_id",
    "sighting_object",
    "sighting_stix_id",
    "stix_id",
]

# STIX 2.1 defines no relationship with an incident as its source (the incident object is a
# stub there), so both links are ``related-to``; the description names the meaning.
LOCATED_AT = "located-at: where the incident happened"
ATTRIBUTED_TO = "attributed-to: as the source attributes it, not silkguard's judgement"

PKT = timedelta(hours=5)  # Pakistan Standard Time, for the local date in an incident's name
_PRECISION_M: dict[GeoPrecision, float] = {
    GeoPrecision.EXACT: 100.0,
    GeoPrecision.PLACE: 5_000.0,
    GeoPrecision.DISTRICT: 50_000.0,
    GeoPrecision.PROVINCE: 250_000.0,
}
_REGIONS = {
    **dict.fromkeys(("PK", "AF", "IN", "IR", "BD", "LK", "NP", "BT", "MV"), "southern-asia"),
    "CN": "eastern-asia",
}
_NO_PERPETRATOR = frozenset({"", "unknown", "unk", "n/a", "none"})
_MAX_COUNT = 100_000
_ACRONYMS = {"ied": "IED", "vbied": "VBIED", "ngo": "NGO"}


_NAMESPACE_BYTES = NAMESPACE.bytes


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, name))`` without building UUID objects (3x faster)."""
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).hexdigest()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def stix_id(kind: str, silkguard_id: uuid.UUID | str) -> str:
    """The deterministic STIX id of a silkguard object of STIX type ``kind``."""
    return f"{kind}--{_uuid5(f'{kind}:{silkguard_id}')}"


def incident_stix_id(incident_id: uuid.UUID) -> str:
    return stix_id("incident", incident_id)


def report_stix_id(report_id: uuid.UUID) -> str:
    return stix_id("report", report_id)


def note_stix_id(note_id: uuid.UUID) -> str:
    return stix_id("note", note_id)


def sighting_stix_id(sighting_id: uuid.UUID) -> str:
    return stix_id("sighting", sighting_id)


@functools.lru_cache(maxsize=4096)
def organisation_stix_id(org_id: uuid.UUID) -> str:
    return stix_id("identity", org_id)


def format_timestamp(value: datetime, *, what: str = "timestamp") -> str:
    """A STIX timestamp in UTC with milliseconds (``2024-03-26T08:00:00.000Z``)."""
    if value.tzinfo is None:
        msg = f"{what} {value.isoformat()} has no time zone; give an aware datetime (UTC)"
        raise InvalidInput(msg)
    utc = value if value.tzinfo is UTC else value.astimezone(UTC)
    return f"{utc.isoformat(timespec='milliseconds')[:23]}Z"


def _ext(silkguard_id: uuid.UUID | str, **fields: Any) -> dict[str, Any]:
    return {
        EXTENSION_ID: {
            "extension_type": "property-extension",
            "silkguard_id": str(silkguard_id),
            **fields,
        }
    }


def _common(
    kind: str, oid: str, created: str, modified: str, tlp: TLP, org: OrganisationRef | None
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": oid,
        "created": created,
        "modified": modified,
        "object_marking_refs": [marking_id(tlp)],
    }
    if org is not None:
        obj["created_by_ref"] = organisation_stix_id(org.id)
    return obj


def _check_values(inc: ShareableIncident, oid: str) -> None:
    problems: list[str] = []
    for name in ("killed", "injured", "killed_foreign", "injured_foreign"):
        value = getattr(inc, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT
        ):
            problems.append(f"{name} {value!r} is not a count from 0 to {_MAX_COUNT}")
    for part, total in (("killed", inc.killed), ("injured", inc.injured)):
        foreign = getattr(inc, f"{part}_foreign")
        if foreign is not None and total is not None and foreign > total:
            problems.append(f"{part}_foreign {foreign} exceeds {part} {total}")
    if (inc.latitude is None) != (inc.longitude is None):
        problems.append("latitude and longitude must be given together")
    if problems:
        msg = f"incident {inc.id} ({oid}) cannot be exported: " + "; ".join(problems)
        raise InvalidInput(msg)


def _incident_name(inc: ShareableIncident) -> str:
    where = inc.place or inc.district or inc.province or inc.country
    local = (inc.occurred_at.astimezone(UTC) + PKT).date().isoformat()
    when = {DatePrecision.YEAR: local[:4], DatePrecision.MONTH: local[:7]}.get(
        inc.date_precision, local
    )
    attack = _words(inc.attack_type.value)
    return (
        f"{attack[:1].upper()}{attack[1:]} against {_words(inc.target_type.value)}, {where}, {when}"
    )


def _words(value: str) -> str:
    return " ".join(_ACRONYMS.get(word, word) for word in value.split("_"))


def _incident_extension(inc: ShareableIncident, sid: str, occurred: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "occurred_at": occurred,
        "date_precision": inc.date_precision.value,
        "country": inc.country,
        "geo_precision": inc.geo_precision.value,
        "attack_type": inc.attack_type.value,
        "target_type": inc.target_type.value,
        "status": inc.status.value,
    }
    for name in (
        "place", "district", "province", "latitude", "longitude", "perpetrator", "claimed",
        "killed", "injured", "killed_foreign", "injured_foreign", "on_the_move",
    ):  # fmt: skip
        value = getattr(inc, name)
        if value is not None:
            fields[name] = value
    if inc.nationalities:
        fields["nationalities"] = list(inc.nationalities)
    sources = []
    for src in inc.sources:
        item: dict[str, Any] = {"kind": src.kind.value}
        for name in ("title", "url", "external_id"):
            if (value := getattr(src, name)) is not None:
                item[name] = value
        if src.extra:
            item["extra"] = src.extra
        sources.append(item)
    if sources:
        fields["sources"] = sources
    return _ext(sid, **fields)


def incident_objects(inc: ShareableIncident) -> list[dict[str, Any]]:
    """The incident, its location, the threat actor the source names, and the relationships."""
    sid = str(inc.id)
    oid = stix_id("incident", sid)
    _check_values(inc, oid)
    what = "incident " + sid
    created = format_timestamp(inc.created_at, what=what + " created_at")
    modified = format_timestamp(inc.updated_at, what=what + " updated_at")
    occurred = format_timestamp(inc.occurred_at, what=what + " occurred_at")
    incident = _common("incident", oid, created, modified, inc.tlp, inc.organisation)
    incident["name"] = _incident_name(inc)
    if inc.summary:
        incident["description"] = inc.summary
    incident["labels"] = [
        f"attack-type:{inc.attack_type.value}",
        f"target-type:{inc.target_type.value}",
    ]
    refs = [
        {"source_name": src.title or src.kind.value, "url": src.url}
        for src in inc.sources
        if src.url
    ]
    if refs:
        incident["external_references"] = refs
    incident["extensions"] = _incident_extension(inc, sid, occurred)

    location = _common(
        "location", stix_id("location", sid), created, modified, inc.tlp, inc.organisation
    )
    location["country"] = inc.country
    if region := _REGIONS.get(inc.country):
        location["region"] = region
    if name := inc.place or inc.district or inc.province:
        location["name"] = name
    if inc.province:
        location["administrative_area"] = inc.province
    if inc.latitude is not None and inc.longitude is not None:
        location["latitude"] = inc.latitude
        location["longitude"] = inc.longitude
        if (precision := _PRECISION_M.get(inc.geo_precision)) is not None:
            location["precision"] = precision
    base = _common("incident", oid, created, modified, inc.tlp, inc.organisation)
    objects = [incident, location, _relationship(base, sid, location["id"], LOCATED_AT)]

    perpetrator = (inc.perpetrator or "").strip()
    if perpetrator.lower() not in _NO_PERPETRATOR:
        actor = _common(
            "threat-actor",
            stix_id("threat-actor", sid),
            created,
            modified,
            inc.tlp,
            inc.organisation,
        )
        actor["name"] = perpetrator
        objects += [actor, _relationship(base, sid, actor["id"], ATTRIBUTED_TO)]
    return objects


def _relationship(base: dict[str, Any], inc_id: str, target: str, meaning: str) -> dict[str, Any]:
    rel = dict(base)
    rel["object_marking_refs"] = list(base["object_marking_refs"])
    rel["type"] = "relationship"
    rel["id"] = stix_id("relationship", f"{inc_id}:{target}")
    rel.update(relationship_type="related-to", source_ref=base["id"], target_ref=target)
    rel["description"] = meaning
    return rel


def _identity(org: OrganisationRef) -> dict[str, Any]:
    when = format_timestamp(org.created_at, what=f"organisation {org.id} created_at")
    obj = _common("identity", organisation_stix_id(org.id), when, when, TLP.GREEN, None)
    obj.update(name=org.name, identity_class="organization", extensions=_ext(org.id))
    return obj


def _report(rep: ShareableReport) -> dict[str, Any]:
    created = format_timestamp(rep.created_at, what=f"report {rep.id} created_at")
    modified = format_timestamp(rep.updated_at, what=f"report {rep.id} updated_at")
    obj = _common("report", report_stix_id(rep.id), created, modified, rep.tlp, rep.organisation)
    obj.update(
        name=rep.title,
        published=format_timestamp(rep.published, what=f"report {rep.id} published"),
        report_types=["threat-report"],
        object_refs=list(rep.object_refs),
        extensions=_ext(rep.id),
    )
    if rep.description:
        obj["description"] = rep.description
    return obj


def _note(note: ShareableNote) -> dict[str, Any]:
    created = format_timestamp(note.created_at, what=f"note {note.id} created_at")
    modified = format_timestamp(note.updated_at, what=f"note {note.id} updated_at")
    obj = _common("note", note_stix_id(note.id), created, modified, note.tlp, note.organisation)
    obj.update(content=note.content, object_refs=list(note.object_refs), extensions=_ext(note.id))
    if note.abstract:
        obj["abstract"] = note.abstract
    return obj


def sighting_object(sig: ShareableSighting) -> dict[str, Any]:
    """The STIX ``sighting`` of ``sig`` (unnamed when it has no organisation)."""
    created = format_timestamp(sig.created_at, what=f"sighting {sig.id} created_at")
    modified = format_timestamp(sig.updated_at, what=f"sighting {sig.id} updated_at")
    obj = _common(
        "sighting", sighting_stix_id(sig.id), created, modified, sig.tlp, sig.organisation
    )
    obj.update(sighting_of_ref=sig.sighting_of_ref, count=sig.count, extensions=_ext(sig.id))
    if sig.first_seen is not None:
        obj["first_seen"] = format_timestamp(sig.first_seen, what=f"sighting {sig.id} first_seen")
    if sig.last_seen is not None:
        obj["last_seen"] = format_timestamp(sig.last_seen, what=f"sighting {sig.id} last_seen")
    if sig.organisation is not None:
        obj["where_sighted_refs"] = [organisation_stix_id(sig.organisation.id)]
    return obj


def export_bundle(
    *,
    incidents: Iterable[ShareableIncident] = (),
    reports: Iterable[ShareableReport] = (),
    notes: Iterable[ShareableNote] = (),
    sightings: Iterable[ShareableSighting] = (),
    check: bool = True,
) -> dict[str, Any]:
    """A STIX 2.1 bundle of the given records, the markings they use and silkguard's extension
    definition. Objects are sorted by id; the bundle id hashes the object ids.

    Raises ``InvalidInput`` for a record that cannot be expressed (naive datetime, negative
    count, an organisation given under two names, an object failing the STIX check)."""
    objects: list[dict[str, Any]] = [system_identity(), extension_definition()]
    orgs: dict[uuid.UUID, OrganisationRef] = {}
    tlps: set[TLP] = {TLP.CLEAR}

    def note_org(org: OrganisationRef | None) -> None:
        if org is None:
            return
        seen = orgs.setdefault(org.id, org)
        if seen != org:
            msg = f"organisation {org.id} is given as both {seen!r} and {org!r}; give one"
            raise InvalidInput(msg)

    for inc in incidents:
        built = incident_objects(inc)
        if check:  # here, while the objects of one incident are together (cheaper)
            _check_all(built)
        objects += built
        tlps.add(inc.tlp)
        note_org(inc.organisation)
    for rep in reports:
        objects.append(_report(rep))
        tlps.add(rep.tlp)
        note_org(rep.organisation)
    for note in notes:
        objects.append(_note(note))
        tlps.add(note.tlp)
        note_org(note.organisation)
    for sig in sightings:
        objects.append(sighting_object(sig))
        tlps.add(sig.tlp)
        note_org(sig.organisation)
    if orgs:
        tlps.add(TLP.GREEN)
    objects += [_identity(org) for org in orgs.values()]
    objects += [marking_definition(tlp) for tlp in tlps]
    objects.sort(key=lambda o: o["id"])
    for prev, obj in itertools.pairwise(objects):
        if prev["id"] == obj["id"]:
            msg = f"{obj['id']} is exported twice; give each record once"
            raise InvalidInput(msg)
    if check:
        _check_all(o for o in objects if o["type"] not in _CHECKED_TYPES)
    digest = _uuid5("bundle:" + "\n".join(o["id"] for o in objects))
    return {"type": "bundle", "id": f"bundle--{digest}", "objects": objects}


_CHECKED_TYPES = frozenset({"incident", "location", "relationship", "threat-actor"})


def _check_all(objects: Iterable[dict[str, Any]]) -> None:
    for obj in objects:
        if (reason := check_object(obj)) is not None:
            msg = f"{obj['id']} would not be valid STIX 2.1: {reason}"
            raise InvalidInput(msg)


def dumps_bundle(bundle: dict[str, Any], *, pretty: bool = False) -> str:
    """The bundle as JSON text with sorted keys (UTF-8 kept; indented when ``pretty``)."""
    if pretty:
        return json.dumps(bundle, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    return json.dumps(bundle, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
