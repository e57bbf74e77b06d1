"""Input checks and shared text helpers for extraction: size limits, control characters,
script detection, sentence boundaries and negation."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from silkguard.core.errors import InvalidInput, PayloadTooLarge

__all__ = [
    "MAX_ANALYSED_CHARS",
    "MAX_TEXT_CHARS",
    "MIN_LATIN_SHARE",
    "CleanText",
    "ascii_lower",
    "clean_text",
    "is_negated",
    "literal_prefixes",
    "sentence_bounds",
]

#: Longest report accepted, in characters. A long wire story is 5-20 thousand characters; a
#: larger input is a document dump or an attack on the service, not one incident report.
MAX_TEXT_CHARS = 100_000
#: Only this many leading characters are analysed: a report states the incident first, and the
#: rules' cost grows with the length (a 100,000-character text would take seconds).
MAX_ANALYSED_CHARS = 20_000
#: Below this share of Latin letters among all letters the text is treated as a language the
#: extractor does not read (Urdu or Chinese script, binary noise) and gets a low confidence.
MIN_LATIN_SHARE = 0.6

_ASCII_LETTER = re.compile(r"[A-Za-z]")
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
    if blanked.isascii():
        return CleanText(blanked, 1.0 if _ASCII_LETTER.search(blanked) else 0.0)
    letters = [c for c in blanked if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or _is_latin(c))
    share = latin / len(letters) if letters else 0.0
    return CleanText(blanked, share)


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


@functools.lru_cache(maxsize=64)
def sentence_bounds(text: str) -> tuple[tuple[int, int], ...]:
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
    return tuple(bounds)


def is_negated(text: str, start: int) -> bool:
    """Whether the words just before ``start`` negate what follows ("no", "koi ... nahi")."""
    return _NEGATORS.search(text[max(0, start - 30) : start]) is not None


def literal_prefixes(pattern: str) -> tuple[str, ...] | None:
    """Lower-case literals that every match of ``pattern`` starts with, one per top-level
    alternative, or ``None`` when some alternative does not start with a literal.

    Python's ``re`` tries every alternative at every position, which is slow for long
    case-insensitive keyword rules; a rule whose prefixes do not occur in the lower-cased text
    (a plain substring test) cannot match and need not run.
    """
    prefixes: list[str] = []
    for alternative in _top_level_alternatives(pattern):
        rest = alternative
        while rest.startswith("\\b"):
            rest = rest[2:]
        group = _LITERAL_GROUP.match(rest)
        if group is not None and rest[group.end() : group.end() + 1] not in {"?", "*", "{"}:
            words = group.group(1).split("|")
            if min(len(w.strip()) for w in words) < 2:
                return None
            prefixes.extend(w.lower() for w in words)
            continue
        m = _LITERAL.match(rest)
        if m is None:
            return None
        literal = m.group(0)
        if rest[m.end() : m.end() + 1] in {"?", "*", "{"}:
            literal = literal[:-1]
        if len(literal.strip()) < 2:
            return None
        prefixes.append(literal.lower())
    return tuple(prefixes)


_LITERAL = re.compile(r"[A-Za-z0-9 '\u2019]+")
_LITERAL_GROUP = re.compile(r"\(\?:([A-Za-z0-9 '\u2019|]+)\)")


def _top_level_alternatives(pattern: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    in_class = False
    start = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """``text`` with ASCII capitals lowered; unlike ``str.lower`` it keeps every offset."""
    return text.translate(_ASCII_LOWER)
