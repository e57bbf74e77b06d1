"""OSM PBF import, exercised on small PBF files written with pyosmium's own writer."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import osmium
import pytest
from osmium.osm.mutable import Node, Way

from silkguard.core.errors import InvalidInput
from silkguard.geo.distance import haversine_km
from silkguard.network.graph import ROAD_CLASSES, RoadGraph
from silkguard.network.osm import import_pbf, parse_maxspeed, read_pbf

# A 3x3 town grid (node id 10*row + col, 0.001 degree spacing) and, east of it, a bypass to a
# roundabout, a motorway link and a motorway; plus roads that must be left out.
NODES: dict[int, tuple[float, float]] = {
    10 * r + c: (33.0 + 0.001 * (r - 1), 73.0 + 0.001 * (c - 1))
    for r in (1, 2, 3)
    for c in (1, 2, 3)
}
NODES |= {
    101: (33.0025, 73.0030),  # bypass shape points
    102: (33.0030, 73.0040),
    103: (33.0030, 73.0050),  # roundabout: 103 (bypass), 104, 105 (link), 106
    104: (33.0033, 73.0053),
    105: (33.0030, 73.0056),
    106: (33.0027, 73.0053),
    107: (33.0035, 73.0070),  # link shape point
    108: (33.0040, 73.0090),  # link meets motorway
    109: (33.0045, 73.0150),
    110: (33.0050, 73.0250),
    200: (33.0020, 73.0040),  # end of a private road
    201: (33.0030, 72.9950),  # ferry landing
    202: (33.0040, 72.9900),
    203: (33.0050, 72.9900),
}
WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    (1, [11, 12, 13], {"highway": "residential", "name": "First Street"}),
    (2, [21, 22, 23], {"highway": "residential", "name": "Second Street", "oneway": "yes"}),
    (3, [31, 32, 33], {"highway": "residential", "name": "Third Street", "maxspeed": "20 mph"}),
    (4, [11, 21, 31], {"highway": "tertiary", "name": "West Avenue"}),
    (5, [12, 22, 32], {"highway": "residential", "name": "Middle Street", "oneway": "-1"}),
    (6, [13, 23, 33], {"highway": "tertiary", "name": "East Avenue"}),
    (7, [33, 101, 102, 103], {"highway": "secondary", "ref": "S-1"}),
    (8, [103, 104, 105, 106, 103], {"highway": "primary", "junction": "roundabout"}),
    (9, [105, 107, 108], {"highway": "motorway_link"}),
    (10, [108, 109, 110], {"highway": "motorway", "ref": "M-2", "maxspeed": "120"}),
    # left out
    (20, [23, 200], {"highway": "service", "access": "private"}),
    (21, [31, 201], {"route": "ferry", "motor_vehicle": "yes"}),
    (22, [201, 202], {"highway": "service", "route": "ferry"}),
    (23, [22, 200], {"highway": "footway"}),
    (24, [202, 203], {"highway": "construction", "construction": "primary"}),
    (25, [201, 202, 203, 201], {"highway": "service", "area": "yes"}),
    (26, [13, 200], {"highway": "track", "motor_vehicle": "no"}),
]
KEPT_IDS = [11, 12, 13, 21, 22, 23, 31, 32, 33, 103, 105, 108, 110]


def write_pbf(
    path: Path,
    nodes: Mapping[int, tuple[float, float]],
    ways: Sequence[tuple[int, list[int], dict[str, str]]],
) -> Path:
    with osmium.SimpleWriter(str(path)) as writer:
        for nid in sorted(nodes):
            lat, lon = nodes[nid]
            writer.add_node(Node(id=nid, location=(lon, lat), version=1))
        for wid, refs, tags in ways:
            writer.add_way(Way(id=wid, nodes=refs, tags=tags, version=1))
    return path


@pytest.fixture(scope="module")
def town_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pbf(tmp_path_factory.mktemp("osm") / "town.osm.pbf", NODES, WAYS)


@pytest.fixture(scope="module")
def town(town_pbf: Path) -> RoadGraph:
    return read_pbf(town_pbf)


def _n(osm_id: int) -> int:
    return KEPT_IDS.index(osm_id)


def _edges(g: RoadGraph) -> dict[tuple[int, int], int]:
    """(tail OSM id, head OSM id) -> edge index."""
    return {
        (KEPT_IDS[int(t)], KEPT_IDS[int(h)]): k
        for k, (t, h) in enumerate(zip(g.tails, g.heads, strict=True))
    }


def _path_m(*ids: int) -> float:
    return 1000.0 * sum(haversine_km(*NODES[a], *NODES[b]) for a, b in itertools.pairwise(ids))


def test_nodes_are_endpoints_and_intersections(town: RoadGraph) -> None:
    assert town.n_nodes == len(KEPT_IDS)
    for osm_id in KEPT_IDS:
        i = _n(osm_id)
        assert (town.node_lat[i], town.node_lon[i]) == pytest.approx(NODES[osm_id], abs=1e-7)


def test_edges_and_directions(town: RoadGraph) -> None:
    edges = _edges(town)
    assert town.n_edges == 27
    assert len(edges) == 27  # no parallel edges here
    two_way = [(11, 12), (12, 13), (31, 32), (32, 33), (11, 21), (21, 31), (13, 23), (23, 33)]
    two_way += [(33, 103), (105, 108)]
    for a, b in two_way:
        assert (a, b) in edges
        assert (b, a) in edges
    # one-way street, drawn in driving order
    assert (21, 22) in edges
    assert (22, 23) in edges
    assert (22, 21) not in edges
    # oneway=-1: drawn 12 -> 22 -> 32, driven 32 -> 22 -> 12
    assert (32, 22) in edges
    assert (22, 12) in edges
    assert (12, 22) not in edges
    # roundabout is one-way in drawing order; shape nodes 104 and 106 are compressed away
    assert (103, 105) in edges
    assert (105, 103) in edges
    assert town.heads[edges[103, 105]] == _n(105)
    # motorway implies oneway
    assert (108, 110) in edges
    assert (110, 108) not in edges


def test_lengths_are_summed_haversine(town: RoadGraph) -> None:
    edges = _edges(town)
    assert town.length_m[edges[11, 12]] == pytest.approx(_path_m(11, 12), rel=1e-6)
    assert town.length_m[edges[33, 103]] == pytest.approx(_path_m(33, 101, 102, 103), rel=1e-6)
    assert town.length_m[edges[103, 33]] == pytest.approx(_path_m(33, 101, 102, 103), rel=1e-6)
    assert town.length_m[edges[103, 105]] == pytest.approx(_path_m(103, 104, 105), rel=1e-6)
    assert town.length_m[edges[105, 103]] == pytest.approx(_path_m(105, 106, 103), rel=1e-6)
    assert town.length_m[edges[105, 108]] == pytest.approx(_path_m(105, 107, 108), rel=1e-6)
    assert town.length_m[edges[108, 110]] == pytest.approx(_path_m(108, 109, 110), rel=1e-6)
    tt = town.travel_time_s
    k = edges[33, 103]
    assert tt[k] == pytest.approx(_path_m(33, 101, 102, 103) / (55.0 / 3.6), rel=1e-6)


def test_speeds_classes_and_names(town: RoadGraph) -> None:
    edges = _edges(town)

    def speed(a: int, b: int) -> float:
        return float(town.speed_kmh[edges[a, b]])

    def cls(a: int, b: int) -> str:
        return ROAD_CLASSES[town.road_class[edges[a, b]]]

    def name(a: int, b: int) -> str | None:
        i = int(town.name_idx[edges[a, b]])
        return town.names[i] if i >= 0 else None

    assert speed(11, 12) == 25.0
    assert speed(11, 21) == 45.0
    assert speed(31, 32) == pytest.approx(20 * 1.609344, rel=1e-6)  # maxspeed in mph
    assert speed(33, 103) == 55.0
    assert speed(103, 105) == 65.0
    assert speed(105, 108) == 60.0
    assert speed(108, 110) == 120.0  # maxspeed
    assert cls(105, 108) == "motorway"
    assert cls(11, 21) == "tertiary"
    assert cls(103, 105) == "primary"
    assert name(11, 12) == "First Street"
    assert name(33, 103) == "S-1"  # ref when there is no name
    assert name(103, 105) is None
    assert name(108, 110) == "M-2"


def test_speed_overrides(town_pbf: Path) -> None:
    g = read_pbf(town_pbf, speeds={"residential": 30.0, "motorway": 110.0})
    edges = _edges(g)
    assert g.speed_kmh[edges[11, 12]] == 30.0
    assert g.speed_kmh[edges[105, 108]] == pytest.approx(66.0)  # link: 60% of the override
    assert g.speed_kmh[edges[108, 110]] == 120.0  # maxspeed still wins
    g = read_pbf(town_pbf, speeds={"motorway_link": 50.0})
    assert g.speed_kmh[_edges(g)[105, 108]] == 50.0
    with pytest.raises(InvalidInput, match="unknown highway value 'footway'"):
        read_pbf(town_pbf, speeds={"footway": 5.0})
    with pytest.raises(InvalidInput, match="above 0"):
        read_pbf(town_pbf, speeds={"primary": 0.0})


def test_motorway_oneway_no_and_lone_roundabout(tmp_path: Path) -> None:
    nodes = {1: (33.0, 73.0), 2: (33.0, 73.01), 3: (33.01, 73.0), 4: (33.01, 73.01)}
    ways = [
        (1, [1, 2], {"highway": "motorway", "oneway": "no"}),
        (2, [3, 4, 3], {"highway": "residential", "junction": "roundabout"}),
        (3, [1, 3], {"highway": "unclassified", "oneway": "true"}),
    ]
    g = read_pbf(write_pbf(tmp_path / "m.osm.pbf", nodes, ways))
    pairs = {(int(t), int(h)) for t, h in zip(g.tails, g.heads, strict=True)}
    # a closed way touching the rest at one node only would be a self-loop: it is dropped,
    # and its inner node 4 with it; nodes 1, 2, 3 are 0, 1, 2
    assert g.n_nodes == 3
    assert pairs == {(0, 1), (1, 0), (0, 2)}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("50", 50.0),
        ("50 km/h", 50.0),
        ("30mph", 30 * 1.609344),
        ("60;80", 60.0),
        ("PK:urban", None),
        ("none", None),
        ("0", None),
        ("999", None),
        (None, None),
        ("", None),
    ],
)
def test_parse_maxspeed(tag: str | None, expected: float | None) -> None:
    assert parse_maxspeed(tag) == (pytest.approx(expected) if expected is not None else None)


def test_import_pbf_saves_and_summarises(town_pbf: Path, tmp_path: Path) -> None:
    summary = import_pbf(town_pbf, tmp_path / "town.npz")
    assert summary.n_nodes == 13
    assert summary.n_edges == 27
    assert summary.destination.is_file()
    assert summary.seconds >= 0.0
    g = RoadGraph.load(summary.destination)
    assert g.n_edges == 27
    assert set(summary.km_by_class) == {
        "motorway",
        "primary",
        "secondary",
        "tertiary",
        "residential",
    }
    assert summary.km_by_class["motorway"] == pytest.approx(
        (np.sum(g.length_m[g.road_class == 0])) / 1000.0
    )


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        read_pbf(tmp_path / "nope.osm.pbf")
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match=r"empty\.osm\.pbf is empty"):
        read_pbf(empty)
    text = tmp_path / "text.osm.pbf"
    text.write_text("this is not protobuf at all, just some text that goes on\n" * 5)
    with pytest.raises(InvalidInput, match=r"cannot read .*text\.osm\.pbf as an OSM PBF file"):
        read_pbf(text)
    xml = tmp_path / "roads.osm"
    xml.write_text("<osm></osm>")
    with pytest.raises(InvalidInput, match=r"does not end in \.pbf"):
        read_pbf(xml)
    paths = write_pbf(
        tmp_path / "paths.osm.pbf",
        {1: (33.0, 73.0), 2: (33.0, 73.01)},
        [(1, [1, 2], {"highway": "footway"}), (2, [1, 2], {"highway": "primary", "access": "no"})],
    )
    with pytest.raises(InvalidInput, match=r"holds no drivable road \(2 highway way\(s\) seen"):
        read_pbf(paths)
    ways_only = tmp_path / "ways.osm.pbf"
    with osmium.SimpleWriter(str(ways_only)) as writer:
        writer.add_way(Way(id=1, nodes=[1, 2], tags={"highway": "primary"}, version=1))
    with pytest.raises(InvalidInput, match="1 without node locations"):
        read_pbf(ways_only)
