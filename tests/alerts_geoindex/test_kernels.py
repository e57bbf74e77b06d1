"""The compiled (numba) kernels of the index agree with their Python originals (``py_func``)
and with numpy references, the paths only dense queries reach after moves are exact, and a
process with an empty numba cache compiles the kernels on first use and answers correctly."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from silkguard.alerts import geoindex
from silkguard.alerts.geoindex import LatestPositionIndex
from silkguard.geo.distance import haversine_km_array
from tests.alerts_geoindex.helpers import as_set, brute_circle, pakistan_like

REPO = Path(__file__).resolve().parents[2]


def test_bucket_order_is_a_stable_counting_sort() -> None:
    rng = np.random.default_rng(1)
    cell = rng.integers(0, 50, 2_000).astype(np.int32)
    for fn in (geoindex._bucket_order, geoindex._bucket_order.py_func):
        order, start = fn(cell, 60)
        assert np.array_equal(order, np.argsort(cell, kind="stable"))
        assert np.array_equal(
            start, np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=60))])
        )
    order, start = geoindex._bucket_order(cell[:0], 4)
    assert order.size == 0
    assert start.tolist() == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("n", [0, 1, 7, 5_000])
def test_merge_lookup_equals_searchsorted(n: int) -> None:
    rng = np.random.default_rng(n)
    keys = np.sort(rng.choice(100_000, n, replace=False).astype(np.int64))
    slots = rng.permutation(n).astype(np.int64)
    # present keys, absent ones between them, below the first and above the last
    wanted = np.unique(np.concatenate([keys[::3], rng.integers(-5, 100_010, 300)]))
    at = np.minimum(np.searchsorted(keys, wanted), max(n - 1, 0))
    hit = (keys[at] == wanted) if n else np.zeros(wanted.size, dtype=bool)
    expected = np.where(hit, slots[at] if n else -1, -1)
    for fn in (geoindex._merge_lookup, geoindex._merge_lookup.py_func):
        assert np.array_equal(fn(keys, slots, wanted), expected)
    # the update's variant takes the batch unsorted with its sorting permutation
    shuffle = rng.permutation(wanted.size)
    batch = wanted[shuffle]
    for fn in (geoindex._sorted_lookup, geoindex._sorted_lookup.py_func):
        found, repeat = fn(keys, slots, batch, np.argsort(batch))
        assert repeat == -1
        assert np.array_equal(found, expected[shuffle])


def test_sorted_lookup_reports_a_repeated_key() -> None:
    keys = np.array([3, 8, 20], dtype=np.int64)
    slots = np.array([0, 1, 2], dtype=np.int64)
    batch = np.array([20, 5, 8, 5, 30], dtype=np.int64)
    for fn in (geoindex._sorted_lookup, geoindex._sorted_lookup.py_func):
        _, repeat = fn(keys, slots, batch, np.argsort(batch, kind="stable"))
        assert repeat == 3  # the second 5


def _circle_parts(index: LatestPositionIndex, fn, clat: float, clon: float, r: float, interior):
    """(ids surely inside, ring positions, None) or (None, None, box) of a dense first call."""
    main = index._main
    live = geoindex._NO_LIVE if main.live is None else main.live
    args = (index._grid_params, main.start, main.xyz, live, main.key, interior)
    out, n, m, *box = fn(clat, clon, r, *args)
    if n < 0:
        return None, None, box
    return out[:n].tolist(), out[out.size - m :].tolist(), None


def test_circle_kernel_equals_its_python_original() -> None:
    ids, lat, lon = pakistan_like(60_000, seed=3)
    index = LatestPositionIndex(ids, lat, lon, cell_km=3.0)
    rng = np.random.default_rng(4)
    movers = rng.choice(ids.size, 2_000, replace=False)  # stale main-store entries
    index.update(ids[movers], lat[movers] + 0.05, lon[movers] - 0.05)
    assert index._main.live is not None
    compiled, python = geoindex._circle_ids, geoindex._circle_ids.py_func
    dense = sparse = 0
    for clat, clon, r in [(31.55, 74.34, 25.0), (24.86, 67.01, 40.0), (30.0, 65.0, 20.0)]:
        first = _circle_parts(index, compiled, clat, clon, r, geoindex._NO_INTERIOR)
        assert first == _circle_parts(index, python, clat, clon, r, geoindex._NO_INTERIOR)
        box = first[2]
        if box is None:
            sparse += 1
            continue
        dense += 1
        query = geoindex._Circle.around(clat, clon, r)
        interior = geoindex._interior_columns(index._grid, query, *box)
        args = (index._grid.lat0, index._grid.lon0, index._grid.dlat, index._grid.dlon)
        grid = (*args, index._grid.nrows, index._grid.ncols, *box, clat, clon, query.cos_in)
        assert np.array_equal(interior, geoindex._interior_kernel.py_func(*grid))
        assert (interior[:, 1] >= interior[:, 0]).any()
        second = _circle_parts(index, compiled, clat, clon, r, interior)
        assert second == _circle_parts(index, python, clat, clon, r, interior)
        assert second[2] is None
        assert set(second[0]) <= set(ids.tolist())
    assert dense >= 1
    assert sparse >= 1


def test_ring_candidates_are_decided_by_the_haversine() -> None:
    # a point a hair outside a 0.1 km circle and one a hair inside: both fall in the ring
    # between the dot-product thresholds, and the haversine function decides them
    index = LatestPositionIndex([1, 2, 3], [30.0, 30.0, 30.5], [70.0, 70.001, 70.0])
    r = float(haversine_km_array(30.0, 70.0, np.array([30.0]), np.array([70.001]))[0])
    main = index._main
    args = (index._grid_params, main.start, main.xyz, geoindex._NO_LIVE, main.key)
    for radius, inside in ((r, {1, 2}), (math.nextafter(r, 0.0), {1})):
        *_, m, _, _, _, _ = geoindex._circle_ids(30.0, 70.0, radius, *args, geoindex._NO_INTERIOR)
        assert m >= 1  # the point at the radius is a ring candidate
        assert as_set(index.within_circle(30.0, 70.0, radius)) == inside


def test_apply_moves_equals_its_python_original() -> None:
    ids, lat, lon = pakistan_like(3_000, seed=5)
    outputs = []
    for fn in (geoindex._apply_moves, geoindex._apply_moves.py_func):
        index = LatestPositionIndex(ids, lat, lon, cell_km=4.0)
        main = index._main
        slots = np.arange(0, 3_000, 3, dtype=np.int64)
        new_lat = lat[slots] + np.linspace(-0.1, 0.1, slots.size)
        new_lon = lon[slots]
        cell = index._grid.cells(new_lat, new_lon).astype(np.int32)
        xyz = geoindex._unit_vectors(new_lat, new_lon)
        where = index._where.copy()
        added, moved, gone = fn(
            slots, cell, new_lat, new_lon, xyz, where, main.cell, main.lat, main.lon, main.xyz
        )
        outputs.append((added, moved.tolist(), gone.tolist(), where.tolist(), main.lat.tolist()))
        stay = np.setdiff1d(np.arange(slots.size), moved)
        assert 0 < stay.size < slots.size  # some stay in their cell, some leave it
        assert np.array_equal(main.lat[index._where[slots[stay]]], new_lat[stay])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("string_ids", [False, True])
def test_dense_queries_after_moves_skip_stale_entries_of_whole_cells(string_ids: bool) -> None:
    rng = np.random.default_rng(8)
    n = 30_000
    lat = 30.0 + rng.normal(0, 0.1, n)
    lon = 70.0 + rng.normal(0, 0.1, n)
    ids = np.array([f"p{i}" for i in range(n)]) if string_ids else np.arange(n) * 5
    index = LatestPositionIndex(ids, lat, lon, cell_km=2.0)
    movers = rng.choice(n, 3_000, replace=False)
    lat[movers] += rng.normal(0, 0.05, movers.size)  # most leave their cell
    lon[movers] += rng.normal(0, 0.05, movers.size)
    index.update(ids[movers], lat[movers], lon[movers])
    assert index._main.live is not None
    assert index.overflow_size > 1_000
    for clat, clon, r in [(30.0, 70.0, 12.0), (30.05, 69.9, 20.0)]:
        got = as_set(index.within_circle(clat, clon, r))
        assert got == brute_circle(ids, lat, lon, clat, clon, r)
        assert len(got) > geoindex._SPLIT_MIN_CANDIDATES  # dense: interior cells taken whole


def test_first_call_compiles_into_an_empty_cache(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import numpy as np
        from silkguard.alerts.geoindex import LatestPositionIndex
        from silkguard.geo.distance import haversine_km_array

        rng = np.random.default_rng(2)
        lat, lon = rng.normal(31.5, 0.2, 20_000), rng.normal(74.3, 0.2, 20_000)
        ids = np.arange(20_000)
        index = LatestPositionIndex(ids, lat, lon)
        lat[:500] += 0.3
        index.update(ids[:500], lat[:500], lon[:500])
        for r in (2.0, 25.0):
            got = np.sort(index.within_circle(31.5, 74.3, r))
            want = ids[haversine_km_array(31.5, 74.3, lat, lon) <= r]
            assert np.array_equal(got, want), r
        print("ok")
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    cached = {p.name.split("-")[0] for p in tmp_path.rglob("*.nbi")}
    kernels = ("_circle_ids", "_interior_kernel", "_bucket_order", "_apply_moves", "_sorted_lookup")
    for kernel in (*kernels, "_cells_kernel", "_unit_vectors_kernel"):
        assert f"geoindex.{kernel}" in cached
