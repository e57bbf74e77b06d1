from __future__ import annotations

import pytest

from silkguard.intake.places import PlaceMatcher, find_road


@pytest.fixture(scope="module")
def matcher() -> PlaceMatcher:
    return PlaceMatcher()


@pytest.mark.parametrize(
    ("text", "place", "province"),
    [
        ("QUETTA: A blast near the police lines injured four.", "Quetta", "Balochistan"),
        # an event preposition beats the dateline; the town beats the city of filing
        (
            "GILGIT: Arsonists burnt two excavators near Jaglot on Tuesday.",
            "Jaglot",
            "Gilgit-Baltistan",
        ),
        ("LAHORE: CTD killed three militants near Sheikhupura.", "Shekhupura", "Punjab"),
        # the victims' home town is not the scene
        (
            "Three labourers were shot in Kech district. The victims belonged to Rahim Yar Khan in "
            "Punjab.",
            "Kech",
            "Balochistan",
        ),
        # a destination is not the scene
        ("Convoy hit by IED nr Panjgur, diverted to Turbat.", "Panjgur", "Balochistan"),
        # Roman Urdu postposition
        ("kal Gwadar ke paas hamari gaari pe firing hui", "Gwadar", "Balochistan"),
        # a town in a road name still places the report
        ("pathrao hua Dasu road pe, coaster ka sheesha toota", "Dasu", "Khyber Pakhtunkhwa"),
        # a town named with its district
        (
            "A motorcycle bomb went off in Parachinar, Kurram district.",
            "Parachinar",
            "Khyber Pakhtunkhwa",
        ),
        # the route's first town when no other place is given
        ("Quetta-Taftan coach stopped by gunmen", "Quetta", "Balochistan"),
        # an abbreviation with full stops
        ("Firing in D.I. Khan city on Monday.", "Dera Ismail Khan", "Khyber Pakhtunkhwa"),
        # a hyphenated province, and a two-word town starting with a common word
        ("Firing in Gilgit-Baltistan was reported.", "Gilgit-Baltistan", "Gilgit-Baltistan"),
        ("Blast in Mandi Bahauddin bazaar.", "Mandi Bahauddin", "Punjab"),
        # a known town qualifying an unknown one
        (
            "PESHAWAR: A grenade hit a house in Sheikh Maltoon Town, Mardan, on Saturday.",
            "Mardan",
            "Khyber Pakhtunkhwa",
        ),
        # where the victims work is not where they were attacked
        (
            "Chinese engineers working at the Saindak mine were targeted near Taftan.",
            "Taftan",
            "Balochistan",
        ),
        # a possessive
        ("A grenade was hurled into a hotel in Quetta's Pashtunabad.", "Quetta", "Balochistan"),
        # lower-case chat
        ("firing near turbat bazaar abhi, 2 zakhmi", "Turbat", "Balochistan"),
    ],
)
def test_scene_of_the_incident(matcher: PlaceMatcher, text: str, place: str, province: str) -> None:
    found = matcher.find(text)
    assert found is not None
    assert (found.name, found.province) == (place, province)
    assert text[found.span.start : found.span.end] == found.span.text


def test_fuzzy_spelling_in_a_place_context(matcher: PlaceMatcher) -> None:
    found = matcher.find("Gunmen opened fire on a van near Khuzdaar on Monday.")
    assert found is not None
    assert found.name == "Khuzdar"


def test_short_names_are_not_matched_loosely(matcher: PlaceMatcher) -> None:
    # "Kahan" (a town the gazetteer lacks) must not become "Kadhan" in Sindh
    found = matcher.find("An IED struck an FC patrol in the Kahan area of Kohlu.")
    assert found is not None
    assert (found.name, found.province) == ("Kohlu", "Balochistan")


def test_a_named_district_keeps_the_town_in_its_province(matcher: PlaceMatcher) -> None:
    found = matcher.find("JHAL MAGSI: blast at a shrine in Fatehpur, six killed.")
    assert found is not None
    assert found.province == "Balochistan"


def test_district_gives_district_coordinates(matcher: PlaceMatcher) -> None:
    found = matcher.find("Rockets were fired in North Waziristan.")
    assert found is not None
    assert (found.kind, found.district) == ("district", "North Waziristan")


def test_no_place(matcher: PlaceMatcher) -> None:
    assert matcher.find("Two guards were injured when the gate was attacked.") is None
    assert matcher.find("The Chinese embassy advised its citizens on Friday.") is None


@pytest.mark.parametrize(
    ("text", "road"),
    [
        ("IED on N-85 nr Panjgur", "N-85"),
        ("ambush on the Karakoram Highway", "Karakoram Highway"),
        ("KKH closed at Komila", "KKH"),
        ("shot dead on Jinnah Road", "Jinnah Road"),
        ("no road here", None),
    ],
)
def test_roads(text: str, road: str | None) -> None:
    found = find_road(text)
    assert (found.text if found else None) == road


def test_a_road_alone_never_beats_a_town(matcher: PlaceMatcher) -> None:
    found = matcher.find("Sniper fire on the N-25 near Mastung.")
    assert found is not None
    assert found.name == "Mastung"
