"""TAXII pulls without a remote server: subscription checks, a pull that fails part-way
stores nothing and backs off, the bookmark, the wrong secret key, and the scheduled job
(``sharing.pull``) surviving an unreachable partner. The end-to-end pull between two real
instances is tests/sharing_store/test_two_instances.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from silkguard.auth.models import AuditEntry, User
from silkguard.auth.roles import Role
from silkguard.core.db import make_engine, make_session_factory
from silkguard.core.errors import Conflict, InvalidInput
from silkguard.incidents.models import Incident, SourceRecord
from silkguard.sharing import pull as taxii_pull
from silkguard.sharing.models import TaxiiSubscription
from silkguard.sharing.service import export_incidents
from silkguard.worker.tasks import Deployment
from tests.sharing_store.conftest import World, open_session, principal_of

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
URL = "https://partner.example/taxii2/api/collections/group-1/"
KEY = "remote-key-" + "r" * 30


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def _subscribe(world: World, *, name: str = "feed", url: str = URL, every: int = 15) -> Any:
    with open_session(world) as session:
        user = session.get_one(User, world.users[("bravo", Role.ANALYST)])
        sub = taxii_pull.subscribe(
            session,
            run_as=user,
            name=name,
            url=url,
            credential=KEY,
            secret_key=world.settings.secret_key,
            interval_minutes=every,
        )
        return sub.id


def _alpha_objects(world: World) -> list[dict[str, Any]]:
    """What a partner's collection would serve: alpha's shareable incidents as STIX."""
    with open_session(world) as session:
        bundle = export_incidents(
            session, principal=principal_of(session, world, "alpha", Role.ANALYST)
        )
    return list(bundle["objects"])


@contextmanager
def _factory(world: World) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(world.settings.database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def _counts(world: World) -> tuple[int, int]:
    with open_session(world) as session:
        return (
            session.execute(select(func.count()).select_from(Incident)).scalar_one(),
            session.execute(select(func.count()).select_from(SourceRecord)).scalar_one(),
        )


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"url": "ftp://x/collections/1/"}, "url", "http(s) URL"),
        ({"url": "https://partner.example/taxii2/"}, "url", "collection URL"),
        ({"name": "Bad Name!"}, "name", "lower-case"),
        ({"credential": "  "}, "credential", "empty"),
        ({"interval_minutes": 0}, "interval_minutes", "out of range"),
        ({"role": Role.STAFF}, "run_as", "may not create incidents"),
    ],
)
def test_subscribe_refuses_bad_input_with_the_field(
    fresh_world: World, changes: dict[str, Any], field: str, words: str
) -> None:
    role = changes.pop("role", Role.ANALYST)
    args: dict[str, Any] = {
        "name": "feed",
        "url": URL,
        "credential": KEY,
        "interval_minutes": 15,
        **changes,
    }
    with open_session(fresh_world) as session:
        user = session.get_one(User, fresh_world.users[("bravo", role)])
        with pytest.raises(InvalidInput) as caught:
            taxii_pull.subscribe(
                session, run_as=user, secret_key=fresh_world.settings.secret_key, **args
            )
    assert caught.value.field == field
    assert words in caught.value.msg


def test_a_name_is_taken_once_unless_replaced_and_a_new_url_resets_the_bookmark(
    fresh_world: World,
) -> None:
    sub_id = _subscribe(fresh_world)
    with open_session(fresh_world) as session:
        session.get_one(TaxiiSubscription, sub_id).added_after = "2026-01-01T00:00:00.000000Z"
    with pytest.raises(Conflict):
        _subscribe(fresh_world)
    with open_session(fresh_world) as session:
        user = session.get_one(User, fresh_world.users[("bravo", Role.ANALYST)])
        same = taxii_pull.subscribe(
            session,
            run_as=user,
            name="FEED",
            url=URL.replace("group-1", "group-2"),
            credential=KEY,
            secret_key=fresh_world.settings.secret_key,
            replace=True,
        )
        assert same.id == sub_id
        assert same.added_after is None


def test_a_pull_that_fails_part_way_stores_nothing_and_backs_off(fresh_world: World) -> None:
    sub_id = _subscribe(fresh_world, every=10)
    objects = _alpha_objects(fresh_world)
    before = _counts(fresh_world)

    def broken(_sub: TaxiiSubscription, credential: str) -> Iterator[tuple[list[Any], str]]:
        assert credential == KEY  # decrypted for the request only
        yield objects, "2026-12-01T00:00:00.000000Z"
        raise requests.ConnectionError("connection reset by peer")

    with _factory(fresh_world) as factory, pytest.raises(taxii_pull.PullFailed) as caught:
        taxii_pull.pull_and_record(
            factory, sub_id, secret_key=fresh_world.settings.secret_key, now=NOW, fetch=broken
        )
    assert "cannot connect" in caught.value.msg
    assert _counts(fresh_world) == before  # the first page was rolled back too
    with open_session(fresh_world) as session:
        sub = session.get_one(TaxiiSubscription, sub_id)
        assert (sub.failures, sub.added_after) == (1, None)
        assert sub.last_outcome.startswith("failed: https://partner.example")
        # one failure doubles the wait: not due after 10 minutes, due after 20
        later = NOW + timedelta(minutes=10)
        assert sub_id not in taxii_pull.due_subscriptions(session, now=later)
        assert sub_id in taxii_pull.due_subscriptions(session, now=later + timedelta(minutes=10))


def test_a_pull_stores_drafts_and_moves_the_bookmark(fresh_world: World) -> None:
    sub_id = _subscribe(fresh_world)
    objects = _alpha_objects(fresh_world)
    incidents = sum(1 for o in objects if o["type"] == "incident")
    assert incidents > 0

    def pages(_sub: TaxiiSubscription, _credential: str) -> Iterator[tuple[list[Any], str | None]]:
        yield objects[:5], "2026-12-01T00:00:00.000000Z"
        yield objects[5:], "2026-12-02T00:00:00.000000Z"
        yield [], None  # an empty last page keeps the bookmark

    with _factory(fresh_world) as factory:
        report = taxii_pull.pull_and_record(
            factory, sub_id, secret_key=fresh_world.settings.secret_key, now=NOW, fetch=pages
        )
        again = taxii_pull.pull_and_record(
            factory, sub_id, secret_key=fresh_world.settings.secret_key, now=NOW, fetch=pages
        )
    assert (report.pages, report.objects) == (3, len(objects))
    # bravo's own open incidents, which alpha sees too, come back unchanged
    assert report.new + report.merged + report.unchanged == incidents
    assert report.new > 0
    assert report.added_after == "2026-12-02T00:00:00.000000Z"
    with open_session(fresh_world) as session:
        sub = session.get_one(TaxiiSubscription, sub_id)
        assert sub.added_after == report.added_after
        assert sub.last_outcome.startswith("ok:")
        entries = list(
            session.execute(select(AuditEntry).where(AuditEntry.object_id == str(sub_id))).scalars()
        )
        assert len(entries) == 2  # one per pull
        assert {e.detail["via"] for e in entries} == {"taxii-pull"}
        assert {e.org_id for e in entries} == {fresh_world.orgs["bravo"]}
        received = session.execute(
            select(SourceRecord.raw).where(SourceRecord.source_name.like("stix:%"))
        ).scalars()
        assert {r["received"]["subscription"] for r in received} == {"feed"}
    assert again.new == 0  # the same objects again change nothing
    assert again.unchanged == incidents


def test_a_changed_secret_key_is_a_clear_failure(fresh_world: World) -> None:
    sub_id = _subscribe(fresh_world)
    with open_session(fresh_world) as session, pytest.raises(taxii_pull.PullFailed) as caught:
        taxii_pull.pull(session, sub_id, secret_key="another-" + "s" * 40, now=NOW)
    assert "SILKGUARD_SECRET_KEY" in caught.value.msg
    assert "--replace" in caught.value.msg


def test_the_scheduled_job_records_an_unreachable_partner_and_goes_on(fresh_world: World) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/taxii2/api/collections/x/"
    first = _subscribe(fresh_world, name="down", url=dead)
    second = _subscribe(fresh_world, name="also-down", url=dead)
    with _factory(fresh_world) as factory:
        deployment = Deployment(settings=fresh_world.settings, factory=factory, senders={})
        deployment.pull_feeds()  # no exception escapes the job
    with open_session(fresh_world) as session:
        for sub_id in (first, second):
            sub = session.get_one(TaxiiSubscription, sub_id)
            assert sub.failures == 1
            assert "cannot connect" in sub.last_outcome
