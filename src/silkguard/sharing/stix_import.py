"""STIX 2.1 import: a bundle in, plain records out, each invalid object named with its reason.

silkguard's own bundles read back without loss (the silkguard extension carries every field).
Bundles from other tools are read as far as STIX allows: an incident's name and description,
a time from a ``first_seen``-like property, the location and threat actor linked to it by a
relationship, attack and target types from recognisable labels. Whatever is not mapped is kept
verbatim in the ``extra`` of the incident's STIX source record. Rules: docs/sharing.md."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
    parse_attack_type,
    parse_target_type,
)
from silkguard.sharing.check import check_object, parse_timestamp
from silkguard.sharing.extension import EXTENSION_ID, NAMESPACE, SYSTEM_IDENTITY_ID
from silkguard.sharing.model import (
    ImportResult,
    ObjectError,
    OrganisationRef,
    ShareableIncident,
    ShareableNote,
    ShareableReport,
    ShareableSighting,
    SharedSource,
    StixObjectErrors,
)
from silkguard.sharing.tlp import tlp_of_marking, tlp_of_refs

__all__ = ["foreign_id", "parse_bundle"]

E = TypeVar("E", bound=StrEnum)

# Properties of an incident silkguard writes itself; anything else on it is kept as extra.
_OWN_INCIDENT_PROPS = frozenset(
    [
        "type",
        "spec_version",
        "id",
        "created",
        "modified",
        "name",
        "description",
        "created_by_ref",
        "object_marking_refs",
        "labels",
        "external_references",
        "extensions",
    ]
)
# Properties of a foreign incident that are mapped and need no copy; the rest is kept.
_MAPPED_PROPS = frozenset(
    ["type", "spec_version", "id", "created", "modified", "name", "description", "created_by_ref"]
)
_FIRST_SEEN = (
    "first_seen", "x_first_seen", "start_time", "x_start_time", "first_observed",
    "occurred_at", "x_occurred_at", "x_occurred", "x_date",
)  # fmt: skip
_LINKS = frozenset({"located-at", "related-to", "attributed-to"})
_IMPORTED_TYPES = frozenset(
    [
        "incident",
        "report",
        "note",
        "sighting",
        "identity",
        "location",
        "threat-actor",
        "relationship",
        "marking-definition",
        "extension-definition",
    ]
)
_TEXT_FIELDS = ("place", "district", "province", "perpetrator")
_COUNT_FIELDS = ("killed", "injured", "killed_foreign", "injured_foreign")
_FLAG_FIELDS = ("claimed", "on_the_move")
_MAX_COUNT = 100_000


class _Bad(Exception):
    """An object that cannot be mapped; the message is the reason."""


def foreign_id(stix_id: str) -> uuid.UUID:
    """The silkguard id given to a foreign STIX object: stable, so re-imports match."""
    return uuid.uuid5(NAMESPACE, f"foreign:{stix_id}")


@dataclass(slots=True)
class _Bundle:
    by_id: dict[str, dict[str, Any]]
    markings: dict[str, TLP]
    default_tlp: TLP
    links: dict[str, list[tuple[bool, str, str]]] = field(default_factory=dict)

    tlps: dict[tuple[str, ...], TLP] = field(default_factory=dict)
    orgs: dict[object, OrganisationRef | None] = field(default_factory=dict)

    def tlp(self, obj: Mapping[str, Any]) -> TLP:
        refs = tuple(obj.get("object_marking_refs") or ())
        tlp = self.tlps.get(refs)
        if tlp is None:
            found = tlp_of_refs(refs, self.markings)
            tlp = self.tlps[refs] = self.default_tlp if found is None else found
        return tlp

    def organisation(self, ref: object) -> OrganisationRef | None:
        if ref is None:
            return None
        if ref not in self.orgs:
            self.orgs[ref] = self._organisation(ref)
        return self.orgs[ref]

    def _organisation(self, ref: object) -> OrganisationRef | None:
        identity = self.by_id.get(ref) if isinstance(ref, str) else None
        if identity is None or identity["type"] != "identity" or ref == SYSTEM_IDENTITY_ID:
            return None
        ours = _our_extension(identity)
        created = parse_timestamp(identity["created"])
        assert created is not None
        org_id = uuid.UUID(ours["silkguard_id"]) if ours else foreign_id(identity["id"])
        return OrganisationRef(id=org_id, name=identity["name"], created_at=created)

    def linked(self, oid: str, kind: str) -> list[dict[str, Any]]:
        """Objects of type ``kind`` linked to ``oid``; located-at/attributed-to first."""
        found = []
        for _generic, _rel_id, other in sorted(self.links.get(oid, ())):
            obj = self.by_id.get(other)
            if obj is not None and obj["type"] == kind and obj not in found:
                found.append(obj)
        return found


def _our_extension(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    extensions = obj.get("extensions")
    if isinstance(extensions, dict):
        ours = extensions.get(EXTENSION_ID)
        if isinstance(ours, dict):
            return ours
    return None


def _check_ours(obj: Mapping[str, Any]) -> str | None:
    ours = _our_extension(obj)
    if ours is None:
        return None
    try:
        uuid.UUID(str(ours.get("silkguard_id")))
    except ValueError:
        return f"the silkguard extension's silkguard_id {ours.get('silkguard_id')!r} is no UUID"
    return None


def _enum(enum: type[E], ext: Mapping[str, Any], name: str) -> E:
    member = enum._value2member_map_.get(ext.get(name))
    if member is None:
        accepted = ", ".join(m.value for m in enum)
        msg = f"silkguard extension: {name} {ext.get(name)!r} is not one of {accepted}"
        raise _Bad(msg)
    return member  # type: ignore[return-value]


def _extension_fields(ext: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword arguments for ShareableIncident from our extension, and unknown keys."""
    occurred = parse_timestamp(ext.get("occurred_at"))
    if occurred is None:
        msg = f"silkguard extension: occurred_at {ext.get('occurred_at')!r} is no STIX timestamp"
        raise _Bad(msg)
    out: dict[str, Any] = {
        "occurred_at": occurred,
        "date_precision": _enum(DatePrecision, ext, "date_precision"),
        "attack_type": _enum(AttackType, ext, "attack_type"),
        "target_type": _enum(TargetType, ext, "target_type"),
        "status": _enum(IncidentStatus, ext, "status"),
        "geo_precision": _enum(GeoPrecision, ext, "geo_precision"),
    }
    country = ext.get("country", "PK")
    if not (isinstance(country, str) and len(country) == 2 and country.isupper()):
        raise _Bad(f"silkguard extension: country {country!r} is no ISO 3166 alpha-2 code")
    out["country"] = country
    for name in (*_TEXT_FIELDS, *_COUNT_FIELDS, *_FLAG_FIELDS, "latitude", "longitude"):
        if (value := ext.get(name)) is not None:
            out[name] = _field_value(name, value)
    if ("latitude" in out) != ("longitude" in out):
        raise _Bad("silkguard extension: latitude and longitude must be given together")
    nationalities = ext.get("nationalities", [])
    if not isinstance(nationalities, list) or not all(isinstance(n, str) for n in nationalities):
        raise _Bad("silkguard extension: nationalities must be a list of strings")
    out["nationalities"] = tuple(nationalities)
    out["sources"] = tuple(_source(item) for item in ext.get("sources", []))
    known = {"extension_type", "silkguard_id", "sources", "nationalities", *out}
    unknown = {k: v for k, v in ext.items() if k not in known}
    return out, unknown


