"""`silkguard movements ...` after `silkguard demo`: request, approve, start, check in, arrive."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from silkguard.cli.main import app

runner = CliRunner()
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ONE_APPROVAL = """
version = 1
name = "test"
revision = 1

[[rule]]
id = "sign-off"
description = "Every movement is signed off"
approvals = 1
"""


def _request(policy: Path | None = None) -> str:
    args = [
        "movements",
        "request",
        "Lahore",
        "Multan",
        "--as",
        "ayesha.khan",
        "--depart",
        "2030-01-10T03:00:00Z",
        "--arrive",
        "2030-01-10T08:00:00Z",
        "--vehicles",
        "2",
        "--party",
        "5",
    ]
    if policy is not None:
        args += ["--policy", str(policy)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    found = UUID.search(result.stdout)
    assert found is not None, result.stdout
    return found.group(0)


def test_a_movement_from_request_to_arrival(demo: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(ONE_APPROVAL, encoding="utf-8")
    movement = _request(policy)
    shown = runner.invoke(app, ["movements", "show", movement, "--as", "ayesha.khan"])
    assert "submitted" in shown.stdout
    assert "rule sign-off" in shown.stdout
    own = runner.invoke(app, ["movements", "approve", movement, "--as", "ayesha.khan"])
    assert own.exit_code != 0
    approved = runner.invoke(app, ["movements", "approve", movement, "--as", "zhang.min"])
    assert approved.exit_code == 0, approved.output
    assert ": approved" in approved.stdout
    for cmd in (["start"], ["checkin", "--at", "30.9,73.0", "--note", "Okara"], ["arrive"]):
        step = runner.invoke(app, ["movements", cmd[0], movement, "--as", "ayesha.khan", *cmd[1:]])
        assert step.exit_code == 0, step.output
    record = runner.invoke(app, ["movements", "show", movement, "--as", "ayesha.khan", "--json"])
    data = json.loads(record.stdout)
    kinds = [e["kind"] for e in data["events"]]
    assert "approval" in kinds
    assert "check_in" in kinds
    assert data["state"] == "arrived"
    assert data["arrived_at"] is not None
    board = runner.invoke(app, ["movements", "board", "--as", "zhang.min"])
    assert movement in board.stdout
    other_org = runner.invoke(app, ["movements", "board", "--as", "bilal.ahmed"])
    assert movement not in other_org.stdout


def test_without_a_forecast_a_quiet_movement_is_approved_at_once(demo: str) -> None:
    movement = _request()
    shown = runner.invoke(app, ["movements", "show", movement, "--as", "zhang.min"])
    assert ": approved" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["movements", "board", "--as", "nobody"], "nobody"),
        (["movements", "show", "not-a-uuid", "--as", "zhang.min"], "is not a UUID"),
        (
            [
                "movements",
                "checkin",
                "00000000-0000-0000-0000-000000000000",
                "--as",
                "zhang.min",
                "--at",
                "here",
            ],
            "--at 'here' must be LAT,LON",
        ),
    ],
)
def test_bad_input(demo: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in result.stderr


def test_overdue_check_runs(demo: str) -> None:
    result = runner.invoke(app, ["movements", "overdue", "--grace", "30m"])
    assert result.exit_code == 0, result.output
    assert "0 movement(s) newly overdue" in result.stdout


def test_the_organisation_policy_from_the_command_line(demo: str, tmp_path: Path) -> None:
    shown = runner.invoke(app, ["movements", "policy", "--as", "ayesha.khan"])
    assert shown.exit_code == 0, shown.output
    assert "forbid-level-6" in shown.stdout
    policy = tmp_path / "policy.toml"
    policy.write_text(ONE_APPROVAL.replace("revision = 1", "revision = 2"), encoding="utf-8")
    refused = runner.invoke(app, ["movements", "policy", str(policy), "--as", "ayesha.khan"])
    assert refused.exit_code != 0
    assert "movement.policy" in refused.output
    stored = runner.invoke(app, ["movements", "policy", str(policy), "--as", "hamza.qureshi"])
    assert stored.exit_code == 0, stored.output
    assert "revision 2 is in force" in stored.stdout
    again = runner.invoke(app, ["movements", "policy", str(policy), "--as", "hamza.qureshi"])
    assert again.exit_code != 0
    assert "revision = 3" in again.output
    # requests without --policy are now decided by the stored revision
    movement = _request()
    decided = runner.invoke(app, ["movements", "show", movement, "--as", "ayesha.khan"])
    assert "rule sign-off" in decided.stdout


def test_patterns_of_three_identical_requests(demo: str) -> None:
    empty = runner.invoke(app, ["movements", "patterns", "--as", "ayesha.khan"])
    assert empty.exit_code == 0, empty.output
    assert "no pair travelled 3 or more times" in empty.stdout
    for _ in range(3):
        _request()
    shown = runner.invoke(
        app, ["movements", "patterns", "--as", "ayesha.khan", "--days", "3650"], terminal_width=200
    )
    assert shown.exit_code == 0, shown.output
    assert "Lahore" in shown.stdout
    assert "1.00" in shown.stdout  # the same hour, day and road three times
    assert "08:00 and 09:00 PKT" in shown.stdout
