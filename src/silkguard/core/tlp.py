"""Traffic Light Protocol 2.0 markings: a closed vocabulary used by every shareable object.

The sharing rules themselves (who may see what) live with the visibility filter; this module
only names the markings and orders them from least to most restrictive."""

from __future__ import annotations

from enum import StrEnum

from silkguard.core.errors import InvalidInput

__all__ = ["TLP", "most_restrictive", "parse_tlp"]


class TLP(StrEnum):
    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)


_ORDER = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
_ALIASES = {"WHITE": TLP.CLEAR, "AMBER STRICT": TLP.AMBER_STRICT, "AMBER_STRICT": TLP.AMBER_STRICT}


def parse_tlp(value: str) -> TLP:
    """Accept ``TLP:AMBER``, ``amber``, ``AMBER+STRICT``; TLP 1.0's WHITE reads as CLEAR."""
    text = value.strip().upper().removeprefix("TLP:").strip()
    if text in _ALIASES:
        return _ALIASES[text]
    try:
        return TLP(text)
    except ValueError:
        accepted = ", ".join(t.value for t in TLP)
        msg = f"TLP marking {value!r} is not TLP 2.0; use one of {accepted}"
        raise InvalidInput(msg) from None


def most_restrictive(*markings: TLP) -> TLP:
    """The marking of a whole made of parts: the most restrictive part wins."""
    return max(markings, key=lambda m: m.rank)
