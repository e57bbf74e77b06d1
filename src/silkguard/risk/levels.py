"""Threat levels 1-6 from forecast intensity and recent events, with a reason in plain words.

A level is the higher of two readings, so neither a quiet forecast nor a short memory can hide
danger:

* **forecast**: the subject's forecast density (expected attacks per km2 over the horizon)
  divided by the corridor-wide mean density of the same run. Ratios are scale-free, so the
  levels mean the same whether the model expects 3 or 300 attacks next month. With the default
  cuts a subject at the corridor average is level 3; 3x is 4, 10x is 5, 30x is 6.
* **recent**: attacks within ``recent_radius_km`` of the subject in the ``recent_days`` before
  the forecast: 1 makes it at least level 3, 2 level 4, 4 level 5, 8 level 6.

Organisations may set their own cuts (:class:`LevelPolicy`); the policy in force is stored with
every run so an old level can be explained with the rule that produced it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from silkguard.core.errors import InvalidInput

__all__ = [
    "LEVEL_NAMES",
    "LevelPolicy",
    "LevelReading",
    "forecast_levels",
    "read_level",
    "recent_level",
]

LEVEL_NAMES: Mapping[int, str] = {
    1: "minimal",
    2: "low",
    3: "moderate",
    4: "substantial",
    5: "severe",
    6: "extreme",
}
_FORECAST_CUTS = 5  # ratio cuts for levels 2..6
_RECENT_CUTS = 4  # recent-count cuts for levels 3..6

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LevelPolicy:
    """Thresholds of the threat levels (see the module docstring)."""

    ratio_cuts: tuple[float, ...] = (0.25, 1.0, 3.0, 10.0, 30.0)
    recent_cuts: tuple[int, ...] = (1, 2, 4, 8)
    recent_days: int = 30
    recent_radius_km: float = 20.0
    horizon_days: int = 30

    def __post_init__(self) -> None:
        _check_cuts("ratio_cuts", self.ratio_cuts, _FORECAST_CUTS)
        _check_cuts("recent_cuts", self.recent_cuts, _RECENT_CUTS)
        for name in ("recent_days", "recent_radius_km", "horizon_days"):
            value = getattr(self, name)
            if not value > 0:
                msg = f"risk policy field {name!r} must be positive, got {value!r}"
                raise InvalidInput(msg)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LevelPolicy:
        """From stored or user-supplied JSON; unknown fields are refused by name."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            msg = f"unknown risk policy field(s) {unknown}; accepted: {sorted(known)}"
            raise InvalidInput(msg)
        values: dict[str, Any] = dict(data)
        try:
            for name in ("ratio_cuts", "recent_cuts"):
                if name in values:
                    kind = float if name == "ratio_cuts" else int
                    values[name] = tuple(kind(v) for v in values[name])
            for name in ("recent_days", "horizon_days"):
                if name in values:
                    values[name] = int(values[name])
            if "recent_radius_km" in values:
                values["recent_radius_km"] = float(values["recent_radius_km"])
        except (TypeError, ValueError) as exc:
            msg = f"risk policy has a non-numeric value: {exc}; give numbers"
            raise InvalidInput(msg) from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio_cuts"] = list(self.ratio_cuts)
        data["recent_cuts"] = list(self.recent_cuts)
        return data


def _check_cuts(name: str, cuts: tuple[float, ...], expected: int) -> None:
    if len(cuts) != expected:
        msg = f"risk policy {name} needs {expected} increasing thresholds, got {len(cuts)}"
        raise InvalidInput(msg)
    if any(not c > 0 for c in cuts) or any(b <= a for a, b in pairwise(cuts)):
        msg = f"risk policy {name} must be positive and strictly increasing, got {list(cuts)}"
        raise InvalidInput(msg)


