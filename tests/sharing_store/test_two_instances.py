"""Two silkguard instances on loopback (issue 9). Instance A is a project security department
that shares AMBER incidents with a sharing group that includes the organisation of instance B
(an embassy's security office). B subscribes to the group's TAXII collection on A with the API
key A issued to it and pulls, with the real ``silkguard`` CLI and ``silkguard serve`` processes.

B gets exactly what the group may see; A's AMBER+STRICT and RED incidents, and the AMBER one
it did not share, never reach B through TAXII, export or any API route with B's key. A second
pull fetches only what changed; a pull with a wrong key fails cleanly and stores nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session
from taxii2client.v21 import Server

from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.core.access import Principal
from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.tlp import TLP
from silkguard.incidents import review as incidents_review
from silkguard.incidents.models import Incident, SourceRecord
from silkguard.incidents.schemas import IncidentCreate, IncidentUpdate
from silkguard.incidents.vocab import AttackType, SourceKind, TargetType
from silkguard.migrations import upgrade
from silkguard.sharing.models import TaxiiSubscription
from tests.conftest import empty_database

SECRET_A = "instance-a-secret-" + "a" * 40
SECRET_B = "instance-b-secret-" + "b" * 40
PASSWORD = "two-instances-password-9"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    url: str  # database
    secret: str
    base: str = ""
    proc: subprocess.Popen[bytes] | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "SILKGUARD_DATABASE_URL": self.url,
            "SILKGUARD_SECRET_KEY": self.secret,
            "SILKGUARD_ENVIRONMENT": "test",
            **extra,
        }
        env.pop("SILKGUARD_JOBS_URL", None)
        return env

    def cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "silkguard", *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def serve(self, log: Path) -> None:
        port = _free_port()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "silkguard", "serve", "--port", str(port)],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"silkguard serve exited early:\n{log.read_text()}")
            try:
                if requests.get(f"{self.base}/api/v1/health", timeout=2).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        pytest.fail(f"silkguard serve did not answer within 60 s:\n{log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def session(self) -> Iterator[Session]:
        engine = make_engine(self.url)
        try:
            with session_scope(make_session_factory(engine)) as session:
                yield session
        finally:
            engine.dispose()


@dataclass
class Pair:
    a: Instance
    b: Instance
    a_org: uuid.UUID
    a_analyst: Principal
    group_id: uuid.UUID
    key_for_b: str  # issued by A to B's organisation (role partner)
    b_key: str  # B's own analyst key on B
    shared: list[uuid.UUID]  # AMBER, shared with the group
    public: list[uuid.UUID]  # CLEAR and GREEN of A (the group sees its members' open ones)
    withheld: dict[str, uuid.UUID]  # never to reach B


def _incident(
    session: Session, principal: Principal, tlp: TLP, n: int, groups: list[uuid.UUID]
) -> uuid.UUID:
    data = IncidentCreate(
        occurred_at=datetime(2024, 3, 26, 13, tzinfo=UTC) + timedelta(days=n),
        attack_type=AttackType.SUICIDE_BOMBING,
        target_type=TargetType.CONVOY,
        latitude=34.92 + 0.05 * n,
        longitude=72.87 + 0.05 * n,
        place="Besham",
        tlp=tlp,
        killed=n,
        summary=f"A-{tlp.value}-{n}: convoy attacked on the Karakoram Highway",
        share_with_groups=groups,
    )
    inc = incidents_review.create_draft(session, principal=principal, data=data)
    incidents_review.confirm(session, principal=principal, incident_id=inc.id)
    return inc.id


def _seed_a(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    try:
        with session_scope(make_session_factory(engine)) as session:
            org = auth_service.create_org(session, slug="dasu-security", name="Dasu Security")
            embassy = auth_service.create_org(
                session, slug="embassy-rso", name="Embassy RSO", kind="partner"
            )
            analyst = auth_service.create_user(
                session, org_id=org.id, username="a.analyst", password=PASSWORD, role=Role.ANALYST
            )
            group = auth_service.create_sharing_group(
                session, name="kkh-partners", owner_org_id=org.id
            )
            auth_service.add_group_member(session, group_id=group.id, org_id=embassy.id)
            principal = Principal(
                org_id=org.id,
                role=Role.ANALYST.value,
                user_id=analyst.id,
                group_ids=frozenset({group.id}),
            )
            shared = [_incident(session, principal, TLP.AMBER, n, [group.id]) for n in (1, 2)]
            public = [
                _incident(session, principal, TLP.CLEAR, 3, []),
                _incident(session, principal, TLP.GREEN, 4, []),
            ]
            withheld = {
                "AMBER not shared": _incident(session, principal, TLP.AMBER, 5, []),
                # a marking the group may not see, even if someone shared it with the group
                "AMBER+STRICT": _incident(session, principal, TLP.AMBER_STRICT, 6, [group.id]),
                "RED": _incident(session, principal, TLP.RED, 7, [group.id]),
            }
            _, key_for_b = auth_service.create_api_key(
                session, org_id=embassy.id, name="embassy-taxii", role=Role.PARTNER
            )
            return {
                "a_org": org.id,
                "a_analyst": principal,
                "group_id": group.id,
                "key_for_b": key_for_b,
                "shared": shared,
                "public": public,
                "withheld": withheld,
            }
    finally:
        engine.dispose()


def _seed_b(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)
    try:
        with session_scope(make_session_factory(engine)) as session:
            org = auth_service.create_org(
                session, slug="embassy", name="Embassy Security Office", kind="partner"
            )
            auth_service.create_user(
                session, org_id=org.id, username="b.analyst", password=PASSWORD, role=Role.ANALYST
            )
            _, key = auth_service.create_api_key(
                session, org_id=org.id, name="b-reader", role=Role.ANALYST
            )
            return key
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pair(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp_a, tmp_b = tmp_path_factory.mktemp("instance-a"), tmp_path_factory.mktemp("instance-b")
    with empty_database(database_url, tmp_a) as url_a, empty_database(database_url, tmp_b) as url_b:
        seeded = _seed_a(url_a)
        b_key = _seed_b(url_b)
        a, b = Instance(url_a, SECRET_A), Instance(url_b, SECRET_B)
        a.serve(tmp_a / "serve.log")
        try:
            yield Pair(a=a, b=b, b_key=b_key, **seeded)
        finally:
            a.stop()
            b.stop()


def _group_collection_url(pair: Pair) -> str:
    """What B's administrator does first: discovery on A with the key A issued, and the
    collection of the sharing group."""
    server = Server(f"{pair.a.base}/taxii2/", user="embassy", password=pair.key_for_b)
    root = server.default
    assert root is not None
    found = [c for c in root.collections if c.title.startswith("kkh-partners")]
    assert len(found) == 1, [c.title for c in root.collections]
    return str(found[0].url)


def _pulled(pair: Pair) -> dict[str, list[Incident]]:
    """B's incidents by the A incident id their TAXII source records name."""
    out: dict[str, list[Incident]] = {}
    for session in pair.b.session():
        rows = session.execute(
            select(SourceRecord.external_id, Incident)
            .join(Incident, Incident.id == SourceRecord.incident_id)
            .where(SourceRecord.source_kind == SourceKind.STIX.value)
        ).all()
        for external_id, incident in rows:
            out.setdefault(external_id, []).append(incident)
        session.expunge_all()
    return out


