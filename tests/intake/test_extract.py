from __future__ import annotations

import json
import random
from datetime import date

import pytest

from silkguard.core.errors import InvalidInput, PayloadTooLarge
from silkguard.incidents.importers.native import NATIVE_FIELDS, convert_native
from silkguard.incidents.parse import RowParser
from silkguard.incidents.vocab import AttackType, DatePrecision, GeoPrecision, TargetType
from silkguard.intake.draft import to_native_row
from silkguard.intake.extract import extract
from silkguard.intake.text import MAX_ANALYSED_CHARS, MAX_TEXT_CHARS

DAY = date(2024, 9, 2)  # a Monday


@pytest.mark.parametrize(
    "text",
    [
        # wire
        "TURBAT, Sept 1: Two Chinese nationals and their driver were killed when gunmen opened "
        "fire on their vehicle near the Kech river bridge on Sunday, police said.",
        # sitrep
        "SITREP 0930L 01 SEP: VBIED detonated at main gate of Dasu HPP camp. 3x KIA, 7x WIA.",
        # WhatsApp, Roman Urdu and English
        "kal shaam Gwadar ke paas hamari gaari pe firing hui, 1 guard shaheed, 2 zakhmi",
        # Urdu newspaper in translation
        "Quetta (Daily Jang, translated): unknown terrorists martyred two police constables on "
        "duty at Sariab Road on Sunday. The assailants fled on a motorcycle.",
        # an incident report that ends with the reactions
        "QUETTA: Two policemen were shot dead on Monday. The chief minister condemned the "
        "attack and ordered an inquiry.",
        # foiled plot
        "KARACHI: Police arrested two suspects with a car fitted with explosives meant for an "
        "attack on a convoy of foreign workers.",
    ],
)
def test_incident_reports(text: str) -> None:
    draft = extract(text, DAY)
    assert draft.is_incident
    assert draft.confidence >= 0.5
    assert draft.place is not None
    assert draft.latitude is not None


@pytest.mark.parametrize(
    "text",
    [
        # meeting notes
        "The Planning Ministry chaired a review meeting on the motorway and directed contractors "
        "to complete the remaining packages by June.",
        # advisory
        "The embassy reminded its citizens to avoid non-essential travel; the advisory did not "
        "refer to any specific threat.",
        # threat warning
        "THREAT WARNING: intelligence input suggests militants may target convoys on the KKH "
        "in the coming days. All movement to be escorted.",
        # hoax
        "Field report: hoax bomb call received at the site office 0930h. BDS sweep negative, "
        "work resumed.",
        # policy reaction to an earlier attack
        "The government announced compensation for families of the labourers killed in last "
        "week's attack and formed a committee to review camp security.",
        # accidents and disasters are not security incidents
        "Five people were killed and 12 injured when a passenger bus overturned on the KKH.",
        "Two labourers died when a gas cylinder exploded at a hotel kitchen in Gwadar.",
        # reaction to an attack
        "The Senate on Wednesday condemned the attack on Chinese engineers in Besham that "
        "killed five, and offered condolences to the families.",
        # a drone brought down before it did anything
        "INCIDENT | 06/06/2024 | 1330 PKT | Tarbela Dam | Drone sighted over the site, no "
        "payload. Shot down by guards. No damage.",
        # police crowd control is not an attack
        "Over 40 people were injured when police baton-charged protesters in Turbat on Saturday.",
        # arrests for an old kidnapping
        "PESHAWAR: Police on Friday arrested three men in connection with the kidnapping of a "
        "Chinese engineer in Swat last year.",
        # court and arrests about an old attack
        "An anti-terrorism court on Tuesday indicted three suspects in the 2022 university "
        "attack case.",
    ],
)
def test_non_incident_reports(text: str) -> None:
    draft = extract(text, DAY)
    assert not draft.is_incident
    assert draft.confidence < 0.5


def test_full_draft_of_a_sitrep() -> None:
    text = (
        "1430L 12 MAR: IED strike on escort vehicle N-85 nr Panjgur. 2x FC pers KIA, 3x WIA. "
        "Client convoy (4 veh, 6 PRC nationals) unhurt. No claim as of 1600L."
    )
    draft = extract(text, date(2024, 3, 12))
    assert draft.date == date(2024, 3, 12)
    assert draft.date_precision == DatePrecision.TIME
    assert draft.time_local == "14:30"
    assert (draft.place, draft.province, draft.road) == ("Panjgur", "Balochistan", "N-85")
    assert draft.geo_precision == GeoPrecision.PLACE
    assert (draft.attack_type, draft.target_type) == (AttackType.IED, TargetType.CONVOY)
    assert (draft.perpetrator, draft.perpetrator_status) == (None, "unknown")
    assert (draft.killed, draft.injured) == (2, 3)
    assert draft.foreign_nationals_affected
    assert draft.nationalities == ("Chinese",)
    for name, span in draft.spans.items():
        assert text[span.start : span.end] == span.text, name


