"""Who did it (only as the text says) and which foreign nationals were affected.

A perpetrator is reported only when the text names a group: "claimed responsibility",
"Claim: BLF", "claim by BLA" make it ``claimed``; "suspected", "blamed", "believed to be",
"linked to" make it ``suspected``, as does a group named as the actor without either. "No
group claimed" names nobody. Known groups get a canonical name (with a faction or
"-linked" qualifier the text gives); :func:`perpetrator_key` lets evaluation compare names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from silkguard.intake.draft import PerpetratorStatus, Span
from silkguard.intake.text import ascii_lower, is_negated, sentence_bounds

__all__ = [
    "GROUPS",
    "Nationals",
    "Perpetrator",
    "find_nationals",
    "find_perpetrator",
    "perpetrator_key",
]

#: key, canonical name, pattern (case-insensitive unless the abbreviation is upper case).
GROUPS: list[tuple[str, str, str]] = [
    ("ttp", "Tehrik-i-Taliban Pakistan (TTP)",
     r"tehr[ei]e?k[- ]?[ei]?[- ]?taliban(?:[- ]e)? pakistan|(?-i:TTP)|pakistani taliban"),
    ("bla", "Balochistan Liberation Army (BLA)",
     r"baloch(?:istan)? liberation army|(?-i:BLA)"),
    ("blf", "Balochistan Liberation Front (BLF)",
     r"baloch(?:istan)? liberation front|(?-i:BLF)"),
    ("bra", "Baloch Republican Army (BRA)", r"baloch republican army|(?-i:BRA)"),
    ("brg", "Baloch Republican Guards (BRG)", r"baloch republican guards?|(?-i:BRG)"),
    ("bnra", "Baloch Nationalist Army (BNA)", r"baloch nationalist army|(?-i:BNA)"),
    ("bras", "Baloch Raji Aajoi Sangar (BRAS)", r"baloch raji aa?joi sangar|(?-i:BRAS)"),
    ("sra", "Sindhudesh Revolutionary Army (SRA)",
     r"sindhu ?desh revolutionary army|(?-i:SRA)"),
    ("sdla", "Sindhudesh Liberation Army (SDLA)", r"sindhu ?desh liberation army|(?-i:SDLA)"),
    ("iskp", "Islamic State Khorasan Province (ISKP)",
     r"islamic state(?:[- ]khorasan(?: province)?)?|(?-i:IS-?KP?|ISIS|ISIL)|daesh|daish"),
    ("jua", "Jamaat-ul-Ahrar (JuA)", r"jamaat[- ]ul[- ]ahrar|(?-i:JuA)"),
    ("lej", "Lashkar-e-Jhangvi (LeJ)", r"lashkar[- ]e[- ]jhangvi|(?-i:LeJ)"),
    ("lei", "Lashkar-e-Islam", r"lashkar[- ]e[- ]islam"),
    ("jem", "Jaish-e-Muhammad (JeM)", r"jaish[- ]e[- ]mohamm?[ae]d|(?-i:JeM)"),
    ("tjp", "Tehreek-e-Jihad Pakistan (TJP)", r"tehr[ei]e?k[- ]e[- ]jihad pakistan|(?-i:TJP)"),
    ("hgb", "Hafiz Gul Bahadur group", r"hafiz gul bahadur"),
    ("etim", "East Turkestan Islamic Movement (ETIM)",
     r"east turkestan islamic (?:movement|party)|(?-i:ETIM)"),
    ("jundallah", "Jundallah", r"jund ?allah"),
    ("lashkar-e-khorasan", "Lashkar-e-Khorasan", r"lashkar[- ]e[- ]khorasan"),
    ("taliban", "Taliban", r"taliban"),
]  # fmt: skip
_GROUP_RES = [(key, name, re.compile(rf"\b(?:{pat})\b", re.I)) for key, name, pat in GROUPS]
#: All groups in one pattern, earlier entries first ("Tehreek-e-Taliban Pakistan" is the TTP).
_ANY_GROUP = re.compile(
    r"\b(?:" + "|".join(f"(?P<g{i}>{pat})" for i, (_k, _n, pat) in enumerate(GROUPS)) + r")\b",
    re.I,
)
#: Substrings (lower case) at least one of which any group name contains: a cheap gate.
_GROUP_GATE = (
    "taliban", "ttp", "bla", "blf", "bra", "brg", "bna", "sra", "sdla", "liberation",
    "republican", "nationalist", "raji", "sindhu", "islamic", "isis", "isil", "is-k", "iskp",
    "daesh", "daish", "ahrar", "jua", "lashkar", "lej", "jaish", "jem", "jihad", "tjp",
    "bahadur", "turkestan", "etim", "jund",
)  # fmt: skip
_GROUP_BY_SLOT = {f"g{i}": (key, name) for i, (key, name, _pat) in enumerate(GROUPS)}
_FACTION = re.compile(r"[\s-]*(?P<f>majeed (?:brigade|bde)|fateh squad|jeeyand)", re.I)
_LINKED = re.compile(r"-?(?:linked|affiliated|backed)\b", re.I)
_CLAIM = re.compile(
    r"\bclaim(?:ed|ing|s)?\b|\bresponsibility\b|\bowned\b|\bzimm?[ae]dd?aa?ri\b", re.I
)
_NO_CLAIM = re.compile(
    r"\bno (?:group|one|claim)\b|\bnobody\b|\b(?:not|yet to be) claimed\b|\bunclaimed\b", re.I
)
_BACKGROUND = re.compile(
    r"\b(?:similar|previous|earlier|past|other) attacks\b|\bin the past\b|\bhad claimed\b|"
    r"\bhas claimed\b.{0,40}\bbefore\b|\bhistory of\b",
    re.I,
)
_STATUS_CHARS = 300
_OWNER = re.compile(r"['\u2019]s\s+")
_DENIED = re.compile(r"\bden(?:ied|ies|y)\b|\brejected\b|\bdistanced\b", re.I)
_SUSPECT = re.compile(
    r"\bsuspect\w*|\bblam\w+|\bbelieved to\b|\blinked to\b|\baffiliated\b|\ballegedly\b|"
    r"\bsaid to be\b|\bbelonged to\b|\bmembers? of\b|\bunverified\b",
    re.I,
)
_ACTOR_VERB = re.compile(
    r"\b(?:attacked|stormed|ambushed|opened fire|kidnapped|abducted|killed|blew|detonated|"
    r"fired|struck|carried out|behind the|hamla|militants|fighters|gunmen|commanders?)\b",
    re.I,
)
_UNNAMED_FACTION = re.compile(r"\b(?:a |an )?(?:local |splinter )?taliban (?:faction|group)", re.I)
_ROLE = r"worker|employee|guard|driver|labou?rer|cook|colleague"
_INSIDER = re.compile(
    rf"\b(?:a|an|ek|one)\s+(?:\w+\s+)?(?P<role>{_ROLE})\b"
    r"(?:\s+ne\b|\s+(?:attacked|stabbed|opened fire|shot))"
    r"|\b(?:stabbed|attacked|shot|injured|killed|assaulted)\b[^.]{0,30}\bby\s+"
    r"(?:a|an|his|her|their|the|its|one of (?:the|its|his))\s+(?:own\s+)?(?:\w+\s+)?"
    rf"(?P<role2>{_ROLE})s?\b",
    re.I,
)

NATIONALITIES: dict[str, str] = {
    "chinese": "Chinese", "prc": "Chinese", "chini": "Chinese", "cheeni": "Chinese",
    "turkish": "Turkish", "turk": "Turkish",
    "sri lankan": "Sri Lankan", "japanese": "Japanese", "korean": "Korean",
    "american": "American", "british": "British", "russian": "Russian", "uzbek": "Uzbek",
    "afghan": "Afghan", "iranian": "Iranian", "egyptian": "Egyptian", "german": "German",
    "french": "French", "italian": "Italian", "australian": "Australian",
    "canadian": "Canadian", "filipino": "Filipino", "nepali": "Nepali", "nepalese": "Nepali",
    "bangladeshi": "Bangladeshi", "indian": "Indian", "tajik": "Tajik", "kazakh": "Kazakh",
    "spanish": "Spanish", "polish": "Polish", "dutch": "Dutch", "swedish": "Swedish",
    "norwegian": "Norwegian", "danish": "Danish", "czech": "Czech", "saudi": "Saudi",
    "emirati": "Emirati", "malaysian": "Malaysian", "thai": "Thai", "vietnamese": "Vietnamese",
}  # fmt: skip
_NATIONALITY = re.compile(
    r"\b(?P<n>" + "|".join(sorted(NATIONALITIES, key=len, reverse=True)) + r")\b"
    r"(?!\s+(?:embassy|government|govt|consulate|foreign office|foreign ministry|authorities|"
    r"ambassador|officials said|language|media|state media|president|premier|taliban|border))"
    r"(?![\s-]+(?:backed|sponsored|proxies|proxy|agencies|intelligence))",
    re.I,
)
_NATIONALITY_GATE = (*NATIONALITIES, "foreign", "expat", "gora")
_FOREIGN = re.compile(
    r"\bforeign(?:ers?| nationals?| engineers?| staff| workers?| experts?| citizens?| "
    r"employees?| tourists?| guests?)\b|\bexpat(?:riate)?s?\b|\bgora\b|\bgoray\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Perpetrator:
    name: str
    status: PerpetratorStatus
    span: Span


@dataclass(frozen=True, slots=True)
class Nationals:
    affected: bool
    nationalities: tuple[str, ...]
    span: Span | None


def find_perpetrator(text: str) -> Perpetrator | None:
    """The group the text names as responsible, or ``None`` when it names none."""
    best: tuple[int, Perpetrator] | None = None
    bounds = sentence_bounds(text)
    lowered = ascii_lower(text)
    named = _groups_in(text) if any(g in lowered for g in _GROUP_GATE) else []
    for name, span in named:
        s_start, s_end = next((b for b in bounds if b[0] <= span.start < b[1]), (0, len(text)))
        # the sentence around the name, bounded: a run-on text has no sentence ends
        around = text[
            max(s_start, span.start - _STATUS_CHARS) : min(s_end, span.end + _STATUS_CHARS)
        ]
        status = _status(around)
        if status is None:
            continue
        rank = 2 if status == "claimed" else 1
        if best is None or rank > best[0]:
            best = (rank, Perpetrator(name, status, span))
    if best is None:
        insider = _INSIDER.search(text)
        if insider is not None:
            span = Span(insider.start(), insider.end(), insider.group(0))
            role = (insider.group("role") or insider.group("role2")).lower()
            return Perpetrator(f"insider ({role})", "suspected", span)
        return None
    return best[1]


def _groups_in(text: str) -> list[tuple[str, Span]]:
    out: list[tuple[str, Span]] = []
    for m in _ANY_GROUP.finditer(text):
        key, name = _GROUP_BY_SLOT[m.lastgroup or ""]
        stop = m.end()
        owner = _OWNER.match(text, stop)
        if owner is not None and _ANY_GROUP.match(text, owner.end()):
            continue  # "TTP's Jamaat-ul-Ahrar claimed": the faction is the actor
        label = name
        if key == "taliban":
            unnamed = _UNNAMED_FACTION.search(text, max(0, m.start() - 20), m.end() + 20)
            label = "Taliban faction (unnamed)" if unnamed else name
        faction = _FACTION.match(text, stop)
        if faction is not None:
            label = f"{name} {faction.group('f').title().replace('Bde', 'Brigade')}"
            stop = faction.end()
        if _LINKED.match(text, stop):
            label = f"{name}-linked group"
        out.append((label, Span(m.start(), stop, text[m.start() : stop])))
    return out


def _status(sentence: str) -> PerpetratorStatus | None:
    if _DENIED.search(sentence) or _BACKGROUND.search(sentence):
        return None
    claim = _CLAIM.search(sentence)
    if claim is not None and not _NO_CLAIM.search(sentence):
        if _SUSPECT.search(sentence) and "unverified" in sentence.lower():
            return "suspected"
        return "claimed"
    if _NO_CLAIM.search(sentence):
        return None
    # a group named as the doer; a group only mentioned in background is not attributed
    if _SUSPECT.search(sentence) or _ACTOR_VERB.search(sentence):
        return "suspected"
    return None


def find_nationals(text: str) -> Nationals:
    """Whether foreign nationals were involved (hurt or not) and their nationalities."""
    names: list[str] = []
    first: Span | None = None
    lowered = ascii_lower(text)
    if not any(n in lowered for n in _NATIONALITY_GATE):
        return Nationals(False, (), None)
    for m in _NATIONALITY.finditer(text):
        if is_negated(text, m.start()):
            continue
        value = NATIONALITIES[m.group("n").lower()]
        if value not in names:
            names.append(value)
        first = first or Span(m.start(), m.end(), m.group(0))
    foreign = _FOREIGN.search(text)
    if first is None and foreign is not None:
        first = Span(foreign.start(), foreign.end(), foreign.group(0))
    return Nationals(first is not None, tuple(names), first)


def perpetrator_key(name: str | None) -> str:
    """A comparison key: the known group's key ("ttp"), "unknown", or the folded name."""
    if name is None or not name.strip() or name.strip().lower() in {"unknown", "none", "n/a"}:
        return "unknown"
    for key, _name, pattern in _GROUP_RES:
        if pattern.search(name):
            return key
    if re.search(r"\binsider\b", name, re.I):
        return "insider"
    return " ".join(re.sub(r"[^\w]+", " ", name.lower()).split())
