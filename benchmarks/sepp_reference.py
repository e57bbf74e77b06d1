"""The peer reference for :mod:`silkguard.risk.sepp`: a direct, dense O(N^2) EM.

Same model, same starting point, same M-step formulas and the same convergence rule as
``SEPP(trend="constant", bg_bandwidth_km=h, declustering="full")``, written the plain way: full
N x N matrices of time lags, squared distances, background kernel values and parent
probabilities, no neighbour cut-offs anywhere (every earlier event is a candidate parent, every
other event contributes to the background density), and ``omega`` of the M-step found by
Brent's method instead of the secant iteration. Memory is about six N x N float64 matrices
(0.8 GB at 4,000 events), so it is meant for a few thousand events.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

FloatArray = npt.NDArray[np.float64]

PAD_KM = 100.0  # padding of the bounding box of the uniform floor, as in silkguard.risk.sepp


@dataclass(frozen=True)
class DenseResult:
    mu: float
    theta: float
    omega: float
    sigma: float
    iterations: int
    converged: bool
    seconds: float
    p_bg: FloatArray

    def as_dict(self) -> dict[str, float]:
        return {"mu": self.mu, "theta": self.theta, "omega": self.omega, "sigma": self.sigma}


def dense_em(
    t: FloatArray,
    x: FloatArray,
    y: FloatArray,
    until: float,
    *,
    bandwidth_km: float,
    floor: float = 0.01,
    tol: float = 1e-6,
    max_iter: int = 200,
) -> DenseResult:
    """Fit the constant-trend model by dense EM on events ``t`` (sorted), ``x``, ``y`` (km)."""
    started = time.perf_counter()
    t = np.asarray(t, dtype=np.float64)
    n = t.size
    t_start = float(t[0])
    span = until - t_start
    remaining = until - t
    area = (np.ptp(x) + 2 * PAD_KM) * (np.ptp(y) + 2 * PAD_KM)

    lag = t[:, None] - t[None, :]  # row: child i, column: parent j
    later = lag > 0
    d2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    h2 = bandwidth_km**2
    k_bg = np.exp(-0.5 * d2 / h2) / (2 * np.pi * h2)
    np.fill_diagonal(k_bg, 0.0)

    mu, theta = 0.5 * n / span, 0.5
    omega, sigma = 1.0 / min(10.0, span / 20.0), 5.0
    q = np.full(n, 0.5)
    converged = False
    iterations = 0
    p_bg = q
    for _ in range(max_iter):
        iterations += 1
        f = (1 - floor) * (k_bg @ q) / (q.sum() - q) + floor / area
        s2 = sigma * sigma
        trig = np.where(
            later,
            theta * omega * np.exp(-omega * lag - 0.5 * d2 / s2) / (2 * np.pi * s2),
            0.0,
        )
        lam = mu * f + trig.sum(axis=1)
        p_bg = mu * f / lam
        p = trig / lam[:, None]
        total = float(p.sum())
        lag_sum = float((p * np.where(later, lag, 0.0)).sum())
        new_sigma = math.sqrt(float((p * d2).sum()) / (2 * total))

        def theta_of(w: float, total: float = total) -> float:
            return total / float(np.sum(-np.expm1(-w * remaining)))

        def equation(w: float, total: float = total, lag_sum: float = lag_sum) -> float:
            rest = float(np.sum(remaining * np.exp(-w * remaining)))
            return w * (lag_sum + theta_of(w) * rest) - total

        lo, hi = omega, omega
        while equation(lo) > 0:
            lo /= 2
        while equation(hi) < 0:
            hi *= 2
        new_omega = float(brentq(equation, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=500))
        new = np.array([p_bg.sum() / span, theta_of(new_omega), new_omega, new_sigma])
        old = np.array([mu, theta, omega, sigma])
        change = float(np.max(np.abs(new - old) / np.maximum(np.abs(old), 1e-8)))
        mu, theta, omega, sigma = (float(v) for v in new)
        q = p_bg
        if change < tol:
            converged = True
            break
    return DenseResult(
        mu, theta, omega, sigma, iterations, converged, time.perf_counter() - started, p_bg
    )
