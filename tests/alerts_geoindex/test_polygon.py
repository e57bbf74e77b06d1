"""Polygon queries equal shapely ``covers`` over all points: inside or on the boundary."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping

from silkguard.alerts.geoindex import LatestPositionIndex
from silkguard.core.errors import InvalidInput
from tests.alerts_geoindex.helpers import as_set, brute_polygon, pakistan_like

CONVEX = Polygon([(66.5, 24.5), (67.6, 24.6), (67.8, 25.3), (66.9, 25.4)])
CONCAVE = Polygon(
    [(73.0, 31.0), (75.0, 31.0), (75.0, 32.5), (74.0, 31.5), (73.0, 32.5), (73.5, 31.7)]
)
WITH_HOLE = Polygon(
    [(72.5, 33.2), (73.6, 33.2), (73.6, 34.1), (72.5, 34.1)],
    holes=[[(72.9, 33.5), (73.3, 33.5), (73.3, 33.8), (72.9, 33.8)]],
)
MULTI = MultiPolygon([CONVEX, WITH_HOLE, Polygon([(61.0, 30.0), (62.0, 30.0), (61.5, 31.0)])])
SHAPES = {"convex": CONVEX, "concave": CONCAVE, "hole": WITH_HOLE, "multi": MULTI}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, LatestPositionIndex]:
    ids, lat, lon = pakistan_like(30_000, seed=2)
    # people exactly on vertices and edges, and on the hole's boundary
    boundary = shapely.get_coordinates(
        shapely.segmentize(shapely.boundary(MULTI), max_segment_length=0.05)
    )
    extra_ids = np.arange(boundary.shape[0]) + 10_000_000
    ids = np.concatenate([ids, extra_ids])
    lat = np.concatenate([lat, boundary[:, 1]])
    lon = np.concatenate([lon, boundary[:, 0]])
    return ids, lat, lon, LatestPositionIndex(ids, lat, lon)


@pytest.mark.parametrize("name", list(SHAPES))
def test_polygon_matches_shapely_covers(data, name: str) -> None:
    ids, lat, lon, index = data
    shape = SHAPES[name]
    got = as_set(index.within_polygon(shape))
    assert got == brute_polygon(ids, lat, lon, shape)
    assert got  # the shapes are placed where people are


@pytest.mark.parametrize("name", list(SHAPES))
def test_geojson_dict_gives_the_same_answer(data, name: str) -> None:
    _, _, _, index = data
    shape = SHAPES[name]
    assert as_set(index.within_polygon(mapping(shape))) == as_set(index.within_polygon(shape))


def test_vertices_and_hole_boundary_count_as_inside() -> None:
    lon = np.array([72.5, 73.0, 72.9, 73.1, 73.1])
    lat = np.array([33.2, 33.2, 33.65, 33.65, 33.5])  # vertex, edge, hole edge, hole, hole edge
    index = LatestPositionIndex(["v", "e", "h_edge", "h_in", "h_edge2"], lat, lon)
    assert as_set(index.within_polygon(WITH_HOLE)) == {"v", "e", "h_edge", "h_edge2"}


def test_random_polygons_after_updates(data) -> None:
    ids, lat, lon, _ = data
    index = LatestPositionIndex(ids, lat, lon)
    rng = np.random.default_rng(4)
    movers = rng.choice(ids.size, 2_000, replace=False)
    lat, lon = lat.copy(), lon.copy()
    lat[movers] += rng.normal(0, 0.3, movers.size)
    lon[movers] += rng.normal(0, 0.3, movers.size)
    index.update(ids[movers], lat[movers], lon[movers])
    gone = rng.choice(ids.size, 500, replace=False)
    index.remove(ids[gone])
    keep = np.ones(ids.size, dtype=bool)
    keep[gone] = False
    for _ in range(10):
        centre = shapely.Point(rng.uniform(62, 76), rng.uniform(25, 36))
        shape = shapely.buffer(centre, rng.uniform(0.1, 1.5), quad_segs=3)
        expected = brute_polygon(ids[keep], lat[keep], lon[keep], shape)
        assert as_set(index.within_polygon(shape)) == expected


def test_empty_index_and_invalid_polygons() -> None:
    index = LatestPositionIndex()
    assert index.within_polygon(CONVEX).size == 0
    bowtie = Polygon([(70, 30), (71, 31), (71, 30), (70, 31)])
    with pytest.raises(InvalidInput, match="polygon is invalid"):
        index.within_polygon(bowtie)
    with pytest.raises(InvalidInput, match="Polygon or MultiPolygon"):
        index.within_polygon(shapely.Point(70, 30))
    with pytest.raises(InvalidInput, match="Polygon or MultiPolygon"):
        index.within_polygon({"type": "LineString", "coordinates": [[70, 30], [71, 31]]})
    with pytest.raises(InvalidInput, match="GeoJSON"):
        index.within_polygon({"type": "Polygon"})
    with pytest.raises(InvalidInput, match="antimeridian"):
        index.within_polygon(Polygon([(179, 0), (181, 0), (181, 1)]))
    with pytest.raises(InvalidInput, match="empty"):
        index.within_polygon(Polygon())
