"""Tokens: shown once, stored as a hash, compared in constant time, revocable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from replay.cli.app import app
from replay.service import BadQuestion, MasteryService, NotFound
from replay.service.access import AccessService


@pytest.fixture
def access(tmp_path: Path) -> AccessService:
    return AccessService.of(MasteryService.open(str(tmp_path / "store"), create=True))


def test_a_token_is_stored_only_as_its_hash_and_authenticates_with_its_scope(
    access: AccessService, tmp_path: Path
) -> None:
    _, secret = access.create_token("read", name="reports")
    assert secret.startswith("mst_") and len(secret) > 40
    grant = access.authenticate(secret)
    assert grant is not None and (grant.name, grant.scope) == ("reports", "read")
    assert access.authenticate(secret + "x") is None
    assert access.authenticate("") is None
    raw = (tmp_path / "store" / "access.sqlite").read_bytes()
    assert secret.encode() not in raw
    with sqlite3.connect(tmp_path / "store" / "access.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM tokens").fetchone()[0] == 1


def test_revoking_a_token_ends_it_and_its_sessions(access: AccessService) -> None:
    _, secret = access.create_token("read", name="r")
    grant = access.authenticate(secret)
    assert grant is not None
    cookie, session = access.open_session(grant)
    assert session.csrf and access.session(cookie) == session
    access.revoke("r")
    assert access.authenticate(secret) is None
    assert access.session(cookie) is None
    with pytest.raises(NotFound):
        access.revoke("nobody")


def test_names_are_unique_and_scopes_known(access: AccessService) -> None:
    access.create_token("ingest", name="backfill")
    with pytest.raises(BadQuestion, match="exists"):
        access.create_token("read", name="backfill")
    with pytest.raises(BadQuestion, match="scope"):
        access.create_token("admin")


def test_the_cli_prints_the_secret_once_on_stdout_and_never_lists_it(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    MasteryService.open(store, create=True)
    runner = CliRunner()
    made = runner.invoke(app, ["token", "create", "--store", store, "--scope", "read"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("mst_")
    listed = runner.invoke(app, ["token", "list", "--store", store, "--json"])
    assert listed.exit_code == 0 and secret not in listed.output
    assert '"scope": "read"' in listed.output
    missing = runner.invoke(app, ["token", "revoke", "nobody", "--store", store])
    assert missing.exit_code == 1
