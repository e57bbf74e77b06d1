"""CAP 1.2 documents for public alerts, and the Atom 1.0 index that lists them.

:func:`cap_document` turns a :class:`PublicAlert` into one CAP ``alert`` with one ``info`` block
per language (English, Chinese, then Urdu when given), all with the same area. Output is
deterministic: same alert, same bytes (fixed element order, fixed language order, numbers
without trailing zeros, two-space indentation). :func:`validate_cap` (from ``cap_validate``)
checks a document against the CAP 1.2 element rules.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from silkguard.alerts.cap_validate import (
    CAP_CERTAINTIES,
    CAP_MSG_TYPES,
    CAP_NS,
    CAP_RESPONSE_TYPES,
    CAP_STATUSES,
    CAP_URGENCIES,
    validate_cap,
)
from silkguard.alerts.channels import DRILL_MARKERS
from silkguard.alerts.vocab import AlertCategory, AlertSeverity
from silkguard.core.errors import InvalidInput

__all__ = [
    "CAP_CATEGORY",
    "CAP_NS",
    "CAP_SEVERITY",
    "DEFAULT_URGENCY",
    "AlertText",
    "Circle",
    "Polygon",
    "PublicAlert",
    "cap_datetime",
    "cap_document",
    "cap_documents",
    "cap_element",
    "serialize",
    "validate_cap",
]

CAP_SEVERITY: Mapping[AlertSeverity, str] = {
    AlertSeverity.LOW: "Minor",
    AlertSeverity.MODERATE: "Moderate",
    AlertSeverity.HIGH: "Severe",
    AlertSeverity.CRITICAL: "Extreme",
}
DEFAULT_URGENCY: Mapping[AlertSeverity, str] = {
    AlertSeverity.LOW: "Future",
    AlertSeverity.MODERATE: "Expected",
    AlertSeverity.HIGH: "Immediate",
    AlertSeverity.CRITICAL: "Immediate",
}
CAP_CATEGORY: Mapping[AlertCategory, str] = {
    AlertCategory.SECURITY: "Security",
    AlertCategory.SAFETY: "Safety",
    AlertCategory.RESCUE: "Rescue",
    AlertCategory.FIRE: "Fire",
    AlertCategory.HEALTH: "Health",
    AlertCategory.WEATHER: "Met",
    AlertCategory.NATURAL_HAZARD: "Geo",
    AlertCategory.ENVIRONMENT: "Env",
    AlertCategory.TRANSPORT: "Transport",
    AlertCategory.INFRASTRUCTURE: "Infra",
    AlertCategory.CBRNE: "CBRNE",
    AlertCategory.OTHER: "Other",
}
REQUIRED_LANGUAGES = ("en", "zh-CN")
LANGUAGE_ORDER = ("en", "zh-CN", "ur")
_DRILL_NOTE = "Exercise / drill: not a real alert. 演习：非真实警报。"  # noqa: RUF001
_FORBIDDEN_ID_CHARS = frozenset(" \t\n,<&")


def _fail(msg: str) -> InvalidInput:
    return InvalidInput(msg)


@dataclass(frozen=True, slots=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class Polygon:
    """A ring of (lat, lon) points; closed automatically when the last point is not the first."""

    ring: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class AlertText:
    """The words of an alert in one language."""

    event: str
    headline: str
    description: str
    instruction: str
    area_desc: str


@dataclass(frozen=True, slots=True)
class PublicAlert:
    """A public alert as published in CAP.

    ``severity`` and ``category`` are our vocabularies (mapped with :data:`CAP_SEVERITY` and
    :data:`CAP_CATEGORY`); ``urgency`` defaults from the severity (:data:`DEFAULT_URGENCY`).
    ``texts`` holds ``en`` and ``zh-CN`` and optionally ``ur``. ``drill`` forces CAP status
    ``Exercise`` and marks every headline. ``references`` are the earlier alerts an Update or
    Cancel replaces, as (sender, identifier, sent).
    """

    id: str
    sender: str
    sent: datetime
    severity: AlertSeverity
    category: AlertCategory
    texts: Mapping[str, AlertText]
    area: Circle | Polygon
    effective: datetime | None = None
    expires: datetime | None = None
    drill: bool = False
    status: str = "Actual"
    msg_type: str = "Alert"
    urgency: str | None = None
    certainty: str = "Observed"
    response_type: str | None = None
    sender_name: str | None = None
    web: str | None = None
    references: tuple[tuple[str, str, datetime], ...] = ()
    incident_ids: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_id("PublicAlert.id", self.id)
        _check_id("PublicAlert.sender", self.sender)
        for name in ("sent", "effective", "expires"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise _fail(f"PublicAlert.{name} has no time zone; give an aware datetime")
        missing = [lang for lang in REQUIRED_LANGUAGES if lang not in self.texts]
        if missing:
            raise _fail(
                f"PublicAlert {self.id}: texts lack {', '.join(missing)}; public alerts "
                "carry English (en) and Chinese (zh-CN), Urdu (ur) optional"
            )
        unknown = sorted(set(self.texts) - set(LANGUAGE_ORDER))
        if unknown:
            raise _fail(
                f"PublicAlert {self.id}: languages {', '.join(unknown)} are not accepted; "
                f"use {', '.join(LANGUAGE_ORDER)}"
            )
        _check_choice("status", self.status, CAP_STATUSES)
        _check_choice("msg_type", self.msg_type, CAP_MSG_TYPES)
        _check_choice("certainty", self.certainty, CAP_CERTAINTIES)
        if self.urgency is not None:
            _check_choice("urgency", self.urgency, CAP_URGENCIES)
        if self.response_type is not None:
            _check_choice("response_type", self.response_type, CAP_RESPONSE_TYPES)
        if self.msg_type in ("Update", "Cancel") and not self.references:
            raise _fail(
                f"PublicAlert {self.id}: msg_type {self.msg_type} needs references to the "
                "alert(s) it replaces"
            )
        if self.effective and self.expires and self.expires <= self.effective:
            raise _fail(f"PublicAlert {self.id}: expires must be after effective")
        _check_area(self.area)

    @property
    def cap_status(self) -> str:
        return "Exercise" if self.drill else self.status

    def languages(self) -> list[str]:
        return [lang for lang in LANGUAGE_ORDER if lang in self.texts]


def _check_id(name: str, value: str) -> None:
    if not value or _FORBIDDEN_ID_CHARS & set(value):
        raise _fail(f"{name} {value!r} is empty or has a space, comma, '<' or '&'; CAP forbids")


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise _fail(f"PublicAlert.{name} {value!r} is not one of {', '.join(allowed)}")


def _check_point(lat: float, lon: float) -> None:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _fail(f"area point ({lat}, {lon}) is outside latitude -90..90 / longitude -180..180")


def _check_area(area: Circle | Polygon) -> None:
    if isinstance(area, Circle):
        _check_point(area.lat, area.lon)
        if not area.radius_km > 0:
            raise _fail(f"area circle radius {area.radius_km} km must be positive")
        return
    for lat, lon in area.ring:
        _check_point(lat, lon)
    if len(set(area.ring)) < 3:
        raise _fail("area polygon needs at least 3 distinct (lat, lon) points")


def cap_datetime(value: datetime) -> str:
    """CAP dateTime: whole seconds, explicit offset, UTC as ``-00:00`` (never ``Z``)."""
    offset = value.utcoffset()
    if offset is None:
        raise _fail(f"{value.isoformat()} has no time zone; CAP needs an offset")
    text = value.replace(microsecond=0, tzinfo=None).isoformat()
    if offset == timedelta(0):
        return f"{text}-00:00"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _num(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _area_values(area: Circle | Polygon) -> tuple[str, str]:
    """(element name, text) in CAP's 'lat,lon' notation."""
    if isinstance(area, Circle):
        return "circle", f"{_num(area.lat)},{_num(area.lon)} {_num(area.radius_km)}"
    ring = list(area.ring)
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return "polygon", " ".join(f"{_num(lat)},{_num(lon)}" for lat, lon in ring)


