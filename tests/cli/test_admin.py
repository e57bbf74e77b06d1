"""``silkguard orgs|users|keys|audit``: exact messages and exit codes, on a fresh database."""

from __future__ import annotations

import shlex

import pytest
from click.testing import Result
from sqlalchemy import update
from typer.testing import CliRunner

from silkguard.auth.models import AuditEntry
from silkguard.cli.main import app
from silkguard.core.db import make_engine

runner = CliRunner()
PASSWORD = "correct horse 42 battery"


def _run(command: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, shlex.split(command), input=stdin)


def _ok(command: str, stdin: str | None = None) -> str:
    result = _run(command, stdin)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _setup() -> None:
    _ok("orgs add corridor-power 'Corridor Power Holdings'")
    _ok("orgs add police-liaison 'Police Liaison Cell' --kind partner")


def test_orgs_add_and_list(cli_env: str) -> None:
    added = _ok("orgs add corridor-power 'Corridor Power Holdings' --country CN")
    assert added.startswith("organisation corridor-power added (operator, CN): ")
    _ok("orgs add police-liaison 'Police Liaison Cell' --kind partner")
    listed = _ok("orgs list")
    assert "corridor-power" in listed
    assert "Police Liaison Cell" in listed
    assert "partner" in listed
    again = _run("orgs add corridor-power Again")
    assert again.exit_code == 4
    assert again.stderr == "Error: organisation slug 'corridor-power' is taken; choose another\n"


def test_users_add_list_disable(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup()
    added = _ok(
        "users add Li.Wei --org corridor-power --role analyst --full-name 'Li Wei' "
        "--language en --language zh --password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.startswith("user li.wei added to corridor-power as analyst: ")

    monkeypatch.setenv("SILKGUARD_NEW_PASSWORD", PASSWORD)
    _ok("users add ayesha.khan --org corridor-power --role approver")
    monkeypatch.delenv("SILKGUARD_NEW_PASSWORD")
    prompted = _ok(
        "users add omar --org police-liaison --role partner", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert "user omar added to police-liaison as partner" in prompted
    assert PASSWORD not in prompted  # the prompt hides what is typed

    weak = _run(
        "users add bilal --org corridor-power --role staff --password-stdin", stdin="password\n"
    )
    assert weak.exit_code == 2
    assert weak.stderr.startswith("Error: password is 8 characters long; use at least 12")
    unknown_org = _run(
        "users add bilal --org nowhere --role staff --password-stdin", stdin=PASSWORD + "\n"
    )
    assert unknown_org.exit_code == 3
    assert "no organisation has the slug 'nowhere'" in unknown_org.stderr

    listed = _ok("users list --org corridor-power")
    assert "li.wei" in listed
    assert "ayesha.khan" in listed
    assert "omar" not in listed
    disabled = _ok("users disable li.wei")
    assert disabled == "user li.wei disabled; their refresh tokens are revoked\n"
    assert "disabled" in _ok("users list")


def test_keys_create_list_revoke(cli_env: str) -> None:
    _setup()
    created = _run(
        "keys create --org police-liaison --name 'taxii pull' --role partner "
        "--scope incident.read --expires-days 30"
    )
    assert created.exit_code == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("sgk_")
    prefix = key.split("_")[1]
    assert f"API key {prefix} (taxii pull) for police-liaison as partner" in created.stderr
    assert "it is not shown again" in created.stderr

    listed = _ok("keys list --org police-liaison")
    assert prefix in listed
    assert "active until" in listed
    assert key.split("_", 2)[2] not in listed

    too_wide = _run("keys create --org police-liaison --name x --role partner --scope org.manage")
    assert too_wide.exit_code == 2
    assert "scope(s) org.manage are not permissions of role partner" in too_wide.stderr

    assert _ok(f"keys revoke {prefix}") == f"API key {prefix} (taxii pull) revoked\n"
    again = _run(f"keys revoke sgk_{prefix}")
    assert again.exit_code == 4
    assert again.stderr.startswith(f"Error: API key {prefix} was already revoked at ")
    assert "revoked" in _ok("keys list --org police-liaison")
    missing = _run("keys revoke 00000000")
    assert missing.exit_code == 3
    assert "no API key has the id or prefix '00000000'" in missing.stderr


def test_audit_verify_list_and_tampering(cli_env: str) -> None:
    _setup()
    _ok("users add li.wei --org corridor-power --role admin --password-stdin", PASSWORD + "\n")
    assert _ok("audit verify") == "audit chain intact: 3 entries\n"
    listed = _ok("audit list --action 'org.*'")
    assert listed.count("org.create") == 2
    assert "cli:" in listed
    assert "user.create" in _ok("audit list --limit 1")

    engine = make_engine(cli_env)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(AuditEntry.__table__).where(AuditEntry.id == 2).values(actor="cli:mallory")
            )
    finally:
        engine.dispose()
    broken = _run("audit verify")
    assert broken.exit_code == 8
    assert broken.stderr == (
        "Error: audit chain broken at entry #2: its content does not match its hash (altered)\n"
    )
