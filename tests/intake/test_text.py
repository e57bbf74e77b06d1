from __future__ import annotations

import re

import pytest

from silkguard.intake.text import (
    ascii_lower,
    clean_text,
    is_negated,
    literal_prefixes,
    sentence_bounds,
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bbombs?\b|\bblast\b", ("bomb", "blast")),
        (r"\bland ?mines?\b", ("land",)),
        (r"\b(?:car|truck) bomb\b|\bvbied\b", ("car", "truck", "vbied")),
        (r"\bkidnap(?:ped|ping)?\b", ("kidnap",)),
        (r"\b\d+ ?mm\b|\brocket\b", None),  # an alternative starting with a class
        (r"\b(?:a|the)? bomb\b", None),  # an optional group is no prefix
        (r"\b(?-i:KIA)\b", None),
    ],
)
def test_literal_prefixes(pattern: str, expected: tuple[str, ...] | None) -> None:
    assert literal_prefixes(pattern) == expected


def test_ascii_lower_keeps_offsets() -> None:
    text = "İSTANBUL and QUETTA — Ärger"
    lowered = ascii_lower(text)
    assert len(lowered) == len(text)
    assert lowered.index("quetta") == text.index("QUETTA")


def test_sentences_do_not_break_at_abbreviations() -> None:
    text = "IED nr. Panjgur at 0600. 2 KIA. pathrao hua. convoy wapis"
    pieces = [text[s:e] for s, e in sentence_bounds(text)]
    assert pieces == ["IED nr. Panjgur at 0600.", "2 KIA.", "pathrao hua.", "convoy wapis"]


def test_clean_text_measures_the_latin_share() -> None:
    assert clean_text("Quetta blast").latin_share == 1.0
    assert not clean_text("کوئٹہ میں دھماکہ").readable
    assert clean_text("Quetta: dhamaka, café").readable
    blanked = clean_text("a\x00b")
    assert blanked.text == "a b"


@pytest.mark.parametrize(
    ("text", "word", "negated"),
    [
        ("no shots fired", "shots", True),
        ("Guards were not hurt", "hurt", True),
        ("koi zakhmi nahi", "zakhmi", True),
        ("two guards hurt", "hurt", False),
        ("No claim. Two guards hurt", "hurt", False),  # a full stop ends the negation
    ],
)
def test_negation(text: str, word: str, negated: bool) -> None:
    assert is_negated(text, text.index(word)) is negated
    assert re.search(word, text)
