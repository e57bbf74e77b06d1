"""Threat levels 1-6: the two readings, the policy and the plain-language reason."""

from __future__ import annotations

import numpy as np
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.risk.levels import (
    LEVEL_NAMES,
    LevelPolicy,
    forecast_levels,
    read_level,
    recent_level,
)

POLICY = LevelPolicy()


def test_level_names_run_from_minimal_to_extreme() -> None:
    assert [LEVEL_NAMES[k] for k in range(1, 7)] == [
        "minimal",
        "low",
        "moderate",
        "substantial",
        "severe",
        "extreme",
    ]


@pytest.mark.parametrize(
    ("ratio", "level"),
    [
        (0.0, 1),
        (0.2, 1),
        (0.25, 2),
        (0.99, 2),
        (1.0, 3),
        (2.9, 3),
        (3.0, 4),
        (10, 5),
        (29, 5),
        (30, 6),
        (1e6, 6),
    ],
)
def test_forecast_level_cuts(ratio: float, level: int) -> None:
    assert int(forecast_levels([ratio], POLICY)[0]) == level


@pytest.mark.parametrize(
    ("count", "level"), [(0, 1), (1, 3), (2, 4), (3, 4), (4, 5), (7, 5), (8, 6), (40, 6)]
)
def test_recent_level_cuts(count: int, level: int) -> None:
    assert recent_level(count, POLICY) == level


def test_forecast_levels_are_vectorised() -> None:
    got = forecast_levels(np.array([0.1, 1.5, 50.0]), POLICY)
    assert got.tolist() == [1, 3, 6]


def test_reason_names_both_readings_with_the_stronger_first() -> None:
    reading = read_level(
        expected=4.1,
        area_km2=100.0,
        corridor_density=0.0068,
        province="Balochistan",
        province_density=0.01,
        recent_types=["ied", "ied", "ied"],
        policy=POLICY,
    )
    assert reading.forecast_level == 4  # 0.041 / 0.0068 = 6.0x, between the 3x and 10x cuts
    assert reading.recent_level == 4
    assert reading.level == 4
    assert reading.name == "substantial"
    assert reading.reason == (
        "Level 4 (substantial): forecast rate 4.1x the Balochistan average (6.0x corridor); "
        "3 IED attacks within 20 km in the last 30 days"
    )
    quiet = read_level(
        expected=0.001,
        area_km2=100.0,
        corridor_density=0.01,
        province=None,
        province_density=None,
        recent_types=["suicide_vbied", "shooting", "shooting"],
        policy=POLICY,
    )
    assert quiet.level == 4
    assert quiet.forecast_level == 1
    assert quiet.reason.startswith(
        "Level 4 (substantial): 2 shooting and 1 suicide VBIED attacks within 20 km"
    )
    assert quiet.reason.endswith("forecast rate under 0.01x the corridor average")
    low = read_level(
        expected=0.04,
        area_km2=100.0,
        corridor_density=0.01,
        province=None,
        province_density=None,
        recent_types=[],
        policy=POLICY,
    )
    assert "forecast rate 0.04x the corridor average" in low.reason
    assert quiet.recent_total == 3
    assert quiet.details()["name"] == "substantial"


def test_no_recent_attacks_is_said_plainly() -> None:
    reading = read_level(
        expected=1.0,
        area_km2=10.0,
        corridor_density=0.1,
        province=None,
        province_density=None,
        recent_types=[],
        policy=POLICY,
    )
    assert reading.level == 3
    assert "no attacks within 20 km in the last 30 days" in reading.reason


def test_organisation_policy_changes_the_cuts_and_the_words() -> None:
    strict = LevelPolicy.from_dict(
        {"ratio_cuts": [0.1, 0.5, 1, 2, 4], "recent_days": 14, "recent_radius_km": 50}
    )
    assert int(forecast_levels([2.5], strict)[0]) == 5
    reading = read_level(
        expected=1.0,
        area_km2=10.0,
        corridor_density=0.1,
        province=None,
        province_density=None,
        recent_types=["ied"],
        policy=strict,
    )
    assert "1 IED attack within 50 km in the last 14 days" in reading.reason
    assert LevelPolicy.from_dict(strict.to_dict()) == strict


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"ratio_cuts": [1, 2, 3]}, "needs 5 increasing thresholds"),
        ({"ratio_cuts": [1, 2, 2, 3, 4]}, "strictly increasing"),
        ({"recent_cuts": [0, 1, 2, 3]}, "positive"),
        ({"recent_days": 0}, "'recent_days' must be positive"),
        ({"colour": "red"}, "unknown risk policy field(s) ['colour']"),
        ({"recent_days": "often"}, "non-numeric"),
    ],
)
def test_bad_policies_are_refused_with_the_field(data: dict[str, object], needle: str) -> None:
    with pytest.raises(InvalidInput) as err:
        LevelPolicy.from_dict(data)
    assert needle in str(err.value)


def test_a_level_needs_an_area() -> None:
    with pytest.raises(InvalidInput, match="positive area"):
        read_level(
            expected=1.0,
            area_km2=0.0,
            corridor_density=1.0,
            province=None,
            province_density=None,
            recent_types=[],
            policy=POLICY,
        )
