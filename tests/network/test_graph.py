"""The CSR road graph: building, validation, persistence, snapping."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.network.graph import FORMAT_VERSION, ROAD_CLASSES, RoadGraph


def _square() -> RoadGraph:
    """Four nodes on a ~1 km square: 0->1 (one-way), 1<->2, 2<->3, 3->0; given unsorted."""
    lat = [33.0, 33.0, 33.009, 33.009]
    lon = [73.0, 73.0107, 73.0107, 73.0]
    tails = [2, 0, 1, 3, 2, 3]
    heads = [3, 1, 2, 2, 1, 0]
    return RoadGraph.from_edges(
        lat,
        lon,
        tails,
        heads,
        [1000.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0],
        [36.0, 72.0, 36.0, 36.0, 36.0, 18.0],
        [2, 0, 2, 2, 2, 6],
        [1, 0, -1, 1, -1, -1],
        ["Mall Road", "Expressway"],
    )


def test_from_edges_builds_sorted_csr() -> None:
    g = _square()
    assert g.n_nodes == 4
    assert g.n_edges == 6
    assert g.indptr.tolist() == [0, 1, 2, 4, 6]
    assert g.heads.tolist() == [1, 2, 3, 1, 2, 0]  # stable: 2->3 before 2->1
    assert g.tails.tolist() == [0, 1, 2, 2, 3, 3]
    assert g.heads.dtype == np.int32
    assert g.tails.dtype == np.int32
    assert g.indptr.dtype == np.int64
    assert g.speed_kmh.dtype == np.float32
    assert g.road_class.dtype == np.uint8
    assert g.name_idx.dtype == np.int32
    assert ROAD_CLASSES[g.road_class[0]] == "motorway"
    assert g.names[g.name_idx[0]] == "Mall Road"
    assert list(g.out_edges(2)) == [2, 3]
    # 1 km at 36 km/h is 100 s, at 72 km/h 50 s, at 18 km/h 200 s
    assert g.travel_time_s.tolist() == pytest.approx([50.0, 100.0, 100.0, 100.0, 100.0, 200.0])
    assert g.memory_bytes > 0
    assert "n_nodes=4" in repr(g)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"heads": [3, 1, 2, 2, 1, 4]}, "heads[5] = 4 is out of range"),
        ({"tails": [2, 0, 1, 3, 2, -1]}, "tails[5] = -1"),
        ({"length_m": [1.0] * 5}, "length_m has 5 values but tails has 6"),
        ({"length_m": [1.0, 1.0, -2.0, 1.0, 1.0, 1.0]}, "length_m[2]"),
        ({"speed_kmh": [36.0, 0.0, 1.0, 1.0, 1.0, 1.0]}, "speed_kmh[1]"),
        ({"road_class": [2, 0, 2, 2, 2, 10]}, "road_class[5] = 10"),
        ({"name_idx": [1, 0, -1, 1, -1, 2]}, "name_idx[5] = 2"),
        ({"node_lat": [33.0, 33.0, 33.0, 95.0]}, "node_lat[3]"),
        ({"node_lon": [73.0, 73.0, 73.0]}, "node_lat has 4 values but node_lon has 3"),
        ({"tails": [2.0, 0, 1, 3, 2, 3]}, "pass integer indices"),
        ({"heads": [[3, 1, 2, 2, 1, 0]]}, "pass a 1-d array"),
    ],
)
def test_from_edges_rejects_bad_input(change: dict[str, object], needle: str) -> None:
    args: dict[str, object] = {
        "node_lat": [33.0, 33.0, 33.009, 33.009],
        "node_lon": [73.0, 73.0107, 73.0107, 73.0],
        "tails": [2, 0, 1, 3, 2, 3],
        "heads": [3, 1, 2, 2, 1, 0],
        "length_m": [1.0] * 6,
        "speed_kmh": [36.0] * 6,
        "road_class": [2] * 6,
        "name_idx": [-1] * 6,
        "names": ["Mall Road", "Expressway"],
    }
    args.update(change)
    with pytest.raises(InvalidInput, match=needle.replace("[", r"\[").replace("]", r"\]")):
        RoadGraph.from_edges(**args)  # type: ignore[arg-type]


def test_empty_graph() -> None:
    g = RoadGraph.from_edges([], [], [], [], [], [], [], [], [])
    assert g.n_nodes == 0
    assert g.n_edges == 0
    assert g.indptr.tolist() == [0]
    with pytest.raises(InvalidInput, match="empty road graph"):
        g.snap(33.0, 73.0)


def test_save_load_round_trip(tmp_path: Path) -> None:
    g = _square()
    path = g.save(tmp_path / "square.npz")
    assert path == tmp_path / "square.npz"
    h = RoadGraph.load(path)
    for name in ("node_lat", "node_lon", "indptr", "heads", "length_m", "speed_kmh"):
        np.testing.assert_array_equal(getattr(h, name), getattr(g, name))
        assert getattr(h, name).dtype == getattr(g, name).dtype
    np.testing.assert_array_equal(h.road_class, g.road_class)
    np.testing.assert_array_equal(h.name_idx, g.name_idx)
    assert h.names == g.names
    # save does not append a suffix
    other = g.save(tmp_path / "graph.bin")
    assert other.is_file()
    assert RoadGraph.load(other).n_edges == 6


def test_save_load_without_names(tmp_path: Path) -> None:
    g = RoadGraph.from_edges([33.0, 33.1], [73.0, 73.0], [0], [1], [1.0], [10.0], [0], [-1], [])
    assert RoadGraph.load(g.save(tmp_path / "g.npz")).names == ()


def test_load_rejects_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        RoadGraph.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a graph")
    with pytest.raises(InvalidInput, match=r"junk\.npz is not a silkguard road graph"):
        RoadGraph.load(junk)
    other = tmp_path / "other.npz"
    with other.open("wb") as fh:
        np.savez(fh, a=np.arange(3))
    with pytest.raises(InvalidInput, match="not a silkguard road graph; re-create"):
        RoadGraph.load(other)


def test_load_checks_format_version(tmp_path: Path) -> None:
    path = _square().save(tmp_path / "g.npz")
    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}
    data["format_version"] = np.array(FORMAT_VERSION + 1)
    with path.open("wb") as fh:
        np.savez(fh, **data)
    with pytest.raises(InvalidInput, match=f"format version {FORMAT_VERSION + 1}"):
        RoadGraph.load(path)


def test_load_checks_consistency(tmp_path: Path) -> None:
    path = _square().save(tmp_path / "g.npz")
    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}
    data["heads"] = np.array([1, 2, 3, 1, 2, 9], dtype=np.int32)
    with path.open("wb") as fh:
        np.savez(fh, **data)
    with pytest.raises(InvalidInput, match="inconsistent"):
        RoadGraph.load(path)
    data["heads"] = data["heads"].astype(np.int64)
    with path.open("wb") as fh:
        np.savez(fh, **data)
    with pytest.raises(InvalidInput, match="array heads has dtype int64"):
        RoadGraph.load(path)


def test_load_truncated_file(tmp_path: Path) -> None:
    path = _square().save(tmp_path / "g.npz")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InvalidInput, match="not a silkguard road graph"):
        RoadGraph.load(path)
    assert not zipfile.is_zipfile(path)


def test_snap_vectorised_and_far_points() -> None:
    g = _square()
    idx = g.snap([33.0001, 33.0089, 33.0005], [73.0106, 73.0001, 73.0002])
    assert idx.tolist() == [1, 3, 0]
    assert g.snap(33.0089, 73.0106).tolist() == [2]
    with pytest.raises(InvalidInput, match=r"point 1 \(34\.00000, 73\.00000\) is 110\.\d km"):
        g.snap([33.0, 34.0], [73.0, 73.0], max_km=5.0)
    assert g.snap(33.02, 73.0, max_km=2.0).tolist() == [3]
    with pytest.raises(InvalidInput, match="1 longitudes"):
        g.snap([33.0, 33.1], [73.0])


def test_to_networkx() -> None:
    g = _square()
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == 4
    assert nxg.number_of_edges() == 6
    assert nxg.has_edge(0, 1)
    assert not nxg.has_edge(1, 0)
    data = nxg.get_edge_data(0, 1)[0]
    assert data["road_class"] == "motorway"
    assert data["name"] == "Mall Road"
    assert data["travel_time_s"] == pytest.approx(50.0)
    assert nxg.nodes[2]["lat"] == pytest.approx(33.009)
