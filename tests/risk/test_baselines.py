"""The baseline forecasters: where they put the mass, how much, and what they may see."""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.risk.base import Forecaster, Model
from silkguard.risk.baselines import (
    KDEHotspot,
    NaiveCounts,
    ProspectiveHotspot,
    loo_bandwidth,
)
from silkguard.risk.events import Events
from silkguard.risk.grid import Grid
from silkguard.risk.kernels import kernel_mass
from silkguard.risk.projection import PAKISTAN_PROJECTION
from silkguard.risk.registry import make_forecaster

CENTRE = (30.0, 70.0)
UNTIL = 1000.0


@cache
def small_grid() -> Grid:
    """About 470 resolution-6 cells (a disc of roughly 80 km radius) around 30 N, 70 E."""
    return Grid.around([CENTRE[0]], [CENTRE[1]], 6, rings=12)


def events_near(
    dx_km: npt.ArrayLike, dy_km: npt.ArrayLike, t: npt.ArrayLike, *, marks: list[str] | None = None
) -> Events:
    cx, cy = PAKISTAN_PROJECTION.forward(*CENTRE)
    lat, lon = PAKISTAN_PROJECTION.inverse(cx + np.asarray(dx_km), cy + np.asarray(dy_km))
    return Events.from_arrays(t, lat, lon, marks=marks)


def clustered(n: int, sigma_km: float, seed: int, t0: float = UNTIL - 300.0) -> Events:
    rng = np.random.default_rng(seed)
    return events_near(
        rng.normal(0, sigma_km, n), rng.normal(0, sigma_km, n), rng.uniform(t0, UNTIL - 1, n)
    )


def test_registry_builds_the_baselines_and_checks_parameters() -> None:
    for name, cls in (
        ("naive", NaiveCounts),
        ("kde", KDEHotspot),
        ("prospective", ProspectiveHotspot),
    ):
        forecaster = make_forecaster(name)
        assert isinstance(forecaster, cls)
        assert isinstance(forecaster, Forecaster)
        assert forecaster.name == name
    assert make_forecaster("kde", bandwidth_km=12.5).bandwidth_km == 12.5  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="bandwidth_km must be a positive number"):
        make_forecaster("kde", bandwidth_km=-3)
    with pytest.raises(InvalidInput, match="no parameter"):
        make_forecaster("naive", bandwidth_km=3)
    with pytest.raises(ValueError, match="floor"):
        NaiveCounts(floor=1.5)
    with pytest.raises(ValueError, match="decay"):
        ProspectiveHotspot(decay="linear")  # type: ignore[arg-type]


def test_naive_puts_the_mass_where_recent_events_are() -> None:
    grid = small_grid()
    old = events_near([30.0] * 5, [30.0] * 5, [UNTIL - 500.0] * 5)
    recent = events_near([-20.0] * 3 + [10.0], [0.0] * 3 + [-25.0], [UNTIL - 10.0] * 4)
    events = Events.from_arrays(
        np.concatenate([old.t, recent.t]),
        np.concatenate([old.lat, recent.lat]),
        np.concatenate([old.lon, recent.lon]),
    )
    model = NaiveCounts(window_days=365).fit(events, UNTIL)
    assert isinstance(model, Model)
    lam = model.intensity(grid, UNTIL, UNTIL + 7)
    top = grid.locate(recent.lat[:1], recent.lon[:1])[0]
    second = grid.locate(recent.lat[3:], recent.lon[3:])[0]
    old_cell = grid.locate(old.lat[:1], old.lon[:1])[0]
    assert int(np.argmax(lam)) == top
    assert lam[top] == pytest.approx(3 * lam[second], rel=0.05)
    assert lam[old_cell] < lam[second] / 50
    assert model.describe()["n_sources"] == 4


@pytest.mark.parametrize("name", ["naive", "kde", "prospective"])
def test_total_is_recent_rate_times_length_and_floor_keeps_cells_positive(name: str) -> None:
    grid = small_grid()
    events = clustered(200, 8.0, seed=1, t0=UNTIL - 730)
    recent = int((events.t >= UNTIL - 365).sum())
    model = make_forecaster(name).fit(events, UNTIL)
    for days in (7.0, 30.0):
        lam = model.intensity(grid, UNTIL + 3, UNTIL + 3 + days)
        assert lam.sum() == pytest.approx(recent / 365 * days, rel=1e-6)
        assert (lam > 0).all()
    floor_mass = 0.01 * recent / 365 * 7
    lam = model.intensity(grid, UNTIL, UNTIL + 7)
    assert lam.min() >= floor_mass * grid.area_km2.min() / grid.area_km2.sum() * (1 - 1e-9)
    assert model.describe()["rate_per_day"] == pytest.approx(recent / 365)


