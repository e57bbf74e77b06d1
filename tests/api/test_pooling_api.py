"""Pooled contributions and sightings through the API: what the contributor can do, what the
group sees, and that nothing a member of the group can read names the contributor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import h3
import pytest

from silkguard.auth import service as auth_service
from silkguard.auth.models import SharingGroup
from silkguard.auth.roles import Role
from silkguard.core.access import Principal
from silkguard.sharing.service import export_incidents
from silkguard.sharing.stix_export import dumps_bundle
from silkguard.sharing.taxii import TAXII_MEDIA_TYPE
from tests.api.conftest import PASSWORD, World, build_world

API = "/api/v1"
SECRET_NAME = "Charlie Hydro Security"
SECRET_SLUG = "charlie-hydro"


@pytest.fixture(scope="module")
def pooled(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The API world plus "charlie", a third operator in the (now hidden) sharing group whose
    incidents are contributed anonymously; their summaries and source URLs name charlie."""
    for world in build_world(database_url, tmp_path_factory.mktemp("pooled")):
        factory = world.client.app.state.session_factory
        with factory() as session:
            org = auth_service.create_org(session, slug=SECRET_SLUG, name=SECRET_NAME)
            world.orgs["charlie"] = org.id
            for role in (Role.ADMIN, Role.ANALYST, Role.STAFF):
                user = auth_service.create_user(
                    session,
                    org_id=org.id,
                    username=f"charlie.{role.value}",
                    password=PASSWORD,
                    role=role,
                )
                world.users[("charlie", role)] = user.id
            auth_service.add_group_member(session, group_id=world.group_id, org_id=org.id)
            # the members do not see each other, so that nothing else names charlie
            group = session.get_one(SharingGroup, world.group_id)
            group.hidden_membership = True
            session.commit()
        yield world


def _post(world: World, org: str, role: Role, path: str, body: Any = None) -> Any:
    return world.client.post(API + path, json=body, headers=world.headers(org, role))


def _get(world: World, org: str, role: Role, path: str, **headers: str) -> Any:
    return world.client.get(API + path, headers={**world.headers(org, role), **headers})


