"""Surfaces and the assessor: levels of places, districts and routes from a known surface."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.risk.events import Events
from silkguard.risk.grid import Grid
from silkguard.risk.levels import LevelPolicy
from silkguard.risk.projection import PAKISTAN_PROJECTION
from silkguard.risk.surface import Assessor, Surface

GWADAR = (25.126, 62.325)
LAHORE = (31.55, 74.34)
TURBAT = (26.0, 63.05)
BASE = 1e-4  # expected attacks per km2 over the window, everywhere
BUMP = 5e-2  # extra within 40 km of Gwadar


@dataclass
class BumpModel:
    """A test double with a known surface: flat, plus a disc of high density at Gwadar."""

    name: str = "bump"
    trained_from: float = 0.0
    trained_until: float = 100.0

    def intensity(self, grid: Grid, t0: float, t1: float) -> Any:
        x, y = grid.xy
        gx, gy = PAKISTAN_PROJECTION.forward([GWADAR[0]], [GWADAR[1]])
        near = np.hypot(x - gx[0], y - gy[0]) < 40.0
        return grid.area_km2 * (BASE + BUMP * near) * (t1 - t0) / 30.0

    def describe(self) -> dict[str, Any]:
        return {"model": self.name}


@pytest.fixture(scope="module")
def surface() -> Surface:
    return Surface.from_model(BumpModel(), Grid.pakistan(5), 100.0, 130.0)


def test_ratios_average_one_over_the_corridor(surface: Surface) -> None:
    area = surface.grid.area_km2
    assert float((surface.ratios() * area).sum() / area.sum()) == pytest.approx(1.0)
    assert set(surface.province_density) >= {"Balochistan", "Punjab", "Sindh"}
    assert surface.province_density["Balochistan"] > surface.province_density["Punjab"]


def test_the_bump_is_extreme_and_the_plain_is_low(surface: Surface) -> None:
    assessor = Assessor(surface, Events.empty())
    gwadar = assessor.at_point(*GWADAR)
    assert gwadar.level == 6, gwadar.reason
    assert gwadar.province == "Balochistan"
    assert gwadar.ratio_corridor > 30
    lahore = assessor.at_point(*LAHORE)
    assert lahore.level == 2, lahore.reason  # below the corridor mean, above a quarter of it
    assert "no attacks within 20 km" in lahore.reason


def test_recent_attacks_raise_a_quiet_place(surface: Surface) -> None:
    recent = Events.from_arrays(
        [95.0, 97.0, 99.0, 99.5],
        [LAHORE[0] + 0.01, LAHORE[0] - 0.02, LAHORE[0], 33.0],
        [LAHORE[1], LAHORE[1] + 0.03, LAHORE[1] - 0.05, 70.0],
        marks=["ied", "ied", "shooting", "ied"],
    )
    reading = Assessor(surface, recent).at_point(*LAHORE)
    assert reading.recent_level == 4
    assert reading.level == 4
    assert reading.recent_by_type == {"ied": 2, "shooting": 1}
    assert reading.reason.startswith(
        "Level 4 (substantial): 2 IED and 1 shooting attacks within 20 km in the last 30 days"
    )
    levels = Assessor(surface, recent).cell_levels()
    lahore_cell = surface.grid.locate([LAHORE[0]], [LAHORE[1]])[0]
    assert levels[lahore_cell] == 4
    assert levels.max() == 6
    assert levels.min() >= 1


def test_policy_radius_decides_what_is_recent_nearby(surface: Surface) -> None:
    recent = Events.from_arrays([99.0], [LAHORE[0] + 0.4], [LAHORE[1]], marks=["ied"])  # ~44 km
    assert Assessor(surface, recent).at_point(*LAHORE).recent_level == 1
    wide = LevelPolicy(recent_radius_km=60.0)
    assert Assessor(surface, recent, wide).at_point(*LAHORE).recent_level == 3


def test_district_level(surface: Surface) -> None:
    assessor = Assessor(surface, Events.empty())
    gwadar = assessor.for_district("Balochistan", "Gwadar")
    assert gwadar.level >= 4, gwadar.reason
    assert gwadar.province == "Balochistan"
    with pytest.raises(InvalidInput, match="no risk cells for district 'Atlantis'"):
        assessor.for_district("Punjab", "Atlantis")


def test_route_is_judged_segment_by_segment(surface: Surface) -> None:
    assessor = Assessor(surface, Events.empty())
    route = [(GWADAR[1], GWADAR[0]), (TURBAT[1], TURBAT[0])]  # GeoJSON order: lon, lat
    segments = assessor.for_route(route)
    total = sum(s.length_km for s in segments)
    lat0, lon0, lat1, lon1 = map(math.radians, (*GWADAR, *TURBAT))
    crow = (
        2
        * 6371.0088
        * math.asin(
            math.sqrt(
                math.sin((lat1 - lat0) / 2) ** 2
                + math.cos(lat0) * math.cos(lat1) * math.sin((lon1 - lon0) / 2) ** 2
            )
        )
    )
    assert total == pytest.approx(crow, rel=0.01)
    assert len(segments) == int(np.ceil(total / 10.0))
    assert [s.index for s in segments] == list(range(len(segments)))
    assert segments[0].reading.level == 6
    assert segments[-1].reading.level <= 3
    assert segments[0].start == pytest.approx(GWADAR, abs=1e-6)
    assert segments[-1].end == pytest.approx(TURBAT, abs=1e-6)


def test_places_outside_the_grid_and_short_routes_are_refused(surface: Surface) -> None:
    assessor = Assessor(surface, Events.empty())
    with pytest.raises(InvalidInput, match="outside the risk grid"):
        assessor.at_point(34.53, 69.17)  # Kabul
    with pytest.raises(InvalidInput, match="at least two points"):
        assessor.for_route([(62.3, 25.1)])


def test_a_model_returning_garbage_is_caught() -> None:
    @dataclass
    class Broken(BumpModel):
        def intensity(self, grid: Grid, _t0: float, _t1: float) -> Any:
            return np.full(len(grid), np.nan)

    with pytest.raises(ValueError, match="invalid intensity"):
        Surface.from_model(Broken(), Grid.pakistan(4), 0.0, 1.0)
