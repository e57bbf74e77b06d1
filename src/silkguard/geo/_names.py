"""Name normalisation for the gazetteer: case, diacritics, punctuation, abbreviations, and
splitting free-text place descriptions ("Khazana, outskirts of Peshawar") into pieces."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

__all__ = ["Kind", "compact", "kind_hint", "name_pieces", "normalize_name", "strip_kind_words"]

Kind = Literal["place", "district", "province"]

# Dots and apostrophes join what they separate: "D.I. Khan" -> "di khan", "Mir's" -> "mirs".
_JOINERS = re.compile(r"[.'`\u2018\u2019\u02bc\u00b4]")
_SEPARATORS = re.compile(r"[\W_]+")
_PIECE_BREAKS = re.compile(r"[,;:/()\[\]{}|]+")
_CONNECTORS = re.compile(
    r"\b(?:near|opposite|outside|outskirts of|outskirts|off|via|between|and|or|close to|next to)\b"
)
_NOW = "now "
# Words that describe a spot rather than name it; stripped from the end of a piece.
_GENERIC = frozenset(
    {
        "area", "areas", "bazaar", "bazar", "bus", "bypass", "camp", "cantonment", "cantt",
        "chowk", "club", "complex", "compound", "construction", "gate", "highway", "main",
        "market", "police", "press", "project", "road", "site", "sites", "stand", "station",
        "terminal", "the",
    }
)  # fmt: skip
_DISTRICT_WORDS = frozenset({"district", "agency", "division", "tehsil", "zila", "zilla"})
_PROVINCE_WORDS = frozenset({"province", "territory", "state"})
_PLACE_WORDS = frozenset({"city", "town", "village", "bazaar", "bazar", "airport", "port"})


def normalize_name(text: str) -> str:
    """Lower-case ASCII-folded words separated by single spaces ("Khushāb" -> "khushab")."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    joined = _JOINERS.sub("", folded.replace("&", " and "))
    return " ".join(_SEPARATORS.sub(" ", joined).split())


def compact(key: str) -> str:
    """A normalised name without spaces, so "d i khan", "di khan" and "dikhan" meet."""
    return key.replace(" ", "")


def kind_hint(key: str) -> Kind | None:
    """The kind a normalised query names itself as ("quetta district" -> district), if any."""
    words = set(key.split())
    if words & _DISTRICT_WORDS:
        return "district"
    if words & _PROVINCE_WORDS:
        return "province"
    if words & _PLACE_WORDS:
        return "place"
    return None


def strip_kind_words(key: str) -> str:
    """Drop district/province words: "district of west karachi" -> "west karachi"."""
    kept = [w for w in key.split() if w not in _DISTRICT_WORDS | _PROVINCE_WORDS | {"of"}]
    return " ".join(kept) or key


def name_pieces(text: str) -> tuple[str, ...]:
    """Normalised candidate names in a free-text description, most complete first.

    The whole text comes first, then pieces named as current ("Lasbela (now Hub)" gives "hub"
    before "lasbela"), then the other pieces split on punctuation and on words such as
    "near", "outskirts of" and "and"; each piece is followed by its form without generic
    trailing words ("Landi Kotal bazaar" -> "landi kotal").
    """
    whole = normalize_name(text)
    current: list[str] = []
    others: list[str] = []
    for raw in _PIECE_BREAKS.split(text):
        for part in _CONNECTORS.split(normalize_name(raw)):
            piece = part.strip()
            if piece.startswith(_NOW):
                current.append(piece.removeprefix(_NOW).strip())
            elif piece:
                others.append(piece)
    ordered: list[str] = []
    for piece in [whole, *current, *others]:
        for variant in (piece, _strip_generic(piece)):
            if variant and variant not in ordered and not _all_generic(variant):
                ordered.append(variant)
    return tuple(ordered)


def _strip_generic(piece: str) -> str:
    words = piece.split()
    while len(words) > 1 and words[-1] in _GENERIC:
        words.pop()
    return " ".join(words)


def _all_generic(piece: str) -> bool:
    return all(w in _GENERIC for w in piece.split())