def test_no_training_events_still_gives_a_positive_forecast() -> None:
    grid = small_grid()
    lam = KDEHotspot().fit(Events.empty(), UNTIL).intensity(grid, UNTIL, UNTIL + 7)
    assert (lam > 0).all()
    assert lam.sum() == pytest.approx(0.5 / 365 * 7)


@pytest.mark.parametrize("name", ["naive", "kde", "prospective"])
def test_fit_only_sees_events_before_until(name: str) -> None:
    grid = small_grid()
    events = clustered(120, 10.0, seed=2)
    future = events_near([40.0, 41.0], [-40.0, -41.0], [UNTIL, UNTIL + 3])
    both = Events.from_arrays(
        np.concatenate([events.t, future.t]),
        np.concatenate([events.lat, future.lat]),
        np.concatenate([events.lon, future.lon]),
    )
    forecaster = make_forecaster(name)
    a = forecaster.fit(events, UNTIL).intensity(grid, UNTIL, UNTIL + 7)
    b = forecaster.fit(both, UNTIL).intensity(grid, UNTIL, UNTIL + 7)
    np.testing.assert_array_equal(a, b)


def test_kde_auto_bandwidth_follows_the_spread_of_the_events() -> None:
    tight = clustered(300, 1.0, seed=3)
    wide = clustered(300, 40.0, seed=4)
    b_tight, scores = loo_bandwidth(tight.x, tight.y)
    b_wide, _ = loo_bandwidth(wide.x, wide.y)
    assert b_tight <= 3.0
    assert 10.0 <= b_wide <= 60.0
    assert max(scores, key=lambda s: scores[s]) == b_tight
    fitted = KDEHotspot().fit(wide, UNTIL).describe()
    assert fitted["bandwidth_km_used"] == pytest.approx(b_wide)
    assert fitted["bandwidth_km"] == "auto"
    assert KDEHotspot(bandwidth_km=7.0).fit(wide, UNTIL).describe()["bandwidth_km_used"] == 7.0


def test_kde_concentrates_on_a_tight_cluster() -> None:
    grid = small_grid()
    lam = KDEHotspot().fit(clustered(200, 1.0, seed=5), UNTIL).intensity(grid, UNTIL, UNTIL + 7)
    order = np.argsort(-lam)
    assert lam[order[:7]].sum() > 0.9 * lam.sum()


def test_prospective_weights_recent_events_more() -> None:
    grid = small_grid()
    old = events_near([-30.0] * 10, [0.0] * 10, [UNTIL - 200.0] * 10)
    new = events_near([30.0] * 3, [0.0] * 3, [UNTIL - 5.0] * 3)
    events = Events.from_arrays(
        np.concatenate([old.t, new.t]),
        np.concatenate([old.lat, new.lat]),
        np.concatenate([old.lon, new.lon]),
    )
    lam = ProspectiveHotspot().fit(events, UNTIL).intensity(grid, UNTIL, UNTIL + 7)
    new_cell = grid.locate(new.lat[:1], new.lon[:1])[0]
    old_cell = grid.locate(old.lat[:1], old.lon[:1])[0]
    assert lam[new_cell] > 3 * lam[old_cell]
    # hyperbolic decay forgets more slowly
    hyp = (
        ProspectiveHotspot(decay="hyperbolic").fit(events, UNTIL).intensity(grid, UNTIL, UNTIL + 7)
    )
    assert hyp[old_cell] / hyp[new_cell] > lam[old_cell] / lam[new_cell]
    assert ProspectiveHotspot().weights([0.0, 60.0]).tolist() == pytest.approx([1.0, np.exp(-1)])


def test_kernel_on_grid_integrates_to_the_weights() -> None:
    grid = small_grid()
    cx, cy = PAKISTAN_PROJECTION.forward(*CENTRE)
    for sigma in (2.0, 15.0):
        mass = kernel_mass(grid, [cx], [cy], [3.0], sigma)
        assert mass.sum() == pytest.approx(3.0, rel=0.03)