_LIMITS = {"latitude": 90.0, "longitude": 180.0}


def _field_value(name: str, value: object) -> object:
    """One scalar field of the extension, checked."""
    if name in _TEXT_FIELDS:
        if not isinstance(value, str) or not value:
            raise _Bad(f"silkguard extension: {name} must be a non-empty string")
        return value
    if name in _FLAG_FIELDS:
        if not isinstance(value, bool):
            raise _Bad(f"silkguard extension: {name} {value!r} is not true or false")
        return value
    if name in _COUNT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"silkguard extension: {name} {value!r} is not an integer count")
        if not 0 <= value <= _MAX_COUNT:
            raise _Bad(f"silkguard extension: {name} {value} is not from 0 to {_MAX_COUNT}")
        return value
    limit = _LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"silkguard extension: {name} {value!r} is not a number")
    if not -limit <= value <= limit:
        raise _Bad(f"silkguard extension: {name} {value} is outside -{limit:g}..{limit:g}")
    return float(value)


def _source(item: object) -> SharedSource:
    if not isinstance(item, dict):
        raise _Bad("silkguard extension: each of sources must be an object")
    title, url, external_id = item.get("title"), item.get("url"), item.get("external_id")
    extra = item.get("extra", {})
    if not all(isinstance(v, str | None) for v in (title, url, external_id)):
        raise _Bad("silkguard extension: sources[].title, url and external_id must be strings")
    if not isinstance(extra, dict):
        raise _Bad("silkguard extension: sources[].extra must be an object")
    kind = _enum(SourceKind, item, "kind")
    return SharedSource(kind, title=title, url=url, external_id=external_id, extra=extra)


