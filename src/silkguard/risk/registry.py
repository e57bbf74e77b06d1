"""Forecasters by name, with their hyper-parameters checked at the boundary."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.risk.base import Forecaster

__all__ = ["MODEL_NAMES", "make_forecaster"]

MODEL_NAMES = ("sepp", "kde", "prospective", "naive")


def _factory(name: str) -> Callable[..., Forecaster]:
    # imported here: a model module is loaded only when that model is asked for
    if name == "sepp":
        from silkguard.risk.sepp import SEPP

        return SEPP
    from silkguard.risk import baselines

    classes: Mapping[str, Callable[..., Forecaster]] = {
        "kde": baselines.KDEHotspot,
        "prospective": baselines.ProspectiveHotspot,
        "naive": baselines.NaiveCounts,
    }
    return classes[name]


def make_forecaster(name: str, **params: Any) -> Forecaster:
    """A configured forecaster: ``make_forecaster("sepp", trend="constant")``."""
    key = name.strip().lower()
    if key not in MODEL_NAMES:
        msg = f"risk model {name!r} is not known; use one of {', '.join(MODEL_NAMES)}"
        raise InvalidInput(msg)
    cls = _factory(key)
    if dataclasses.is_dataclass(cls):
        fields = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(params) - fields)
        if unknown:
            msg = f"model {key!r} has no parameter(s) {unknown}; accepted: {sorted(fields)}"
            raise InvalidInput(msg)
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        msg = f"model {key!r} parameters are invalid: {exc}"
        raise InvalidInput(msg) from None