def _check(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_b_pulls_what_the_group_may_see_and_nothing_else(pair: Pair) -> None:
    url = _group_collection_url(pair)
    _check(
        pair.b.cli(
            "share",
            "subscribe",
            "dasu-kkh",
            "--url",
            url,
            "--as",
            "b.analyst",
            "--key-env",
            "KKH_KEY",
            "--every",
            "1440",
            KKH_KEY=pair.key_for_b,
        )
    )
    out = _check(pair.b.cli("share", "pull", "dasu-kkh", "--as", "b.analyst"))
    assert "4 new draft incidents" in out, out
    pulled = _pulled(pair)
    expected = {str(i) for i in [*pair.shared, *pair.public]}
    assert set(pulled) == expected
    assert all(len(v) == 1 for v in pulled.values())  # one draft each, no duplicates
    for name, incident_id in pair.withheld.items():
        assert str(incident_id) not in pulled, f"A's {name} incident reached B"
    for session in pair.b.session():
        record = session.execute(
            select(SourceRecord).where(SourceRecord.external_id == str(pair.shared[0]))
        ).scalar_one()
        assert record.raw["received"]["subscription"] == "dasu-kkh"
        assert record.raw["received"]["collection"] == url
        assert record.raw["organisation"]["name"] == "Dasu Security"
        draft = session.get_one(Incident, record.incident_id)
        assert (draft.status, draft.tlp) == ("draft", TLP.AMBER.value)  # reviewed before use
        sub = session.execute(select(TaxiiSubscription)).scalar_one()
        assert sub.added_after
        assert sub.failures == 0
        assert pair.key_for_b not in sub.secret  # stored encrypted


def test_a_second_pull_fetches_only_what_changed(pair: Pair) -> None:
    before = _pulled(pair)
    assert before, "the first test pulls first"
    out = _check(pair.b.cli("share", "pull", "dasu-kkh", "--as", "b.analyst"))
    assert "0 objects in 1 pages" in out, out
    for session in pair.a.session():
        fresh = _incident(session, pair.a_analyst, TLP.AMBER, 8, [pair.group_id])
        inc = session.get_one(Incident, pair.shared[0])
        incidents_review.update(
            session,
            principal=pair.a_analyst,
            incident_id=inc.id,
            data=IncidentUpdate(killed=9),
            if_match=f'"{inc.version}"',
        )
        secret = _incident(session, pair.a_analyst, TLP.RED, 9, [pair.group_id])
    out = _check(pair.b.cli("share", "pull", "dasu-kkh", "--as", "b.analyst"))
    assert "1 new draft incidents" in out, out
    assert "1 updated" in out, out
    after = _pulled(pair)
    assert set(after) == set(before) | {str(fresh)}
    assert str(secret) not in after
    for session in pair.b.session():
        record = session.execute(
            select(SourceRecord).where(SourceRecord.external_id == str(pair.shared[0]))
        ).scalar_one()
        assert record.normalized["killed"] == 9
    listing = _check(pair.b.cli("share", "subscriptions", "--as", "b.analyst"))
    assert "dasu-kkh" in listing
    assert "ok:" in listing


def test_nothing_closed_reaches_b_through_any_route_of_a(pair: Pair) -> None:
    headers = {"X-API-Key": pair.key_for_b}
    closed = {str(i) for i in pair.withheld.values()}
    bodies = []
    for path in (
        "/api/v1/incidents?limit=1000",
        "/api/v1/incidents?limit=1000&format=geojson",
        "/api/v1/incidents?limit=1000&q=convoy",
        "/api/v1/incidents/export.csv",
    ):
        response = requests.get(pair.a.base + path, headers=headers, timeout=30)
        assert response.status_code == 200, (path, response.text[:300])
        bodies.append(response.text)
    for incident_id in closed:
        response = requests.get(
            f"{pair.a.base}/api/v1/incidents/{incident_id}", headers=headers, timeout=30
        )
        assert response.status_code == 404, incident_id
    taxii = {"Accept": "application/taxii+json;version=2.1", **headers}
    collections = requests.get(
        f"{pair.a.base}/taxii2/api/collections/", headers=taxii, timeout=30
    ).json()["collections"]
    for coll in collections:
        page = requests.get(
            f"{pair.a.base}/taxii2/api/collections/{coll['id']}/objects/",
            headers=taxii,
            timeout=30,
        )
        if page.status_code == 200:
            bodies.append(page.text)
    seen = "\n".join(bodies)
    assert str(pair.shared[0]) in seen  # the check can see something
    for incident_id in closed:
        assert incident_id not in seen


def test_a_wrong_key_fails_cleanly_and_stores_nothing(pair: Pair) -> None:
    url = _group_collection_url(pair)
    _check(
        pair.b.cli(
            "share",
            "subscribe",
            "wrong-key",
            "--url",
            url,
            "--as",
            "b.analyst",
            "--key-env",
            "KKH_KEY",
            KKH_KEY="sg_not-a-real-key",
        )
    )
    before = {k: [(i.id, i.version) for i in v] for k, v in _pulled(pair).items()}
    result = pair.b.cli("share", "pull", "wrong-key", "--as", "b.analyst")
    assert result.returncode != 0
    assert "HTTP 401" in result.stderr, result.stderr
    assert "new API key" in result.stderr, result.stderr
    assert {k: [(i.id, i.version) for i in v] for k, v in _pulled(pair).items()} == before
    for session in pair.b.session():
        sub = session.execute(
            select(TaxiiSubscription).where(TaxiiSubscription.name == "wrong-key")
        ).scalar_one()
        assert sub.failures == 1
        assert sub.last_outcome.startswith("failed:")
        assert sub.added_after is None


def test_b_serves_the_pulled_drafts_to_its_own_users(pair: Pair, tmp_path: Path) -> None:
    pair.b.serve(tmp_path / "serve-b.log")
    response = requests.get(
        f"{pair.b.base}/api/v1/incidents?limit=100&status=draft",
        headers={"X-API-Key": pair.b_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:300]
    summaries = {item["summary"] for item in response.json()["items"]}
    assert "A-AMBER-1: convoy attacked on the Karakoram Highway" in summaries
    assert not any(s.startswith(("A-AMBER+STRICT", "A-RED")) for s in summaries)
