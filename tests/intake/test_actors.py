from __future__ import annotations

import pytest

from silkguard.intake.actors import find_nationals, find_perpetrator, perpetrator_key


@pytest.mark.parametrize(
    ("text", "name", "status"),
    [
        (
            "The banned Tehreek-i-Taliban Pakistan claimed responsibility in a statement.",
            "Tehrik-i-Taliban Pakistan (TTP)",
            "claimed",
        ),
        (
            "Claim by BLA Majeed Bde on Telegram 1720L.",
            "Balochistan Liberation Army (BLA) Majeed Brigade",
            "claimed",
        ),
        ("Claim: BLF.", "Balochistan Liberation Front (BLF)", "claimed"),
        ("BRA-linked group claimed on X.", "Baloch Republican Army (BRA)-linked group", "claimed"),
        (
            "The CTD said the men were linked to the TTP.",
            "Tehrik-i-Taliban Pakistan (TTP)",
            "suspected",
        ),
        (
            "SRA claim circulating on social media, unverified.",
            "Sindhudesh Revolutionary Army (SRA)",
            "suspected",
        ),
        (
            "The kidnappers were believed to be from a local Taliban faction.",
            "Taliban faction (unnamed)",
            "suspected",
        ),
        (
            "Police blamed the Islamic State for the blast.",
            "Islamic State Khorasan Province (ISKP)",
            "suspected",
        ),
        ("ek local worker ne supervisor pe chaku se hamla kiya", "insider (worker)", "suspected"),
        ("TTP militants stormed the post.", "Tehrik-i-Taliban Pakistan (TTP)", "suspected"),
        (
            "FC ki gaari pe dhamaka. BLA ne zimmedari qabool ki hai",
            "Balochistan Liberation Army (BLA)",
            "claimed",
        ),
        (
            "IED near the FC fort. TTP's Jamaat-ul-Ahrar claimed.",
            "Jamaat-ul-Ahrar (JuA)",
            "claimed",
        ),
        (
            "A Chinese engineer was stabbed by a security guard at the site.",
            "insider (guard)",
            "suspected",
        ),
    ],
)
def test_named_perpetrators(text: str, name: str, status: str) -> None:
    found = find_perpetrator(text)
    assert found is not None
    assert (found.name, found.status) == (name, status)
    assert text[found.span.start : found.span.end] == found.span.text


@pytest.mark.parametrize(
    "text",
    [
        "No group immediately claimed responsibility for the attack.",
        "No claim as of 1600L.",
        "Unknown gunmen opened fire and fled on a motorcycle.",
        "The TTP denied any involvement in the attack.",
        "Balochistan police said the attackers escaped.",  # a province is not a group
        "The BLA has long opposed projects in the province.",  # background, not attribution
        "Police said the SRA had claimed similar attacks before.",
    ],
)
def test_no_perpetrator_is_guessed(text: str) -> None:
    assert find_perpetrator(text) is None


def test_perpetrator_key_compares_groups() -> None:
    assert perpetrator_key("Tehrik-i-Taliban Pakistan (TTP)") == perpetrator_key("TTP")
    assert perpetrator_key("Balochistan Liberation Army (BLA) Majeed Brigade") == "bla"
    assert perpetrator_key(None) == perpetrator_key("unknown") == "unknown"
    assert perpetrator_key("Some New Front") == "some new front"


@pytest.mark.parametrize(
    ("text", "affected", "nationalities"),
    [
        ("Client convoy (4 veh, 6 PRC nationals) unhurt.", True, ("Chinese",)),
        ("3 engineers (2 Pakistani, 1 Turkish) abducted.", True, ("Turkish",)),
        ("one surveyor (Sri Lankan) wounded", True, ("Sri Lankan",)),
        ("a convoy of foreign engineers was hit", True, ()),
        ("5 log mare gaye jin mein 4 chini engineer the", True, ("Chinese",)),
        ("The Chinese embassy issued an advisory.", False, ()),
        ("Two policemen were injured in Quetta.", False, ()),
        ("Militants crossed the Afghan border.", False, ()),
    ],
)
def test_nationals(text: str, affected: bool, nationalities: tuple[str, ...]) -> None:
    found = find_nationals(text)
    assert (found.affected, found.nationalities) == (affected, nationalities)
