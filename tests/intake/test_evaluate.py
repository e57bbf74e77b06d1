from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from silkguard.core.errors import InvalidInput
from silkguard.geo.gazetteer import load_gazetteer
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.intake.evaluate import evaluate, gold_point, in_vocabulary

GOALS = {
    "is_incident": 0.90,
    "place": 0.85,
    "date": 0.85,
    "attack_type": 0.85,
    "attack_type_compatible": 0.85,
    "killed": 0.90,
    "injured": 0.90,
}


def test_dev_set_meets_the_issue_goals(shared_data: Path) -> None:
    result = evaluate(shared_data / "reports_dev.jsonl")
    assert result.reports == 40
    for name, goal in GOALS.items():
        score = result.score(name)
        assert score is not None
        assert score >= goal, f"{name}: {score:.2f} < {goal}"
    # in silkguard's finer vocabulary it is lower: the dev labels use "other" for kidnappings,
    # grenades and arson, types silkguard names
    fine = result.score("attack_type_fine")
    assert fine is not None
    assert fine >= 0.75
    rows = result.table()
    assert rows[0][:2] == ("is_incident", 40)
    assert {r[0] for r in rows} >= {"province", "target_type", "perpetrator", "nationalities"}


def _line(**overrides: Any) -> str:
    row: dict[str, Any] = {
        "id": "T-1",
        "text": "QUETTA: Two policemen were shot dead on Monday, police said.",
        "report_date": "2024-03-12",
        "gold": {
            "is_incident": True,
            "date": "2024-03-11",
            "place": "Quetta (Jinnah Road)",
            "province": "Balochistan",
            "attack_type": "firing",
            "target_type": "police",
            "perpetrator": "unknown",
            "killed": 2,
            "injured": None,
            "foreign_nationals_affected": False,
            "nationalities": [],
        },
    }
    row.update(overrides)
    return json.dumps(row)


def test_scores_a_small_file(tmp_path: Path) -> None:
    policy = _line(
        id="T-2",
        text="The committee approved the budget for escorts at its quarterly meeting.",
        gold={"is_incident": False},
    )
    wrong = _line(id="T-3", gold={"is_incident": True, "date": "2024-03-01", "killed": 5})
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join([_line(), policy, "", wrong]) + "\n", encoding="utf-8")
    result = evaluate(path)
    assert result.reports == 3
    assert result.score("is_incident") == 1.0
    assert result.score("is_incident_f1") == 1.0
    assert result.score("date") == 0.5
    assert result.score("killed") == 0.5
    assert result.score("attack_type") == 1.0  # "firing" is an alias of shooting
    assert {(m.report_id, m.field) for m in result.mismatches} >= {("T-3", "date")}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["a list"]', "line 2: expected a JSON object"),
        ('{"text": 5, "report_date": "2024-01-01", "gold": {"is_incident": true}}', "'text'"),
        ('{"text": "x", "report_date": "12/03/2024", "gold": {"is_incident": true}}', "YYYY-MM-DD"),
        ('{"text": "x", "report_date": "2024-01-01", "gold": {}}', "boolean 'is_incident'"),
        (
            '{"text": "x", "report_date": "2024-01-01", "gold": {"is_incident": true, '
            '"attack_type": "laser"}}',
            "gold attack_type 'laser'",
        ),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_line() + "\n" + content + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.jsonl, line 2") as err:
        evaluate(path)
    assert message in err.value.msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        evaluate(tmp_path / "nope.jsonl")


def test_gold_places_are_geocoded_without_their_qualifiers() -> None:
    gaz = load_gazetteer()
    panjgur = gold_point("Panjgur (N-85)", "Balochistan", gaz)
    kohat = gold_point("Kohat tunnel", "Khyber Pakhtunkhwa", gaz)
    town = gaz.forward("Kohat", limit=1)[0]
    assert panjgur is not None
    assert kohat == (town.latitude, town.longitude)


WRITTEN = Path(__file__).parent / "data" / "written_reports.jsonl"


def test_a_type_the_labellers_never_use_is_their_other() -> None:
    coarse = frozenset({AttackType.SHOOTING, AttackType.IED, AttackType.OTHER})
    assert in_vocabulary(AttackType.KIDNAPPING, coarse) is AttackType.OTHER
    assert in_vocabulary(AttackType.SHOOTING, coarse) is AttackType.SHOOTING  # never changed
    assert in_vocabulary(None, coarse) is None
    # without "other" among the labels nothing is projected
    assert in_vocabulary(AttackType.KIDNAPPING, frozenset({AttackType.IED})) is (
        AttackType.KIDNAPPING
    )
    targets = frozenset({TargetType.CONVOY, TargetType.OTHER})
    assert in_vocabulary(TargetType.POLICE, targets) is TargetType.OTHER


def test_the_file_vocabulary_helps_only_where_the_gold_is_other(tmp_path: Path) -> None:
    """A kidnapping labelled "other" scores in the file's vocabulary; a kidnapping labelled
    "shooting" stays a miss, and so does "other" predicted for a labelled shooting."""
    text = "Gunmen kidnapped two engineers from a project site near Kharan on Monday."
    lines = [
        _line(id="K-1", text=text, gold={"is_incident": True, "attack_type": "other"}),
        _line(id="K-2", text=text, gold={"is_incident": True, "attack_type": "shooting"}),
        _line(id="S-1", gold={"is_incident": True, "attack_type": "shooting"}),
    ]
    path = tmp_path / "coarse.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = evaluate(path)
    assert result.score("attack_type") == pytest.approx(2 / 3)
    assert result.score("attack_type_fine") == pytest.approx(1 / 3)
    missed = {m.report_id for m in result.mismatches if m.field == "attack_type"}
    assert missed == {"K-2"}


def test_reports_written_for_these_tests_meet_the_goals() -> None:
    """68 reports written for this package in the styles of the dev set but with other
    places, groups and phrasings (wire, sitrep, SPOTREP, WhatsApp Roman Urdu, translated
    Urdu press, non-incidents). They were written after the rules and used to correct them,
    so they guard against regressions; they are not a held-out measurement."""
    result = evaluate(WRITTEN)
    assert result.reports == 68
    for name, goal in GOALS.items():
        score = result.score(name)
        assert score is not None
        assert score >= goal, f"{name}: {score:.2f} < {goal}"
    fine = result.score("attack_type_fine")
    assert fine is not None
    assert fine >= 0.85
