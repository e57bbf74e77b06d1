from __future__ import annotations

from datetime import date

import pytest

from silkguard.incidents.vocab import DatePrecision
from silkguard.intake.dates import find_date, find_time, resolve_day_month

TUESDAY = date(2024, 3, 12)


def _date(text: str, report: date = TUESDAY) -> date | None:
    found = find_date(text, report)
    return found.value if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Report of 12/03/2024: firing at the camp.", date(2024, 3, 12)),  # day first
        ("On 05/03/2024 a blast hit the line.", date(2024, 3, 5)),
        ("Dated 2024-03-09, an IED was found.", date(2024, 3, 9)),
        ("Gwadar, 2024/03/08: militants attacked the complex.", date(2024, 3, 8)),
        ("The attack on 7 March killed two.", date(2024, 3, 7)),
        ("Gunmen struck on March 10th near the bridge.", date(2024, 3, 10)),
        ("It happened on the 3rd of March.", date(2024, 3, 3)),
        ("QUETTA, Feb 28: police said", date(2024, 2, 28)),
        ("Blast on 20 December, long after the season.", date(2023, 12, 20)),  # year rolls back
        ("Ambush on 4 Jan 2023 on the coastal road.", date(2023, 1, 4)),
    ],
)
def test_absolute_dates(text: str, expected: date) -> None:
    assert _date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gunmen opened fire on Sunday evening.", date(2024, 3, 10)),
        ("A bomb went off on Tuesday.", TUESDAY),  # a weekday equal to the report's is that day
        ("Two guards were hurt yesterday.", date(2024, 3, 11)),
        ("Rockets were fired last night at the camp.", date(2024, 3, 11)),
        ("kal raat hamari gaari pe firing hui", date(2024, 3, 11)),
        ("aaj subah site pe dhamaka", TUESDAY),
        ("An IED exploded this morning on the bypass.", TUESDAY),
        ("abhi 10 min pehle firing hui", TUESDAY),
        ("ek ghanta pehle bus pe goliyan chali", TUESDAY),
        ("The bodies were found three days ago.", date(2024, 3, 9)),
        ("parson raat Kharan mein firing hui", date(2024, 3, 10)),
        ("kal Gwadar ke paas firing hui", date(2024, 3, 11)),
        ("The convoy was hit last Tuesday.", date(2024, 3, 5)),
        # a newspaper called "Aaj" is not "today"
        ("Dera Ismail Khan (Daily Aaj): the attack took place on Sunday.", date(2024, 3, 10)),
    ],
)
def test_relative_dates_look_back_from_the_report(text: str, expected: date) -> None:
    assert _date(text) == expected


def test_military_date_time_group() -> None:
    found = find_date("1430L 12 MAR: IED strike on escort vehicle", date(2024, 3, 13))
    assert found is not None
    assert found.value == date(2024, 3, 12)
    assert found.span.text == "1430L 12 MAR"
    time_found = find_time("1430L 12 MAR: IED strike")
    assert time_found is not None
    assert time_found[0] == "14:30"
    assert time_found[1].text == "1430L"


def test_a_weekday_in_the_story_beats_the_dateline() -> None:
    text = "KOHAT, Jan 12 (APP): A grenade was hurled at a police mobile late Thursday."
    assert _date(text, date(2024, 1, 12)) == date(2024, 1, 11)
    assert _date("KOHAT, Jan 12 (APP): A grenade was hurled.", date(2024, 1, 12)) == date(
        2024, 1, 12
    )


def test_the_day_something_was_said_is_not_the_incident_date() -> None:
    assert _date("Police on Wednesday said they had arrested two men.", date(2024, 3, 14)) is None
    text = "Labourers were shot late on Saturday night, officials said on Sunday."
    assert _date(text, date(2024, 3, 10)) == date(2024, 3, 9)


def test_a_date_after_the_report_ranks_below_any_other() -> None:
    found = find_date("Security will be reviewed on 20/03/2024.", date(2024, 3, 12))
    assert found is not None
    assert found.score < 0


def test_month_precision() -> None:
    found = find_date("Attacks rose in March 2023 across the district.", TUESDAY)
    assert found is not None
    assert (found.value, found.precision) == (date(2023, 3, 1), DatePrecision.MONTH)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at approx 2140 hrs a rocket landed", "21:40"),
        ("INCIDENT | 1905 PKT | Jamshoro", "19:05"),
        ("gate attacked at 10:30 pm", "22:30"),
        ("blast at 7 am near the market", "07:00"),
        ("aaj 1615 pe pathrao hua", "16:15"),
        ("received 0930h, evacuated", "09:30"),
        ("update 2245: zordar dhamaka suna gaya", "22:45"),
    ],
)
def test_times(text: str, expected: str) -> None:
    found = find_time(text)
    assert found is not None
    assert found[0] == expected


def test_time_skips_status_times_and_plain_numbers() -> None:
    assert find_time("No claim as of 1600L.") is None
    assert find_time("Convoy of 1200 vehicles and 2024 budget") is None


def test_resolve_day_month_rejects_impossible_dates() -> None:
    assert resolve_day_month(31, 2, None, TUESDAY) is None
    assert resolve_day_month(29, 2, 2023, TUESDAY) is None
    assert resolve_day_month(1, 1, 24, TUESDAY) == date(2024, 1, 1)
