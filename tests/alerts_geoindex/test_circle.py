"""Circle queries equal a brute-force haversine check, including points exactly at the radius,
circles over the poles and across the antimeridian."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from silkguard.alerts import geoindex
from silkguard.alerts.geoindex import LatestPositionIndex
from silkguard.geo.distance import haversine_km_array
from tests.alerts_geoindex.helpers import as_set, brute_circle, pakistan_like

RADII_KM = [0.1, 0.5, 2.0, 7.5, 25.0, 60.0, 150.0, 300.0]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, LatestPositionIndex]:
    ids, lat, lon = pakistan_like(30_000, seed=1)
    return ids, lat, lon, LatestPositionIndex(ids, lat, lon, cell_km=4.0)


@pytest.mark.parametrize("radius_km", RADII_KM)
def test_random_circles_match_brute_force(data, radius_km: float) -> None:
    ids, lat, lon, index = data
    rng = np.random.default_rng(int(radius_km * 10))
    for _ in range(25):
        if rng.random() < 0.5:  # centred near people (dense), else anywhere in the box
            i = rng.integers(0, ids.size)
            clat, clon = lat[i] + rng.normal(0, 0.02), lon[i] + rng.normal(0, 0.02)
        else:
            clat, clon = rng.uniform(23, 38), rng.uniform(60, 78)
        expected = brute_circle(ids, lat, lon, clat, clon, radius_km)
        assert as_set(index.within_circle(clat, clon, radius_km)) == expected


def test_dense_query_takes_interior_cells_whole_and_stays_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 40k people within a few km: the query splits rows into checked and whole cells
    splits: list[int] = []
    original = geoindex._interior_columns

    def counting(*args: Any) -> list[tuple[int, int]]:
        out = original(*args)
        splits.append(sum(i1 - i0 + 1 for i0, i1 in out if i1 >= i0))
        return out

    monkeypatch.setattr(geoindex, "_interior_columns", counting)
    rng = np.random.default_rng(3)
    n = 40_000
    lat = 30.0 + rng.normal(0, 0.1, n)
    lon = 70.0 + rng.normal(0, 0.1, n)
    ids = np.arange(n)
    index = LatestPositionIndex(ids, lat, lon, cell_km=2.0)
    for clat, clon, r in [(30.0, 70.0, 25.0), (30.05, 70.1, 8.0), (29.9, 69.95, 14.0)]:
        got = as_set(index.within_circle(clat, clon, r))
        assert got == brute_circle(ids, lat, lon, clat, clon, r)
        assert 0 < len(got) < n
    assert len(splits) >= 2  # the dense queries split (sparser ones need not)
    assert min(splits) > 10  # interior cells were taken whole


def test_point_exactly_at_the_radius_is_inside(data) -> None:
    ids, lat, lon, index = data
    rng = np.random.default_rng(5)
    for i in rng.integers(0, ids.size, 40):
        clat, clon = float(lat[i] + rng.normal(0, 0.3)), float(lon[i] + rng.normal(0, 0.3))
        r = float(haversine_km_array(clat, clon, lat[i : i + 1], lon[i : i + 1])[0])
        assert ids[i] in as_set(index.within_circle(clat, clon, r))
        just_below = math.nextafter(r, 0.0)
        assert ids[i] not in as_set(index.within_circle(clat, clon, just_below))
        assert as_set(index.within_circle(clat, clon, just_below)) == brute_circle(
            ids, lat, lon, clat, clon, just_below
        )


def test_zero_radius_finds_people_at_the_centre() -> None:
    lat = np.array([30.0, 30.0, 30.000001, 31.0])
    lon = np.array([70.0, 70.0, 70.0, 70.0])
    index = LatestPositionIndex([1, 2, 3, 4], lat, lon)
    assert as_set(index.within_circle(30.0, 70.0, 0.0)) == {1, 2}


def test_ring_of_points_at_many_bearings_matches_brute_force() -> None:
    # points placed on a circle of 25 km around the centre: each is a boundary case
    centre_lat, centre_lon, r = 31.5, 74.3, 25.0
    bearings = np.linspace(0.0, 2 * math.pi, 720, endpoint=False)
    dlat = np.degrees(r / 6371.0088 * np.cos(bearings))
    dlon = np.degrees(r / 6371.0088 * np.sin(bearings)) / math.cos(math.radians(centre_lat))
    lat, lon = centre_lat + dlat, centre_lon + dlon
    ids = np.arange(bearings.size)
    index = LatestPositionIndex(ids, lat, lon, cell_km=1.0)
    for radius in (r * (1 - 1e-3), r * (1 - 1e-12), r, r * (1 + 1e-12), r * 1.003):
        expected = brute_circle(ids, lat, lon, centre_lat, centre_lon, radius)
        assert as_set(index.within_circle(centre_lat, centre_lon, radius)) == expected


@pytest.mark.parametrize(
    ("clat", "clon", "radius_km"),
    [
        (0.0, 179.9, 300.0),  # across the antimeridian, eastern side
        (10.0, -179.8, 500.0),  # across it from the west
        (89.5, 20.0, 200.0),  # cap holding the north pole
        (-89.9, -60.0, 50.0),  # and the south pole
        (60.0, 0.0, 3_000.0),  # wide: no interior shortcut
        (45.0, 45.0, 19_000.0),  # nearly the whole sphere
        (45.0, 45.0, 25_000.0),  # more than half the circumference: everyone
    ],
)
def test_global_points_poles_and_antimeridian(clat: float, clon: float, radius_km: float) -> None:
    rng = np.random.default_rng(8)
    n = 20_000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    lat[:200] = rng.uniform(88, 90, 200)  # crowd the poles and the date line
    lat[200:400] = rng.uniform(-90, -88, 200)
    lon[400:800] = rng.choice([-180.0, 180.0], 400) + rng.uniform(-0.5, 0.5, 400)
    lon = np.clip(lon, -180, 180)
    ids = np.arange(n)
    index = LatestPositionIndex(ids, lat, lon, cell_km=50.0)
    got = as_set(index.within_circle(clat, clon, radius_km))
    assert got == brute_circle(ids, lat, lon, clat, clon, radius_km)


def test_points_outside_the_build_extent_are_found() -> None:
    # the grid covers the first batch; later positions far outside land in border cells
    rng = np.random.default_rng(9)
    ids, lat, lon = np.arange(5_000), rng.uniform(30, 31, 5_000), rng.uniform(70, 71, 5_000)
    index = LatestPositionIndex(ids, lat, lon, compact_fraction=1.0)
    far_ids = np.arange(5_000, 5_300)
    far_lat, far_lon = rng.uniform(20, 40, 300), rng.uniform(60, 80, 300)
    index.update(far_ids, far_lat, far_lon)
    assert index.overflow_size == 300
    all_ids = np.concatenate([ids, far_ids])
    all_lat, all_lon = np.concatenate([lat, far_lat]), np.concatenate([lon, far_lon])
    for _ in range(40):
        clat, clon, r = rng.uniform(20, 40), rng.uniform(60, 80), rng.uniform(1, 400)
        expected = brute_circle(all_ids, all_lat, all_lon, clat, clon, r)
        assert as_set(index.within_circle(clat, clon, r)) == expected


def test_points_a_hair_inside_and_outside_the_circle_in_a_dense_query() -> None:
    # a crowd that makes the query take interior cells whole, plus people placed within
    # 1e-13..1e-5 relative of the 25 km boundary (inside and outside) and on cell corners
    # next to it: the dot-product pre-filter and the interior cells must not decide them wrongly
    rng = np.random.default_rng(17)
    clat, clon, r = 30.2, 70.4, 25.0
    crowd = 30_000
    lat = [clat + rng.normal(0, 0.1, crowd)]
    lon = [clon + rng.normal(0, 0.1, crowd)]
    bearings = rng.uniform(0.0, 2 * math.pi, 3_000)
    rel = rng.choice([-1e-5, -1e-9, -1e-13, 0.0, 1e-13, 1e-9, 1e-5], bearings.size)
    theta = r * (1 + rel) / 6371.0088
    lat.append(clat + np.degrees(theta * np.cos(bearings)))
    lon.append(clon + np.degrees(theta * np.sin(bearings)) / math.cos(math.radians(clat)))
    all_lat, all_lon = np.concatenate(lat), np.concatenate(lon)
    ids = np.arange(all_lat.size)
    index = LatestPositionIndex(ids, all_lat, all_lon, cell_km=2.0)
    # people exactly on grid corners around the boundary ring
    grid = index._grid
    corner_lat = grid.lat0 + grid.dlat * np.arange(grid.nrows + 1)
    corner_lon = grid.lon0 + grid.dlon * np.arange(grid.ncols + 1)
    glat, glon = (a.ravel() for a in np.meshgrid(corner_lat, corner_lon, indexing="ij"))
    d = haversine_km_array(clat, clon, glat, glon)
    near = np.abs(d - r) < 3.0
    extra = np.arange(ids.size, ids.size + int(near.sum()))
    index.update(extra, glat[near], glon[near])
    ids = np.concatenate([ids, extra])
    all_lat, all_lon = np.concatenate([all_lat, glat[near]]), np.concatenate([all_lon, glon[near]])
    for radius in (r, math.nextafter(r, 0.0), r * (1 + 1e-13), r * (1 - 1e-9)):
        expected = brute_circle(ids, all_lat, all_lon, clat, clon, radius)
        assert as_set(index.within_circle(clat, clon, radius)) == expected
    index.compact()  # the same with everyone in the main store (interior cells split)
    for radius in (r, math.nextafter(r, 0.0), r * (1 + 1e-13)):
        expected = brute_circle(ids, all_lat, all_lon, clat, clon, radius)
        assert as_set(index.within_circle(clat, clon, radius)) == expected