def test_a_flash_report_with_only_a_time_is_about_the_report_day() -> None:
    draft = extract("FLASH 0845 hrs: Small arms fire on our convoy near Quetta. No cas.", DAY)
    assert (draft.date, draft.time_local, draft.date_precision) == (
        DAY,
        "08:45",
        DatePrecision.TIME,
    )
    undated = extract("update: firing on the convoy near Quetta, 2 guards zakhmi", DAY)
    assert undated.date is None


def test_security_operations_are_incidents_without_own_losses() -> None:
    draft = extract(
        "The ISPR said on Sunday that security forces had killed six terrorists in an "
        "intelligence-based operation in Khyber district.",
        DAY,
    )
    assert draft.is_incident
    assert (draft.killed, draft.injured) == (0, 0)


def test_conventions_for_missing_tolls() -> None:
    kidnap = extract("Armed men abducted three engineers from the site outside Kharan.", DAY)
    assert (kidnap.killed, kidnap.injured) == (0, 0)
    injured_only = extract("Two guards were injured in firing at the Hub site gate.", DAY)
    assert (injured_only.killed, injured_only.injured) == (0, 2)
    killed_only = extract("Six passengers were shot dead near Nushki.", DAY)
    assert (killed_only.killed, killed_only.injured) == (6, None)


def test_native_row_is_accepted_by_the_importer() -> None:
    draft = extract(
        "SITREP 1745L 16 AUG: Suicide VBIED vs FC convoy, Mastung bypass. 4 KIA, 9 WIA. "
        "Claim by BLA on Telegram.",
        date(2024, 8, 16),
    )
    row = to_native_row(draft, row_id="draft-1")
    assert set(row) <= set(NATIVE_FIELDS)
    parser = RowParser(1)
    fields = convert_native(row, parser)
    assert parser.errors == []
    assert fields is not None
    assert row["claimed"] is True
    assert row["date_precision"] == "time"
    assert row["summary"] == "SITREP 1745L 16 AUG: Suicide VBIED vs FC convoy, Mastung bypass."


def test_draft_as_json() -> None:
    draft = extract(
        "IED strike nr Panjgur on 12/03/2024, 2x FC KIA. Claim: BLF.", date(2024, 3, 12)
    )
    data = json.loads(json.dumps(draft.as_dict()))
    assert data["date"] == "2024-03-12"
    assert data["attack_type"] == "ied"
    assert data["perpetrator_status"] == "claimed"
    assert data["spans"]["killed"]["text"] == "2x FC KIA"
    assert data["nationalities"] == []


# -- robustness ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t", "\x00\x01\x02"])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        extract(text, DAY)


def test_oversized_text_is_refused() -> None:
    with pytest.raises(PayloadTooLarge, match="at most 100,000"):
        extract("A bomb exploded in Quetta. " * 40_000, DAY)  # about 1 MB


def test_long_text_under_the_limit_is_read_in_part() -> None:
    text = ("Firing in Hub, two guards injured. " * 3_000)[:MAX_TEXT_CHARS]
    draft = extract(text, DAY)
    assert draft.is_incident
    assert any(str(MAX_ANALYSED_CHARS)[:2] in w for w in draft.warnings)


def test_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidInput, match="must be a str"):
        extract(b"bytes", DAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "کوئٹہ میں دھماکہ، تین افراد جاں بحق اور پانچ زخمی ہو گئے",  # Urdu script
        "巴基斯坦俾路支省发生爆炸\uff0c三名中国工程师受伤。",  # Chinese
    ],
)
def test_unsupported_scripts_give_a_low_confidence_draft(text: str) -> None:
    draft = extract(text, DAY)
    assert not draft.is_incident
    assert draft.confidence < 0.1
    assert draft.warnings


def test_random_garbage_never_crashes() -> None:
    rng = random.Random(20240902)
    alphabet = "abcXYZ 0123456789:/-.,()|\n\u00e9\u0628\u4e2d\ufffd" + "".join(
        chr(c) for c in range(0x20, 0x7F)
    )
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 400)))
        if not text.strip():
            continue
        draft = extract(text, DAY)
        assert 0.0 <= draft.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "killed, " * 12_000,  # one run-on "sentence" full of anchors
        "two soldiers were killed and three injured " * 2_000,
        "(" * 30_000 + ")" * 30_000,
        "-".join(["Quetta"] * 14_000),
        "a" * 99_000,
    ],
)
def test_pathological_text_under_the_limit(text: str) -> None:
    draft = extract(text, DAY)
    assert 0.0 <= draft.confidence <= 1.0
