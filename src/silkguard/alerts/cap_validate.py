"""Structural validation of CAP 1.2 documents without the XSD.

Checks what the CAP 1.2 element rules say and a parser can see: the namespace, which elements
exist, their order and how often they occur, the closed value lists, the dateTime format
(explicit offset, no "Z", UTC written "-00:00", no fractions), identifiers without spaces,
commas, "<" or "&", references as "sender,identifier,sent" triples, closed polygons of at least
four "lat,lon" points, circles as "lat,lon radius". Each problem is one message naming the path
of the element, e.g. ``alert/info[2]/area[1]/polygon[1]: ...``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from functools import partial

__all__ = [
    "CAP_CATEGORIES",
    "CAP_CERTAINTIES",
    "CAP_MSG_TYPES",
    "CAP_NS",
    "CAP_RESPONSE_TYPES",
    "CAP_SCOPES",
    "CAP_SEVERITIES",
    "CAP_STATUSES",
    "CAP_URGENCIES",
    "validate_cap",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

CAP_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
CAP_MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
CAP_SCOPES = ("Public", "Restricted", "Private")
CAP_CATEGORIES = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
    "CBRNE", "Other",
)  # fmt: skip
CAP_RESPONSE_TYPES = (
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None",
)  # fmt: skip
CAP_URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
CAP_SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CAP_CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

_UNBOUNDED = 1_000_000
# (element, min occurs, max occurs) in the order CAP 1.2 requires.
_Schema = tuple[tuple[str, int, int], ...]
_ALERT: _Schema = (
    ("identifier", 1, 1), ("sender", 1, 1), ("sent", 1, 1), ("status", 1, 1),
    ("msgType", 1, 1), ("source", 0, 1), ("scope", 1, 1), ("restriction", 0, 1),
    ("addresses", 0, 1), ("code", 0, _UNBOUNDED), ("note", 0, 1), ("references", 0, 1),
    ("incidents", 0, 1), ("info", 0, _UNBOUNDED),
)  # fmt: skip
_INFO: _Schema = (
    ("language", 0, 1), ("category", 1, _UNBOUNDED), ("event", 1, 1),
    ("responseType", 0, _UNBOUNDED), ("urgency", 1, 1), ("severity", 1, 1),
    ("certainty", 1, 1), ("audience", 0, 1), ("eventCode", 0, _UNBOUNDED),
    ("effective", 0, 1), ("onset", 0, 1), ("expires", 0, 1), ("senderName", 0, 1),
    ("headline", 0, 1), ("description", 0, 1), ("instruction", 0, 1), ("web", 0, 1),
    ("contact", 0, 1), ("parameter", 0, _UNBOUNDED), ("resource", 0, _UNBOUNDED),
    ("area", 0, _UNBOUNDED),
)  # fmt: skip
_NAMED_VALUE: _Schema = (("valueName", 1, 1), ("value", 1, 1))
_RESOURCE: _Schema = (
    ("resourceDesc", 1, 1), ("mimeType", 1, 1), ("size", 0, 1), ("uri", 0, 1),
    ("derefUri", 0, 1), ("digest", 0, 1),
)  # fmt: skip
_AREA: _Schema = (
    ("areaDesc", 1, 1), ("polygon", 0, _UNBOUNDED), ("circle", 0, _UNBOUNDED),
    ("geocode", 0, _UNBOUNDED), ("altitude", 0, 1), ("ceiling", 0, 1),
)  # fmt: skip

_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
_FORBIDDEN_ID_CHARS = re.compile(r"[\s,<&]")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_POINT = re.compile(rf"^({_NUMBER}),({_NUMBER})$")
_CIRCLE = re.compile(rf"^({_NUMBER}),({_NUMBER})\s+({_NUMBER})$")
_MIN_POLYGON_POINTS = 4
_MAX_LAT, _MAX_LON = 90.0, 180.0


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _local(tag: str) -> str | None:
    """The local name of a CAP element, or None for an element outside the CAP namespace."""
    prefix = f"{{{CAP_NS}}}"
    return tag[len(prefix) :] if tag.startswith(prefix) else None


def _text(element: ET.Element) -> str:
    return (element.text or "").strip()


def _check_sequence(parent: ET.Element, schema: _Schema, path: str) -> list[str]:
    """Presence, order and number of the children of ``parent``."""
    problems: list[str] = []
    names = [name for name, _, _ in schema]
    counts = dict.fromkeys(names, 0)
    position = 0
    for child in parent:
        if not isinstance(child.tag, str):  # comments and processing instructions
            continue
        name = _local(child.tag)
        if name is None:
            problems.append(f"{path}: element {child.tag} is not in the CAP 1.2 namespace")
            continue
        if name not in counts:
            problems.append(f"{path}: unknown element <{name}>")
            continue
        index = names.index(name)
        if index < position:
            problems.append(
                f"{path}: <{name}> is out of order; it must come before <{names[position]}>"
            )
        position = max(position, index)
        counts[name] += 1
    for name, low, high in schema:
        if counts[name] < low:
            problems.append(f"{path}: required element <{name}> is missing")
        elif counts[name] > high:
            problems.append(f"{path}: <{name}> occurs {counts[name]} times; at most {high}")
    return problems


def _children(parent: ET.Element, name: str, path: str) -> list[tuple[ET.Element, str]]:
    found = parent.findall(_q(name))
    if len(found) == 1:
        return [(found[0], f"{path}/{name}")]
    return [(e, f"{path}/{name}[{i}]") for i, e in enumerate(found, 1)]


def _check_enum(element: ET.Element, path: str, allowed: tuple[str, ...]) -> list[str]:
    value = _text(element)
    if value in allowed:
        return []
    return [f"{path}: {value!r} is not one of {', '.join(allowed)}"]


def _check_datetime(element: ET.Element, path: str) -> list[str]:
    value = _text(element)
    if value.endswith(("Z", "z")):
        return [f"{path}: {value!r} uses 'Z'; CAP 1.2 requires an offset, '-00:00' for UTC"]
    if not _DATETIME.match(value):
        return [
            f"{path}: {value!r} is not a CAP dateTime YYYY-MM-DDThh:mm:ss+hh:mm "
            "(explicit offset, no fractional seconds)"
        ]
    if value.endswith("+00:00"):
        return [f"{path}: {value!r}: CAP 1.2 writes the UTC offset as '-00:00', not '+00:00'"]
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return [f"{path}: {value!r} is not a real date and time"]
    return []


def _check_identifier(element: ET.Element, path: str) -> list[str]:
    value = _text(element)
    if not value:
        return [f"{path}: is empty"]
    if _FORBIDDEN_ID_CHARS.search(value):
        return [f"{path}: {value!r} contains a space, comma, '<' or '&', which CAP forbids"]
    return []


def _check_point(text: str, path: str) -> tuple[float, float] | str:
    match = _POINT.match(text)
    if not match:
        return f"{path}: point {text!r} is not 'lat,lon'"
    lat, lon = float(match[1]), float(match[2])
    if not (-_MAX_LAT <= lat <= _MAX_LAT and -_MAX_LON <= lon <= _MAX_LON):
        return f"{path}: point {text!r} is outside latitude -90..90 / longitude -180..180"
    return lat, lon


def _check_polygon(element: ET.Element, path: str) -> list[str]:
    points: list[tuple[float, float]] = []
    for token in _text(element).split():
        point = _check_point(token, path)
        if isinstance(point, str):
            return [point]
        points.append(point)
    if len(points) < _MIN_POLYGON_POINTS:
        return [
            f"{path}: has {len(points)} points; a CAP polygon needs at least 4 "
            "(the first repeated as the last)"
        ]
    if points[0] != points[-1]:
        return [f"{path}: is not closed; the last point must repeat the first"]
    return []


def _check_circle(element: ET.Element, path: str) -> list[str]:
    value = " ".join(_text(element).split())
    match = _CIRCLE.match(value)
    if not match:
        return [f"{path}: {value!r} is not 'lat,lon radius_km'"]
    point = _check_point(f"{match[1]},{match[2]}", path)
    if isinstance(point, str):
        return [point]
    if float(match[3]) < 0:
        return [f"{path}: radius {match[3]} km is negative"]
    return []


def _check_references(element: ET.Element, path: str) -> list[str]:
    problems: list[str] = []
    for triple in _text(element).split():
        parts = triple.split(",")
        if len(parts) != 3 or not all(parts):
            problems.append(f"{path}: {triple!r} is not 'sender,identifier,sent'")
            continue
        holder = ET.Element("sent")
        holder.text = parts[2]
        problems.extend(_check_datetime(holder, f"{path} ({triple})"))
    if not _text(element):
        problems.append(f"{path}: is empty")
    return problems


def _check_each(
    parent: ET.Element, path: str, name: str, check: Callable[[ET.Element, str], list[str]]
) -> list[str]:
    return [p for element, where in _children(parent, name, path) for p in check(element, where)]


def _check_area(area: ET.Element, path: str) -> list[str]:
    problems = _check_sequence(area, _AREA, path)
    problems += _check_each(area, path, "polygon", _check_polygon)
    problems += _check_each(area, path, "circle", _check_circle)
    for geocode, where in _children(area, "geocode", path):
        problems += _check_sequence(geocode, _NAMED_VALUE, where)
    if area.find(_q("ceiling")) is not None and area.find(_q("altitude")) is None:
        problems.append(f"{path}: <ceiling> needs <altitude>")
    return problems


def _check_info(info: ET.Element, path: str) -> list[str]:
    problems = _check_sequence(info, _INFO, path)
    enums = {
        "category": CAP_CATEGORIES,
        "responseType": CAP_RESPONSE_TYPES,
        "urgency": CAP_URGENCIES,
        "severity": CAP_SEVERITIES,
        "certainty": CAP_CERTAINTIES,
    }
    for name, allowed in enums.items():
        problems += _check_each(info, path, name, partial(_check_enum, allowed=allowed))
    for name in ("effective", "onset", "expires"):
        problems += _check_each(info, path, name, _check_datetime)
    for name in ("eventCode", "parameter"):
        for element, where in _children(info, name, path):
            problems += _check_sequence(element, _NAMED_VALUE, where)
    for resource, where in _children(info, "resource", path):
        problems += _check_sequence(resource, _RESOURCE, where)
    for area, where in _children(info, "area", path):
        problems += _check_area(area, where)
    return problems


def _parse(xml_bytes: bytes) -> ET.Element | str:
    head = xml_bytes[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in xml_bytes.lower():
        return "document has a DOCTYPE or ENTITY declaration; CAP documents must not"
    try:
        # Safe here: DTDs, and with them entity expansion, are refused just above.
        return ET.fromstring(xml_bytes)  # noqa: S314
    except ET.ParseError as exc:
        return f"not well-formed XML: {exc}"


def validate_cap(xml_bytes: bytes) -> list[str]:
    """Every CAP 1.2 structural rule ``xml_bytes`` breaks; an empty list means none."""
    root = _parse(xml_bytes)
    if isinstance(root, str):
        return [root]
    if root.tag != _q("alert"):
        return [f"root element is {root.tag}, not <alert> in namespace {CAP_NS}"]
    path = "alert"
    problems = _check_sequence(root, _ALERT, path)
    problems += _check_each(root, path, "identifier", _check_identifier)
    problems += _check_each(root, path, "sender", _check_identifier)
    problems += _check_each(root, path, "sent", _check_datetime)
    problems += _check_each(root, path, "status", lambda e, p: _check_enum(e, p, CAP_STATUSES))
    problems += _check_each(root, path, "msgType", lambda e, p: _check_enum(e, p, CAP_MSG_TYPES))
    problems += _check_each(root, path, "scope", lambda e, p: _check_enum(e, p, CAP_SCOPES))
    problems += _check_each(root, path, "references", _check_references)
    scope = root.findtext(_q("scope"), "").strip()
    if scope == "Restricted" and root.find(_q("restriction")) is None:
        problems.append(f"{path}: scope Restricted needs <restriction>")
    if scope == "Private" and root.find(_q("addresses")) is None:
        problems.append(f"{path}: scope Private needs <addresses>")
    msg_type = root.findtext(_q("msgType"), "").strip()
    if msg_type in ("Update", "Cancel", "Ack", "Error") and root.find(_q("references")) is None:
        problems.append(f"{path}: msgType {msg_type} needs <references> to the earlier message")
    for info, where in _children(root, "info", path):
        problems += _check_info(info, where)
    return problems
