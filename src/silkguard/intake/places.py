"""Where it happened: place mentions matched against the gazetteer, the most specific chosen.

Candidates are word sequences starting with a capital (any word in texts typed in lower
case), matched exactly against the gazetteer's names and aliases, longest first; a sequence
in a strong context ("near X", "in the X area", "nr X", a dateline) that matches nothing
exactly is matched fuzzily (rapidfuzz), accepted only when its plain ratio to the place's name
is high. Each mention is scored by what it names (a town beats a district, which beats a
province) and by its context: event prepositions and Roman Urdu postpositions ("X ke paas")
score highest, then datelines and report headers, then a town named in a road ("Dasu road",
"Mastung bypass"), then bare mentions; the ends of a route ("Quetta-Taftan") score low, and
origins and destinations ("belonged to X", "travelling to X", "diverted to X") lose. Roads
(N-85, KKH, M-8, "Airport Road") are reported separately and never beat a town.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from silkguard.geo.gazetteer import (
    Candidate,
    Gazetteer,
    load_gazetteer,
    normalize_name,
    read_districts,
    read_geonames_places,
    read_supplement,
)
from silkguard.intake.draft import Span

__all__ = ["PlaceFinding", "PlaceMatcher", "find_road"]

# a word, or an abbreviation written with full stops ("D.I." in "D.I. Khan")
_ABBREVIATION = r"(?:[A-Z]\.){2,3}"
_TOKEN = re.compile(rf"{_ABBREVIATION}|[A-Za-z][A-Za-z'\u2019]*(?:\.[A-Za-z]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_CAP = rf"(?:{_ABBREVIATION}|[A-Z][A-Za-z'\u2019]*(?:\.[A-Za-z]+)*)"
_ANY = rf"(?:{_ABBREVIATION}|[A-Za-z][A-Za-z'\u2019]*(?:\.[A-Za-z]+)*)"
# words joined by a space or a hyphen ("Gilgit-Baltistan"; "Turbat-Hoshab" splits again later)
_CAPITAL_RUN = re.compile(rf"(?<![\w'\u2019.]){_CAP}(?:[ \-\u2013]{_CAP})*")
_LOWER_RUN = re.compile(rf"(?<![\w'\u2019.]){_ANY}(?:[ \-\u2013]{_ANY})*")
_MAX_WORDS = 4
_FUZZY_MIN_RATIO = 88.0
#: In text typed in lower case a short word ("tank", "hub") is a place only after "in", "near".
_LOWER_CASE_MIN_CHARS = 5
#: Short names need a closer match: "Kahan" is not "Kadhan".
_FUZZY_SHORT_RATIO = 93.0
_FUZZY_SHORT_CHARS = 7
#: A fuzzy match in a province no exact mention names is probably a different place.
_FUZZY_OTHER_PROVINCE = -2.0
#: A town outside every district or province the text names as the scene.
_OUTSIDE_NAMED_AREA = -2.0
#: A town whose district the text also names ("Parachinar, Kurram district").
_CONFIRMED_BY_DISTRICT = 0.5
_FUZZY_MIN_CHARS = 5
_HEADER_CHARS = 60
_KIND_SCORE = {"place": 3.0, "district": 2.0, "province": 0.5}
_EVENT_BEFORE = re.compile(
    r"\b(?:in|near|nr|at|outside|of|off|around|close to|outskirts of|vicinity of|"
    r"area of|located in|on the outskirts of)\s+(?:the\s+)?$",
    re.I,
)
_EVENT_AFTER = re.compile(
    r"\s*(?:ke paas|ke pas|ke qareeb|ke kareeb|ke nazdeek|mein|main|me|pe|par|area|tehsil|"
    r"town|city|village|bazaar|bazar)\b",
    re.I,
)
#: "in Sheikh Maltoon Town, Mardan": the town after the comma places the unknown one before it.
_QUALIFIES = re.compile(
    r"\b(?:in|near|nr|at|outside|of)\s+(?:the\s+)?(?:[A-Z][\w'\u2019-]*\s*){1,4},\s*$"
)
_ROAD_AFTER = re.compile(r"\s*(?:road|rd|bypass|highway|hwy|chowk|crossing|tunnel)\b", re.I)
_AWAY_BEFORE = re.compile(
    r"\b(?:belong(?:ed|s|ing)? to|hail(?:ed|s|ing)? from|native of|natives? of|residents? of|"
    r"travell?ing to|on (?:their|his|her|the) way to|going to|headed (?:to|for)|bound for|"
    r"towards|trained in|taken to|shifted to|moved to|rushed to|diverted to|transferred to|"
    r"brought to|returned to|deployed (?:mainly )?in|trained in|came from|migrated from|"
    r"working (?:at|on|for|in|with)|employed (?:at|by|in)|posted (?:at|in))"
    r"\s+(?:the\s+)?$",
    re.I,
)
_ROUTE_NEXT = re.compile(r"\s?(?:->|-|\u2013|→)\s?[A-Z]")
_ROUTE_PREV = re.compile(r"[A-Za-z]\s?(?:->|-|\u2013|→)\s?$")
_HEADER_AFTER = re.compile(r"\s*(?:[,:|.(]|—|-\s)")
_ROAD = re.compile(
    r"\b(?:[NM]-?\d{1,3}|KKH|Karakoram (?:Highway|Hwy)|(?:Makran )?Coastal (?:Highway|Hwy)|"
    r"RCD (?:Highway|Road)|Indus Highway|GT Road|Grand Trunk Road|"
    r"[A-Z][a-z]+(?: [A-Z][a-z]+)? (?:Road|Highway|Motorway|Expressway))\b"
)
_COMMON = frozenset(
    {"the", "a", "an", "and", "or", "of", "in", "on", "at", "to", "for", "from", "by", "with",
     "no", "not", "he", "she", "it", "they", "we", "our", "his", "her", "their", "police",
     "officials", "said", "road", "site", "camp", "area", "district", "city", "town", "main",
     "ke", "ki", "ka", "ko", "ne", "se", "pe", "par", "hai", "tha", "aur", "ek", "do",
     "koi", "nahi", "abhi", "kal", "aaj", "raat", "bhai", "log", "hamari", "hamara", "gate",
     "mandi", "nagar", "baltistan", "colony", "chowk", "bazar", "bazaar"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlaceFinding:
    """A chosen place and the gazetteer entry it matched."""

    name: str
    kind: str
    province: str | None
    district: str | None
    latitude: float
    longitude: float
    span: Span
    score: float


@dataclass(frozen=True, slots=True)
class _Mention:
    span: Span
    candidates: tuple[Candidate, ...]
    fuzzy: bool
    context: float


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str


class PlaceMatcher:
    """Finds the place of an incident in a text; build one per process (it caches lookups)."""

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self._gazetteer = gazetteer or load_gazetteer()
        self._exact = functools.lru_cache(maxsize=1 << 15)(self._exact_raw)
        self._fuzzy = functools.lru_cache(maxsize=1 << 14)(self._fuzzy_raw)
        _fuzzy_names()  # built here, not inside the first report that needs it

    def find(self, text: str) -> PlaceFinding | None:
        """The most specific, best supported place mention in ``text``, or ``None``."""
        mentions = self._mentions(text)
        if not mentions:
            return None
        # districts and provinces the text names as the scene narrow down the towns
        admin: set[str] = {
            c.province
            for m in mentions
            if m.context >= 0 and not m.fuzzy
            for c in m.candidates[:1]
            if c.kind != "place" and c.province is not None
        }
        chosen = [(m, _choose(m.candidates, admin)) for m in mentions]
        exact = {c.province for m, c in chosen if not m.fuzzy}
        named = {c.name for _m, c in chosen}
        findings = []
        for m, c in chosen:
            score = _KIND_SCORE[c.kind] + m.context - 0.5 * m.fuzzy
            if c.kind == "place" and c.district in named - {c.name}:
                score += _CONFIRMED_BY_DISTRICT
            if c.kind == "place" and admin and c.province not in admin:
                score += _OUTSIDE_NAMED_AREA
            elif m.fuzzy and exact and c.province not in exact:
                score += _FUZZY_OTHER_PROVINCE
            findings.append(_finding(c, m.span, score))
        return max(findings, key=lambda f: (f.score, -f.span.start))

    def _mentions(self, text: str) -> list[_Mention]:
        out: list[_Mention] = []
        for run in _runs(text):
            i = 0
            while i < len(run):
                word = run[i].text
                # single common words are refused in _exact_raw; "Mandi Bahauddin" is a town
                if (
                    word[0].islower()
                    and len(word) < _LOWER_CASE_MIN_CHARS
                    and not _strong_context(text, run[i].start)
                ):
                    i += 1
                    continue
                found = self._longest_match(text, run, i)
                if found is None:
                    i += 1
                    continue
                length, candidates, fuzzy = found
                start, end = run[i].start, run[i + length - 1].end
                span = Span(start, end, text[start:end])
                out.append(_Mention(span, candidates, fuzzy, _context_score(text, span)))
                i += length
        return out

    def _longest_match(
        self, text: str, run: list[_Token], i: int
    ) -> tuple[int, tuple[Candidate, ...], bool] | None:
        chunk = run[i : i + _MAX_WORDS]
        for length in range(len(chunk), 0, -1):
            phrase = _POSSESSIVE.sub("", text[chunk[0].start : chunk[length - 1].end])
            hits = self._exact(_normalized(phrase))
            if hits:
                return length, hits, False
        if _strong_context(text, chunk[0].start):
            for length in range(min(len(chunk), 2), 0, -1):
                phrase = _POSSESSIVE.sub("", text[chunk[0].start : chunk[length - 1].end])
                hits = self._fuzzy(_normalized(phrase))
                if hits:
                    return length, hits, True
        return None

    def _exact_raw(self, key: str) -> tuple[Candidate, ...]:
        if not key or key in _COMMON:
            return ()
        hits = self._gazetteer.forward(key, limit=8, min_score=100.0)
        return tuple(sorted(hits, key=_specificity))

    def _fuzzy_raw(self, key: str) -> tuple[Candidate, ...]:
        if len(key) < _FUZZY_MIN_CHARS or key.split(maxsplit=1)[0] in _COMMON:
            return ()
        # plain ratio over whole names: partial matching finds "Gomal Zam Dam" in "Gomal"
        best = process.extractOne(
            key, _fuzzy_names(), scorer=fuzz.ratio, score_cutoff=_FUZZY_MIN_RATIO
        )
        if best is None:
            return ()
        if len(key) <= _FUZZY_SHORT_CHARS and best[1] < _FUZZY_SHORT_RATIO:
            return ()
        return self._exact(best[0])


@functools.lru_cache(maxsize=1 << 15)
def _normalized(phrase: str) -> str:
    return normalize_name(phrase)


@functools.cache
def _fuzzy_names() -> list[str]:
    """Normalised ASCII names and aliases of places and districts, for fuzzy matching."""
    names: set[str] = set()
    for place in [*read_geonames_places(), *read_supplement()]:
        names.update(normalize_name(n) for n in (place.name, *place.aliases))
    for district in read_districts():
        names.update(normalize_name(n) for n in (district.district, *district.aliases))
    return sorted(n for n in names if n.isascii() and len(n) >= _FUZZY_MIN_CHARS)


def find_road(text: str) -> Span | None:
    """The first road named in ``text`` (N-85, KKH, "Airport Road"), if any."""
    m = _ROAD.search(text)
    return Span(m.start(), m.end(), m.group(0)) if m else None


def _specificity(c: Candidate) -> tuple[int, int]:
    return {"place": 0, "district": 1, "province": 2}[c.kind], -(c.population or 0)


def _choose(candidates: tuple[Candidate, ...], admin: set[str]) -> Candidate:
    """The most specific candidate, inside the named districts' provinces when possible."""
    inside = [c for c in candidates if c.province in admin]
    return (inside or list(candidates))[0]


