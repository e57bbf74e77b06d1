"""Simulated histories with known parameters for the SEPP tests.

The branching simulation itself is :func:`silkguard.risk.simulate.simulate_sepp` (shared with
the benchmarks); this module fixes the scenarios the tests use and caches them per seed.
"""

from __future__ import annotations

from functools import cache

from silkguard.risk.simulate import Blob, SimulatedHistory, simulate_sepp

#: The recovery scenario: about 4,000 events over 2,000 days, half of them triggered.
TRUE_MU = 1.0
TRUE_THETA = 0.5
TRUE_OMEGA = 1.0 / 7.0
TRUE_SIGMA = 4.0
T_END = 2000.0

BLOBS = (
    Blob(-150.0, -120.0, 25.0, 1.0),
    Blob(100.0, -60.0, 40.0, 1.5),
    Blob(20.0, 140.0, 15.0, 0.7),
    Blob(-120.0, 160.0, 60.0, 1.0),
    Blob(180.0, 170.0, 20.0, 0.8),
)


@cache
def standard_history(seed: int) -> SimulatedHistory:
    """The recovery scenario (five blobs in a 500 km square), seeded."""
    return simulate_sepp(
        mu_per_day=TRUE_MU,
        theta=TRUE_THETA,
        omega_per_day=TRUE_OMEGA,
        sigma_km=TRUE_SIGMA,
        t_end=T_END,
        seed=seed,
        blobs=BLOBS,
    )


@cache
def step_history(seed: int = 7) -> SimulatedHistory:
    """Background rate 0.8 per day, times 2.5 from day 1,000 on (to 2.0 per day)."""
    return simulate_sepp(
        mu_per_day=0.8,
        theta=0.3,
        omega_per_day=1.0 / 5.0,
        sigma_km=3.0,
        t_end=T_END,
        seed=seed,
        blobs=BLOBS,
        rate_change_at=1000.0,
        rate_factor=2.5,
    )


@cache
def small_history(seed: int = 3, t_end: float = 150.0) -> SimulatedHistory:
    """A few hundred events, for dense cross-checks."""
    return simulate_sepp(
        mu_per_day=TRUE_MU,
        theta=TRUE_THETA,
        omega_per_day=TRUE_OMEGA,
        sigma_km=TRUE_SIGMA,
        t_end=t_end,
        seed=seed,
        blobs=BLOBS,
    )