def _own_incident(obj: dict[str, Any], ours: dict[str, Any], ctx: _Bundle) -> ShareableIncident:
    fields, unknown_ext = _extension_fields(ours)
    extra = {k: v for k, v in obj.items() if k not in _OWN_INCIDENT_PROPS}
    others = {k: v for k, v in obj.get("extensions", {}).items() if k != EXTENSION_ID}
    if others:
        extra["extensions"] = others
    if unknown_ext:
        extra.setdefault("extensions", {})[EXTENSION_ID] = unknown_ext
    organisation = ctx.organisation(obj.get("created_by_ref"))
    if organisation is None and "created_by_ref" in obj:  # its identity is not in the bundle
        extra["created_by_ref"] = obj["created_by_ref"]
    if extra:  # unmapped properties added on the way: kept on a record of this bundle
        kept = SharedSource(SourceKind.STIX, title=obj["name"], external_id=obj["id"], extra=extra)
        fields["sources"] = (*fields["sources"], kept)
    return ShareableIncident(
        id=uuid.UUID(ours["silkguard_id"]),
        created_at=_time(obj, "created"),
        updated_at=_time(obj, "modified"),
        tlp=ctx.tlp(obj),
        summary=obj.get("description"),
        organisation=organisation,
        **fields,
    )


def _time(obj: Mapping[str, Any], name: str) -> datetime:
    value = parse_timestamp(obj.get(name))
    if value is None:
        raise _Bad(f"property {name!r} is missing or not a STIX timestamp")
    return value


def _label_types(labels: object) -> tuple[AttackType, TargetType]:
    attack, target = AttackType.UNKNOWN, TargetType.UNKNOWN
    for label in labels if isinstance(labels, list) else []:
        if not isinstance(label, str):
            continue
        key, _, rest = label.partition(":")
        for kind, text in ((key, rest),) if rest else (("attack-type", key), ("target-type", key)):
            try:
                if kind == "attack-type" and attack is AttackType.UNKNOWN:
                    attack = parse_attack_type(text)
                elif kind == "target-type" and target is TargetType.UNKNOWN:
                    target = parse_target_type(text)
            except InvalidInput:
                continue
    return attack, target


def _foreign_incident(obj: dict[str, Any], ctx: _Bundle) -> ShareableIncident:
    fields: dict[str, Any] = {}
    occurred, precision = None, DatePrecision.TIME
    for key in _FIRST_SEEN:
        occurred = parse_timestamp(obj.get(key))
        if occurred is not None:
            break
    if occurred is None:  # when it was reported, not when it happened: a day at best
        occurred, precision = _time(obj, "created"), DatePrecision.DAY
    fields["geo_precision"] = GeoPrecision.COUNTRY
    locations = ctx.linked(obj["id"], "location")
    if locations:
        fields.update(_foreign_location(locations[0]))
    actors = [a["name"] for a in ctx.linked(obj["id"], "threat-actor")]
    fields["attack_type"], fields["target_type"] = _label_types(obj.get("labels"))
    urls = [
        r["url"]
        for r in obj.get("external_references") or ()
        if isinstance(r, dict) and isinstance(r.get("url"), str)
    ]
    organisation = ctx.organisation(obj.get("created_by_ref"))
    extra = {k: v for k, v in obj.items() if k not in _MAPPED_PROPS}
    if organisation is None and "created_by_ref" in obj:
        extra["created_by_ref"] = obj["created_by_ref"]
    source = SharedSource(
        kind=SourceKind.STIX,
        title=obj["name"],
        url=urls[0] if urls else None,
        external_id=obj["id"],
        extra=extra,
    )
    return ShareableIncident(
        id=foreign_id(obj["id"]),
        created_at=_time(obj, "created"),
        updated_at=_time(obj, "modified"),
        occurred_at=occurred,
        date_precision=precision,
        tlp=ctx.tlp(obj),
        status=IncidentStatus.DRAFT,
        perpetrator="; ".join(actors) if actors else None,
        summary=obj.get("description") or obj["name"],
        organisation=organisation,
        sources=(source,),
        **fields,
    )