def _finding(c: Candidate, span: Span, score: float) -> PlaceFinding:
    district = c.district if c.kind == "place" else (c.name if c.kind == "district" else None)
    return PlaceFinding(c.name, c.kind, c.province, district, c.latitude, c.longitude, span, score)


def _runs(text: str) -> list[list[_Token]]:
    """Runs of words that may hold a place name: capitalised words separated by single
    spaces; in a text typed in lower case, every run of words of four letters or more."""
    words = _TOKEN.findall(text)
    capitals = sum(w[0].isupper() for w in words)
    pattern = _LOWER_RUN if capitals <= len(words) // 10 else _CAPITAL_RUN
    return [
        [_Token(t.start(), t.end(), t.group(0)) for t in _TOKEN.finditer(text, *run.span())]
        for run in pattern.finditer(text)
    ]


def _strong_context(text: str, start: int) -> bool:
    before = text[max(0, start - 25) : start]
    return _EVENT_BEFORE.search(before) is not None


def _context_score(text: str, span: Span) -> float:
    before = text[max(0, span.start - 40) : span.start]
    after = text[span.end : span.end + 20]
    if _AWAY_BEFORE.search(before):
        return -4.0
    if _ROUTE_NEXT.match(after):
        return 0.5
    if _ROUTE_PREV.search(before):
        return 0.3
    if _EVENT_BEFORE.search(before) or _EVENT_AFTER.match(after) or _QUALIFIES.search(before):
        return 2.0
    if span.start < _HEADER_CHARS and _HEADER_AFTER.match(after):
        return 1.5
    if _ROAD_AFTER.match(after):
        return 1.5
    return 1.0