@dataclass(frozen=True)
class LevelReading:
    """A subject's level and the evidence behind it."""

    level: int
    forecast_level: int
    recent_level: int
    ratio_corridor: float
    ratio_province: float | None
    province: str | None
    expected: float
    recent_by_type: dict[str, int]
    reason: str

    @property
    def name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def recent_total(self) -> int:
        return sum(self.recent_by_type.values())

    def details(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("reason")
        data["name"] = self.name
        return data


def forecast_levels(ratios: npt.ArrayLike, policy: LevelPolicy) -> npt.NDArray[np.int64]:
    """Forecast level (1-6) for each density ratio to the corridor mean."""
    cuts = np.asarray(policy.ratio_cuts, dtype=np.float64)
    return (1 + np.searchsorted(cuts, np.asarray(ratios, dtype=np.float64), side="right")).astype(
        np.int64
    )


def recent_level(count: int, policy: LevelPolicy) -> int:
    """Level implied by ``count`` recent attacks nearby (1 when none)."""
    if count < policy.recent_cuts[0]:
        return 1
    return 2 + int(np.searchsorted(np.asarray(policy.recent_cuts), count, side="right"))


def read_level(
    *,
    expected: float,
    area_km2: float,
    corridor_density: float,
    province: str | None,
    province_density: float | None,
    recent_types: Iterable[str],
    policy: LevelPolicy,
) -> LevelReading:
    """The level of one subject (cell, site, district, route segment).

    Parameters
    ----------
    expected
        Forecast events in the subject's area over the policy's horizon.
    area_km2
        The area ``expected`` covers (positive).
    corridor_density, province_density
        Mean forecast events per km2 over the horizon, corridor-wide and in the subject's
        province (``None`` when the province is unknown).
    recent_types
        The attack type of each attack within the policy's radius and recent days.
    """
    if not area_km2 > 0:
        msg = f"a threat level needs a positive area, got {area_km2} km2"
        raise InvalidInput(msg)
    density = expected / area_km2
    ratio = density / corridor_density if corridor_density > 0 else 0.0
    ratio_prov = None
    if province_density is not None and province_density > 0:
        ratio_prov = density / province_density
    by_type = dict(Counter(t or "unknown" for t in recent_types).most_common())
    f_level = int(forecast_levels([ratio], policy)[0])
    r_level = recent_level(sum(by_type.values()), policy)
    level = max(f_level, r_level)
    reason = _reason(
        level=level,
        f_level=f_level,
        r_level=r_level,
        ratio=ratio,
        ratio_prov=ratio_prov,
        province=province,
        by_type=by_type,
        policy=policy,
    )
    return LevelReading(
        level=level,
        forecast_level=f_level,
        recent_level=r_level,
        ratio_corridor=ratio,
        ratio_province=ratio_prov,
        province=province,
        expected=expected,
        recent_by_type=by_type,
        reason=reason,
    )


def _label(attack_type: str) -> str:
    words = attack_type.replace("_", " ")
    return words.replace("vbied", "VBIED").replace("ied", "IED")


def _recent_phrase(by_type: Mapping[str, int], policy: LevelPolicy) -> str:
    total = sum(by_type.values())
    where = f"within {policy.recent_radius_km:g} km in the last {policy.recent_days} days"
    if total == 0:
        return f"no attacks {where}"
    parts = [f"{n} {_label(kind)}" for kind, n in by_type.items()]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    noun = "attack" if total == 1 else "attacks"
    return f"{listed} {noun} {where}"


def _times(ratio: float) -> str:
    """``4.1x``; small ratios keep a significant digit (``0.04x``) rather than read ``0.0x``."""
    if ratio < 0.01:
        return "under 0.01x"
    return f"{ratio:.2f}x" if ratio < 0.1 else f"{ratio:.1f}x"


def _reason(
    *,
    level: int,
    f_level: int,
    r_level: int,
    ratio: float,
    ratio_prov: float | None,
    province: str | None,
    by_type: Mapping[str, int],
    policy: LevelPolicy,
) -> str:
    forecast = f"forecast rate {_times(ratio)} the corridor average"
    if ratio_prov is not None and province:
        forecast = (
            f"forecast rate {_times(ratio_prov)} the {province} average ({_times(ratio)} corridor)"
        )
    head = f"Level {level} ({LEVEL_NAMES[level]}): "
    recent = _recent_phrase(by_type, policy)
    if r_level > f_level:
        return head + f"{recent}; {forecast}"
    return head + f"{forecast}; {recent}"
