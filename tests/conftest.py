"""Shared fixtures: the reference payloads of Canvas's own event documentation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def reference_payloads_by_name() -> dict[str, dict[str, Any]]:
    data = orjson.loads((FIXTURES / "reference_payloads.json").read_bytes())
    return {name: payload for name, payload in data.items() if not name.startswith("_")}


@pytest.fixture(scope="session")
def payload(reference_payloads_by_name: dict[str, dict[str, Any]]) -> Any:
    """A fresh deep copy of one reference payload, by event name."""

    def take(name: str) -> dict[str, Any]:
        return copy.deepcopy(reference_payloads_by_name[name])

    return take


# PostgreSQL: a server or a clear skip (a failure on CI), a fresh schema per test.
from tests.pg import (  # noqa: E402, F401
    pg_schema_factory,
    pg_store_url,
    postgres_server,
    store_location,
)
