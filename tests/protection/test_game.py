from __future__ import annotations

import numpy as np
import pytest

from silkguard.core.errors import InvalidInput
from silkguard.protection import (
    AttackerType,
    Payoffs,
    ResourceType,
    SecurityGame,
    Target,
    eraser,
    origami,
)


def _targets() -> list[Target]:
    return [
        Target("bridge", 5.0, -10.0, -4.0, 8.0),
        Target("camp", 2.0, -3.0, -1.0, 3.0),
        Target("depot", 1.0, -6.0, -2.0, 6.0),
    ]


def test_valid_game_builds() -> None:
    game = SecurityGame.from_targets(_targets(), [ResourceType("escort", 1)])
    assert game.n_targets == 3
    assert game.target_name(0) == "target #0 ('bridge')"


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("defender_covered", -20.0, "defender_covered (-20.0) must be greater"),
        ("attacker_covered", 9.0, "attacker_covered (9.0) must be less"),
        ("attacker_uncovered", float("nan"), "attacker_uncovered is nan; payoffs must be finite"),
        ("defender_uncovered", float("inf"), "defender_uncovered is inf"),
    ],
)
def test_bad_payoff_names_target_and_field(field: str, value: float, needle: str) -> None:
    rows = _targets()
    bad = rows[2]
    rows[2] = Target(
        bad.target_id,
        **{
            "defender_covered": bad.defender_covered,
            "defender_uncovered": bad.defender_uncovered,
            "attacker_covered": bad.attacker_covered,
            "attacker_uncovered": bad.attacker_uncovered,
            field: value,
        },
    )
    with pytest.raises(InvalidInput) as err:
        SecurityGame.from_targets(rows, [ResourceType("escort", 1)])
    assert "target #2 ('depot')" in err.value.msg
    assert needle in err.value.msg


def test_more_resources_than_schedules() -> None:
    with pytest.raises(InvalidInput, match="more resources than schedules"):
        SecurityGame.from_targets(_targets(), [ResourceType("patrol", 3, ((0, 1), (2,)))])


def test_more_resources_than_targets() -> None:
    with pytest.raises(InvalidInput, match="more resources than targets"):
        SecurityGame.from_targets(_targets(), [ResourceType("escort", 4)])


@pytest.mark.parametrize("count", [-1, 1.5, True])
def test_bad_count(count: object) -> None:
    with pytest.raises(InvalidInput, match=r"resource type #0 \('escort'\): count"):
        SecurityGame.from_targets(_targets(), [ResourceType("escort", count)])  # type: ignore[arg-type]


def test_bad_schedule_index_and_empty_schedule() -> None:
    with pytest.raises(InvalidInput, match=r"schedule #1: target index 7 is out of range"):
        SecurityGame.from_targets(_targets(), [ResourceType("patrol", 1, ((0,), (7,)))])
    with pytest.raises(InvalidInput, match=r"schedule #0: empty"):
        SecurityGame.from_targets(_targets(), [ResourceType("patrol", 1, ((),))])


def test_priors_must_be_positive_and_sum_to_one() -> None:
    pay = Payoffs.from_targets(_targets())
    res = (ResourceType("escort", 1),)
    with pytest.raises(InvalidInput, match=r"prior -0\.2 is not a positive number"):
        SecurityGame((AttackerType("a", 1.2, pay), AttackerType("b", -0.2, pay)), res)
    with pytest.raises(InvalidInput, match=r"priors sum to 0\.9"):
        SecurityGame((AttackerType("a", 0.5, pay), AttackerType("b", 0.4, pay)), res)


def test_infeasible_minimum_coverage_is_named() -> None:
    pay = Payoffs.from_targets(_targets())
    with pytest.raises(InvalidInput, match=r"minimum coverages sum to 1\.6 but there are only 1"):
        SecurityGame.single(pay, [ResourceType("escort", 1)], min_coverage=np.array([0.8, 0.8, 0]))
    with pytest.raises(InvalidInput, match=r"target #2 has min_coverage 0.5 but no resource"):
        SecurityGame.single(
            pay, [ResourceType("patrol", 1, ((0, 1),))], min_coverage=np.array([0, 0, 0.5])
        )
    with pytest.raises(InvalidInput, match=r"min_coverage 1\.5 is not a probability"):
        SecurityGame.single(pay, [ResourceType("escort", 1)], min_coverage=np.array([0, 1.5, 0]))


def test_infeasible_schedule_floors_reported_by_the_milp() -> None:
    # each floor is coverable and the floors sum to less than the 2 resources, but targets
    # 0 and 1 can only be covered by the one patrol of type "a", which cannot supply 1.2
    pay = Payoffs.from_targets(_targets())
    game = SecurityGame.single(
        pay,
        [ResourceType("a", 1, ((0,), (1,))), ResourceType("b", 1, ((2,),))],
        min_coverage=np.array([0.6, 0.6, 0]),
    )
    with pytest.raises(InvalidInput, match="infeasible constraints"):
        eraser(game)


def test_origami_refuses_schedules_and_types() -> None:
    pay = Payoffs.from_targets(_targets())
    with pytest.raises(InvalidInput, match=r"Use silkguard\.protection\.eraser\.eraser"):
        origami(SecurityGame.single(pay, [ResourceType("patrol", 1, ((0, 1),))]))
    two = SecurityGame(
        (AttackerType("a", 0.5, pay), AttackerType("b", 0.5, pay)), (ResourceType("e", 1),)
    )
    with pytest.raises(InvalidInput, match=r"Use silkguard\.protection\.dobss\.dobss"):
        origami(two)


def test_explanations_tell_attack_set_from_outside() -> None:
    rows = [*_targets(), Target("shed", 1.0, -1.0, -1.0, 0.5)]
    sol = origami(SecurityGame.from_targets(rows, [ResourceType("escort", 1)]))
    texts = sol.explanations()
    assert "Outside the attack set" in texts[3]
    assert "even uncovered" in texts[3]
    chosen = sol.attacker_target
    assert "In the attack set" in texts[chosen]
    assert "attacker's expected choice" in texts[chosen]
    assert f"{sol.attacker_utility:.4g}" in texts[chosen]
