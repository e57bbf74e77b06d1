"""A synthetic, Pakistan-like attack history with a known true intensity (the backtest oracle).

The history is a self-exciting point process (Hawkes, in the style of Mohler et al. 2011 and
Lewis et al. 2012):

* **background** ``mu(x, t)``: a mixture of (a) Gaussian blobs around the gazetteer's populated
  places, weighted by population ** 0.75, and (b) a few insurgency regions (north-west
  tribal belt, Bajaur/Swat, Quetta, the Makran coast, Karachi) with higher rates that wax and
  wane over a few years (sinusoidal modulation). Background points are kept inside the
  outline of Pakistan (rejection sampling).
* **triggering**: every event has Poisson(``branching``) children (0.4 by default, so about
  40 % of events are triggered), each after an exponential delay (mean 20 days) and displaced
  by an isotropic Gaussian (6 km). Children are not clipped to the outline, so a few fall just
  outside it, as real events near a border do.

:class:`TrueForecaster` fits nothing: given the events before ``until`` it returns the exact
background integral plus the triggering of those past events over the window, and a
first-order correction for events that the window's own events trigger inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from silkguard.geo._gazetteer_data import read_geonames_places
from silkguard.geo.outline import pakistan_outline
from silkguard.risk.events import Events, to_days
from silkguard.risk.grid import Grid
from silkguard.risk.kernels import gaussian_sum, kernel_mass
from silkguard.risk.projection import PAKISTAN_PROJECTION

__all__ = ["Component", "SyntheticHistory", "TrueForecaster", "TrueModel", "simulate"]

FloatArray = npt.NDArray[np.float64]

START = datetime(2008, 1, 1, tzinfo=UTC)
YEARS = 10


@dataclass(frozen=True)
class Component:
    """One part of the background: Gaussian blobs (km) with a share of the background rate,
    modulated in time by ``1 + amplitude * sin(2 pi (t - t_start) / period + phase)``."""

    name: str
    lat: FloatArray
    lon: FloatArray
    weights: FloatArray
    sigma_km: float
    share: float
    amplitude: float = 0.0
    period_days: float = 1461.0
    phase: float = 0.0

    @cached_property
    def xy(self) -> tuple[FloatArray, FloatArray]:
        return PAKISTAN_PROJECTION.forward(self.lat, self.lon)

    def modulation_integral(self, t0: float, t1: float, t_start: float) -> float:
        """``integral_{t0}^{t1} (1 + a sin(2 pi (t - t_start) / P + phi)) dt``."""
        w = 2.0 * np.pi / self.period_days
        a = self.amplitude
        cos1 = np.cos(w * (t1 - t_start) + self.phase)
        cos0 = np.cos(w * (t0 - t_start) + self.phase)
        return float((t1 - t0) - a / w * (cos1 - cos0))

    def modulation(self, t: FloatArray, t_start: float) -> FloatArray:
        w = 2.0 * np.pi / self.period_days
        return np.asarray(1.0 + self.amplitude * np.sin(w * (t - t_start) + self.phase))


def _point(lat: float, lon: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    return np.array([lat]), np.array([lon]), np.array([1.0])


def default_components() -> list[Component]:
    """Population blobs (45 % of the background) and five insurgency regions (55 %)."""
    places = [p for p in read_geonames_places() if p.population]
    lat = np.array([p.latitude for p in places])
    lon = np.array([p.longitude for p in places])
    pop = np.array([float(p.population or 0) for p in places])
    regions = [
        # name, lat, lon, sigma km, share, amplitude, period (days), phase
        ("north_west", 33.0, 70.3, 45.0, 0.22, 0.6, 1461.0, 0.0),
        ("bajaur_swat", 34.7, 71.8, 30.0, 0.08, 0.8, 1096.0, 1.5),
        ("quetta", 30.2, 67.0, 25.0, 0.10, 0.4, 1826.0, 3.0),
        ("makran_coast", 25.9, 63.2, 60.0, 0.07, 0.5, 1461.0, 4.5),
        ("karachi", 24.9, 67.05, 12.0, 0.08, 0.5, 913.0, 2.0),
    ]
    out = [Component("population", lat, lon, pop**0.75, 6.0, 0.45)]
    for name, la, lo, sigma, share, amp, period, phase in regions:
        plat, plon, pw = _point(la, lo)
        out.append(Component(name, plat, plon, pw, sigma, share, amp, period, phase))
    return out


def _sample_component(
    comp: Component, n: int, rng: np.random.Generator, inside: Any
) -> tuple[FloatArray, FloatArray]:
    """``n`` points of the component's spatial density, kept inside the outline."""
    cx, cy = comp.xy
    p = comp.weights / comp.weights.sum()
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    have = 0
    while have < n:
        m = max(2 * (n - have), 64)
        k = rng.choice(p.size, size=m, p=p)
        x = cx[k] + rng.normal(0.0, comp.sigma_km, m)
        y = cy[k] + rng.normal(0.0, comp.sigma_km, m)
        lat, lon = PAKISTAN_PROJECTION.inverse(x, y)
        keep = inside(lon, lat)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


