"""Input checks and shared text helpers for extraction: size limits, control characters,
script detection, sentence boundaries and negation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from silkguard.core.errors import InvalidInput, PayloadTooLarge

__all__ = [
    "MAX_TEXT_CHARS",
    "MIN_LATIN_SHARE",
    "CleanText",
    "clean_text",
    "is_negated",
    "sentence_bounds",
]

#: Longest report accepted, in characters. A long wire story is 5-20 thousand characters; a
#: larger input is a document dump or an attack on the service, not one incident report.
MAX_TEXT_CHARS = 100_000
#: Below this share of Latin letters among all letters the text is treated as a language the
#: extractor does not read (Urdu or Chinese script, binary noise) and gets a low confidence.
MIN_LATIN_SHARE = 0.6

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|\s[|]\s")
#: Words whose full stop does not end a sentence ("nr. Panjgur", "Mr. Khan").
_ABBREVIATIONS = frozenset(
    {"nr", "mr", "mrs", "dr", "no", "st", "approx", "apprx", "lt", "col", "gen", "maj", "capt",
     "sgt", "brig", "insp", "sp", "dsp", "asi", "si", "vs", "etc", "govt", "dist", "km", "e.g",
     "i.e", "ref", "u.s", "u.k"}
)  # fmt: skip
_LAST_WORD = re.compile(r"([\w.]+)[.]$")
_NEGATORS = re.compile(
    r"\b(?:no|not|nil|never|without|nobody|none|koi|nahi|nahin|na)\b[^.;:]{0,25}$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class CleanText:
    """The report with control characters blanked (offsets unchanged) and its script share."""

    text: str
    latin_share: float

    @property
    def readable(self) -> bool:
        return self.latin_share >= MIN_LATIN_SHARE


def clean_text(text: str) -> CleanText:
    """Check the size of a report and blank its control characters, keeping offsets.

    Raises
    ------
    InvalidInput
        When the text is empty or only whitespace.
    PayloadTooLarge
        When the text is longer than :data:`MAX_TEXT_CHARS`.
    """
    if not isinstance(text, str):
        msg = f"report text must be a str, got {type(text).__name__}; decode bytes as UTF-8 first"
        raise InvalidInput(msg)
    if len(text) > MAX_TEXT_CHARS:
        msg = (
            f"report text is {len(text):,} characters; at most {MAX_TEXT_CHARS:,} are accepted. "
            "Submit one incident report at a time, or cut the text to the relevant part"
        )
        raise PayloadTooLarge(msg)
    blanked = _CONTROL.sub(" ", text)
    if not blanked.strip():
        msg = "report text is empty; give the text of the report (at least one word)"
        raise InvalidInput(msg)
    letters = [c for c in blanked if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or _is_latin(c))
    share = latin / len(letters) if letters else 0.0
    return CleanText(blanked, share)


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence (or sitrep field) of ``text``."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        last = _LAST_WORD.search(text, max(start, m.start() - 12), m.start())
        if last is not None and last.group(1).lower() in _ABBREVIATIONS:
            continue
        if m.start() > start:
            bounds.append((start, m.start()))
        start = m.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


def is_negated(text: str, start: int) -> bool:
    """Whether the words just before ``start`` negate what follows ("no", "koi ... nahi")."""
    return _NEGATORS.search(text[max(0, start - 30) : start]) is not None