def _charlie_incident(world: World, **extra: Any) -> str:
    body = {
        "occurred_at": "2024-04-02T06:30:00Z",
        "attack_type": "ied",
        "target_type": "convoy",
        "latitude": 35.3012,
        "longitude": 73.2345,
        "place": "Dasu camp gate 3",
        "district": "Upper Kohistan",
        "tlp": "AMBER",
        "killed": 1,
        "summary": f"{SECRET_NAME} convoy hit near camp gate 3; reported by charlie.analyst",
        "source_url": f"https://{SECRET_SLUG}.example/reports/17",
        **extra,
    }
    made = _post(world, "charlie", Role.ANALYST, "/incidents", body)
    assert made.status_code == 201, made.text
    incident_id = str(made.json()["id"])
    confirmed = _post(world, "charlie", Role.ANALYST, f"/incidents/{incident_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    return incident_id


def _contribute(world: World, incident_id: str, **options: Any) -> Any:
    body = {"group_id": str(world.group_id), **options}
    return _post(world, "charlie", Role.ANALYST, f"/incidents/{incident_id}/contributions", body)


def test_a_member_sees_the_copy_and_nothing_names_the_contributor(pooled: World) -> None:
    original = _charlie_incident(pooled)
    made = _contribute(
        pooled,
        original,
        summary="IED against a convoy near Dasu; one killed.",
        generalise_location=True,
    )
    assert made.status_code == 201, made.text
    copy_id = made.json()["pool_incident_id"]
    assert made.json()["warnings"] == []

    # the partner (a member) reads the copy, never the original
    seen = _get(pooled, "partner", Role.ANALYST, f"/incidents/{copy_id}")
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["summary"] == "IED against a convoy near Dasu; one killed."
    assert body["org_id"] not in {str(pooled.orgs["charlie"]), None}
    assert [s["source_kind"] for s in body["sources"]] == ["pool"]
    assert body["place"] is None
    assert body["geo_precision"] == "district"
    centre = h3.cell_to_latlng(h3.latlng_to_cell(35.3012, 73.2345, 6))
    assert (body["latitude"], body["longitude"]) == pytest.approx(centre, abs=1e-6)
    assert _get(pooled, "partner", Role.ANALYST, f"/incidents/{original}").status_code == 404
    # bravo is not in the group: the AMBER copy does not exist for it
    assert _get(pooled, "bravo", Role.ADMIN, f"/incidents/{copy_id}").status_code == 404

    _post(pooled, "partner", Role.ADMIN, f"/incidents/{copy_id}/sightings", {"count": 2})
    secrets = _secrets(pooled)
    for text in _everything_a_member_reads(pooled, "partner", copy_id):
        for secret in secrets:
            assert secret not in text


def _secrets(world: World) -> list[str]:
    users = [str(world.users[("charlie", r)]) for r in (Role.ADMIN, Role.ANALYST, Role.STAFF)]
    names = [f"charlie.{r.value}" for r in (Role.ADMIN, Role.ANALYST, Role.STAFF)]
    return [str(world.orgs["charlie"]), SECRET_NAME, SECRET_SLUG, *users, *names]


def _everything_a_member_reads(world: World, org: str, copy_id: str) -> Iterator[str]:
    """Every output about incidents a member of the group can read, as text."""
    for role in (Role.ADMIN, Role.ANALYST, Role.PARTNER):
        reads = [
            "/incidents?limit=1000",
            "/incidents?format=geojson&limit=1000",
            "/incidents?q=Dasu",
            "/incidents/export.csv",
            f"/incidents/{copy_id}",
            f"/incidents/{copy_id}/sightings",
            "/reports/sitrep?from=2024-04-01&to=2024-04-05&format=html",
            "/sharing-groups",
            "/audit?limit=500",
        ]
        for path in reads:
            response = _get(world, org, role, path)
            assert response.status_code in {200, 403}, (path, response.text)
            yield response.text
        taxii = {"Accept": TAXII_MEDIA_TYPE}
        collections = world.client.get(
            "/taxii2/api/collections/", headers={**world.headers(org, role), **taxii}
        )
        assert collections.status_code == 200, collections.text
        yield collections.text
        for coll in collections.json()["collections"]:
            objects = world.client.get(
                f"/taxii2/api/collections/{coll['id']}/objects/",
                headers={**world.headers(org, role), **taxii},
            )
            assert objects.status_code in {200, 403}, objects.text
            yield objects.text
    factory = world.client.app.state.session_factory
    with factory() as session:
        principal = Principal(
            org_id=world.orgs[org],
            role=Role.ANALYST.value,
            user_id=world.users[(org, Role.ANALYST)],
            group_ids=frozenset({world.group_id}),
        )
        bundle = export_incidents(session, principal=principal)
        assert copy_id in dumps_bundle(bundle)  # the copy is in the export...
        yield dumps_bundle(bundle)  # ...and nothing names who gave it


def test_refresh_list_and_withdraw(pooled: World) -> None:
    original = _charlie_incident(pooled, tlp="GREEN")
    first = _contribute(pooled, original)
    assert first.status_code == 201, first.text
    assert "GREEN" in first.json()["warnings"][0]  # every organisation sees the original
    copy_id = first.json()["pool_incident_id"]
    patched = pooled.client.patch(
        f"{API}/incidents/{original}",
        json={"killed": 4},
        headers={**pooled.headers("charlie", Role.ANALYST), "If-Match": 'W/"2"'},
    )
    assert patched.status_code == 200, patched.text
    again = _contribute(pooled, original, summary="Convoy attack, four killed.")
    assert again.status_code == 200, again.text
    assert again.json()["pool_incident_id"] == copy_id
    copy = _get(pooled, "partner", Role.ANALYST, f"/incidents/{copy_id}").json()
    assert (copy["killed"], copy["summary"]) == (4, "Convoy attack, four killed.")

    listed = _get(pooled, "charlie", Role.ANALYST, f"/incidents/{original}/contributions")
    assert [c["group_id"] for c in listed.json()] == [str(pooled.group_id)]
    assert [c["pool_incident_id"] for c in listed.json()] == [copy_id]
    # the partner may see the GREEN original, but not where it was contributed
    other = _get(pooled, "partner", Role.ADMIN, f"/incidents/{original}/contributions")
    assert other.status_code == 403

    gone = pooled.client.delete(
        f"{API}/incidents/{original}/contributions/{pooled.group_id}",
        headers=pooled.headers("charlie", Role.ANALYST),
    )
    assert gone.status_code == 204, gone.text
    assert _get(pooled, "partner", Role.ANALYST, f"/incidents/{copy_id}").status_code == 404
    assert _get(pooled, "charlie", Role.ANALYST, f"/incidents/{original}").status_code == 200
    twice = pooled.client.delete(
        f"{API}/incidents/{original}/contributions/{pooled.group_id}",
        headers=pooled.headers("charlie", Role.ANALYST),
    )
    assert twice.status_code == 404
    assert "GET /api/v1/incidents/" in twice.json()["detail"]
    audit = _get(pooled, "charlie", Role.ADMIN, "/audit?action=incident.contribute").json()
    assert copy_id in {e["detail"].get("pool_incident") for e in audit}


def test_contributions_that_are_refused(pooled: World) -> None:
    strict = _charlie_incident(pooled, tlp="AMBER+STRICT")
    refused = _contribute(pooled, strict)
    assert refused.status_code == 422
    assert "re-mark it CLEAR, GREEN or AMBER first" in refused.json()["detail"]
    draft = _post(
        pooled,
        "charlie",
        Role.ANALYST,
        "/incidents",
        {"occurred_at": "2024-04-03T06:30:00Z", "attack_type": "ied", "target_type": "convoy"},
    ).json()["id"]
    assert "confirm it first" in _contribute(pooled, draft).json()["detail"]
    # a group charlie is not in looks unknown
    foreign = _post(
        pooled,
        "alpha",
        Role.ADMIN,
        "/sharing-groups",
        {"name": f"alpha only {uuid.uuid4().hex[:6]}"},
    ).json()["id"]
    ok = _charlie_incident(pooled)
    outside = _post(
        pooled, "charlie", Role.ANALYST, f"/incidents/{ok}/contributions", {"group_id": foreign}
    )
    assert outside.status_code == 404
    assert "not a member" in outside.json()["detail"]
    # another organisation's incident, visible or not
    alpha_green = pooled.incidents[("alpha", _tlp("GREEN"))]
    not_mine = _contribute(pooled, str(alpha_green))
    assert not_mine.status_code == 403
    assert "only its owner may contribute" in not_mine.json()["detail"]
    staff = _post(
        pooled,
        "charlie",
        Role.STAFF,
        f"/incidents/{ok}/contributions",
        {"group_id": str(pooled.group_id)},
    )
    assert staff.status_code == 403


def _tlp(value: str) -> Any:
    from silkguard.core.tlp import TLP

    return TLP(value)


def test_sightings_are_counted_without_names(pooled: World) -> None:
    bravo_green = pooled.incidents[("bravo", _tlp("GREEN"))]
    path = f"/incidents/{bravo_green}/sightings"
    assert _get(pooled, "bravo", Role.STAFF, path).json() == {
        "count": 0,
        "organisations": 0,
        "first_seen": None,
        "last_seen": None,
    }
    early = datetime(2024, 3, 20, 8, tzinfo=UTC).isoformat()
    assert (
        _post(pooled, "alpha", Role.ANALYST, path, {"count": 2, "seen_at": early}).status_code
        == 201
    )
    _post(pooled, "alpha", Role.ANALYST, path, {})
    made = _post(pooled, "charlie", Role.ANALYST, path, {"count": 3})
    assert made.status_code == 201, made.text
    body = _get(pooled, "bravo", Role.ADMIN, path).json()  # the owner learns totals only
    assert set(body) == {"count", "organisations", "first_seen", "last_seen"}
    assert (body["count"], body["organisations"]) == (6, 2)
    assert body["first_seen"].startswith("2024-03-20T08:00:00")
    assert str(pooled.orgs["alpha"]) not in str(body)
    # a role that cannot create incidents cannot report sightings
    assert _post(pooled, "alpha", Role.STAFF, path, {}).status_code == 403
    # an incident the caller may not see does not exist for it
    strict = pooled.incidents[("bravo", _tlp("AMBER+STRICT"))]
    hidden = _post(pooled, "alpha", Role.ANALYST, f"/incidents/{strict}/sightings", {})
    assert hidden.status_code == 404
    future = _post(pooled, "alpha", Role.ANALYST, path, {"seen_at": "2999-01-01T00:00:00Z"})
    assert future.status_code == 422
    assert _post(pooled, "alpha", Role.ANALYST, path, {"count": 0}).status_code == 422


def test_hidden_membership_is_not_revealed_to_members(pooled: World) -> None:
    made = _post(
        pooled,
        "alpha",
        Role.ADMIN,
        "/sharing-groups",
        {"name": f"quiet {uuid.uuid4().hex[:6]}", "hidden_membership": True},
    )
    group_id = made.json()["id"]
    for org in ("partner", "charlie"):
        added = _post(
            pooled,
            "alpha",
            Role.ADMIN,
            f"/sharing-groups/{group_id}/members",
            {"org_id": str(pooled.orgs[org])},
        )
        assert added.status_code == 200, added.text
    # charlie's open (GREEN) incident would name charlie in a collection of its members'
    _charlie_incident(pooled, tlp="GREEN")
    groups = _get(pooled, "partner", Role.ANALYST, "/sharing-groups").json()
    quiet = next(g for g in groups if g["id"] == group_id)
    assert quiet["members"] is None
    taxii = {"Accept": TAXII_MEDIA_TYPE, **pooled.headers("partner", Role.ANALYST)}
    listed = pooled.client.get("/taxii2/api/collections/", headers=taxii).json()["collections"]
    coll = next(c for c in listed if c["title"].startswith(quiet["name"]))
    assert "members" not in coll["description"]
    objects = pooled.client.get(f"/taxii2/api/collections/{coll['id']}/objects/", headers=taxii)
    assert objects.status_code == 200
    for secret in (*_secrets(pooled), str(pooled.orgs["alpha"]), "Alpha"):
        assert secret not in objects.text
        assert secret not in str(coll)