@dataclass(frozen=True)
class SyntheticHistory:
    """The simulated events and the process that made them."""

    events: Events
    components: list[Component]
    background_per_day: float
    branching: float
    delay_days: float
    sigma_km: float
    t_start: float
    t_end: float
    triggered_share: float
    seed: int

    def oracle(self) -> TrueForecaster:
        return TrueForecaster(self)

    def describe(self) -> dict[str, Any]:
        return {
            "events": len(self.events),
            "start": START.date().isoformat(),
            "years": round((self.t_end - self.t_start) / 365.25, 2),
            "background_per_day": self.background_per_day,
            "branching_ratio": self.branching,
            "mean_delay_days": self.delay_days,
            "trigger_sigma_km": self.sigma_km,
            "triggered_share": round(self.triggered_share, 3),
            "components": {
                c.name: {"share": c.share, "sigma_km": c.sigma_km, "amplitude": c.amplitude}
                for c in self.components
            },
            "seed": self.seed,
        }


def simulate(
    *,
    n_events: int = 15_000,
    years: int = YEARS,
    branching: float = 0.4,
    delay_days: float = 20.0,
    sigma_km: float = 6.0,
    seed: int = 0,
) -> SyntheticHistory:
    """Simulate about ``n_events`` events over ``years`` from 2008-01-01 (seeded).

    The background rate is set so that the expected total, background / (1 - branching),
    is ``n_events``.
    """
    rng = np.random.default_rng(seed)
    t_start = to_days(START)
    t_end = to_days(START.replace(year=START.year + years))
    span = t_end - t_start
    mu = n_events * (1.0 - branching) / span
    poly = pakistan_outline()

    def inside(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
        return np.asarray(shapely.contains_xy(poly, lon, lat))

    comps = default_components()
    ts: list[FloatArray] = []
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for comp in comps:
        # thinning: candidates at the peak rate, kept with probability modulation / peak
        peak = mu * comp.share * (1.0 + comp.amplitude)
        cand = rng.uniform(t_start, t_end, rng.poisson(peak * span))
        keep = rng.uniform(0.0, 1.0, cand.size) < comp.modulation(cand, t_start) / (
            1.0 + comp.amplitude
        )
        t = np.sort(cand[keep])
        x, y = _sample_component(comp, t.size, rng, inside)
        ts.append(t)
        xs.append(x)
        ys.append(y)
    bg_t, bg_x, bg_y = np.concatenate(ts), np.concatenate(xs), np.concatenate(ys)
    all_t, all_x, all_y = [bg_t], [bg_x], [bg_y]
    parents_t, parents_x, parents_y = bg_t, bg_x, bg_y
    while parents_t.size:
        kids = rng.poisson(branching, parents_t.size)
        idx = np.repeat(np.arange(parents_t.size), kids)
        ct = parents_t[idx] + rng.exponential(delay_days, idx.size)
        cx = parents_x[idx] + rng.normal(0.0, sigma_km, idx.size)
        cy = parents_y[idx] + rng.normal(0.0, sigma_km, idx.size)
        ok = ct < t_end
        parents_t, parents_x, parents_y = ct[ok], cx[ok], cy[ok]
        all_t.append(parents_t)
        all_x.append(parents_x)
        all_y.append(parents_y)
    t_all = np.concatenate(all_t)
    lat, lon = PAKISTAN_PROJECTION.inverse(np.concatenate(all_x), np.concatenate(all_y))
    events = Events.from_arrays(t_all, lat, lon)
    return SyntheticHistory(
        events=events,
        components=comps,
        background_per_day=mu,
        branching=branching,
        delay_days=delay_days,
        sigma_km=sigma_km,
        t_start=t_start,
        t_end=t_end,
        triggered_share=1.0 - bg_t.size / t_all.size,
        seed=seed,
    )


@dataclass(frozen=True)
class TrueForecaster:
    """The oracle: knows the process, conditions on the events before ``until``."""

    history: SyntheticHistory
    name = "oracle"
    _spatial: dict[bytes, list[FloatArray]] = field(default_factory=dict, repr=False)

    def spatial(self, grid: Grid) -> list[FloatArray]:
        """Each background component's share of its mass per cell of ``grid`` (cached)."""
        key = grid.cells.tobytes()
        found = self._spatial.get(key)
        if found is None:
            rng = np.random.default_rng(12345)
            poly = pakistan_outline()

            def inside(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
                return np.asarray(shapely.contains_xy(poly, lon, lat))

            found = []
            for comp in self.history.components:
                cx, cy = comp.xy
                surface = kernel_mass(grid, cx, cy, comp.weights, comp.sigma_km)
                # the share of the component's (outline-clipped) mass that lands in grid cells
                sx, sy = _sample_component(comp, 20_000, rng, inside)
                slat, slon = PAKISTAN_PROJECTION.inverse(sx, sy)
                in_grid = float((grid.locate(slat, slon) >= 0).mean())
                found.append(surface / surface.sum() * in_grid)
            self._spatial[key] = found
        return found

    def fit(self, events: Events, until: float) -> TrueModel:
        past = events.before(until)
        return TrueModel(self, past, float(past.t[0]) if len(past) else until, until)


@dataclass(eq=False)
class TrueModel:
    """The true conditional intensity given the events before ``trained_until``."""

    forecaster: TrueForecaster
    past: Events
    trained_from: float
    trained_until: float
    name = "oracle"

    def intensity(self, grid: Grid, t0: float, t1: float) -> FloatArray:
        h = self.forecaster.history
        out = np.zeros(len(grid))
        for comp, share in zip(h.components, self.forecaster.spatial(grid), strict=True):
            mass = h.background_per_day * comp.share * comp.modulation_integral(t0, t1, h.t_start)
            out += mass * share
        tau = h.delay_days
        recent = self.past.between(t0 - 15.0 * tau, t0)
        if len(recent):
            w = h.branching * (np.exp(-(t0 - recent.t) / tau) - np.exp(-(t1 - recent.t) / tau))
            out += kernel_mass(grid, recent.x, recent.y, w, h.sigma_km)
        # events inside the window trigger more inside it: a geometric series of generations,
        # each spread once more by the triggering kernel (evaluated at the cell centres)
        length = t1 - t0
        c = h.branching * (1.0 - tau / length * (1.0 - np.exp(-length / tau)))
        if c > 0:
            cx, cy = grid.xy
            hot = out > out.max() * 1e-6
            extra = gaussian_sum(cx, cy, cx[hot], cy[hot], out[hot] * c / (1 - c), h.sigma_km)
            out = out + extra * grid.area_km2
        return np.asarray(out, dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        return {"model": "oracle", **self.forecaster.history.describe()}
