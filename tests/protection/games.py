"""Seeded random security games for the protection tests."""

from __future__ import annotations

import numpy as np

from silkguard.protection import AttackerType, Payoffs, ResourceType, SecurityGame


def random_payoffs(rng: np.random.Generator, n: int, *, scale: float = 10.0) -> Payoffs:
    """Payoffs in the standard model: covered is better for the defender, worse for the
    attacker; some instances zero-sum-like, some not."""
    d_unc = -rng.uniform(0.1, scale, n)
    d_cov = rng.uniform(0.0, scale, n)
    a_unc = rng.uniform(0.1, scale, n)
    a_cov = -rng.uniform(0.0, scale, n)
    if rng.random() < 0.3:  # ties in the attacker's uncovered payoffs
        a_unc = np.round(a_unc)
        a_unc[a_unc <= a_cov] = a_cov[a_unc <= a_cov] + 1.0
    return Payoffs(d_cov, d_unc, a_cov, a_unc)


def random_game(rng: np.random.Generator, n: int, m: int) -> SecurityGame:
    return SecurityGame.single(random_payoffs(rng, n), [ResourceType("team", m)])


def random_schedule_game(
    rng: np.random.Generator, n: int, *, types: int = 2, attackers: int = 1
) -> SecurityGame:
    resources = []
    for k in range(types):
        n_sched = int(rng.integers(2, 6))
        scheds = []
        for _ in range(n_sched):
            size = int(rng.integers(1, 4))
            scheds.append(tuple(sorted(int(t) for t in rng.choice(n, size, replace=False))))
        count = int(rng.integers(1, n_sched + 1))
        resources.append(ResourceType(f"patrol{k}", count, tuple(scheds)))
    if rng.random() < 0.5:
        resources.append(ResourceType("post", int(rng.integers(0, 3)), None))
    priors = rng.dirichlet(np.ones(attackers))
    kinds = tuple(
        AttackerType(f"group{k}", float(p), random_payoffs(rng, n)) for k, p in enumerate(priors)
    )
    priors_sum = sum(k.prior for k in kinds)
    kinds = tuple(AttackerType(k.name, k.prior / priors_sum, k.payoffs) for k in kinds)
    return SecurityGame(kinds, tuple(resources))


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
