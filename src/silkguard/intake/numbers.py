"""Counts written as digits, English words or Roman Urdu words ("2x", "eleven", "teen")."""

from __future__ import annotations

import re

__all__ = ["COUNT_PATTERN", "NUMBER_WORDS", "parse_count"]

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "nil": 0, "no": 0, "none": 0,
    "one": 1, "single": 1, "another": 1, "one more": 1,
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "dozen": 12, "a dozen": 12, "couple": 2, "a couple of": 2, "pair": 2, "both": 2,
    # Roman Urdu; "do" (two) only counts in front of a person noun, see casualties.py
    "ek": 1, "do": 2, "teen": 3, "char": 4, "chaar": 4, "panch": 5, "paanch": 5,
    "chhe": 6, "chay": 6, "saat": 7, "aath": 8, "nau": 9, "das": 10,
}  # fmt: skip
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
_WORDS = sorted(NUMBER_WORDS, key=len, reverse=True)
_WORD_ALT = "|".join(re.escape(w) for w in _WORDS if w not in {"no", "none", "nil"})
#: A count: optional hedge, then digits ("2", "2x", "x2") or number words ("twenty-one").
COUNT_PATTERN = (
    r"(?:(?:at least|atleast|about|around|some|nearly|over|more than|up to|approx\.?|~)\s*)?"
    rf"(?:x?\d{{1,4}}x?|(?:{_WORD_ALT})(?:-(?:one|two|three|four|five|six|seven|eight|nine))?)"
)
_DIGITS = re.compile(r"x?(\d+)x?")
_HEDGE = re.compile(
    r"^(?:at least|atleast|about|around|some|nearly|over|more than|up to|approx\.?|~)\s*", re.I
)


def parse_count(text: str) -> int | None:
    """The number a count expression stands for, or ``None`` ("at least five" -> 5)."""
    word = _HEDGE.sub("", text.strip().lower()).strip()
    digits = _DIGITS.fullmatch(word)
    if digits is not None:
        return int(digits.group(1))
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    head, _, tail = word.partition("-")
    if head in _TENS and tail in NUMBER_WORDS and NUMBER_WORDS[tail] < 10:
        return NUMBER_WORDS[head] + NUMBER_WORDS[tail]
    return None
