"""Export, import and the visibility rule on the store (sharing.service)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from silkguard.auth.models import AuditEntry
from silkguard.auth.roles import Role
from silkguard.cli.main import app
from silkguard.cli.store import dispose_engines
from silkguard.core.errors import PermissionDenied
from silkguard.core.tlp import TLP
from silkguard.incidents import review
from silkguard.incidents.models import Incident, SourceRecord
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.sharing.model import StixObjectErrors
from silkguard.sharing.service import export_incidents, import_bundle, source_name_for
from silkguard.sharing.stix_export import incident_stix_id
from tests.sharing_store.conftest import World, open_session, principal_of

runner = CliRunner()


def _exported_ids(bundle: dict[str, Any]) -> set[uuid.UUID]:
    out = set()
    for obj in bundle["objects"]:
        if obj["type"] == "incident":
            ext = next(iter(obj["extensions"].values()))
            out.add(uuid.UUID(ext["silkguard_id"]))
    return out


def _export(world: World, org: str, role: Role) -> dict[str, Any]:
    with open_session(world) as session:
        principal = principal_of(session, world, org, role)
        return export_incidents(session, principal=principal, include_drafts=True)


def test_a_partner_exports_only_what_is_shared_with_it(world: World) -> None:
    got = _exported_ids(_export(world, "partner", Role.PARTNER))
    inc = world.incidents
    expected = {
        inc[("alpha", TLP.CLEAR)],
        inc[("alpha", TLP.GREEN)],
        inc[("alpha", TLP.AMBER)],  # shared with the group alpha + partner
        inc[("bravo", TLP.CLEAR)],
        inc[("bravo", TLP.GREEN)],
    }
    assert got == expected
    text = json.dumps(_export(world, "partner", Role.PARTNER))
    for slug in ("alpha", "bravo"):
        for tlp in (TLP.AMBER_STRICT, TLP.RED):
            assert str(inc[(slug, tlp)]) not in text
            assert incident_stix_id(inc[(slug, tlp)]) not in text
        assert str(world.drafts[slug]) not in text


def test_an_organisation_exports_its_own_strict_incidents_and_drafts(world: World) -> None:
    got = _exported_ids(_export(world, "bravo", Role.ANALYST))
    inc = world.incidents
    assert inc[("bravo", TLP.AMBER_STRICT)] in got
    assert inc[("bravo", TLP.RED)] in got  # its creator
    assert world.drafts["bravo"] in got
    assert inc[("alpha", TLP.AMBER_STRICT)] not in got
    assert inc[("alpha", TLP.AMBER)] not in got  # bravo is not in the group
    assert inc[("alpha", TLP.RED)] not in got
    assert world.drafts["alpha"] not in got
    # the RED incident is seen only by its creator, not the organisation's admin
    assert inc[("bravo", TLP.RED)] not in _exported_ids(_export(world, "bravo", Role.ADMIN))


def test_red_of_another_organisation_is_never_exported_even_to_a_recipient(
    fresh_world: World,
) -> None:
    world = fresh_world
    recipient = world.users[("partner", Role.PARTNER)]
    with open_session(world) as session:
        author = principal_of(session, world, "alpha", Role.ANALYST)
        red = review.create_draft(
            session,
            principal=author,
            data=IncidentCreate(
                occurred_at=datetime(2024, 6, 1, 8, tzinfo=UTC),
                attack_type=AttackType.KIDNAPPING,
                target_type=TargetType.FOREIGNERS,
                latitude=35.0,
                longitude=72.9,
                place="Besham",
                tlp=TLP.RED,
                recipients=[recipient],
            ),
        )
        review.confirm(session, principal=author, incident_id=red.id)
        red_id = red.id
    got = _exported_ids(_export(world, "partner", Role.PARTNER))
    assert red_id not in got
    assert world.incidents[("alpha", TLP.GREEN)] in got


def test_staff_may_not_export(world: World) -> None:
    with open_session(world) as session:
        principal = principal_of(session, world, "alpha", Role.STAFF)
        with pytest.raises(PermissionDenied):
            export_incidents(session, principal=principal)


def _count(world: World, org: str) -> int:
    with open_session(world) as session:
        stmt = select(func.count()).select_from(Incident).where(Incident.org_id == world.orgs[org])
        return int(session.execute(stmt).scalar_one())


def test_round_trip_into_another_organisation(fresh_world: World) -> None:
    world = fresh_world
    bundle = _export(world, "alpha", Role.ANALYST)
    sent = _exported_ids(bundle)
    # alpha's five confirmed (RED: its creator) and its draft; bravo's CLEAR and GREEN
    assert len(sent) == 8
    assert _count(world, "partner") == 0
    with open_session(world) as session:
        principal = principal_of(session, world, "partner", Role.ANALYST)
        first = import_bundle(session, principal=principal, data=json.dumps(bundle))
    assert (first.new, first.merged, first.unchanged) == (8, 0, 0)
    assert not first.errors
    with open_session(world) as session:
        rows = list(
            session.execute(
                select(Incident).where(Incident.org_id == world.orgs["partner"])
            ).scalars()
        )
        assert {r.status for r in rows} == {"draft"}
        assert not {r.id for r in rows} & sent  # new incidents of their own
        by_summary = {r.summary: r for r in rows}
        amber = by_summary["alpha AMBER test incident"]
        assert amber.tlp == "AMBER"
        assert amber.attack_type == "ied"
        assert amber.place == "Besham"
        (record,) = amber.sources
        assert record.source_kind == "stix"
        assert record.source_name == source_name_for(world.orgs["partner"])
        assert record.external_id == str(world.incidents[("alpha", TLP.AMBER)])
        assert record.raw["organisation"]["name"] == "Alpha"
        assert record.raw["stix_id"] == incident_stix_id(world.incidents[("alpha", TLP.AMBER)])
        assert record.raw["sources"][0]["kind"] == "field"
    with open_session(world) as session:
        principal = principal_of(session, world, "partner", Role.ANALYST)
        again = import_bundle(session, principal=principal, data=bundle)
    assert (again.new, again.merged, again.unchanged) == (0, 0, 8)
    assert _count(world, "partner") == 8
    # the owner's own incidents coming back change nothing; bravo's two are new to alpha
    with open_session(world) as session:
        principal = principal_of(session, world, "alpha", Role.ANALYST)
        own = import_bundle(session, principal=principal, data=bundle)
    assert (own.new, own.merged, own.unchanged) == (2, 0, 6)


def test_a_partner_report_of_the_same_event_is_merged_not_duplicated(
    fresh_world: World,
) -> None:
    world = fresh_world
    bundle = _export(world, "alpha", Role.ANALYST)
    green = incident_stix_id(world.incidents[("alpha", TLP.GREEN)])
    # bravo has its own report of the event of alpha's GREEN incident (2024-03-02, Besham)
    with open_session(world) as session:
        bravo = principal_of(session, world, "bravo", Role.ANALYST)
        mine = review.create_draft(
            session,
            principal=bravo,
            data=IncidentCreate(
                occurred_at=datetime(2024, 3, 2, 11, tzinfo=UTC),
                attack_type=AttackType.BOMBING,
                target_type=TargetType.CONVOY,
                latitude=34.915,
                longitude=72.81,
                place="Besham",
                tlp=TLP.GREEN,
            ),
        )
        mine_id = mine.id
    only_green = {
        **bundle,
        "objects": [o for o in bundle["objects"] if o["type"] != "incident" or o["id"] == green],
    }
    with open_session(world) as session:
        bravo = principal_of(session, world, "bravo", Role.ANALYST)
        report = import_bundle(session, principal=bravo, data=only_green)
    assert (report.new, report.merged) == (0, 1)
    assert report.incident_ids == [mine_id]
    with open_session(world) as session:
        kinds = sorted(
            session.execute(
                select(SourceRecord.source_kind).where(SourceRecord.incident_id == mine_id)
            ).scalars()
        )
    assert kinds == ["field", "stix"]


def _broken(bundle: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out = copy.deepcopy(bundle)
    incidents = [o for o in out["objects"] if o["type"] == "incident"]
    incidents[0]["created"] = "yesterday"
    incidents[1]["spec_version"] = "2.0"
    return out, [incidents[0]["id"], incidents[1]["id"]]


def test_a_broken_bundle_stores_nothing_and_names_each_broken_object(
    fresh_world: World,
) -> None:
    world = fresh_world
    bad, broken = _broken(_export(world, "alpha", Role.ANALYST))
    with open_session(world) as session:
        principal = principal_of(session, world, "partner", Role.ANALYST)
        with pytest.raises(StixObjectErrors) as caught:
            import_bundle(session, principal=principal, data=bad)
    assert sorted(e.object_id for e in caught.value.errors) == sorted(broken)
    for oid in broken:
        assert oid in caught.value.msg
    assert _count(world, "partner") == 0
    with open_session(world) as session:
        principal = principal_of(session, world, "partner", Role.ANALYST)
        report = import_bundle(session, principal=principal, data=bad, skip_bad=True)
    assert report.new == 6
    assert sorted(e.object_id for e in report.errors) == sorted(broken)
    assert _count(world, "partner") == 6


def test_share_commands(fresh_world: World, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    world = fresh_world
    monkeypatch.setenv("SILKGUARD_DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("SILKGUARD_ENVIRONMENT", "test")
    monkeypatch.setenv("SILKGUARD_SECRET_KEY", "cli-test-secret-" + "k" * 40)
    try:
        out = tmp_path / "alpha.json"
        done = runner.invoke(
            app,
            [
                "share",
                "export",
                "--as",
                "alpha.analyst",
                "--out",
                str(out),
                "--since",
                "2000-01-01",
            ],
        )
        assert done.exit_code == 0, done.output
        assert "7 incidents" in done.stdout  # confirmed only without --drafts
        bad, broken = _broken(json.loads(out.read_text(encoding="utf-8")))
        bad_file = tmp_path / "bad.json"
        bad_file.write_text(json.dumps(bad), encoding="utf-8")
        refused = runner.invoke(app, ["share", "import", str(bad_file), "--as", "partner.analyst"])
        assert refused.exit_code == 2
        for oid in broken:
            assert oid in refused.output
        assert _count(world, "partner") == 0
        partial = runner.invoke(
            app, ["share", "import", str(bad_file), "--as", "partner.analyst", "--skip-bad"]
        )
        assert partial.exit_code == 0, partial.output
        assert "5 new draft incidents" in partial.stdout
        with open_session(world) as session:
            (entry,) = session.execute(
                select(AuditEntry).where(AuditEntry.action == "incident.import")
            ).scalars()
            assert entry.detail["new"] == 5
            assert entry.actor == f"user:{world.users[('partner', Role.ANALYST)]}"
        listed = runner.invoke(app, ["share", "collections", "--as", "partner.partner"])
        assert listed.exit_code == 0, listed.output
        assert "Partner incidents" in listed.stdout
        assert "kkh (sharing group)" in listed.stdout
    finally:
        dispose_engines()
