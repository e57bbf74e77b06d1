"""Is this text a report of an incident? A scored rule set, not a trained model.

Evidence for: an attack word that is not negated, casualties, past-tense attack verbs, sitrep
markers. Evidence against: policy and meeting language (reviews, approvals, notifications,
advisories), hoaxes and drills, threat warnings without an attack, accidents and disasters
(a bus overturning, a gas cylinder exploding, floods), and mentions of an earlier
attack ("last week's attack", "families of those killed"). The weights were set by hand on
written examples; the score goes through a logistic function to give a probability.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from silkguard.incidents.vocab import AttackType
from silkguard.intake.draft import Span
from silkguard.intake.text import ascii_lower

__all__ = ["IncidentScore", "score_incident"]

_BIAS = -1.5
_W_ATTACK = 2.0
_W_WEAK_PLOT = 0.5
_W_CASUALTIES = 1.5
_W_EVENT_VERB = 1.0
_W_SITREP = 0.5
_W_POLICY_EACH = -1.0
_W_POLICY_CAP = -3.0
_W_HOAX = -4.5
_W_THREAT = -2.0
_W_PAST_REFERENCE = -2.5
_W_ACCIDENT = -4.0
_W_CROWD_CONTROL = -3.0


def _rx(pattern: str) -> re.Pattern[str]:
    """A rule matched against the text with ASCII capitals lowered (faster than IGNORECASE)."""
    if any(c.isupper() for c in re.sub(r"\\.", "", pattern)):
        msg = f"classifier patterns are matched on lower-cased text: {pattern[:40]!r}"
        raise ValueError(msg)
    return re.compile(pattern)


_EVENT_VERBS = _rx(
    r"\b(?:attacked|opened (?:\w+ ){0,2}fire|exploded|detonated|abducted|kidnapped|ambushed|"
    r"hurled|stormed|"
    r"set (?:on )?fire|went off|blew (?:up|himself)|hit (?:a|an)|martyred|targeted|fired (?:at|on)|"
    r"hamla|thrown at|landed|torched|rammed|shot dead|gunned down|injured|wounded|killed)\b"
)
_SITREP = re.compile(
    r"\b(?:SITREP|SPOTREP|KIA|WIA)\b|\b(?:[Ss]itrep|[Ii]ncident [Rr]eport|[Ff]lash [Rr]eport)\b"
)
_POLICY = _rx(
    r"\b(?:meeting|chaired|review(?:ed)?|approved|agreed|announced|notification|advisory|"
    r"advised|reminded|compensation|working group|committee|quarterly|progress|on track|"
    r"denied reports|direct(?:ed|ing)|extended the ban|session|memorandum|mou|conference|"
    r"seminar|inaugurat\w+|budget|tender|contract|policy|statement from|cooperation|"
    r"pace of work|groundbreaking|visit(?:ed|ing)?|condemn\w*|condolences?|funeral|tribute|"
    r"took notice|inquiry)\b"
)
_HOAX = _rx(
    r"\bhoax\b|\bfalse alarm\b|\bsweep negative\b|\bnothing (?:suspicious )?(?:was )?found\b|"
    r"\b(?:mock|security|evacuation) (?:drill|exercise)\b|\bunfounded\b|\bfake (?:news|call|"
    r"report|video)\b|\brumou?rs?\b"
)
_THREAT = _rx(
    r"\bthreat (?:alert|warning|report|assessment)\b|\bmay (?:attack|target)\b|"
    r"\bcould (?:target|attack)\b|\bplanning to (?:attack|target)\b|\bwarned\b|"
    r"\bintelligence (?:report|input|alert)s?\b|\bhigh alert\b|\bspecific threat\b|"
    r"\bthreatened\b|\bkhatra\b"
)
_PAST_REFERENCE = _rx(
    r"\bin connection with (?:the )?(?:\w+ )?(?:kidnapping|attack|blast|bombing|killing|murder)\b|"
    r"\blast year'?s?\b|\b(?:last (?:week|month|year)'?s?|recent|earlier|previous) "
    r"(?:\w+ )?(?:attack|blast|bombing|incident|killings?)\b|\bfamilies of (?:the )?"
    r"(?:\w+ )?(?:killed|victims|martyrs)\b|\banniversary\b|\bin memory of\b|\bfuneral\b"
)
_CROWD_CONTROL = _rx(
    r"\bbaton[- ]charg\w*|\blathi[- ]charg\w*|\btear ?gas\b|\bdispersed (?:the )?protesters\b"
)
_ACCIDENT = _rx(
    r"\b(?:road accident|traffic accident|accident|collision|collided|overturned|plunged|"
    r"skidded|landslides?|land ?sliding|flash floods?|floods?|torrential|earthquake|avalanche|"
    r"short circuit|cylinder (?:blast|explosion|exploded)|gas cylinder|boiler|electrocuted|"
    r"drowned|heatstroke|mine collapse|roof collapse|caved in)\b"
)
_PLOT_EVIDENCE = _rx(
    r"\b(?:arrest\w*|recovered|seized|detained|apprehended|captured|foil\w*|thwart\w*|defused|"
    r"shot dead|killed|encounter|raid\w*)\b"
)


@dataclass(frozen=True, slots=True)
class IncidentScore:
    """Probability that the text reports an incident, and the strongest supporting words."""

    probability: float
    span: Span | None
    verb: Span | None = None

    @property
    def is_incident(self) -> bool:
        return self.probability > 0.5


def score_incident(
    text: str,
    attack: tuple[AttackType, Span] | None,
    casualty_count: int,
) -> IncidentScore:
    """Score ``text`` given the attack type found in it and the people killed or injured."""
    score = _BIAS
    span = attack[1] if attack else None
    lowered = ascii_lower(text)
    if attack is not None:
        weak = attack[0] == AttackType.PLOT_FOILED and not _PLOT_EVIDENCE.search(lowered)
        score += _W_WEAK_PLOT if weak else _W_ATTACK
    if casualty_count > 0:
        score += _W_CASUALTIES
    verb = _EVENT_VERBS.search(lowered)
    if verb is not None:
        score += _W_EVENT_VERB
        span = span or Span(verb.start(), verb.end(), text[verb.start() : verb.end()])
    if _SITREP.search(text):
        score += _W_SITREP
    policy = len(_POLICY.findall(lowered))
    score += max(_W_POLICY_CAP, _W_POLICY_EACH * policy)
    if _HOAX.search(lowered):
        score += _W_HOAX
    if _THREAT.search(lowered) and (attack is None or attack[0] == AttackType.PLOT_FOILED):
        score += _W_THREAT if casualty_count == 0 else 0.0
    if _ACCIDENT.search(lowered):
        score += _W_ACCIDENT
    if _CROWD_CONTROL.search(lowered):
        score += _W_CROWD_CONTROL
    if _PAST_REFERENCE.search(lowered):
        score += _W_PAST_REFERENCE
    verb_span = Span(verb.start(), verb.end(), text[verb.start() : verb.end()]) if verb else None
    return IncidentScore(1.0 / (1.0 + math.exp(-score)), span, verb_span)
