"""The store: one directory holding the log, the quarantine and the read models.

The log is the only thing that cannot be recreated; the read models are disposable
and `mastery rebuild` makes them again. A small `store.json` says which format the
directory is in, so that an older program refuses a newer store instead of
misreading it.

Or, for a `postgresql://` location, the log on PostgreSQL (shared by every ingester
and follower, see replay/store/postgres.py) and a local directory for this machine's
quarantine and read models. Either way the rest of the program gets one `Store`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from replay.store import log_sql
from replay.store.urls import is_postgres_url

if TYPE_CHECKING:  # replay.store.postgres imports psycopg (0.15 s): only for PostgreSQL stores
    from replay.store.log import MasteryLog
    from replay.store.postgres import AppendListener, LogMarker, PostgresLocation

STORE_FORMAT = 1
DEFAULT_STORE = "mastery-store"
STORE_ENV = "MASTERY_STORE"
READ_MODELS_ENV = "MASTERY_READ_MODELS"
_read_models_default: str | None = None


class StoreError(Exception):
    """The store cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Store:
    """`root` is the store directory; for a PostgreSQL store, the local directory."""

    root: Path
    postgres: PostgresLocation | None = None

    @property
    def location(self) -> str:
        """What to call the store in messages: its directory or its URL (no password)."""
        return self.postgres.display() if self.postgres is not None else str(self.root)

    @property
    def log_path(self) -> Path:
        return self.root / "log.sqlite"

    @property
    def quarantine_path(self) -> Path:
        return self.root / "quarantine.sqlite"

    @property
    def read_models_path(self) -> Path:
        return self.root / "read-models.sqlite"

    @property
    def marker_path(self) -> Path:
        return self.root / "store.json"

    def exists(self) -> bool:
        return self.marker_path.exists()

    def open_log(self) -> MasteryLog:
        from replay.store.log import (
            sqlite_log,  # eventsourcing: only for commands that need the log
        )

        if self.postgres is not None:
            from replay.store.postgres import postgres_log

            return postgres_log(self.postgres)
        return sqlite_log(self.log_path)

    def listen_for_appends(self, log: MasteryLog) -> AppendListener | None:
        """A wake-up on each append to a PostgreSQL log; None for a SQLite log (poll it)."""
        if self.postgres is None:
            return None
        from replay.store.postgres import AppendListener

        return AppendListener(self.postgres, log)

    def log_totals(self) -> log_sql.Totals | None:
        """How many events, the last position, how many aggregates; None without a log.

        Read with plain SQL on the log's table, without opening the log's application.
        """
        if self.postgres is not None:
            from replay.store.postgres import log_totals

            return log_totals(self.postgres)
        return log_sql.sqlite_file_totals(self.log_path)


def resolve_store_location(option: str | None) -> str:
    """--store, else $MASTERY_STORE, else ./mastery-store."""
    return option or os.environ.get(STORE_ENV) or DEFAULT_STORE


def set_read_models_default(directory: str | None) -> None:
    """`mastery --read-models DIR COMMAND`: the local directory for every command."""
    global _read_models_default
    _read_models_default = directory


def open_store(location: str | None, *, create: bool, read_models: str | None = None) -> Store:
    """The store at `location`, checked (and made, when `create`).

    `read_models` is the local directory of a PostgreSQL store (else
    `mastery --read-models`, $MASTERY_READ_MODELS, or a name derived from the URL).
    """
    resolved = resolve_store_location(location)
    read_models = read_models or _read_models_default
    if is_postgres_url(resolved):
        return _open_postgres_store(resolved, create=create, read_models=read_models)
    if read_models is not None:
        raise StoreError(
            f"--read-models is for a PostgreSQL store: the store directory {resolved} "
            f"keeps its own read models"
        )
    store = Store(Path(resolved))
    if store.exists():
        _check_format(store)
        return store
    if not create:
        raise StoreError(
            f"no store at {store.root}: replay a dump first (mastery replay --store "
            f"{store.root} PATH), or point --store / ${STORE_ENV} at an existing store"
        )
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        store.marker_path.write_bytes(
            orjson.dumps({"format": STORE_FORMAT, "program": "outcome-mastery"})
        )
    except OSError as error:
        raise StoreError(f"cannot create the store at {store.root}: {error.strerror}") from error
    return store


def _check_format(store: Store) -> None:
    try:
        marker = orjson.loads(store.marker_path.read_bytes())
        store_format = int(marker["format"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StoreError(f"{store.marker_path} is unreadable or damaged ({error})") from error
    if store_format > STORE_FORMAT:
        raise StoreError(
            f"the store at {store.root} was written by a newer outcome-mastery "
            f"(format {store_format}, this one reads up to {STORE_FORMAT}): upgrade"
        )


def _open_postgres_store(url: str, *, create: bool, read_models: str | None) -> Store:
    import psycopg
    from eventsourcing.persistence import PersistenceError

    from replay.store.postgres import LocationError, PostgresLocation, create_log, read_marker

    try:
        postgres = PostgresLocation.parse(url)
    except LocationError as error:
        raise StoreError(str(error)) from None
    try:
        with postgres.connect() as conn:
            marker = read_marker(conn, postgres)
        if marker is None and create:
            marker = create_log(postgres, STORE_FORMAT)
    except (psycopg.Error, PersistenceError) as error:
        raise StoreError(f"cannot use the log at {postgres.display()}: {error}") from None
    if marker is None:
        raise StoreError(
            f"no log at {postgres.display()}: replay a dump first (mastery replay --store "
            f"URL PATH) or copy a store into it (mastery copy --from DIR --to URL)"
        )
    if marker.format > STORE_FORMAT:
        raise StoreError(
            f"the log at {postgres.display()} was written by a newer outcome-mastery "
            f"(format {marker.format}, this one reads up to {STORE_FORMAT}): upgrade"
        )
    local = Path(
        read_models or os.environ.get(READ_MODELS_ENV) or f"{DEFAULT_STORE}-pg-{postgres.slug()}"
    )
    store = Store(local, postgres)
    _claim_local_directory(store, marker)
    return store


def _claim_local_directory(store: Store, marker: LogMarker) -> None:
    """Tie the local directory to this log (by its id), or refuse one tied to another."""
    assert store.postgres is not None
    url, log_id = store.postgres.display(), str(marker.log_id)
    if store.exists():
        _check_format(store)
        found = orjson.loads(store.marker_path.read_bytes()).get("log_id")
        if found == log_id:
            return
        what = "a store directory with its own log" if found is None else f"log {found}"
        raise StoreError(
            f"{store.root} holds the read models of {what}, not of {url} (log {log_id}): "
            f"give this log its own directory with --read-models DIR"
        )
    if store.log_path.exists():
        raise StoreError(f"{store.root} is a store directory: give --read-models another one")
    marker_text = {"format": STORE_FORMAT, "program": "outcome-mastery", "log": url}
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        store.marker_path.write_bytes(orjson.dumps({**marker_text, "log_id": log_id}))
    except OSError as error:
        raise StoreError(f"cannot create {store.root}: {error.strerror}") from error
