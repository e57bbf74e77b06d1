"""Controlled vocabularies for incidents: attack types, target types, precisions, statuses and
source kinds, with the aliases each importer may meet. Validated here and nowhere else.

The categories cover those of the Global Terrorism Database codebook plus the corridor's own
(convoy, bus, project site, hotel, consulate, port, education). See docs/vocabularies.md."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from silkguard.core.errors import InvalidInput

__all__ = [
    "AttackType",
    "DatePrecision",
    "GeoPrecision",
    "IncidentStatus",
    "SourceKind",
    "TargetType",
    "attack_types_compatible",
    "parse_attack_type",
    "parse_target_type",
    "parse_vocab",
]


class AttackType(StrEnum):
    BOMBING = "bombing"  # explosion, device not specified
    IED = "ied"
    VBIED = "vbied"
    SUICIDE_BOMBING = "suicide_bombing"  # person-borne
    SUICIDE_VBIED = "suicide_vbied"
    GRENADE = "grenade"
    ROCKET = "rocket"  # rockets, mortars, other indirect fire
    SHOOTING = "shooting"
    ARMED_ASSAULT = "armed_assault"  # complex or sustained assault by armed attackers
    ASSASSINATION = "assassination"
    KIDNAPPING = "kidnapping"
    HOSTAGE_BARRICADE = "hostage_barricade"
    HIJACKING = "hijacking"
    SABOTAGE = "sabotage"  # facility or infrastructure attack (arson, pipeline, pylon)
    UNARMED_ASSAULT = "unarmed_assault"
    PLOT_FOILED = "plot_foiled"
    OTHER = "other"
    UNKNOWN = "unknown"


class TargetType(StrEnum):
    # GTD target categories
    BUSINESS = "business"
    GOVERNMENT = "government"
    POLICE = "police"
    MILITARY = "military"
    ABORTION_RELATED = "abortion_related"
    AIRPORT = "airport"
    DIPLOMATIC = "diplomatic"
    EDUCATION = "education"
    FOOD_WATER = "food_water"
    MEDIA = "media"
    MARITIME = "maritime"
    NGO = "ngo"
    CIVILIANS = "civilians"
    RELIGIOUS = "religious"
    TELECOM = "telecom"
    NON_STATE_ARMED = "non_state_armed"
    TOURISTS = "tourists"
    TRANSPORT = "transport"
    UTILITIES = "utilities"
    POLITICAL = "political"
    # corridor categories
    CONVOY = "convoy"
    BUS = "bus"  # a bus or van carrying project staff
    PROJECT_SITE = "project_site"
    HOTEL = "hotel"
    CONSULATE = "consulate"
    PORT = "port"
    FOREIGNERS = "foreigners"
    OTHER = "other"
    UNKNOWN = "unknown"


class DatePrecision(StrEnum):
    TIME = "time"  # date and time of day known
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class GeoPrecision(StrEnum):
    EXACT = "exact"
    PLACE = "place"
    DISTRICT = "district"
    PROVINCE = "province"
    COUNTRY = "country"


class IncidentStatus(StrEnum):
    DRAFT = "draft"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class SourceKind(StrEnum):
    GTD = "gtd"
    ACLED = "acled"
    NATIVE = "native"
    NEWS = "news"
    FIELD = "field"
    TIP = "tip"
    STIX = "stix"
    # The record of an incident contributed anonymously to a sharing group's pool: made by
    # silkguard.sharing.pool, naming no organisation or user; never read from a file.
    POOL = "pool"


_ATTACK_ALIASES: dict[str, AttackType] = {
    "suicide_bomber": AttackType.SUICIDE_BOMBING,
    "suicide_attack": AttackType.SUICIDE_BOMBING,
    "suicide": AttackType.SUICIDE_BOMBING,
    "explosion": AttackType.BOMBING,
    "bombing/explosion": AttackType.BOMBING,
    "bomb": AttackType.BOMBING,
    "car_bomb": AttackType.VBIED,
    "firing": AttackType.SHOOTING,
    "gunfire": AttackType.SHOOTING,
    "mortar": AttackType.ROCKET,
    "indirect_fire": AttackType.ROCKET,
    "abduction": AttackType.KIDNAPPING,
    "hostage_taking_(kidnapping)": AttackType.KIDNAPPING,
    "hostage_taking_(barricade_incident)": AttackType.HOSTAGE_BARRICADE,
    "facility/infrastructure_attack": AttackType.SABOTAGE,
    "arson": AttackType.SABOTAGE,
    "plot": AttackType.PLOT_FOILED,
    "foiled_plot": AttackType.PLOT_FOILED,
}

_TARGET_ALIASES: dict[str, TargetType] = {
    "site": TargetType.PROJECT_SITE,
    "security_forces": TargetType.MILITARY,
    "infrastructure": TargetType.UTILITIES,
    "private_citizens_&_property": TargetType.CIVILIANS,
    "private_citizens": TargetType.CIVILIANS,
    "religious_figures/institutions": TargetType.RELIGIOUS,
    "journalists_&_media": TargetType.MEDIA,
    "educational_institution": TargetType.EDUCATION,
    "airports_&_aircraft": TargetType.AIRPORT,
    "government_(general)": TargetType.GOVERNMENT,
    "government_(diplomatic)": TargetType.DIPLOMATIC,
    "food_or_water_supply": TargetType.FOOD_WATER,
    "telecommunication": TargetType.TELECOM,
    "terrorists/non-state_militia": TargetType.NON_STATE_ARMED,
    "transportation": TargetType.TRANSPORT,
    "violent_political_party": TargetType.POLITICAL,
    "vehicle": TargetType.BUS,
    "van": TargetType.BUS,
}

# Attack types that different sources use for the same kind of event.
_ATTACK_FAMILIES: list[frozenset[AttackType]] = [
    frozenset(
        {
            AttackType.BOMBING,
            AttackType.IED,
            AttackType.VBIED,
            AttackType.SUICIDE_BOMBING,
            AttackType.SUICIDE_VBIED,
            AttackType.GRENADE,
            AttackType.ROCKET,
        }
    ),
    frozenset(
        {
            AttackType.SHOOTING,
            AttackType.ARMED_ASSAULT,
            AttackType.ASSASSINATION,
            AttackType.UNARMED_ASSAULT,
        }
    ),
    frozenset({AttackType.KIDNAPPING, AttackType.HOSTAGE_BARRICADE, AttackType.HIJACKING}),
    frozenset({AttackType.SABOTAGE, AttackType.BOMBING, AttackType.IED}),
]
E = TypeVar("E", bound=StrEnum)
_WILDCARDS = frozenset({AttackType.OTHER, AttackType.UNKNOWN})


def _key(value: str) -> str:
    return "_".join(value.strip().lower().replace("-", "_").split())


def parse_vocab(enum: type[E], value: str, *, field: str) -> E:
    """Parse ``value`` into ``enum`` or raise an error listing what is accepted."""
    try:
        return enum(_key(value))
    except ValueError:
        accepted = ", ".join(m.value for m in enum)
        msg = f"{field} {value!r} is not in the vocabulary; use one of: {accepted}"
        raise InvalidInput(msg) from None


def parse_attack_type(value: str) -> AttackType:
    key = _key(value)
    if key in _ATTACK_ALIASES:
        return _ATTACK_ALIASES[key]
    return parse_vocab(AttackType, key, field="attack_type")


def parse_target_type(value: str) -> TargetType:
    key = _key(value)
    if key in _TARGET_ALIASES:
        return _TARGET_ALIASES[key]
    return parse_vocab(TargetType, key, field="target_type")


def attack_types_compatible(a: AttackType, b: AttackType) -> bool:
    """Could two sources describe one event with these attack types?"""
    if a == b or a in _WILDCARDS or b in _WILDCARDS:
        return True
    return any(a in fam and b in fam for fam in _ATTACK_FAMILIES)
