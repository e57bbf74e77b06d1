"""Hit rate, PAI, Poisson log score and calibration on hand-built forecasts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import poisson

from silkguard.risk.metrics import (
    CalibrationHistogram,
    WindowScores,
    hit_rate,
    hits_at,
    pai,
    poisson_log_score,
    score_window,
)


def test_hits_rank_by_intensity_with_whole_cells() -> None:
    lam = [4.0, 3.0, 2.0, 1.0]
    area = [1.0, 1.0, 1.0, 1.0]
    counts = [0, 2, 1, 5]
    assert hits_at(lam, area, counts, [0.0, 0.25, 0.5, 0.75, 1.0]).tolist() == [0, 0, 2, 3, 8]
    # a fraction between cells includes only the cells wholly within it
    assert hits_at(lam, area, counts, [0.49])[0] == 0
    assert hit_rate(lam, area, counts, 0.5) == pytest.approx(2 / 8)


def test_ranking_is_by_density_not_count() -> None:
    # the big cell expects more events, but the small one is denser
    lam = [10.0, 6.0]
    area = [10.0, 2.0]
    counts = [1, 4]
    assert hits_at(lam, area, counts, [2 / 12])[0] == 4
    assert hits_at(lam, area, counts, [0.5])[0] == 4
    assert hits_at(lam, area, counts, [1.0])[0] == 5


def test_tied_cells_share_hits_in_proportion_to_included_area() -> None:
    lam = [1.0, 1.0, 1.0, 1.0]
    area = [1.0, 1.0, 1.0, 1.0]
    counts = [4, 0, 0, 0]
    # cell order must not matter: half the tied area holds half the hits on average
    assert hits_at(lam, area, counts, [0.5])[0] == pytest.approx(2.0)
    assert hits_at(lam[::-1], area, counts[::-1], [0.5])[0] == pytest.approx(2.0)
    # a top cell and then a tied block
    lam2 = [5.0, 1.0, 1.0, 1.0, 1.0]
    area2 = [1.0] * 5
    counts2 = [1, 0, 0, 0, 4]
    assert hits_at(lam2, area2, counts2, [0.2, 0.6])[0] == pytest.approx(1.0)
    assert hits_at(lam2, area2, counts2, [0.6])[0] == pytest.approx(1.0 + 4 * 0.5)


def test_pai_and_undefined_hit_rate() -> None:
    assert pai(0.5, 0.05) == pytest.approx(10.0)
    assert math.isnan(hit_rate([1.0, 2.0], [1.0, 1.0], [0, 0], 0.5))
    with pytest.raises(ValueError, match="positive area fraction"):
        pai(0.5, 0.0)
    with pytest.raises(ValueError, match="one value per cell"):
        hits_at([1.0], [1.0, 2.0], [0, 1], [0.1])


def test_log_score_is_the_sum_of_poisson_log_pmfs() -> None:
    rng = np.random.default_rng(3)
    lam = rng.gamma(0.5, 0.4, 500) + 1e-6
    counts = rng.poisson(lam * 1.3)
    expected = np.sum(poisson.logpmf(counts, lam))
    assert poisson_log_score(lam, counts) == pytest.approx(expected, rel=1e-10)
    assert poisson_log_score([0.0, 1.0], [1, 0]) == -math.inf
    assert poisson_log_score([0.0, 1.0], [0, 0]) == pytest.approx(-1.0)


def test_calibration_groups_predictions_into_deciles() -> None:
    hist = CalibrationHistogram()
    values = np.repeat(np.geomspace(1e-4, 1.0, 10), 100)
    hist.add(values, values * 2.0)
    bins = hist.bins(10)
    assert len(bins) == 10
    assert [b["cell_windows"] for b in bins] == [100] * 10
    for b, v in zip(bins, np.geomspace(1e-4, 1.0, 10), strict=True):
        assert b["mean_predicted"] == pytest.approx(v)
        assert b["mean_observed"] == pytest.approx(2 * v)
        assert b["pred_low"] <= v <= b["pred_high"]
    zero = CalibrationHistogram()
    zero.add([0.0, 0.0, 1.0], [0, 1, 1])
    assert sum(b["cell_windows"] for b in zero.bins(10)) == 3


def test_window_scores_pool_events_not_windows() -> None:
    pooled = WindowScores(fractions=(0.25,))
    area = np.ones(4)
    pooled.add(score_window([4.0, 3.0, 2.0, 1.0], area, [1, 0, 0, 0], fractions=(0.25,)))
    pooled.add(score_window([4.0, 3.0, 2.0, 1.0], area, [0, 0, 0, 3], fractions=(0.25,)))
    summary = pooled.summary(report=(0.25,))
    assert summary["windows"] == 2
    assert summary["events"] == 4
    assert summary["hit_rate_25pct"] == pytest.approx(1 / 4)
    assert summary["pai_25pct"] == pytest.approx(1.0)
    assert summary["log_score_total"] == pytest.approx(
        np.sum(poisson.logpmf([1, 0, 0, 0], [4, 3, 2, 1]))
        + np.sum(poisson.logpmf([0, 0, 0, 3], [4, 3, 2, 1]))
    )
