"""The shipped approximate corridor network."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from shapely import contains_xy

from silkguard.core.errors import InvalidInput
from silkguard.geo.outline import pakistan_outline
from silkguard.network.corridor import corridor_graph, corridor_roads, town_names, town_node
from silkguard.network.graph import ROAD_CLASSES


def test_graph_is_cached_and_read_only() -> None:
    g = corridor_graph()
    assert corridor_graph() is g
    assert g.n_nodes > len(town_names()) > 60
    with pytest.raises(ValueError, match="read-only"):
        g.length_m[0] = 1.0


def test_every_road_is_two_way_and_the_network_connected() -> None:
    g = corridor_graph()
    pairs = set(zip(g.tails.tolist(), g.heads.tolist(), strict=True))
    assert all((h, t) in pairs for t, h in pairs)
    nxg = g.to_networkx()
    assert nx.is_strongly_connected(nxg)
    assert np.all(g.length_m > 0)


def test_khunjerab_to_gwadar_reachable() -> None:
    nxg = corridor_graph().to_networkx()
    km = nx.shortest_path_length(
        nxg, town_node("Khunjerab Pass"), town_node("Gwadar"), weight="length_m"
    )
    # by road roughly 2,500-3,200 km depending on the route through Balochistan
    assert 2300 < km / 1000 < 3300


def _road_length_km(road_id: str, start: str, end: str) -> float:
    """Length along one named road between two towns."""
    g = corridor_graph()
    road = next(r for r in corridor_roads()["roads"] if r["id"] == road_id)
    name = g.names.index(road["name"])
    nxg = g.to_networkx()
    on_road = nx.subgraph_view(nxg, filter_edge=lambda _u, _v, k: g.name_idx[k] == name)
    return float(
        nx.shortest_path_length(on_road, town_node(start), town_node(end), weight="length_m")
        / 1000.0
    )


def test_islamabad_lahore_via_m2() -> None:
    assert _road_length_km("M-2", "Islamabad", "Lahore") == pytest.approx(375, rel=0.15)


def test_karakoram_highway_length() -> None:
    # Hasan Abdal to Khunjerab is about 806 km by road
    assert _road_length_km("N-35", "Hasan Abdal", "Khunjerab Pass") == pytest.approx(806, rel=0.15)


def test_every_point_inside_pakistan() -> None:
    g = corridor_graph()
    inside = contains_xy(pakistan_outline(), g.node_lon, g.node_lat)
    outside = np.flatnonzero(~inside).tolist()
    assert outside == []


def test_classes_and_names() -> None:
    g = corridor_graph()
    classes = {ROAD_CLASSES[c] for c in np.unique(g.road_class)}
    assert classes == {"motorway", "trunk", "primary"}
    assert np.all(g.name_idx >= 0)
    assert "Karakoram Highway (N-35)" in g.names


def test_shared_towns_are_junctions() -> None:
    g = corridor_graph()
    degree = np.diff(g.indptr)
    for town in (
        "Hasan Abdal",
        "Khuzdar",
        "Hoshab",
        "Surab",
        "Islamabad",
        "Lahore",
        "Sukkur",
        "Hub",
    ):
        assert degree[town_node(town)] >= 3, town


def test_town_node_lookup() -> None:
    i = town_node("Gilgit")
    assert town_node("  gILGIT ") == i
    assert town_names()[i] == "Gilgit"
    assert town_node("rahim yar  khan") == town_node("Rahim Yar Khan")
    g = corridor_graph()
    assert g.snap(35.92, 74.31).tolist() == [i]
    with pytest.raises(InvalidInput, match=r"no town named 'Gilgt'.*did you mean Gilgit"):
        town_node("Gilgt")
    with pytest.raises(InvalidInput, match="known towns include"):
        town_node("Xyzzy")


def test_n50_western_alignment() -> None:
    """The N-50 joins Dera Ismail Khan to Quetta through Zhob, Qila Saifullah, Muslim Bagh
    and Kuchlak; published: Kuchlak-Zhob 298 km, Zhob-D.I. Khan about 210 km."""
    g = corridor_graph()
    assert "N-50 (Kuchlak-Zhob-Dera Ismail Khan)" in g.names
    assert _road_length_km("N-50", "Kuchlak", "Dera Ismail Khan") == pytest.approx(508, rel=0.15)
    assert _road_length_km("N-50", "Kuchlak", "Zhob") == pytest.approx(298, rel=0.15)
    for town, (lat, lon) in {
        "Dera Ismail Khan": (31.83129, 70.9017),  # GeoNames
        "Zhob": (31.34082, 69.4493),
        "Qila Saifullah": (30.70077, 68.35984),
    }.items():
        i = town_node(town)
        assert g.node_lat[i] == pytest.approx(lat, abs=0.01), town
        assert g.node_lon[i] == pytest.approx(lon, abs=0.01), town
