"""PostgreSQL for tests: a server to use or a clear skip, a fresh schema per test.

The server is MASTERY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Where none answers, the tests that need one skip and say how to provide it; on CI
(CI=true, or MASTERY_REQUIRE_POSTGRES=1) they fail instead, so that a missing server
can never pass for a green run. Each test gets its own schema (the log, its marker)
and its own local directory, and the schema is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replay.store.location import READ_MODELS_ENV

PG_URL_ENV = "MASTERY_TEST_POSTGRES_URL"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(
        "MASTERY_REQUIRE_POSTGRES", ""
    ) not in ("", "0")


def admin_connection() -> Any:
    import psycopg

    return psycopg.connect(server_url(), autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server's URL, or a skip (a failure on CI) saying how to provide one."""
    try:
        with admin_connection() as conn:
            conn.execute("SELECT 1")
    except Exception as error:
        message = (
            f"no PostgreSQL server at {server_url()} ({' '.join(str(error).split())}): "
            f"start one (e.g. `pg_ctlcluster 15 main start`) or set {PG_URL_ENV} to a "
            f"postgresql:// URL of a database the tests may create schemas in"
        )
        if postgres_required():
            pytest.fail(f"CI needs PostgreSQL: {message}")
        pytest.skip(message)
    return server_url()


def schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}schema={schema}"


def drop_schema(schema: str) -> None:
    with admin_connection() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND application_name = %s",
            [schema],
        )
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_schema_factory(
    postgres_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """make() -> the URL of a fresh, empty schema (dropped after the test)."""
    made: list[str] = []

    def make() -> str:
        schema = f"mt_{uuid.uuid4().hex[:16]}"
        made.append(schema)
        return schema_url(postgres_server, schema)

    monkeypatch.setenv(READ_MODELS_ENV, str(tmp_path / "pg-local"))
    yield make
    for schema in made:
        drop_schema(schema)


@pytest.fixture
def pg_store_url(pg_schema_factory: Any) -> str:
    """A PostgreSQL store in a fresh schema; its local directory is under tmp_path."""
    url: str = pg_schema_factory()
    return url


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same behaviour on both stores: a directory, and a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    url: str = request.getfixturevalue("pg_store_url")
    return url
