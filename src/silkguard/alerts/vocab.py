"""Closed vocabularies of the alerts package, validated in one place."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from silkguard.core.errors import InvalidInput

__all__ = [
    "AlertCategory",
    "AlertSeverity",
    "AlertSource",
    "ChannelKind",
    "DeliveryState",
    "parse_enum",
]


_E = TypeVar("_E", bound=StrEnum)


class AlertSeverity(StrEnum):
    """How bad it is for the people inside the area (mapped to CAP in ``cap.py``)."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"


class AlertCategory(StrEnum):
    """What kind of danger; each maps to one CAP ``category``."""

    SECURITY = "security"  # attack, threat, unrest
    SAFETY = "safety"  # general public safety, lockdown
    RESCUE = "rescue"
    FIRE = "fire"
    HEALTH = "health"
    WEATHER = "weather"
    NATURAL_HAZARD = "natural_hazard"  # earthquake, flood, landslide
    ENVIRONMENT = "environment"
    TRANSPORT = "transport"  # road closure, convoy halt
    INFRASTRUCTURE = "infrastructure"  # power, telecoms, water
    CBRNE = "cbrne"
    OTHER = "other"


class AlertSource(StrEnum):
    INCIDENT = "incident"
    OVERDUE_MOVEMENT = "overdue_movement"
    SOS = "sos"
    MANUAL = "manual"


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    SMS = "sms"
    MQTT = "mqtt"


class DeliveryState(StrEnum):
    """Delivery state per person and channel. ``sent``: a server accepted the message (SMTP
    server, SMS gateway, MQTT broker); ``delivered``: the final receiver acknowledged it (a
    webhook endpoint answered 2xx, or a later delivery report)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


def parse_enum(enum: type[_E], value: str, *, field: str) -> _E:
    """``value`` as a member of ``enum``, or InvalidInput naming the field and the choices."""
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        msg = f"{field}: {value!r} is not accepted; use one of {choices}"
        raise InvalidInput(msg) from None
