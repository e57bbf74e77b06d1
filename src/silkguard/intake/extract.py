"""Text to incident draft: :func:`extract` runs every field extractor over one report.

Pure and offline: the gazetteer ships with the package, dateparser is used on short date
spans only, nothing is downloaded. A report longer than :data:`~silkguard.intake.text.
MAX_TEXT_CHARS` or empty is refused; a report mostly in a script other than Latin (Urdu,
Chinese, binary noise) gets a draft with a near-zero confidence and a warning, because none
of the rules can read it.
"""

from __future__ import annotations

import functools
from datetime import date

from silkguard.incidents.vocab import AttackType, DatePrecision, GeoPrecision, TargetType
from silkguard.intake.actors import find_nationals, find_perpetrator
from silkguard.intake.casualties import Casualties, find_casualties
from silkguard.intake.classify import score_incident
from silkguard.intake.dates import DateFinding, find_date, find_time
from silkguard.intake.draft import IncidentDraft, Span
from silkguard.intake.places import PlaceMatcher, find_road
from silkguard.intake.text import (
    MAX_ANALYSED_CHARS,
    MIN_LATIN_SHARE,
    clean_text,
    sentence_bounds,
)
from silkguard.intake.types import find_attack_type, find_target_type

__all__ = ["Extractor", "default_extractor", "extract"]

#: Attack types after which a report that names no casualties means there were none.
_NO_TOLL_MEANS_NONE = frozenset(
    {AttackType.KIDNAPPING, AttackType.PLOT_FOILED, AttackType.HIJACKING, AttackType.SABOTAGE}
)
_UNREADABLE_CONFIDENCE = 0.02
#: A time of day this close to the start heads a flash report or sitrep.
_HEADER_CHARS = 40
#: Longest summary kept on a draft (the native format's summary is a short description).
SUMMARY_CHARS = 300
_GEO_PRECISION = {
    "place": GeoPrecision.PLACE,
    "district": GeoPrecision.DISTRICT,
    "province": GeoPrecision.PROVINCE,
}


class Extractor:
    """Holds the place matcher (and its caches); reuse one for many reports."""

    def __init__(self, places: PlaceMatcher | None = None) -> None:
        self._places = places or PlaceMatcher()

    def extract(self, text: str, report_date: date) -> IncidentDraft:
        """The incident draft for one report; see :func:`extract`."""
        clean = clean_text(text)
        if not clean.readable:
            warning = (
                f"only {clean.latin_share:.0%} of the letters are Latin (at least "
                f"{MIN_LATIN_SHARE:.0%} needed): the text is in a language or script the "
                "extractor does not read (English and Roman Urdu are supported)"
            )
            return IncidentDraft(False, _UNREADABLE_CONFIDENCE, warnings=(warning,))
        body = clean.text
        warnings: tuple[str, ...] = ()
        if len(body) > MAX_ANALYSED_CHARS:
            body = body[:MAX_ANALYSED_CHARS]
            warnings = (
                f"only the first {MAX_ANALYSED_CHARS:,} of {len(clean.text):,} characters "
                "were read; submit long documents one incident at a time",
            )
        spans: dict[str, Span] = {}
        attack = find_attack_type(body)
        casualties = _casualties(body, attack[0] if attack else None)
        verdict = score_incident(body, attack, (casualties.killed or 0) + (casualties.injured or 0))
        if verdict.span is not None:
            spans["is_incident"] = verdict.span
        if not verdict.is_incident:
            return IncidentDraft(False, verdict.probability, spans=spans, warnings=warnings)
        starts = [s.start for s in (attack[1] if attack else None, verdict.verb) if s is not None]
        target = find_target_type(body, min(starts) if starts else None)
        found_date = find_date(body, report_date)
        found_time = find_time(body)
        if found_date is None and found_time is not None and found_time[1].start < _HEADER_CHARS:
            # a flash report headed "0845 hrs:" with no date is about the day it was sent
            found_date = DateFinding(report_date, DatePrecision.DAY, found_time[1], 0.0)
        if found_date is None:
            found_time = None
        place = self._places.find(body)
        road = find_road(body)
        perpetrator = find_perpetrator(body)
        nationals = find_nationals(body)
        for name, span in [
            ("attack_type", attack[1] if attack else None),
            ("target_type", target[1] if target else None),
            ("date", found_date.span if found_date else None),
            ("time_local", found_time[1] if found_time else None),
            ("place", place.span if place else None),
            ("road", road),
            ("perpetrator", perpetrator.span if perpetrator else None),
            ("nationalities", nationals.span),
            *casualties.spans.items(),
        ]:
            if span is not None:
                spans[name] = span
        precision = found_date.precision if found_date else None
        if found_time is not None and precision == DatePrecision.DAY:
            precision = DatePrecision.TIME
        return IncidentDraft(
            is_incident=True,
            confidence=verdict.probability,
            date=found_date.value if found_date else None,
            date_precision=precision,
            time_local=found_time[0] if found_time else None,
            place=place.name if place else None,
            district=place.district if place else None,
            province=place.province if place else None,
            latitude=place.latitude if place else None,
            longitude=place.longitude if place else None,
            geo_precision=_GEO_PRECISION[place.kind] if place else None,
            road=road.text if road else None,
            attack_type=attack[0] if attack else AttackType.UNKNOWN,
            target_type=target[0] if target else TargetType.UNKNOWN,
            perpetrator=perpetrator.name if perpetrator else None,
            perpetrator_status=perpetrator.status if perpetrator else "unknown",
            killed=casualties.killed,
            injured=casualties.injured,
            foreign_nationals_affected=nationals.affected,
            nationalities=nationals.nationalities,
            summary=_lead(body),
            spans=spans,
            warnings=warnings,
        )


def _lead(text: str) -> str:
    """The first sentence, whitespace collapsed, cut to :data:`SUMMARY_CHARS`."""
    bounds = sentence_bounds(text)
    first = text[bounds[0][0] : bounds[0][1]] if bounds else text
    lead = " ".join(first.split())
    return lead if len(lead) <= SUMMARY_CHARS else lead[: SUMMARY_CHARS - 1].rstrip() + "\u2026"


def _casualties(text: str, attack: AttackType | None) -> Casualties:
    """Casualties with the conventions of incident data: a report that gives the injured but
    no deaths had none; a kidnapping, foiled plot or sabotage with no toll hurt nobody, nor
    did an engagement that reports only attackers killed."""
    found = find_casualties(text)
    if found.killed is None and found.injured is not None:
        found.killed = 0
    if (
        found.killed is None
        and found.injured is None
        and (attack in _NO_TOLL_MEANS_NONE or found.attackers_killed)
    ):
        found.killed = found.injured = 0
    return found


@functools.cache
def default_extractor() -> Extractor:
    """The shared extractor (its place matcher caches gazetteer look-ups), built on first use."""
    return Extractor()


def extract(text: str, report_date: date) -> IncidentDraft:
    """Extract an incident draft from one free-text report.

    Parameters
    ----------
    text
        The report: wire story, sitrep, field message or chat message (English, Roman Urdu
        or a mix), at most :data:`~silkguard.intake.text.MAX_TEXT_CHARS` characters.
    report_date
        The date the report was written; relative dates ("yesterday", "on Tuesday") are
        resolved against it, looking back.

    Raises
    ------
    InvalidInput
        When ``text`` is empty or not a string.
    PayloadTooLarge
        When ``text`` is longer than the limit.
    """
    return default_extractor().extract(text, report_date)
