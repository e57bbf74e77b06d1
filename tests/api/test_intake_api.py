"""Free-text reports over HTTP: an incident report becomes a draft with the fields found and
the text behind each; the same event reported again is suggested as a duplicate; a text that
is no incident report is read but not stored."""

from __future__ import annotations

from silkguard.auth.roles import Role
from tests.api.conftest import World

SITREP = (
    "1430L 12 MAR: IED strike on escort vehicle N-85 nr Panjgur. 2x FC pers KIA, 3x WIA. "
    "Client convoy (4 veh, 6 PRC nationals) unhurt. No claim as of 1600L."
)
WIRE = (
    "PANJGUR, March 12 (Wire) - A roadside bomb tore through a Frontier Corps vehicle "
    "escorting a convoy of foreign engineers on the N-85 highway on Tuesday, killing two "
    "soldiers and wounding three, officials said."
)


def test_reports_become_drafts_with_duplicates_suggested(fresh_world: World) -> None:
    w = fresh_world
    analyst = w.headers("alpha", Role.ANALYST)
    first = w.client.post(
        "/api/v1/intake/reports",
        json={"text": SITREP, "report_date": "2024-03-12"},
        headers=analyst,
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["stored"] is True
    ext = body["extraction"]
    assert ext["attack_type"] == "ied"
    assert (ext["killed"], ext["injured"]) == (2, 3)
    assert ext["province"] == "Balochistan"
    draft = w.client.get(f"/api/v1/incidents/{body['incident_id']}", headers=analyst).json()
    assert draft["status"] == "draft"
    assert draft["killed"] == 2
    second = w.client.post(
        "/api/v1/intake/reports", json={"text": WIRE, "report_date": "2024-03-12"}, headers=analyst
    ).json()
    assert second["stored"] is True
    assert body["incident_id"] in [d["incident_id"] for d in second["duplicates"]]
    merged = w.client.post(
        f"/api/v1/incidents/{body['incident_id']}/merge",
        json={"incident_ids": [second["incident_id"]]},
        headers=analyst,
    )
    assert merged.status_code == 200, merged.text


def test_non_incidents_are_read_but_not_stored(fresh_world: World) -> None:
    w = fresh_world
    analyst = w.headers("alpha", Role.ANALYST)
    advisory = w.client.post(
        "/api/v1/intake/reports",
        json={
            "text": "Reminder: the quarterly security coordination meeting is on Thursday "
            "at the Islamabad office. Please confirm attendance.",
            "report_date": "2024-03-12",
        },
        headers=analyst,
    )
    assert advisory.status_code == 200
    assert advisory.json()["stored"] is False
    assert advisory.json()["incident_id"] is None
    empty = w.client.post(
        "/api/v1/intake/reports", json={"text": "   ", "report_date": "2024-03-12"}, headers=analyst
    )
    assert empty.status_code == 422
    partner = w.client.post(
        "/api/v1/intake/reports",
        json={"text": SITREP, "report_date": "2024-03-12"},
        headers=w.headers("partner", Role.PARTNER),
    )
    assert partner.status_code == 403