def _foreign_location(loc: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    country = loc.get("country")
    if isinstance(country, str) and len(country) == 2:
        out["country"] = country.upper()
    if isinstance(loc.get("administrative_area"), str):
        out["province"] = loc["administrative_area"]
        out["geo_precision"] = GeoPrecision.PROVINCE
    place = loc.get("city") or loc.get("name")
    if isinstance(place, str):
        out["place"] = place
    if loc.get("latitude") is not None:
        out["latitude"], out["longitude"] = float(loc["latitude"]), float(loc["longitude"])
        precision_m = loc.get("precision")
        if not isinstance(precision_m, int | float):
            out["geo_precision"] = GeoPrecision.PLACE
        else:
            out["geo_precision"] = (
                GeoPrecision.EXACT
                if precision_m <= 250
                else GeoPrecision.PLACE
                if precision_m <= 10_000
                else GeoPrecision.DISTRICT
                if precision_m <= 100_000
                else GeoPrecision.PROVINCE
            )
    return out


def _own_or_foreign_id(obj: Mapping[str, Any]) -> uuid.UUID:
    ours = _our_extension(obj)
    return uuid.UUID(ours["silkguard_id"]) if ours else foreign_id(obj["id"])


def _report(obj: dict[str, Any], ctx: _Bundle) -> ShareableReport:
    return ShareableReport(
        id=_own_or_foreign_id(obj),
        title=obj["name"],
        published=_time(obj, "published"),
        object_refs=tuple(obj["object_refs"]),
        created_at=_time(obj, "created"),
        updated_at=_time(obj, "modified"),
        tlp=ctx.tlp(obj),
        description=obj.get("description"),
        organisation=ctx.organisation(obj.get("created_by_ref")),
    )


def _note(obj: dict[str, Any], ctx: _Bundle) -> ShareableNote:
    return ShareableNote(
        id=_own_or_foreign_id(obj),
        content=obj["content"],
        object_refs=tuple(obj["object_refs"]),
        created_at=_time(obj, "created"),
        updated_at=_time(obj, "modified"),
        tlp=ctx.tlp(obj),
        abstract=obj.get("abstract"),
        organisation=ctx.organisation(obj.get("created_by_ref")),
    )


def _sighting(obj: dict[str, Any], ctx: _Bundle) -> ShareableSighting:
    organisation = ctx.organisation(obj.get("created_by_ref"))
    for ref in obj.get("where_sighted_refs") or ():
        organisation = organisation or ctx.organisation(ref)
    count = obj.get("count")
    return ShareableSighting(
        id=_own_or_foreign_id(obj),
        sighting_of_ref=obj["sighting_of_ref"],
        count=1 if count is None else count,
        created_at=_time(obj, "created"),
        updated_at=_time(obj, "modified"),
        tlp=ctx.tlp(obj),
        first_seen=parse_timestamp(obj.get("first_seen")),
        last_seen=parse_timestamp(obj.get("last_seen")),
        organisation=organisation,
        stix_id=obj["id"],
    )


def _load(data: bytes | str | Mapping[str, Any]) -> list[Any]:
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = f"STIX bundle is not JSON: {exc}; give a STIX 2.1 bundle as UTF-8 JSON"
            raise InvalidInput(msg) from None
    if not isinstance(data, Mapping):
        msg = "STIX input must be a JSON object: a bundle, or a single STIX object"
        raise InvalidInput(msg)
    if data.get("type") != "bundle":
        if isinstance(data.get("type"), str) and "id" in data:
            return [data]
        msg = "STIX input has no 'type': 'bundle'; give a STIX 2.1 bundle or a single object"
        raise InvalidInput(msg)
    objects = data.get("objects", [])
    if not isinstance(objects, list):
        msg = "the bundle's 'objects' must be a list of STIX objects"
        raise InvalidInput(msg)
    return objects


def _stix2_reason(obj: Mapping[str, Any]) -> str | None:
    import stix2

    try:
        stix2.parse(dict(obj), allow_custom=True)
    except Exception as exc:  # noqa: BLE001 - stix2 raises many unrelated types
        return f"stix2: {exc}"
    return None


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _modified(obj: Mapping[str, Any]) -> datetime:
    return parse_timestamp(obj.get("modified")) or _EPOCH


def _valid_objects(
    objects: list[Any], result: ImportResult, *, use_stix2: bool
) -> dict[str, dict[str, Any]]:
    """The valid objects by id (the latest version of each); the others go to errors."""
    by_id: dict[str, dict[str, Any]] = {}
    for index, obj in enumerate(objects):
        reason = check_object(obj) or _check_ours(obj)
        if reason is None and use_stix2:
            reason = _stix2_reason(obj)
        if reason is not None:
            oid = obj.get("id") if isinstance(obj, dict) else None
            where = oid if isinstance(oid, str) and oid else f"objects[{index}]"
            result.errors.append(ObjectError(where, reason))
            continue
        prev = by_id.get(obj["id"])
        if prev is None or _modified(obj) > _modified(prev):
            by_id[obj["id"]] = obj
    return by_id


def _map_object(obj: dict[str, Any], ctx: _Bundle, result: ImportResult) -> None:
    match obj["type"]:
        case "incident":
            ours = _our_extension(obj)
            incident = _own_incident(obj, ours, ctx) if ours else _foreign_incident(obj, ctx)
            result.incidents.append(incident)
        case "report":
            result.reports.append(_report(obj, ctx))
        case "note":
            result.notes.append(_note(obj, ctx))
        case "sighting":
            result.sightings.append(_sighting(obj, ctx))
        case "identity":
            if (org := ctx.organisation(obj["id"])) is not None:
                result.organisations.append(org)
        case _:
            pass


def parse_bundle(
    data: bytes | str | Mapping[str, Any],
    *,
    skip_bad: bool = False,
    default_tlp: TLP = TLP.GREEN,
    use_stix2: bool = False,
) -> ImportResult:
    """Read a STIX 2.1 bundle (JSON text or parsed) into silkguard records.

    Each object is checked (:func:`~silkguard.sharing.check.check_object`, plus ``stix2``'s
    own parser with ``use_stix2``). Without ``skip_bad`` any invalid object raises
    :class:`StixObjectErrors` listing every one and nothing is returned; with it the valid
    objects are mapped and the invalid ones listed in ``errors``. Objects without a TLP
    marking get ``default_tlp``."""
    result = ImportResult()
    by_id = _valid_objects(_load(data), result, use_stix2=use_stix2)
    markings: dict[str, TLP] = {}
    ctx = _Bundle(by_id=by_id, markings=markings, default_tlp=default_tlp)
    links: dict[str, list[tuple[bool, str, str]]] = defaultdict(list)
    for oid, obj in by_id.items():
        kind = obj["type"]
        if kind == "marking-definition" and (tlp := tlp_of_marking(obj)) is not None:
            markings[oid] = tlp
        elif kind == "relationship" and obj["relationship_type"] in _LINKS:
            generic = obj["relationship_type"] == "related-to"
            links[obj["source_ref"]].append((generic, oid, obj["target_ref"]))
            if generic:
                links[obj["target_ref"]].append((generic, oid, obj["source_ref"]))
        elif kind not in _IMPORTED_TYPES:
            result.ignored.append(oid)
    ctx.links = links

    for oid, obj in by_id.items():
        try:
            _map_object(obj, ctx, result)
        except _Bad as exc:
            result.errors.append(ObjectError(oid, str(exc)))
    if result.errors and not skip_bad:
        raise StixObjectErrors(result.errors)
    return result
