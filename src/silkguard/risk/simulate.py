"""Simulation of the space-time Hawkes process of :mod:`silkguard.risk.sepp` (its cluster form).

Background events arrive as a Poisson process in ``[0, T)`` (rate ``mu_per_day``, optionally
multiplied by ``rate_factor`` from ``rate_change_at``) at places drawn from a mixture of
isotropic Gaussian blobs (km, on the projection). Every event then has Poisson(``theta``)
children, each after an Exp(``omega``) delay and displaced by N(0, ``sigma^2 I``); children
have children in turn, generation by generation, and only events before ``T`` are kept. Used
by the tests (parameter recovery) and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from silkguard.risk.events import Events
from silkguard.risk.projection import PAKISTAN_PROJECTION, Projection

__all__ = ["Blob", "SimulatedHistory", "random_blobs", "simulate_sepp"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Blob:
    """A Gaussian blob of the background: centre (km), standard deviation (km), weight."""

    x: float
    y: float
    sd_km: float
    weight: float = 1.0


@dataclass(frozen=True, eq=False)
class SimulatedHistory:
    """Simulated events, the true parameters and each event's generation (0 = background)."""

    events: Events
    mu_per_day: float
    theta: float
    omega_per_day: float
    sigma_km: float
    t_end: float
    generation: npt.NDArray[np.int64]

    @property
    def background_share(self) -> float:
        return float(np.mean(self.generation == 0)) if self.generation.size else 0.0


def random_blobs(
    rng: np.random.Generator,
    n: int = 5,
    extent_km: float = 500.0,
    sd_km: tuple[float, float] = (
        15.0,
        60.0,
    ),
) -> list[Blob]:
    """``n`` blobs with centres uniform in a square of side ``extent_km`` around the origin."""
    half = extent_km / 2.0
    return [
        Blob(
            x=float(rng.uniform(-half, half)),
            y=float(rng.uniform(-half, half)),
            sd_km=float(rng.uniform(*sd_km)),
            weight=float(rng.uniform(0.5, 2.0)),
        )
        for _ in range(n)
    ]


def simulate_sepp(
    *,
    mu_per_day: float,
    theta: float,
    omega_per_day: float,
    sigma_km: float,
    t_end: float,
    seed: int,
    blobs: Sequence[Blob] | None = None,
    rate_change_at: float | None = None,
    rate_factor: float = 1.0,
    t_start: float = 0.0,
    projection: Projection = PAKISTAN_PROJECTION,
) -> SimulatedHistory:
    """Simulate the process on ``[t_start, t_end)`` (days).

    Parameters
    ----------
    mu_per_day, theta, omega_per_day, sigma_km
        Background rate, branching ratio (below 1), decay rate and offspring spread.
    t_end, t_start
        The window (days since the epoch).
    seed
        Seed of the numpy random generator; the same seed gives the same events.
    blobs
        The background's spatial mixture; five random blobs in a 500 km square by default.
    rate_change_at, rate_factor
        A step in the background rate: multiplied by ``rate_factor`` from ``rate_change_at``.
    """
    if not 0 <= theta < 1:
        msg = f"theta must be in [0, 1) for a stable simulation, got {theta}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    mix = list(blobs) if blobs is not None else random_blobs(rng)
    weights = np.array([b.weight for b in mix], dtype=np.float64)
    weights /= weights.sum()

    # background: piecewise-constant Poisson rate
    pieces: list[tuple[float, float, float]] = [(t_start, t_end, mu_per_day)]
    if rate_change_at is not None and t_start < rate_change_at < t_end:
        pieces = [
            (t_start, rate_change_at, mu_per_day),
            (rate_change_at, t_end, mu_per_day * rate_factor),
        ]
    times = [rng.uniform(a, b, rng.poisson(rate * (b - a))) for a, b, rate in pieces]
    t = np.concatenate(times)
    which = rng.choice(len(mix), size=t.size, p=weights)
    cx = np.array([b.x for b in mix])[which]
    cy = np.array([b.y for b in mix])[which]
    sd = np.array([b.sd_km for b in mix])[which]
    x = cx + sd * rng.standard_normal(t.size)
    y = cy + sd * rng.standard_normal(t.size)

    all_t, all_x, all_y = [t], [x], [y]
    gens = [np.zeros(t.size, dtype=np.int64)]
    gen = 0
    while t.size:
        gen += 1
        kids = rng.poisson(theta, t.size)
        parent = np.repeat(np.arange(t.size), kids)
        t = t[parent] + rng.exponential(1.0 / omega_per_day, parent.size)
        x = x[parent] + sigma_km * rng.standard_normal(parent.size)
        y = y[parent] + sigma_km * rng.standard_normal(parent.size)
        keep = t < t_end
        t, x, y = t[keep], x[keep], y[keep]
        all_t.append(t)
        all_x.append(x)
        all_y.append(y)
        gens.append(np.full(t.size, gen, dtype=np.int64))

    t_all = np.concatenate(all_t)
    x_all = np.concatenate(all_x)
    y_all = np.concatenate(all_y)
    g_all = np.concatenate(gens)
    order = np.argsort(t_all, kind="stable")
    lat, lon = projection.inverse(x_all[order], y_all[order])
    events = Events.from_arrays(t_all[order], lat, lon, projection=projection)
    return SimulatedHistory(
        events=events,
        mu_per_day=float(mu_per_day),
        theta=float(theta),
        omega_per_day=float(omega_per_day),
        sigma_km=float(sigma_km),
        t_end=float(t_end),
        generation=g_all[order],
    )
