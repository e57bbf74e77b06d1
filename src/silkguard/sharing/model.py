"""Plain, database-free records of what silkguard shares over STIX: the input of the exporter
and the output of the importer. The store fills them from its rows and writes them back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import (
    AttackType,
    DatePrecision,
    GeoPrecision,
    IncidentStatus,
    SourceKind,
    TargetType,
)

__all__ = [
    "ImportResult",
    "ObjectError",
    "OrganisationRef",
    "ShareableIncident",
    "ShareableNote",
    "ShareableReport",
    "ShareableSighting",
    "SharedSource",
    "StixObjectErrors",
]


@dataclass(frozen=True, slots=True)
class OrganisationRef:
    """The organisation that reported or created an object. ``created_at`` dates its STIX
    identity object, so re-exports of the identity are stable."""

    id: uuid.UUID
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SharedSource:
    """One source record of an incident: what kind of source, a title (the source's name or
    the foreign object's name), a link, the id within the source, and the properties of a
    foreign STIX object that silkguard does not map (kept verbatim in ``extra``)."""

    kind: SourceKind
    title: str | None = None
    url: str | None = None
    external_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShareableIncident:
    """What an incident carries when it is shared. Times are aware; ``None`` is unknown.

    ``organisation`` is None when the incident was contributed anonymously to a pooled
    sharing group (or has no owning organisation): no identity is then exported."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    occurred_at: datetime
    date_precision: DatePrecision
    attack_type: AttackType
    target_type: TargetType
    tlp: TLP
    status: IncidentStatus = IncidentStatus.CONFIRMED
    place: str | None = None
    district: str | None = None
    province: str | None = None
    country: str = "PK"
    latitude: float | None = None
    longitude: float | None = None
    geo_precision: GeoPrecision = GeoPrecision.PLACE
    perpetrator: str | None = None
    claimed: bool | None = None
    killed: int | None = None
    injured: int | None = None
    killed_foreign: int | None = None
    injured_foreign: int | None = None
    nationalities: tuple[str, ...] = ()
    on_the_move: bool | None = None
    summary: str | None = None
    organisation: OrganisationRef | None = None
    sources: tuple[SharedSource, ...] = ()


@dataclass(frozen=True, slots=True)
class ShareableReport:
    """A written report about incidents. ``object_refs`` are STIX ids (see
    :func:`silkguard.sharing.stix.incident_stix_id`); foreign refs are kept as they are."""

    id: uuid.UUID
    title: str
    published: datetime
    object_refs: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    tlp: TLP
    description: str | None = None
    organisation: OrganisationRef | None = None


@dataclass(frozen=True, slots=True)
class ShareableNote:
    """An analyst's note on shared objects (STIX ids in ``object_refs``)."""

    id: uuid.UUID
    content: str
    object_refs: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    tlp: TLP
    abstract: str | None = None
    organisation: OrganisationRef | None = None


@dataclass(frozen=True, slots=True)
class ShareableSighting:
    """ "We saw this too": a partner's sighting of a shared object, counted. With
    ``organisation`` None the partner stays unnamed (no ``created_by_ref``, no
    ``where_sighted_refs``)."""

    id: uuid.UUID
    sighting_of_ref: str
    count: int
    created_at: datetime
    updated_at: datetime
    tlp: TLP
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    organisation: OrganisationRef | None = None
    stix_id: str | None = None  # the id it arrived with (set on import; export derives one)


@dataclass(frozen=True, slots=True)
class ObjectError:
    """One STIX object that was rejected, and why."""

    object_id: str
    reason: str

    def describe(self) -> str:
        return f"{self.object_id}: {self.reason}"


@dataclass(slots=True)
class ImportResult:
    """What a bundle yielded. ``ignored`` lists valid objects of types silkguard does not
    import (indicators, malware, ...); they are neither errors nor stored."""

    incidents: list[ShareableIncident] = field(default_factory=list)
    reports: list[ShareableReport] = field(default_factory=list)
    notes: list[ShareableNote] = field(default_factory=list)
    sightings: list[ShareableSighting] = field(default_factory=list)
    organisations: list[OrganisationRef] = field(default_factory=list)
    errors: list[ObjectError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


class StixObjectErrors(InvalidInput):
    """A bundle with invalid objects, imported without ``skip_bad``: nothing was accepted."""

    SHOWN_LIMIT = 50

    def __init__(self, errors: list[ObjectError]) -> None:
        self.errors = errors
        lines = [e.describe() for e in errors[: self.SHOWN_LIMIT]]
        more = len(errors) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more invalid objects")
        head = (
            f"STIX bundle: {len(errors)} invalid object(s); nothing was imported. Fix the "
            "objects, or import the valid ones with --skip-bad."
        )
        super().__init__("\n".join([head, *lines]))
