from __future__ import annotations

import re

import pytest

from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.intake.text import ascii_lower, literal_prefixes
from silkguard.intake.types import (
    ATTACK_RULES,
    TARGET_RULES,
    find_attack_type,
    find_target_type,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A roadside bomb tore through the vehicle.", AttackType.IED),
        ("Sitrep: IED detonated on a culvert, suspected command wire.", AttackType.IED),
        ("RCIED vs Chinese-staffed bus on the expressway.", AttackType.IED),
        ("kal raat railway track pe dhamaka, train ruk gayi", AttackType.IED),
        ("A blast damaged a transmission tower near the grid.", AttackType.IED),
        ("A suicide bomber blew himself up near a police truck.", AttackType.SUICIDE_BOMBING),
        ("Suicide VBIED vs FC convoy at the bypass.", AttackType.SUICIDE_VBIED),
        ("A car packed with explosives went off outside the court.", AttackType.VBIED),
        ("Police recovered a vest and foiled a planned attack.", AttackType.PLOT_FOILED),
        ("A bomb found near the gate was defused by the BDS.", AttackType.PLOT_FOILED),
        ("Militants attacked a check post with automatic weapons.", AttackType.ARMED_ASSAULT),
        ("Militants stormed the camp before dawn.", AttackType.ARMED_ASSAULT),
        (
            "SITREP: Complex attk on Levies post. Post overrun, weapons taken.",
            AttackType.ARMED_ASSAULT,
        ),
        ("A hand grenade was hurled at a shop.", AttackType.GRENADE),
        ("Rocket (prob 107mm) landed short of the port block.", AttackType.ROCKET),
        ("Mortar shells landed in the village.", AttackType.ROCKET),
        ("SPOTREP: IDF (2 rds) on camp perimeter. Nil cas.", AttackType.ROCKET),
        ("Assailants threw acid on two schoolgirls.", AttackType.OTHER),
        ("A cracker blast outside the mill gate caused panic.", AttackType.IED),
        (
            "Security forces killed six terrorists in an intelligence-based operation.",
            AttackType.ARMED_ASSAULT,
        ),
        ("Gunmen opened fire on the car.", AttackType.SHOOTING),
        ("Men on motorcycles opened indiscriminate fire on a polio team.", AttackType.SHOOTING),
        ("A bomb planted in a rickshaw exploded in the bazaar.", AttackType.IED),
        ("Terrorists blew up a girls' primary school at night.", AttackType.BOMBING),
        ("firing on our site gate, attackers bike pe the", AttackType.SHOOTING),
        ("Small-arms ambush on the minibus; escort returned fire.", AttackType.SHOOTING),
        ("Convoy C-7 hit by SAF from treeline 2 km N of Thakot.", AttackType.SHOOTING),
        ("Three engineers abducted from the solar site.", AttackType.KIDNAPPING),
        ("driver aur helper ko le gaye, gaariyan jala din", AttackType.KIDNAPPING),
        ("tanker pe firing hui, driver zakhmi, hospital le gaye", AttackType.SHOOTING),
        ("Unidentified persons set fire to two excavators.", AttackType.SABOTAGE),
        ("A worker attacked the supervisor with a knife (chaku).", AttackType.OTHER),
        ("coaster pe pathrao hua", AttackType.OTHER),
        ("A target killing of a cleric in the city.", AttackType.ASSASSINATION),
        ("Explosion at the market, cause unknown.", AttackType.BOMBING),
    ],
)
def test_attack_types(text: str, expected: AttackType) -> None:
    found = find_attack_type(text)
    assert found is not None
    assert found[0] == expected
    assert text[found[1].start : found[1].end] == found[1].text


def test_negated_and_counter_fire_are_not_the_attack() -> None:
    assert find_attack_type("Guards disarmed, no shots fired. Nobody taken.") is None
    found = find_attack_type(
        "Terrorists attacked the convoy; two were killed in retaliatory firing."
    )
    assert found is None or found[0] != AttackType.SHOOTING


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IED strike on escort vehicle of a client convoy.", TargetType.CONVOY),
        ("Small-arms ambush on client minibus.", TargetType.BUS),
        ("Grenade thrown at the gate of a power plant compound.", TargetType.PROJECT_SITE),
        ("Rocket landed short of port admin block.", TargetType.PORT),
        ("A suicide bomber struck a police truck.", TargetType.POLICE),
        ("Rocket fire on FC camp.", TargetType.MILITARY),
        ("A blast hit a mosque during prayers.", TargetType.RELIGIOUS),
        ("Gunmen attacked a girls' school at night.", TargetType.EDUCATION),
        ("A bomb damaged the gas pipeline.", TargetType.UTILITIES),
        ("A suicide bomber rammed into a police van.", TargetType.POLICE),
        ("An IED went off on the railway track near Sibi.", TargetType.TRANSPORT),
        ("Mortar rounds fired at FC HQ from the hills.", TargetType.MILITARY),
        ("Gunmen killed a dentist at his clinic in Saddar.", TargetType.BUSINESS),
        ("Assailants threw acid on two schoolgirls near the road.", TargetType.EDUCATION),
        ("Gunmen opened fire on a polio team and its police escort.", TargetType.NGO),
        ("Militants torched the residency's annexe overnight.", TargetType.GOVERNMENT),
        ("Militants kidnapped a Chinese businessman from his home.", TargetType.BUSINESS),
        ("Their car was hit by stones near Turbat University.", TargetType.CONVOY),
        ("Gwadar port ke main gate ke bahar grenade phenka gaya", TargetType.PORT),
    ],
)
def test_target_types(text: str, expected: TargetType) -> None:
    attack = find_attack_type(text)
    found = find_target_type(text, attack[1].start if attack else None)
    assert found is not None
    assert found[0] == expected


def test_target_in_the_attack_sentence_wins() -> None:
    text = "aaj Komila ke paas pathrao hua hamari coaster pe. convoy wapis camp."
    attack = find_attack_type(text)
    assert attack is not None
    found = find_target_type(text, attack[1].start)
    assert found is not None
    assert found[0] == TargetType.BUS


SAMPLES = [
    "A roadside bomb tore through a Frontier Corps vehicle escorting a convoy.",
    "SITREP 1745L: Suicide VBIED vs FC convoy, Mastung bypass. 4 KIA, 9 WIA.",
    "bhai update: firing on our site gate at Hub abhi, 2 guards zakhmi.",
    "Militants kidnapped four employees of a mobile phone company from a tower site.",
    "Unidentified persons set fire to two excavators at a road-widening site.",
    "Rocket fire (x3) on FC camp. Nil damage to gas field installations.",
    "A blast damaged a section of a high-voltage transmission tower.",
    "A hand grenade was hurled at a shop in the main bazaar of Khuzdar.",
    "Police said it appeared to be sabotage; the pipeline was blown up at night.",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_literal_prefix_gate_never_hides_a_match(text: str) -> None:
    """The substring gate in front of each rule must not drop a match the rule would find."""
    lowered = ascii_lower(text)
    for _value, pattern in [*ATTACK_RULES, *TARGET_RULES]:
        rule = re.compile(pattern.pattern, pattern.flags)
        prefixes = literal_prefixes(pattern.pattern)
        if rule.search(text) and prefixes is not None:
            assert any(p in lowered for p in prefixes), pattern.pattern[:60]
