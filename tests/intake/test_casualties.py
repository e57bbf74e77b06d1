from __future__ import annotations

import pytest

from silkguard.intake.casualties import find_casualties
from silkguard.intake.numbers import parse_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        ("2x", 2),
        ("x3", 3),
        ("eleven", 11),
        ("twenty-one", 21),
        ("at least five", 5),
        ("about 40", 40),
        ("a dozen", 12),
        ("teen", 3),
        ("six", 6),  # the "x" of "six" is not a sitrep multiplier
        ("many", None),
    ],
)
def test_parse_count(text: str, expected: int | None) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    ("text", "killed", "injured"),
    [
        # wire style
        (
            "At least five people, including three policemen, were killed and 11 others injured "
            "when a bomb exploded.",
            5,
            11,
        ),
        ("Two Chinese nationals and their driver were killed in the ambush.", 3, None),
        ("A roadside bomb hit the vehicle, killing two soldiers and wounding three.", 2, 3),
        ("Gunmen killed a shopkeeper and injured his son on Friday.", 1, 1),
        ("Gunmen ambushed a Levies vehicle, martyring three personnel.", 3, None),
        ("Unknown men shot dead a schoolteacher in Tump.", 1, None),
        ("The blast left 3 dead and 7 injured.", 3, 7),
        ("The attack claimed the lives of four soldiers.", 4, None),
        ("Three FC personnel embraced martyrdom in the attack.", 3, None),
        ("Four bullet-riddled bodies were found near the highway.", 4, None),
        ("Eleven miners were abducted; the bodies of seven of them were found on Friday.", 7, None),
        ("Dacoits fired on the coach and one guard was shot in the leg.", None, 1),
        ("Militants opened fire, killing at least 11 people including 2 children.", 11, None),
        ("Militants stormed the post, killing six policemen and injuring eight others.", 6, 8),
        ("A bomber hit a police van, killing four policemen and a passer-by.", 5, None),
        ("Three soldiers were martyred and two others wounded in the blast.", 3, 2),
        ("A polio worker and the policeman escorting her were shot dead.", 2, None),
        ("Five people, among them a tribal elder, were wounded.", None, 5),
        ("The death toll from the market bombing rose to 12 on Wednesday.", 12, None),
        # sitrep style
        ("IED strike on escort. 2x FC pers KIA, 3x WIA. Client unhurt.", 2, 3),
        ("Preliminary: 4 KIA (FC), 9 WIA incl 2 civ.", 4, 9),
        ("Mortar rounds fired at FC HQ. 2x FC WIA, 1 civ injured.", None, 3),  # one list adds up
        ("Two guards were injured. The two injured guards were taken to hospital.", None, 2),
        ("Driver WIA (GSW leg). 0 KIA.", 0, 1),
        ("Rocket landed short of the block. No casualties.", 0, 0),
        # Roman Urdu
        ("firing hui, 2 guards zakhmi, koi mara nahi.", 0, 2),
        ("kal raat dhamaka, 3 log jaan bahaq aur 5 afraad zakhmi", 3, 5),
        ("pathrao hua, 1 driver ko mamooli chot", None, 1),
        ("Quetta mein dhamaka, 2 police ahalkar shaheed aur 4 zakhmi ho gaye", 2, 4),
        ("2 bande bike pe aaye aur guard ko goli maar di, guard mar gaya", 1, None),
        ("supervisor pe chaku se hamla kiya, supervisor ko haath pe zakhm aya", None, 1),
        ("Acid was thrown on two schoolgirls; both suffered burns.", None, 2),
        ("A constable was martyred and another wounded at the post.", 1, 1),
        ("Two men shot and injured a Japanese national and his Pakistani colleague.", None, 2),
        ("Gunmen shot dead a former district nazim and his nephew near their home.", 2, None),
        ("One worker lost his life while a Levies jawan sustained injuries.", 1, 1),
        ("A woman and her three children were among nine people wounded in the blast.", None, 9),
        ("koi zakhmi nahi, gaariyan jala di", None, 0),
    ],
)
def test_counts(text: str, killed: int | None, injured: int | None) -> None:
    found = find_casualties(text)
    assert (found.killed, found.injured) == (killed, injured)


def test_attackers_are_not_counted() -> None:
    found = find_casualties(
        "Four policemen were martyred. Two attackers were also killed in the exchange of fire."
    )
    assert found.killed == 4
    assert found.attackers_killed
    assert find_casualties("Troops repulsed the raid, killing four of them.").killed is None
    assert find_casualties("CTD shot dead three suspected militants.").killed is None


def test_them_refers_to_the_last_group_named() -> None:
    text = "Gunmen offloaded passengers from two buses and shot dead 23 of them."
    assert find_casualties(text).killed == 23
    text = "Security forces repulsed militants trying to cross, killing four of them."
    assert find_casualties(text).killed is None


def test_positive_counts_override_zero_statements() -> None:
    found = find_casualties(
        "The engineers were not hurt. Two escorts were injured when the convoy was hit."
    )
    assert found.injured == 2


def test_also_adds_to_the_toll() -> None:
    found = find_casualties("A Chinese national was injured. Police said his guard was also hit.")
    assert found.injured == 2


def test_spans_quote_the_text() -> None:
    text = "Three labourers were shot dead and one wounded at the camp."
    found = find_casualties(text)
    for span in found.spans.values():
        assert text[span.start : span.end] == span.text
    assert "Three labourers" in found.spans["killed"].text
