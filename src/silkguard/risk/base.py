"""The one interface every risk model follows.

A :class:`Forecaster` is a configured, unfitted model (its hyper-parameters); ``fit(events,
until)`` sees only the events strictly before ``until`` and returns a :class:`Model`, whose
``intensity(grid, t0, t1)`` is the expected number of events in each grid cell during
``[t0, t1)`` (days since the epoch, ``t0 >= until``). Expected counts, not scores: the backtest
ranks cells by them for hit rates and scores them as Poisson means for the log score, and the
threat levels compare them with regional averages.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from silkguard.risk.events import Events
from silkguard.risk.grid import Grid

__all__ = ["Forecaster", "Model"]

FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class Model(Protocol):
    """A fitted model."""

    #: Short stable name, e.g. ``"sepp"``; stored with every forecast.
    name: str
    #: The training window: first event time and ``until`` (days).
    trained_from: float
    trained_until: float

    def intensity(self, grid: Grid, t0: float, t1: float) -> FloatArray:
        """Expected event count per cell of ``grid`` in ``[t0, t1)``; shape ``(len(grid),)``."""
        ...

    def describe(self) -> dict[str, Any]:
        """Fitted parameters and diagnostics as plain JSON-able values, for storage/explain."""
        ...


@runtime_checkable
class Forecaster(Protocol):
    """An unfitted model with its hyper-parameters."""

    name: str

    def fit(self, events: Events, until: float) -> Model:
        """Fit on ``events.before(until)`` only."""
        ...
