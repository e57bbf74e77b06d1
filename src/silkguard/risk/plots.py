"""Figures of a backtest (PNG, matplotlib's non-interactive "Agg" backend, imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from silkguard.risk.backtest import BacktestResult

__all__ = ["calibration_plot", "hit_rate_curve"]

_MAX_AREA = 0.20


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def hit_rate_curve(result: BacktestResult, path: Path | str, *, title: str | None = None) -> Path:
    """Hit rate against the share of the area searched (0-20 %), one line per model and one
    panel per period; the oracle, if any, is dashed. Returns the path written."""
    plt = _pyplot()
    out = Path(path)
    periods = result.periods
    fig, axes = plt.subplots(
        1, len(periods), figsize=(5.2 * len(periods), 4.2), squeeze=False, sharey=True
    )
    for ax, period in zip(axes[0], periods, strict=True):
        for model in result.models:
            curve = result.metrics[model][period]["curve"]
            pts = [
                (100 * a, h)
                for a, h in zip(curve["area_fraction"], curve["hit_rate"], strict=True)
                if a <= _MAX_AREA + 1e-9 and h is not None
            ]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            is_oracle = model == result.oracle
            ax.plot(
                xs,
                ys,
                linestyle="--" if is_oracle else "-",
                color="black" if is_oracle else None,
                label=f"{model} (true model)" if is_oracle else model,
            )
        ax.plot([0, 100 * _MAX_AREA], [0, _MAX_AREA], color="grey", linewidth=0.8, label="random")
        windows = result.windows.get(period, 0)
        ax.set_title(f"{period}ly forecasts ({windows} windows)")
        ax.set_xlabel("area searched (% of grid)")
        ax.set_xlim(0, 100 * _MAX_AREA)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("hit rate (share of events)")
    axes[0][-1].legend(loc="lower right", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def calibration_plot(result: BacktestResult, path: Path | str, *, title: str | None = None) -> Path:
    """Mean observed against mean predicted count per calibration bin (log-log), one panel per
    period. Returns the path written."""
    plt = _pyplot()
    out = Path(path)
    periods = result.periods
    fig, axes = plt.subplots(1, len(periods), figsize=(5.2 * len(periods), 4.2), squeeze=False)
    for ax, period in zip(axes[0], periods, strict=True):
        lo, hi = float("inf"), 0.0
        for model in result.models:
            bins = result.metrics[model][period]["calibration"]
            pts = [
                (b["mean_predicted"], b["mean_observed"])
                for b in bins
                if b["mean_predicted"] > 0 and b["mean_observed"] > 0
            ]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            lo, hi = min(lo, *xs, *ys), max(hi, *xs, *ys)
            ax.plot(xs, ys, marker="o", label=model)
        if hi > 0:
            ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, label="perfect")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"calibration, {period}ly")
        ax.set_xlabel("mean predicted count per cell")
        ax.set_ylabel("mean observed count per cell")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
