"""Updates, removals, re-inserts and compaction never leave stale or missing positions."""

from __future__ import annotations

import numpy as np
import pytest

from silkguard.alerts.geoindex import LatestPositionIndex
from silkguard.core.errors import InvalidInput, NotFound
from tests.alerts_geoindex.helpers import as_set, brute_circle, pakistan_like


def _check(index: LatestPositionIndex, truth: dict[int, tuple[float, float]], seed: int) -> None:
    ids = np.array(list(truth), dtype=np.int64)
    lat = np.array([p[0] for p in truth.values()])
    lon = np.array([p[1] for p in truth.values()])
    rng = np.random.default_rng(seed)
    assert len(index) == len(truth)
    assert as_set(index.ids()) == set(truth)
    for _ in range(30):
        clat, clon, r = rng.uniform(24, 37), rng.uniform(61, 77), rng.choice([2.0, 25.0, 120.0])
        expected = brute_circle(ids, lat, lon, clat, clon, r)
        assert as_set(index.within_circle(clat, clon, r)) == expected


@pytest.mark.parametrize("compact_fraction", [0.05, 0.25, 1.0])
def test_random_sequence_of_moves_removals_and_reinserts(compact_fraction: float) -> None:
    ids, lat, lon = pakistan_like(8_000, seed=3)
    index = LatestPositionIndex(ids, lat, lon, compact_fraction=compact_fraction)
    truth = {int(i): (float(a), float(b)) for i, a, b in zip(ids, lat, lon, strict=True)}
    removed: list[int] = []
    rng = np.random.default_rng(int(compact_fraction * 100))
    for step in range(8):
        present = np.array(list(truth))
        movers = rng.choice(present, 600, replace=False)
        small = rng.random(movers.size) < 0.5  # half stay near (often in their cell)
        new_lat = np.where(
            small,
            [truth[int(m)][0] for m in movers] + rng.normal(0, 0.002, movers.size),
            rng.uniform(24, 37, movers.size),
        )
        new_lon = np.where(
            small,
            [truth[int(m)][1] for m in movers] + rng.normal(0, 0.002, movers.size),
            rng.uniform(61, 77, movers.size),
        )
        back = np.array(removed[:100], dtype=np.int64)  # re-insert some removed people
        removed = removed[100:]
        fresh = np.arange(50, dtype=np.int64) + 10_000_000 + step * 100  # never seen before
        batch = np.concatenate([movers, back, fresh])
        batch_lat = np.concatenate([new_lat, rng.uniform(24, 37, back.size + fresh.size)])
        batch_lon = np.concatenate([new_lon, rng.uniform(61, 77, back.size + fresh.size)])
        index.update(batch, batch_lat, batch_lon)
        truth.update(
            {
                int(i): (float(a), float(b))
                for i, a, b in zip(batch, batch_lat, batch_lon, strict=True)
            }
        )
        gone = rng.choice(np.array(list(truth)), 300, replace=False)
        index.remove(gone)
        for g in gone.tolist():
            del truth[g]
        removed.extend(gone.tolist())
        _check(index, truth, seed=step)
    index.compact()
    assert index.overflow_size == 0
    _check(index, truth, seed=99)


def test_overflow_grows_then_compacts() -> None:
    ids, lat, lon = pakistan_like(4_000, seed=6)
    index = LatestPositionIndex(ids, lat, lon, compact_fraction=0.25)
    rng = np.random.default_rng(6)
    movers = rng.choice(ids, 400, replace=False)
    index.update(movers, rng.uniform(24, 37, 400), rng.uniform(61, 77, 400))
    assert 0 < index.overflow_size <= 400
    more = rng.choice(ids, 1_500, replace=False)
    index.update(more, rng.uniform(24, 37, 1_500), rng.uniform(61, 77, 1_500))
    assert index.overflow_size == 0  # past a quarter of the main store: rebuilt
    assert len(index) == 4_000


def test_moving_twice_keeps_only_the_latest_position() -> None:
    index = LatestPositionIndex([1, 2], [30.0, 30.0], [70.0, 70.1])
    index.update([1], [33.0], [73.0])
    index.update([1], [25.0], [67.0])
    assert as_set(index.within_circle(30.0, 70.0, 50.0)) == {2}
    assert as_set(index.within_circle(33.0, 73.0, 50.0)) == set()
    assert as_set(index.within_circle(25.0, 67.0, 1.0)) == {1}
    index.update([1], [25.0001], [67.0])  # same cell: in place
    assert as_set(index.within_circle(25.0, 67.0, 1.0)) == {1}


def test_string_ids_and_membership() -> None:
    index = LatestPositionIndex(["ali", "mei", "sara"], [24.9, 24.9, 31.5], [67.0, 67.01, 74.3])
    assert as_set(index.within_circle(24.9, 67.0, 5.0)) == {"ali", "mei"}
    index.update(["zhang", "ali"], [24.9, 31.5], [67.0, 74.3])
    assert as_set(index.within_circle(24.9, 67.0, 5.0)) == {"mei", "zhang"}
    index.remove(["mei"])
    assert "mei" not in index
    assert "ali" in index
    assert 7 not in index
    assert len(index) == 3


def test_longer_string_ids_than_any_before() -> None:
    index = LatestPositionIndex(["ali"], [30.0], [70.0])
    index.update(["zhang.wei@site-7"], [30.0], [70.001])
    index.update(["zhang.wei@site-7"], [30.0], [70.002])  # the same person, not a new one
    assert len(index) == 2
    assert "zhang.wei@site-7" in index
    assert "zha" not in index
    assert as_set(index.within_circle(30.0, 70.0, 1.0)) == {"ali", "zhang.wei@site-7"}


def test_empty_index_then_inserts() -> None:
    index = LatestPositionIndex()
    assert len(index) == 0
    assert index.within_circle(30.0, 70.0, 100.0).size == 0
    index.update([], [], [])
    index.update(["a", "b"], [30.0, 30.5], [70.0, 70.0])
    assert as_set(index.within_circle(30.0, 70.0, 1.0)) == {"a"}
    index.remove(["a", "b"])
    assert index.within_circle(30.0, 70.0, 1_000.0).size == 0
    index.update(["b"], [30.5], [70.0])
    assert as_set(index.within_circle(30.0, 70.0, 100.0)) == {"b"}


def test_remove_unknown_or_removed_raises_not_found() -> None:
    index = LatestPositionIndex([1, 2], [30.0, 30.0], [70.0, 70.0])
    with pytest.raises(NotFound, match="3"):
        index.remove([3])
    index.remove([1])
    with pytest.raises(NotFound, match="1"):
        index.remove([1])
    assert len(index) == 1


def test_id_type_mismatch_and_duplicates_are_invalid() -> None:
    index = LatestPositionIndex([1, 2], [30.0, 30.0], [70.0, 70.0])
    with pytest.raises(InvalidInput, match="ids must be integers"):
        index.update(["x"], [30.0], [70.0])
    with pytest.raises(InvalidInput, match="more than once"):
        index.update([5, 5], [30.0, 30.1], [70.0, 70.0])
    with pytest.raises(InvalidInput, match="more than once"):
        LatestPositionIndex(["a", "a"], [30.0, 30.1], [70.0, 70.0])
    with pytest.raises(InvalidInput, match="ids must be integers or strings"):
        LatestPositionIndex([1.5], [30.0], [70.0])
    assert len(index) == 2
