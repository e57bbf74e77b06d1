"""TAXII 2.1 end to end: the real taxii2-client against the app served by uvicorn on loopback
(discovery, API root, collections, paging through 2,000 incidents with ``next``,
``added_after``, POST and status), and the visibility of collections."""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import requests
import uvicorn
from sqlalchemy import Table, insert, select
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from silkguard.api.app import create_app
from silkguard.auth.models import AuditEntry
from silkguard.auth.roles import Role
from silkguard.core.errors import NotFound
from silkguard.core.tlp import TLP
from silkguard.incidents.models import Incident
from silkguard.sharing.service import export_incidents
from silkguard.sharing.stix_export import incident_stix_id
from silkguard.sharing.taxii import TAXII_MEDIA_TYPE, load_status
from tests.sharing_store.conftest import World, api_key, open_session, principal_of

BULK = 2000
BULK_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Served:
    world: World
    base: str  # http://127.0.0.1:<port>
    alpha_key: str
    partner_key: str
    bulk: list[tuple[uuid.UUID, datetime]]  # (id, updated_at), oldest first

    @property
    def discovery(self) -> str:
        return f"{self.base}/taxii2/"

    def server(self, key: str) -> Server:
        return Server(self.discovery, user="any", password=key)


def _bulk_incidents(world: World) -> list[tuple[uuid.UUID, datetime]]:
    """BULK confirmed GREEN incidents of alpha in one statement, one second apart."""
    rows: list[dict[str, object]] = []
    for i in range(BULK):
        when = BULK_START + timedelta(seconds=i)
        rows.append(
            {
                "id": uuid.UUID(int=(i + 1) << 64),
                "org_id": world.orgs["alpha"],
                "occurred_at": datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=i),
                "date_precision": "day",
                "geo_precision": "province",
                "province": "Khyber Pakhtunkhwa",
                "country": "PK",
                "attack_type": "shooting",
                "target_type": "police",
                "tlp": "GREEN",
                "status": "confirmed",
                "nationalities": [],
                "overrides": {},
                "summary": f"bulk {i}",
                "created_at": when,
                "updated_at": when,
                "version": 1,
            }
        )
    with open_session(world) as session:
        session.execute(insert(cast(Table, Incident.__table__)), rows)
    return [(cast(uuid.UUID, r["id"]), cast(datetime, r["updated_at"])) for r in rows]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(world: World) -> Iterator[Served]:
    bulk = _bulk_incidents(world)
    port = _free_port()
    config = uvicorn.Config(
        create_app(world.settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        http="h11",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start on loopback within 20 s")
        time.sleep(0.05)
    try:
        yield Served(
            world,
            f"http://127.0.0.1:{port}",
            api_key(world, "alpha"),
            api_key(world, "partner", Role.PARTNER),
            bulk,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _collection(served: Served, key: str, title: str) -> Collection:
    root = served.server(key).default
    assert root is not None
    for coll in root.collections:
        if coll.title == title:
            return coll
    pytest.fail(f"no collection {title!r} in {[c.title for c in root.collections]}")


def _silkguard_id(obj: dict[str, Any]) -> uuid.UUID:
    ext = next(iter(obj["extensions"].values()))
    return uuid.UUID(ext["silkguard_id"])


def test_discovery_api_root_and_collections(served: Served) -> None:
    server = served.server(served.alpha_key)
    assert server.title == "silkguard TAXII 2.1"
    root = server.default
    assert isinstance(root, ApiRoot)
    assert root.url == f"{served.base}/taxii2/api/"
    assert [r.url for r in server.api_roots] == [root.url]
    assert root.versions == [TAXII_MEDIA_TYPE]
    assert root.max_content_length > 0
    titles = {c.title: (c.can_read, c.can_write) for c in root.collections}
    assert titles == {"Alpha incidents": (True, True), "kkh (sharing group)": (True, False)}
    partner = served.server(served.partner_key).default
    assert partner is not None
    # a partner key reads (incident.read) but may not create incidents
    assert {c.title: (c.can_read, c.can_write) for c in partner.collections} == {
        "Partner incidents": (True, False),
        "kkh (sharing group)": (True, False),
    }
    bravo = served.server(api_key(served.world, "bravo")).default
    assert bravo is not None
    assert [c.title for c in bravo.collections] == ["Bravo incidents"]


def test_paging_through_2000_incidents_with_next(served: Served) -> None:
    coll = _collection(served, served.alpha_key, "Alpha incidents")
    pages = list(as_pages(coll.get_objects, per_request=1000))
    sizes = [len(p.get("objects", [])) for p in pages]
    assert all(size == 1000 for size in sizes[:-1]), sizes
    assert 0 < sizes[-1] <= 1000
    assert [p["more"] for p in pages] == [True] * (len(pages) - 1) + [False]
    objects = [o for p in pages for o in p["objects"]]
    counts = Counter(o["id"] for o in objects)
    repeated = {oid for oid, n in counts.items() if n > 1}
    # only the reporting organisation's identity repeats (once a page, so each page is whole)
    assert {oid.split("--")[0] for oid in repeated} <= {"identity"}
    incidents = [_silkguard_id(o) for o in objects if o["type"] == "incident"]
    assert len(incidents) == len(set(incidents))
    world = served.world
    expected = {i for i, _ in served.bulk} | {
        world.incidents[("alpha", t)] for t in (TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT)
    }
    expected.add(world.drafts["alpha"])  # the organisation's own draft
    assert set(incidents) >= expected
    assert world.incidents[("alpha", TLP.RED)] not in incidents  # a key is no recipient
    assert not {world.incidents[("bravo", t)] for t in TLP} & set(incidents)
    # the bulk incidents come in date_added order
    order = [i for i in incidents if i in {b for b, _ in served.bulk}]
    assert order == [i for i, _ in served.bulk]
    assert sum(1 for o in objects if o["type"] == "marking-definition") == len(TLP)


def test_added_after_and_the_date_headers(served: Served) -> None:
    coll = _collection(served, served.alpha_key, "Alpha incidents")
    cut = served.bulk[1499][1]
    after = [
        _silkguard_id(o)
        for page in as_pages(
            coll.get_objects, per_request=200, added_after=cut.isoformat(), type="incident"
        )
        for o in page.get("objects", [])
    ]
    bulk_after = [i for i, _ in served.bulk[1500:]]
    assert after[: len(bulk_after)] == bulk_after
    assert not {i for i, _ in served.bulk[:1500]} & set(after)
    response = requests.get(
        f"{coll.url}objects/",
        params={"limit": 3, "match[type]": "incident", "added_after": cut.isoformat()},
        headers={"Accept": TAXII_MEDIA_TYPE, "X-API-Key": served.alpha_key},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == TAXII_MEDIA_TYPE
    body = response.json()
    assert body["more"] is True
    assert len(body["objects"]) == 3
    first = datetime.fromisoformat(response.headers["X-TAXII-Date-Added-First"])
    last = datetime.fromisoformat(response.headers["X-TAXII-Date-Added-Last"])
    assert (first, last) == (served.bulk[1500][1], served.bulk[1502][1])
    manifest = coll.get_manifest(type="incident", added_after=cut.isoformat(), limit=2)
    assert [m["id"] for m in manifest["objects"]] == [
        incident_stix_id(i) for i, _ in served.bulk[1500:1502]
    ]
    oid = incident_stix_id(served.bulk[0][0])
    versions = coll.object_versions(oid)
    assert versions["versions"] == ["2026-01-01T00:00:00.000Z"]  # its updated_at
    assert coll.get_object(oid)["objects"][0]["id"] == oid


def test_post_an_envelope_and_read_its_status(served: Served) -> None:
    world = served.world
    with open_session(world) as session:
        bravo = principal_of(session, world, "bravo", Role.ANALYST)
        bundle = export_incidents(session, principal=bravo)
    objects = [
        o
        for o in bundle["objects"]
        if o["type"] != "incident" or _silkguard_id(o) == world.incidents[("bravo", TLP.GREEN)]
    ]
    broken = {"type": "incident", "spec_version": "2.1", "id": f"incident--{uuid.uuid4()}"}
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.1']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    coll = _collection(served, served.alpha_key, "Alpha incidents")
    before = datetime.now(UTC) - timedelta(seconds=1)
    status = coll.add_objects({"objects": [*objects, broken, indicator]}, wait_for_completion=False)
    assert status.status == "complete"
    assert status.total_count == len(objects) + 2
    assert status.success_count == len(objects)
    assert {f["id"] for f in status.failures} == {broken["id"], indicator["id"]}
    root = served.server(served.alpha_key).default
    assert root is not None
    again = root.get_status(status.id)
    assert (again.success_count, again.failure_count) == (status.success_count, 2)
    status.refresh()  # through the URL taxii2-client builds (no trailing slash)
    assert status.status == "complete"
    # another organisation cannot read this status
    with pytest.raises(requests.HTTPError) as caught:
        served.server(served.partner_key).default.get_status(status.id)  # type: ignore[union-attr]
    assert caught.value.response.status_code == 404
    new = coll.get_objects(type="incident", added_after=before.isoformat())
    summaries = [o.get("description") for o in new.get("objects", [])]
    assert summaries == ["bravo GREEN test incident"]
    ext = next(iter(new["objects"][0]["extensions"].values()))
    assert ext["status"] == "draft"
    with open_session(world) as session:
        entry = session.execute(
            select(AuditEntry).where(
                AuditEntry.action == "incident.import", AuditEntry.object_id == status.id
            )
        ).scalar_one()
        assert entry.detail["new"] == 1
        assert entry.detail["rejected"] == 1
        assert entry.actor.startswith("key:")
        # the status lives in the database: another worker process, or this server after a
        # restart, reads the same resource
        alpha = principal_of(session, world, "alpha", Role.ANALYST)
        kept = load_status(session, alpha, status.id.upper())
        assert kept["success_count"] == status.success_count
        assert kept["failures"] == status.failures
        with pytest.raises(NotFound):
            load_status(session, principal_of(session, world, "bravo", Role.ANALYST), status.id)


def _taxii(served: Served, path: str, key: str, **headers: str) -> requests.Response:
    token = base64.b64encode(f"x:{key}".encode()).decode()
    sent = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Basic {token}", **headers}
    return requests.get(f"{served.base}/taxii2/{path}", headers=sent, timeout=10)


def test_errors_are_taxii_error_messages(served: Served) -> None:
    wrong = _taxii(served, "", served.alpha_key, Accept="application/json")
    assert wrong.status_code == 406
    assert wrong.headers["Content-Type"] == TAXII_MEDIA_TYPE
    assert wrong.json()["http_status"] == "406"
    anonymous = requests.get(served.discovery, headers={"Accept": TAXII_MEDIA_TYPE}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["title"] == "Authentication required"
    assert "Basic" in anonymous.headers["WWW-Authenticate"]
    bad_key = _taxii(served, "", "sgk_00000000_" + "A" * 43)
    assert bad_key.status_code == 401
    missing = _taxii(served, f"api/collections/{uuid.uuid4()}/objects/", served.alpha_key)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == TAXII_MEDIA_TYPE
    bad_next = _taxii(
        served,
        f"api/collections/{_collection(served, served.alpha_key, 'Alpha incidents').id}/objects/"
        "?next=garbage",
        served.alpha_key,
    )
    assert bad_next.status_code == 422
    assert "next" in bad_next.json()["description"]
    group = _collection(served, served.alpha_key, "kkh (sharing group)")
    posted = requests.post(
        f"{group.url}objects/",
        data=b'{"objects": []}',
        headers={
            "Accept": TAXII_MEDIA_TYPE,
            "Content-Type": TAXII_MEDIA_TYPE,
            "X-API-Key": served.alpha_key,
        },
        timeout=10,
    )
    assert posted.status_code == 403
    assert posted.json()["http_status"] == "403"


def _all_objects(served: Served, key: str) -> dict[str, list[dict[str, Any]]]:
    root = served.server(key).default
    assert root is not None
    return {
        c.title: [
            o for page in as_pages(c.get_objects, per_request=5000) for o in page.get("objects", [])
        ]
        for c in root.collections
    }


def test_strict_and_red_incidents_never_reach_another_organisation(served: Served) -> None:
    world = served.world
    seen = _all_objects(served, served.partner_key)
    text_ids = {o["id"] for objects in seen.values() for o in objects}
    for slug in ("alpha", "bravo"):
        for tlp in (TLP.AMBER_STRICT, TLP.RED):
            assert incident_stix_id(world.incidents[(slug, tlp)]) not in text_ids
        assert incident_stix_id(world.drafts[slug]) not in text_ids
    assert incident_stix_id(world.incidents[("bravo", TLP.AMBER)]) not in text_ids
    group = {_silkguard_id(o) for o in seen["kkh (sharing group)"] if o["type"] == "incident"}
    assert world.incidents[("alpha", TLP.AMBER)] in group  # shared with the group
    assert world.incidents[("alpha", TLP.GREEN)] in group  # a member's GREEN incident
    assert world.incidents[("bravo", TLP.GREEN)] not in group  # bravo is no member
    assert not [o for o in seen["Partner incidents"] if o["type"] == "incident"]


def test_bearer_tokens_version_filters_and_media_types(served: Served) -> None:
    coll = _collection(served, served.alpha_key, "Alpha incidents")
    bearer = requests.get(
        f"{coll.url}objects/",
        params={"match[type]": "incident", "match[version]": "2026-01-01T00:00:00.000Z"},
        headers={"Accept": "application/taxii+json", **served.world.headers("alpha", Role.ANALYST)},
        timeout=10,
    )
    assert bearer.status_code == 200, bearer.text
    (only,) = bearer.json()["objects"]
    assert only["id"] == incident_stix_id(served.bulk[0][0])
    too_many = _taxii(served, f"api/collections/{coll.id}/objects/?limit=-1", served.alpha_key)
    assert too_many.status_code == 422
    plain_json = requests.post(
        f"{coll.url}objects/",
        data=b'{"objects": []}',
        headers={
            "Accept": TAXII_MEDIA_TYPE,
            "Content-Type": "application/json",
            "X-API-Key": served.alpha_key,
        },
        timeout=10,
    )
    assert plain_json.status_code == 415
    assert plain_json.headers["Content-Type"] == TAXII_MEDIA_TYPE