def _sub(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{name}")
    if text is not None:
        element.text = text
    return element


def _parameter(info: ET.Element, name: str, value: str) -> None:
    parameter = _sub(info, "parameter")
    _sub(parameter, "valueName", name)
    _sub(parameter, "value", value)


def _info(alert: PublicAlert, language: str, root: ET.Element) -> None:
    text = alert.texts[language]
    info = _sub(root, "info")
    _sub(info, "language", language)
    _sub(info, "category", CAP_CATEGORY[alert.category])
    _sub(info, "event", text.event)
    if alert.response_type:
        _sub(info, "responseType", alert.response_type)
    _sub(info, "urgency", alert.urgency or DEFAULT_URGENCY[alert.severity])
    _sub(info, "severity", CAP_SEVERITY[alert.severity])
    _sub(info, "certainty", alert.certainty)
    if alert.effective:
        _sub(info, "effective", cap_datetime(alert.effective))
    if alert.expires:
        _sub(info, "expires", cap_datetime(alert.expires))
    if alert.sender_name:
        _sub(info, "senderName", alert.sender_name)
    headline = text.headline
    if alert.drill:
        marker = DRILL_MARKERS.get(language.split("-", maxsplit=1)[0], DRILL_MARKERS["en"])
        headline = f"{marker} {headline}"
    _sub(info, "headline", headline)
    _sub(info, "description", text.description)
    _sub(info, "instruction", text.instruction)
    if alert.web:
        _sub(info, "web", alert.web)
    _parameter(info, "silkguard:severity", alert.severity.value)
    _parameter(info, "silkguard:category", alert.category.value)
    for name in sorted(alert.extra):
        _parameter(info, name, alert.extra[name])
    area = _sub(info, "area")
    _sub(area, "areaDesc", text.area_desc)
    shape, value = _area_values(alert.area)
    _sub(area, shape, value)


def cap_element(alert: PublicAlert) -> ET.Element:
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", alert.id)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_datetime(alert.sent))
    _sub(root, "status", alert.cap_status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", "Public")
    if alert.drill:
        _sub(root, "note", _DRILL_NOTE)
    if alert.references:
        refs = " ".join(f"{s},{i},{cap_datetime(t)}" for s, i, t in alert.references)
        _sub(root, "references", refs)
    if alert.incident_ids:
        _sub(root, "incidents", " ".join(alert.incident_ids))
    for language in alert.languages():
        _info(alert, language, root)
    return root


def serialize(root: ET.Element, namespace: str | None) -> bytes:
    """UTF-8 bytes with ``namespace`` (when given) as the default namespace, indented."""
    ET.indent(root, space="  ")
    text = ET.tostring(root, encoding="unicode", default_namespace=namespace)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'.encode()


def cap_document(alert: PublicAlert) -> bytes:
    """The CAP 1.2 XML document for ``alert`` (UTF-8 bytes, deterministic)."""
    return serialize(cap_element(alert), CAP_NS)


def cap_documents(alerts: Iterable[PublicAlert]) -> dict[str, bytes]:
    """One CAP document per alert id."""
    return {alert.id: cap_document(alert) for alert in alerts}
