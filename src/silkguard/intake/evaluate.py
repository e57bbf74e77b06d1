"""Score the extractor on a labelled JSON Lines file (the format of reports_dev.jsonl).

Each line is an object with ``text``, ``report_date`` (``YYYY-MM-DD``) and ``gold`` (keys
``is_incident``, ``date``, ``place``, ``province``, ``attack_type``, ``target_type``,
``perpetrator``, ``killed``, ``injured``, ``foreign_nationals_affected``, ``nationalities``;
all but ``is_incident`` may be null or missing). ``is_incident`` is scored on every line;
the other fields only on lines whose gold says it is an incident, so a missed incident counts
against every field. A null gold value is a label ("the report gives no date") and is scored;
a missing key is not.

How fields match: dates exactly (a null gold date means the report gives none, and only a
null prediction matches it); places when the prediction lies within 25 km of the gold place,
geocoded with the gazetteer after dropping parentheticals ("Panjgur (N-85)" -> "Panjgur")
and, when only a province is found, trailing words ("Kohat tunnel" -> "Kohat"); provinces
after normalisation; attack and target types exactly *in the file's own label vocabulary*
(``attack_type``, ``target_type``: a predicted type that no line of the file uses as a label
counts as ``other`` when the file labels with ``other``, since its labellers could only call a
kidnapping or a police post ``other``; a correct prediction is never changed, and a gold
specific type still needs that type), exactly in silkguard's finer vocabulary
(``attack_type_fine``, ``target_type_fine``), and attack types also by
:func:`~silkguard.incidents.vocab.attack_types_compatible` with a gold ``other`` or
``unknown`` counted as a miss unless predicted so; perpetrators by group
(:func:`~silkguard.intake.actors.perpetrator_key`); counts exactly (null matches null only);
nationalities as sets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from silkguard.core.errors import InvalidInput, SilkguardError
from silkguard.geo.distance import haversine_km
from silkguard.geo.gazetteer import Gazetteer, load_gazetteer
from silkguard.incidents.vocab import (
    AttackType,
    TargetType,
    attack_types_compatible,
    parse_attack_type,
    parse_target_type,
)
from silkguard.intake.actors import perpetrator_key
from silkguard.intake.draft import IncidentDraft
from silkguard.intake.extract import Extractor, default_extractor

__all__ = [
    "PLACE_MATCH_KM",
    "EvaluationResult",
    "FieldScore",
    "Mismatch",
    "evaluate",
    "in_vocabulary",
]

PLACE_MATCH_KM = 25.0
_PARENS = re.compile(r"\([^)]*\)")
_WILD = frozenset({AttackType.OTHER, AttackType.UNKNOWN})
_GOLD_KEY = {
    "attack_type_compatible": "attack_type",
    "attack_type_fine": "attack_type",
    "target_type_fine": "target_type",
}


@dataclass(frozen=True, slots=True)
class FieldScore:
    """One row of the score table."""

    field: str
    n: int
    score: float | None
    metric: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    report_id: str
    field: str
    gold: Any
    predicted: Any


@dataclass(frozen=True)
class EvaluationResult:
    """Per-field scores (print :meth:`table`) and every mismatch, for error analysis."""

    path: Path
    reports: int
    fields: tuple[FieldScore, ...]
    mismatches: tuple[Mismatch, ...] = field(default=())

    def table(self) -> list[tuple[str, int, float | None, str]]:
        """Rows of ``(field, n, score, metric)``."""
        return [(f.field, f.n, f.score, f.metric) for f in self.fields]

    def score(self, name: str) -> float | None:
        """The score of field ``name`` (e.g. ``"place"``, ``"is_incident_f1"``)."""
        for f in self.fields:
            if f.field == name:
                return f.score
        msg = f"no field {name!r} in the evaluation; fields are {[f.field for f in self.fields]}"
        raise KeyError(msg)


@dataclass
class _Tally:
    hits: int = 0
    n: int = 0

    def add(self, ok: bool) -> None:
        self.hits += ok
        self.n += 1

    @property
    def rate(self) -> float | None:
        return self.hits / self.n if self.n else None


def evaluate(
    path: Path, *, extractor: Extractor | None = None, gazetteer: Gazetteer | None = None
) -> EvaluationResult:
    """Run the extractor over every line of ``path`` and score it field by field.

    Raises
    ------
    InvalidInput
        When the file is missing, or a line is not a JSON object with ``text``,
        ``report_date`` and ``gold.is_incident`` (the message names file and line).
    """
    rows = _read(path)
    ext = extractor or default_extractor()
    gaz = gazetteer or load_gazetteer()
    tallies: dict[str, _Tally] = {}
    confusion = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    mismatches: list[Mismatch] = []

    def check(report_id: str, name: str, ok: bool, gold: Any, predicted: Any) -> None:
        tallies.setdefault(name, _Tally()).add(ok)
        if not ok:
            mismatches.append(Mismatch(report_id, name, gold, predicted))

    labels = (
        _labels(rows, "attack_type", parse_attack_type),
        _labels(rows, "target_type", parse_target_type),
    )
    for line_no, report_id, text, report_date, gold in rows:
        try:
            draft = ext.extract(text, report_date)
        except SilkguardError as exc:
            msg = f"{path}, line {line_no} ({report_id}): {exc.msg}"
            raise InvalidInput(msg) from exc
        gold_incident = bool(gold["is_incident"])
        key = ("t" if gold_incident == draft.is_incident else "f") + (
            "p" if draft.is_incident else "n"
        )
        confusion[key] += 1
        check(report_id, "is_incident", gold_incident == draft.is_incident, gold_incident, draft)
        if gold_incident:
            for name, ok, g, p in _field_checks(gold, draft, gaz, labels):
                if _GOLD_KEY.get(name, name) in gold:  # a missing key is not labelled
                    check(report_id, name, ok, g, p)
    return EvaluationResult(path, len(rows), _scores(tallies, confusion), tuple(mismatches))


_Label = TypeVar("_Label", AttackType, TargetType)


def _labels(
    rows: list[tuple[int, str, str, date, dict[str, Any]]],
    key: str,
    parse: Callable[[str], _Label],
) -> frozenset[_Label]:
    """The values the file uses as labels of ``key`` (on incident lines)."""
    return frozenset(
        parse(str(gold[key])) for *_, gold in rows if gold.get("is_incident") and gold.get(key)
    )


def in_vocabulary(predicted: _Label | None, labels: frozenset[_Label]) -> _Label | None:
    """``predicted`` as the file's labellers could have written it: a type they never use is
    ``other`` when they use ``other`` (and stays as it is when they do not)."""
    if predicted is None or predicted in labels:
        return predicted
    other = type(predicted)("other")
    return other if other in labels else predicted


def _field_checks(
    gold: dict[str, Any],
    draft: IncidentDraft,
    gaz: Gazetteer,
    labels: tuple[frozenset[AttackType], frozenset[TargetType]],
) -> list[tuple[str, bool, Any, Any]]:
    gold_date = gold.get("date")
    predicted_date = draft.date.isoformat() if draft.date else None
    gold_attack = parse_attack_type(gold["attack_type"]) if gold.get("attack_type") else None
    gold_target = parse_target_type(gold["target_type"]) if gold.get("target_type") else None
    gold_province = gaz.normalize_province(gold["province"]) if gold.get("province") else None
    gold_nat = sorted(gold.get("nationalities") or [])
    return [
        ("date", gold_date == predicted_date, gold_date, predicted_date),
        (
            "place",
            _place_ok(gold.get("place"), gold.get("province"), draft, gaz),
            gold.get("place"),
            draft.place,
        ),
        ("province", gold_province == draft.province, gold_province, draft.province),
        (
            "attack_type",
            gold_attack == in_vocabulary(draft.attack_type, labels[0]),
            gold_attack,
            draft.attack_type,
        ),
        ("attack_type_fine", gold_attack == draft.attack_type, gold_attack, draft.attack_type),
        (
            "attack_type_compatible",
            _attack_compatible(gold_attack, draft.attack_type),
            gold_attack,
            draft.attack_type,
        ),
        (
            "target_type",
            gold_target == in_vocabulary(draft.target_type, labels[1]),
            gold_target,
            draft.target_type,
        ),
        ("target_type_fine", gold_target == draft.target_type, gold_target, draft.target_type),
        (
            "perpetrator",
            perpetrator_key(gold.get("perpetrator")) == perpetrator_key(draft.perpetrator),
            gold.get("perpetrator"),
            draft.perpetrator,
        ),
        ("killed", gold.get("killed") == draft.killed, gold.get("killed"), draft.killed),
        ("injured", gold.get("injured") == draft.injured, gold.get("injured"), draft.injured),
        (
            "foreign_nationals_affected",
            bool(gold.get("foreign_nationals_affected")) == bool(draft.foreign_nationals_affected),
            gold.get("foreign_nationals_affected"),
            draft.foreign_nationals_affected,
        ),
        ("nationalities", gold_nat == sorted(draft.nationalities), gold_nat, draft.nationalities),
    ]


def _attack_compatible(gold: AttackType | None, predicted: AttackType | None) -> bool:
    if gold is None or predicted is None:
        return gold == predicted
    if gold in _WILD or predicted in _WILD:
        return (gold in _WILD and predicted in _WILD) or _specific_for_other(gold, predicted)
    return attack_types_compatible(gold, predicted)


def _specific_for_other(gold: AttackType, predicted: AttackType) -> bool:
    """A gold ``other`` accepts a specific type the vocabulary has (a labeller's ``other`` for
    a kidnapping); a gold specific type never accepts ``other`` or ``unknown``."""
    return gold == AttackType.OTHER and predicted not in _WILD


def _place_ok(
    gold_place: str | None, gold_province: str | None, draft: IncidentDraft, gaz: Gazetteer
) -> bool:
    if not gold_place:
        return draft.place is None
    if draft.latitude is None or draft.longitude is None:
        return False
    point = gold_point(gold_place, gold_province, gaz)
    if point is None:
        return draft.place is not None and _names_meet(gold_place, draft.place)
    km = haversine_km(point[0], point[1], draft.latitude, draft.longitude)
    return km <= PLACE_MATCH_KM


def gold_point(place: str, province: str | None, gaz: Gazetteer) -> tuple[float, float] | None:
    """Coordinates of a gold place description, or ``None`` when the gazetteer lacks it."""
    stripped = " ".join(_PARENS.sub(" ", place).split())
    try:
        found = gaz.geocode(stripped, None, province)
    except SilkguardError:
        found = None
    if found is not None and found.precision != "province":
        return found.latitude, found.longitude
    words = stripped.split(",")[0].split()
    for end in range(len(words) - 1, 0, -1):
        shorter = gaz.geocode(" ".join(words[:end]), None, province)
        if shorter is not None and shorter.precision != "province":
            return shorter.latitude, shorter.longitude
    return (found.latitude, found.longitude) if found is not None else None


def _names_meet(gold: str, predicted: str) -> bool:
    return predicted.lower() in gold.lower()


def _scores(tallies: dict[str, _Tally], confusion: dict[str, int]) -> tuple[FieldScore, ...]:
    tp, fp, fn = confusion["tp"], confusion["fp"], confusion["fn"]
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    out = [
        FieldScore("is_incident", tallies["is_incident"].n, tallies["is_incident"].rate, "accuracy")
    ]
    out.append(FieldScore("is_incident_f1", tallies["is_incident"].n, f1, "F1 (incident class)"))
    metrics = {
        "date": "exact match",
        "place": f"within {PLACE_MATCH_KM:g} km",
        "province": "exact match",
        "attack_type": "exact match in the file's label vocabulary",
        "attack_type_fine": "exact match in silkguard's vocabulary",
        "attack_type_compatible": "same family; gold other accepts a specific type",
        "target_type": "exact match in the file's label vocabulary",
        "target_type_fine": "exact match in silkguard's vocabulary",
        "perpetrator": "same group",
        "killed": "exact count",
        "injured": "exact count",
        "foreign_nationals_affected": "accuracy",
        "nationalities": "exact set",
    }
    for name, metric in metrics.items():
        tally = tallies.get(name, _Tally())
        out.append(FieldScore(name, tally.n, tally.rate, metric))
    return tuple(out)


def _read(path: Path) -> list[tuple[int, str, str, date, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        msg = f"evaluation file {path} does not exist; give a JSON Lines file of labelled reports"
        raise InvalidInput(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"evaluation file {path} is not UTF-8 text ({exc.reason}); save it as UTF-8"
        raise InvalidInput(msg) from None
    rows = []
    for line_no, line in enumerate(lines, start=1):
        if line.strip():
            rows.append(_parse_line(path, line_no, line))
    return rows


def _parse_line(path: Path, line_no: int, line: str) -> tuple[int, str, str, date, dict[str, Any]]:
    where = f"{path}, line {line_no}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        msg = (
            f"{where}: not valid JSON ({exc.msg} at column {exc.colno}); write one object per line"
        )
        raise InvalidInput(msg) from None
    if not isinstance(obj, dict):
        msg = f"{where}: expected a JSON object with text, report_date and gold"
        raise InvalidInput(msg)
    text, gold = obj.get("text"), obj.get("gold")
    if not isinstance(text, str):
        msg = f"{where}: 'text' must be a string (the report)"
        raise InvalidInput(msg)
    try:
        report_date = date.fromisoformat(str(obj.get("report_date")))
    except ValueError:
        msg = f"{where}: 'report_date' {obj.get('report_date')!r} is not a date; use YYYY-MM-DD"
        raise InvalidInput(msg) from None
    if not isinstance(gold, dict) or not isinstance(gold.get("is_incident"), bool):
        msg = f"{where}: 'gold' must be an object with a boolean 'is_incident'"
        raise InvalidInput(msg)
    try:
        for key, parse in (("attack_type", parse_attack_type), ("target_type", parse_target_type)):
            if gold.get(key):
                parse(str(gold[key]))
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: gold {exc.msg}") from None
    return line_no, str(obj.get("id", f"line {line_no}")), text, report_date, gold
