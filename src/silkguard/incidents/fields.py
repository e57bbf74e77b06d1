"""The normalised content of one source record: what a source says about an incident, in our
vocabularies and units. Pure data; the merged incident is computed from these."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from silkguard.core.tlp import TLP
from silkguard.incidents.vocab import AttackType, DatePrecision, GeoPrecision, TargetType

__all__ = ["MERGEABLE_FIELDS", "IncidentFields", "content_hash"]


@dataclass(slots=True)
class IncidentFields:
    occurred_at: datetime
    date_precision: DatePrecision
    attack_type: AttackType
    target_type: TargetType
    latitude: float | None = None
    longitude: float | None = None
    geo_precision: GeoPrecision = GeoPrecision.COUNTRY
    place: str | None = None
    district: str | None = None
    province: str | None = None
    country: str = "PK"
    perpetrator: str | None = None
    claimed: bool | None = None
    killed: int | None = None
    injured: int | None = None
    killed_foreign: int | None = None
    injured_foreign: int | None = None
    nationalities: list[str] = field(default_factory=list)
    on_the_move: bool | None = None
    summary: str | None = None
    tlp: TLP = TLP.GREEN
    url: str | None = None
    h3: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        # by hand rather than dataclasses.asdict, which deep-copies every value (hot in imports)
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "date_precision": self.date_precision.value,
            "attack_type": self.attack_type.value,
            "target_type": self.target_type.value,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "geo_precision": self.geo_precision.value,
            "place": self.place,
            "district": self.district,
            "province": self.province,
            "country": self.country,
            "perpetrator": self.perpetrator,
            "claimed": self.claimed,
            "killed": self.killed,
            "injured": self.injured,
            "killed_foreign": self.killed_foreign,
            "injured_foreign": self.injured_foreign,
            "nationalities": list(self.nationalities),
            "on_the_move": self.on_the_move,
            "summary": self.summary,
            "tlp": self.tlp.value,
            "url": self.url,
            "h3": {str(k): v for k, v in self.h3.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentFields:
        values = dict(data)
        values["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
        values["date_precision"] = DatePrecision(values["date_precision"])
        values["attack_type"] = AttackType(values["attack_type"])
        values["target_type"] = TargetType(values["target_type"])
        values["geo_precision"] = GeoPrecision(values["geo_precision"])
        values["tlp"] = TLP(values["tlp"])
        values["h3"] = {int(k): int(v) for k, v in values.get("h3", {}).items()}
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# Incident columns that come straight from the record fields of the same name.
MERGEABLE_FIELDS = (
    "place",
    "district",
    "province",
    "country",
    "attack_type",
    "target_type",
    "perpetrator",
    "claimed",
    "killed",
    "injured",
    "killed_foreign",
    "injured_foreign",
    "on_the_move",
    "summary",
)


def content_hash(raw: dict[str, Any]) -> str:
    """A stable hash of a raw row: same content, same hash, whatever the key order."""
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
