"""How many were killed and injured, leaving out the attackers.

Each casualty word ("killed", "martyred", "KIA", "zakhmi", "wounding") is an anchor. Its count
is read from the object that follows an active verb ("killing two soldiers", "injured his
son") or from the subject in front of a passive or sitrep form ("At least five people,
including three policemen, were killed" -> 5; "two Chinese nationals and their driver were
killed" -> 3; "2x FC pers KIA"; "Driver WIA" -> 1). Counts of attackers ("Two attackers were
also killed", "killing four of them") are left out. Negated anchors ("koi mara nahi", "not
hurt", "No casualties") give zero, which a positive count elsewhere overrides. Repeated
mentions of one toll take the largest; "was also hit" adds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from silkguard.intake.draft import Span
from silkguard.intake.numbers import COUNT_PATTERN, parse_count
from silkguard.intake.text import is_negated, sentence_bounds

__all__ = ["Casualties", "find_casualties"]

_KILL = (
    r"shot dead|gunned down|killed|killing|dead|martyred|martyring|died|slain|"
    r"lost (?:their|his|her) li(?:fe|ves)|claimed the li(?:fe|ves) of|claiming the li(?:fe|ves) of|"
    r"embraced (?:martyrdom|shahadat)|bodies|halaak|hallak|jaan-bahaq|jan-bahaq"
    r"|(?-i:KIA)|maare gaye|mare gaye|mara gaya|mar gaya|mar gaye|mar gayi|mara|halak|"
    r"jaan bahaq|jan bahaq|shaheed"
    r"|succumbed"
)
_INJURE = (
    r"injured|injuring|wounded|wounding|hurt|(?-i:WIA)|zakhmi|zakhmion|zakhm|chot|injuries|"
    r"harmed|suffered burns|burn injuries|"
    r"shot in the (?:leg|legs|arm|arms|hand|shoulder|foot|feet|back|abdomen|chest|thigh)"
    r"|unharmed|unhurt|(?:was|were) (?:also )?hit"
)
_ANCHOR = re.compile(rf"\b(?:(?P<k>{_KILL})|(?P<i>{_INJURE}))\b", re.I)
_ACTIVE = frozenset(
    {
        "killing",
        "wounding",
        "injuring",
        "killed",
        "injured",
        "wounded",
        "shot dead",
        "gunned down",
        "martyred",
        "martyring",
        "claimed the lives of",
        "claimed the life of",
        "claiming the lives of",
        "claiming the life of",
    }
)
_ZERO_WORDS = frozenset({"unharmed", "unhurt"})
_ZERO_BOTH = re.compile(
    r"\b(?:no|nil|zero)\s+(?:\w+\s+)?(?:casualties|casualty|cas|losses|loss of life|"
    r"fatalities)\b|\bkoi (?:jaani )?nuqsan nahi|\b(?:remained|were|are|is|was) (?:all )?safe\b|"
    r"\bsafe (?:hain|hai|hen)\b|\bescaped unhurt\b|\bunscathed\b",
    re.I,
)
_TOLL = re.compile(
    rf"\bdeath toll\b[^.;]{{0,80}}?\b(?:rose|climbed|jumped|reached|risen|increased|stands?|"
    rf"stood|is|was|rises|climbs|jumps|reaches|mounts|mounted)\s+(?:to\s+|at\s+)?"
    rf"(?P<count>{COUNT_PATTERN})\b",
    re.I,
)
_AMONG = re.compile(
    rf"\bamong (?:the )?(?P<count>{COUNT_PATTERN}) (?:\w+ ){{0,2}}?"
    rf"(?P<verb>killed|dead|wounded|injured|hurt)\b",
    re.I,
)
_ANCHOR_KILL = re.compile(r"killed|dead", re.I)
_BODIES = re.compile(
    rf"\bbod(?:y|ies) of (?:the )?(?P<count>{COUNT_PATTERN})\b(?! (?:days?|hours?|weeks?))", re.I
)
_PERSON = (
    r"people|persons?|pers|personnel|pax|civs?|civilians?|others?|men|man|women|woman|"
    r"child(?:ren)?|boys?|girls?|soldiers?|troops?|jawans?|policem[ae]n|cops?|constables?|"
    r"officials?|officers?|guards?|workers?|labou?rers?|engineers?|nationals?|passengers?|staff|"
    r"employees?|members?|pilgrims?|students?|teachers?|tourists?|villagers?|residents?|"
    r"shopkeepers?|traders?|drivers?|helpers?|escorts?|surveyors?|technicians?|contractors?|"
    r"supervisors?|victims?|sons?|daughters?|wife|brothers?|fathers?|elders?|leaders?|"
    r"journalists?|doctors?|watchm[ae]n|sepoys?|crew|log|afraad|bande|mazdoor|FC|levies|rangers|"
    r"schoolteachers?|tribesm[ae]n|youths?|youngsters?|farmers?|shepherds?|lawyers?|clerics?|"
    r"individuals?|miners?|managers?|foreigners?|pedestrians?|commuters?|worshippers?|vendors?|"
    r"cousins?|relatives?|nephews?|agents?|chini|cheeni|jawan|ahalkar|ahalkaron|sipahi|"
    r"colleagues?|businessm[ae]n|owners?|"
    r"mulazim|mulazimeen|bacche|aurat|aurtein|workers"
)
_ATTACKER = (
    r"militants?|attackers?|terrorists?|insurgents?|assailants?|gunm[ae]n|bombers?|miscreants?|"
    r"kidnappers?|suspects?|dacoits?|robbers?|dehshatgard|khawarij|khwarij"
)
_NOUN = rf"(?:{_PERSON}|{_ATTACKER})"
_DETERMINER = r"a|an|the|his|her|their|its|our|hamar[ae]"
_NP = re.compile(
    rf"\b(?P<count>{COUNT_PATTERN}|{_DETERMINER})\b(?P<mid>(?:\s+[\w'\u2019-]+){{0,3}}?)\s+"
    rf"(?P<noun>{_NOUN})\b",
    re.I,
)
_ATTACKER_RE = re.compile(rf"\b(?:{_ATTACKER})\b", re.I)
_PLURAL_NOUN = re.compile(
    r"\b(?:(?P<attacker>militants|attackers|terrorists|insurgents|assailants|gunmen|"
    r"miscreants|kidnappers|dacoits|robbers|khawarij|raiders|"
    # security forces who kill "four of them" kill attackers
    r"soldiers|troops|forces|policemen|police|personnel|levies|rangers)|"
    r"people|passengers|workers|labou?rers|guards|civilians|engineers|nationals|employees|"
    r"villagers|pilgrims|students|men|women|children)\b",
    re.I,
)
_ADJACENT = re.compile(rf"\b(?P<count>{COUNT_PATTERN})(?:\s+[\w.'-]+){{0,2}}\s*$", re.I)
_SINGULAR = re.compile(
    r"\b(?:driver|guard|escort|soldier|policeman|constable|worker|engineer|supervisor|"
    r"watchman|helper|passenger|civilian|official|officer|national)\s*$",
    re.I,
)
#: Roman Urdu "supervisor ko haath pe zakhm aya": the person marked with "ko".
_SINGULAR_KO = re.compile(
    r"\b(?:driver|guard|escort|soldier|constable|worker|engineer|supervisor|watchman|helper|"
    r"passenger|jawan|sipahi|mazdoor|ahalkar)\s+ko\b",
    re.I,
)
_RIGHT_COUNT = re.compile(
    rf"^\s+(?P<count>{COUNT_PATTERN})(?P<of>\s+of them)?(?=\s*[,.;]|\s+(?:and|others)\b|\s*$)",
    re.I,
)
_BOUNDARY = re.compile(r"[;:—|]|\s-\s|\b(?:when|after|as|while|but|whereas|because|kyunke)\b", re.I)
_ASIDE = re.compile(
    r"\([^)]*\)|,?\s*\b(?:including|among them|among whom|incl\.?)\s[^,]*(?:,|$)|"
    r",\s*(?:who|which|whose)\b[^,]*,",
    re.I,
)
_AND = re.compile(r"^\s*,?\s*(?:and|aur|along with|together with|as well as)\s*$", re.I)
_PASSIVE_BEFORE = re.compile(r"\b(?:was|were|been|being|is|are|got)\s+(?:also\s+)?$", re.I)
_NEG_AFTER = re.compile(r"\s*(?:\w+\s+)?(?:nahi|nahin|nhi|nahi hua|nahin hua)\b", re.I)
_WINDOW_CHARS = 140
_AND_SOMEONE = re.compile(
    r"\s*,?\s*(?:and|aur)\s+(?:a|an|one|his|her|their)\s+(?:[\w'\u2019-]+\s+)?[\w'\u2019-]+",
    re.I,
)
_AND_SOMEONE_NEAR = re.compile(
    r"(?:\s+[\w'\u2019-]+){0,3}?\s*,?\s*(?:and|aur)\s+(?:a|an|one|his|her|their)\s+"
    r"(?:[\w'\u2019-]+\s+)?[\w'\u2019-]+",
    re.I,
)
#: "killed a schoolteacher": whoever an active verb kills or injures is a person.
_SOMEONE = re.compile(r"(?:a|an|one)\s+(?:[\w'\u2019-]+\s+){0,2}?[\w'\u2019-]+", re.I)


@dataclass(frozen=True, slots=True)
class _Mention:
    kind: str  # "killed" or "injured"
    count: int
    additive: bool
    span: Span
    sentence: int = 0


@dataclass
class Casualties:
    """Counts found, with zero meaning the text says nobody; ``None`` when it does not say."""

    killed: int | None = None
    injured: int | None = None
    spans: dict[str, Span] = field(default_factory=dict)
    attackers_killed: bool = False


def find_casualties(text: str) -> Casualties:
    """Killed and injured stated in ``text`` (attackers excluded)."""
    out = Casualties()
    mentions, zeros = _anchor_mentions(text, out)
    for m in _ZERO_BOTH.finditer(text):
        for kind in ("killed", "injured"):
            zeros.setdefault(kind, Span(m.start(), m.end(), m.group(0)))
    for m in _AMONG.finditer(text):  # "a woman and her children were among nine people wounded"
        count = parse_count(m.group("count"))
        if count is not None:
            kind = "killed" if _ANCHOR_KILL.fullmatch(m.group("verb")) else "injured"
            found = Span(m.start(), m.end(), m.group(0))
            mentions.append(_Mention(kind, count, False, found, -3))
    for m in _BODIES.finditer(text):
        count = parse_count(m.group("count"))
        if count is not None:
            found = Span(m.start(), m.end(), m.group(0))
            mentions.append(_Mention("killed", count, False, found, -2))
    for m in _TOLL.finditer(text):
        count = parse_count(m.group("count"))
        if count is not None:
            toll = Span(m.start(), m.end(), m.group(0))
            mentions.append(_Mention("killed", count, False, toll, -1))
    for kind in ("killed", "injured"):
        value, span = _total([x for x in mentions if x.kind == kind])
        if value is None and kind in zeros:
            value, span = 0, zeros[kind]
        if value is not None and span is not None:
            setattr(out, kind, value)
            out.spans[kind] = span
    return out


def _anchor_mentions(text: str, out: Casualties) -> tuple[list[_Mention], dict[str, Span]]:
    """Counted mentions and negated ("zero") anchors, sentence by sentence."""
    mentions: list[_Mention] = []
    zeros: dict[str, Span] = {}
    for index, (s_start, s_end) in enumerate(sentence_bounds(text)):
        previous_end = s_start
        for m in _ANCHOR.finditer(text, s_start, s_end):
            kind = "killed" if m.group("k") else "injured"
            word = m.group(0).lower()
            if word in _ZERO_WORDS or _negated(text, m):
                zeros.setdefault(kind, Span(m.start(), m.end(), m.group(0)))
            else:
                found = _count_for(text, m, word, previous_end, s_end)
                if isinstance(found, tuple):
                    count, start, end, additive = found
                    also = additive or "also" in word
                    span = Span(start, end, text[start:end])
                    mentions.append(_Mention(kind, count, also, span, index))
                elif found == "attacker" and kind == "killed":
                    out.attackers_killed = True
            previous_end = m.end()
    return mentions, zeros


def _negated(text: str, m: re.Match[str]) -> bool:
    return is_negated(text, m.start()) or _NEG_AFTER.match(text, m.end()) is not None


def _total(mentions: list[_Mention]) -> tuple[int | None, Span | None]:
    """Counts in one sentence add up ("2x FC WIA, 1 civ injured"); a toll repeated in another
    sentence does not, so the largest sentence total wins; "also" adds."""
    if not mentions:
        return None, None
    extra = [x for x in mentions if x.additive]
    by_sentence: dict[int, list[_Mention]] = {}
    for x in mentions:
        if not x.additive:
            by_sentence.setdefault(x.sentence, []).append(x)
    best = max(by_sentence.values(), key=lambda xs: sum(x.count for x in xs), default=[])
    total = sum(x.count for x in best) + sum(x.count for x in extra)
    return total, (best or extra)[0].span


_Found = tuple[int, int, int, bool] | str | None  # (count, start, end, additive) or "attacker"


def _count_for(text: str, m: re.Match[str], word: str, window_start: int, s_end: int) -> _Found:
    """The count an anchor refers to, "attacker", or ``None`` when none is found."""
    left_text = text[max(window_start, m.start() - _WINDOW_CHARS) : m.start()]
    if word in _ACTIVE and not _PASSIVE_BEFORE.search(left_text):
        right = _right_count(text, m.end(), s_end)
        if isinstance(right, tuple):
            return right[0], m.start(), right[1], False
        if right is not None:
            return right
    found = _left_count(left_text)
    if isinstance(found, tuple):
        count, offset, additive = found
        return count, m.start() - len(left_text) + offset, m.end(), additive
    return found


def _right_count(text: str, start: int, s_end: int) -> tuple[int, int] | str | None:
    """``(count, end of its text)`` of the object after an active verb."""
    right = text[start : min(s_end, start + _WINDOW_CHARS)]
    cut = _BOUNDARY.search(right)
    right = right[: cut.start()] if cut else right
    offset = start + len(right) - len(right.lstrip())
    body = right.lstrip()
    nps = list(_NP.finditer(body))
    if nps and nps[0].start() == 0:
        if _ATTACKER_RE.search(nps[0].group(0)):
            return "attacker"
        total = _np_count(nps[0])
        if total is not None:
            end = nps[0].end()
            for nxt in nps[1:]:
                if not _AND.match(body[end : nxt.start()]) or _ATTACKER_RE.search(nxt.group(0)):
                    break
                total += _np_count(nxt) or 0
                end = nxt.end()
            one_more = _AND_SOMEONE.match(body, end)  # "... and a passer-by"
            if one_more is not None and not _ATTACKER_RE.search(one_more.group(0)):
                total += 1
                end = one_more.end()
            return total, offset + end
    bare = _RIGHT_COUNT.match(right)
    if bare is not None:
        if bare.group("of") and _them_are_attackers(text, start):
            return "attacker"
        count = parse_count(bare.group("count"))
        if count is not None:
            return count, start + bare.end()
    someone = _SOMEONE.match(body)
    if someone is not None and not _ATTACKER_RE.search(someone.group(0)):
        more = _AND_SOMEONE_NEAR.match(body, someone.end())  # "a former nazim and his nephew"
        if more is not None and not _ATTACKER_RE.search(more.group(0)):
            return 2, offset + more.end()
        return 1, offset + someone.end()
    return None


def _them_are_attackers(text: str, verb_end: int) -> bool:
    """Whether "them" in "killing four of them" refers to attackers: the last plural noun
    before it decides ("militants ..., killing four of them", "troops repulsed the raid,
    killing four of them" vs "offloaded passengers ... and shot dead 23 of them")."""
    before = text[max(0, verb_end - 200) : verb_end]
    last: re.Match[str] | None = None
    for last in _PLURAL_NOUN.finditer(before):  # noqa: B007 - the last match is wanted
        pass
    return last is not None and last.group("attacker") is not None


def _left_count(left_text: str) -> tuple[int, int, bool] | str | None:
    """``(count, offset in left_text, additive)`` of the subject before a passive form."""
    cuts = list(_BOUNDARY.finditer(left_text))
    window = left_text[cuts[-1].end() :] if cuts else left_text
    start = len(left_text) - len(window)
    additive = re.search(r"\balso\b", window, re.I) is not None
    plain = _ASIDE.sub(lambda a: " " * len(a.group(0)), window)
    # with the asides gone, a comma left ends an earlier clause ("... goli maar di, guard
    # mar gaya": the guard, not the two men before the comma)
    comma = plain.rfind(",")
    if comma >= 0 and plain[comma + 1 :].strip():
        start += comma + 1
        plain = plain[comma + 1 :]
    nps = list(_NP.finditer(plain))
    if nps:
        first = nps[0]
        if _ATTACKER_RE.search(first.group(0)):
            return "attacker"
        total = _np_count(first)
        if total is None:
            return None
        previous = first
        for nxt in nps[1:]:
            if not _AND.match(plain[previous.end() : nxt.start()]):
                break
            if _ATTACKER_RE.search(nxt.group(0)):
                break
            total += _np_count(nxt) or 0
            previous = nxt
        return total, start + first.start(), additive
    near = _ADJACENT.search(plain)
    if near is not None:
        count = parse_count(near.group("count"))
        if count is not None:
            return count, start + near.start(), additive
    if _SINGULAR.search(plain) or _SINGULAR_KO.search(plain):
        return 1, start, additive
    return None


def _np_count(np: re.Match[str]) -> int | None:
    word = np.group("count").lower()
    noun = np.group("noun").lower()
    if word in {"a", "an", "the", "his", "her", "its", "their", "our", "hamara", "hamari"}:
        plural = noun.endswith(("s", "men", "people", "children", "staff", "personnel", "crew"))
        return None if plural and word in {"the", "their", "our", "hamari"} else 1
    return parse_count(word)
