"""The log on PostgreSQL: where it is, how eventsourcing reaches it, and its marker.

A `postgresql://` store keeps its log in PostgreSQL through eventsourcing's own
PostgreSQL module (table `outcomemastery_events` in the URL's schema), and keeps its
quarantine and read models in a local directory: those are per machine and
disposable, while the log is shared by every ingester and follower and is the record.

The store's format marker lives beside the log, in a one-row table
(`outcomemastery_store`) that also holds a random log id. The local directory's
`store.json` names that id, so read models made from one log are never advanced
with the positions of another (a dropped and recreated log, another database).
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import UUID, uuid4

import orjson
import psycopg
import psycopg.conninfo
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType, retry
from psycopg import sql

from replay.store import log_sql
from replay.store.log import MasteryLog
from replay.store.urls import is_postgres_url

EVENTS_TABLE = f"{MasteryLog.name.lower()}_events"
MARKER_TABLE = f"{MasteryLog.name.lower()}_store"
CONNECT_TIMEOUT = 10
_ENV_PREFIX = MasteryLog.name.upper() + "_"
# Short commands need few connections; a user's own POSTGRES_POOL_SIZE wins.
_POOL_DEFAULTS = {"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "8"}
_OUR_PARAMETERS = {"schema"}
"""URL parameters this program reads; every other one is libpq's (sslmode, sslrootcert,
application_name, connect_timeout, options...), passed through to each connection."""
_LIBPQ_ENV_KEY = "POSTGRES_LIBPQ_PARAMETERS"

Connection = psycopg.Connection[tuple[Any, ...]]


class MasteryPostgresRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, inserting without psycopg's pipeline mode.

    The library sends its insert in pipeline mode, which deadlocks (client and
    server both waiting, forever) once a batch's message passes ~10 MB: about 5,000
    of our 1.1 KB events (psycopg 3.2 and 3.3, PostgreSQL 15). And it passes the rows
    as one array of composites, which psycopg escapes in Python at ~80 us an event.

    Here: the same table, the same EXCLUSIVE lock (commit order = notification order,
    so followers never pass over a gap that fills later), the same NOTIFY, the same
    INSERT ... SELECT FROM unnest ... RETURNING notification_id, in one ordinary
    transaction, with the rows as four plain arrays: much faster, at any batch size.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_columns_statement = log_sql.postgres_insert_columns(
            sql.Identifier(datastore.schema, events_table_name), datastore.originator_id_type
        )
        self.lock_and_notify_statement = sql.SQL("; ").join(
            [
                *self.lock_table_statements,
                sql.SQL("NOTIFY {}").format(sql.Identifier(self.channel_name)),
            ]
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        columns = (
            [event.originator_id for event in stored_events],
            [event.originator_version for event in stored_events],
            [event.topic for event in stored_events],
            [event.state for event in stored_events],
        )
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            cursor.execute(self.lock_and_notify_statement)
            cursor.execute(self.insert_columns_statement, columns)
            return [row["notification_id"] for row in cursor.fetchall()]


class MasteryPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, with the URL's libpq parameters (sslmode=...)
    added to every connection its pool makes: the library takes only host, port,
    database, user and password. Set before the pool opens, so the first connection
    (CREATE TABLE, when making a log) has them too."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        extra = orjson.loads(self.env.get(_LIBPQ_ENV_KEY) or "{}")
        kwargs = self.datastore.pool.kwargs
        if extra and isinstance(kwargs, dict):
            kwargs.update(extra)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class LocationError(ValueError):
    """A `postgresql://` URL this program cannot use; the message says why."""


@dataclass(frozen=True)
class PostgresLocation:
    """A PostgreSQL log's address. Missing parts come from libpq's PG* variables."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False, compare=False)
    schema: str = "public"
    libpq: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)
    """libpq's connection parameters from the URL (sslmode=require...): how to reach the
    log, not which log it is, so they are left out of comparisons and of `display()`."""

    @classmethod
    def parse(cls, url: str) -> PostgresLocation:
        if not is_postgres_url(url):
            raise LocationError(f"{url!r} is not a postgresql:// URL")
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        libpq = {key: value for key, value in params.items() if key not in _OUR_PARAMETERS}
        # The address's own parts may also come as parameters (?host=SOCKET_DIR,
        # ?user=...): read below, where the URL's parts come first.
        named = {
            key: libpq.pop(key)
            for key in ("host", "port", "user", "password", "dbname")
            if key in libpq
        }
        try:  # libpq's own check of the names, so that a typo is refused now
            psycopg.conninfo.make_conninfo("", **libpq)
        except psycopg.ProgrammingError as error:
            raise LocationError(
                f"unsupported URL parameter in {_without_password(url)!r}: "
                f"{' '.join(str(error).split())}; this URL takes ?schema=NAME and libpq's "
                f"connection parameters (sslmode, sslrootcert, application_name, "
                f"connect_timeout...)"
            ) from None
        try:
            port = parts.port or int(named.get("port") or os.environ.get("PGPORT") or 5432)
        except ValueError as error:
            raise LocationError(f"bad port in {url!r}: {error}") from None
        user = (
            unquote(parts.username or "")
            or named.get("user")
            or os.environ.get("PGUSER")
            or getpass.getuser()
        )
        return cls(
            host=unquote(parts.hostname or "")
            or named.get("host")
            or os.environ.get("PGHOST")
            or "localhost",
            port=port,
            dbname=unquote(parts.path.lstrip("/"))
            or named.get("dbname")
            or os.environ.get("PGDATABASE")
            or user,
            user=user,
            password=unquote(parts.password or "")
            or named.get("password")
            or os.environ.get("PGPASSWORD", ""),
            schema=params.get("schema") or "public",
            libpq=tuple(sorted(libpq.items())),
        )

    def display(self) -> str:
        """The URL without its password: safe for messages, markers and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        url = f"postgresql://{self.user}@{host}:{self.port}/{self.dbname}"
        return url if self.schema == "public" else f"{url}?schema={self.schema}"

    def slug(self) -> str:
        """A file-name-safe name for this log, for the default local directory."""
        name = f"{self.host}-{self.port}-{self.dbname}"
        if self.schema != "public":
            name += f"-{self.schema}"
        return re.sub(r"[^A-Za-z0-9._-]+", "_", name)

    def eventsourcing_env(self, *, create_table: bool) -> dict[str, str]:
        """The environment for eventsourcing.postgres, with our application's prefix.

        Prefixed keys win over unprefixed ones in eventsourcing's Environment, so a
        stray POSTGRES_DBNAME in the process environment cannot redirect the log.
        """
        settings = {
            "PERSISTENCE_MODULE": f"{__name__}:{MasteryPostgresFactory.__name__}",
            _LIBPQ_ENV_KEY: orjson.dumps(dict(self.libpq)).decode(),
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "CREATE_TABLE": "y" if create_table else "n",
            "APPLICATION_RECORDER_TOPIC": f"{__name__}:{MasteryPostgresRecorder.__name__}",
        }
        for key, value in _POOL_DEFAULTS.items():
            if key not in os.environ and _ENV_PREFIX + key not in os.environ:
                settings[key] = value
        return {_ENV_PREFIX + key: value for key, value in settings.items()}

    def connect(self) -> Connection:
        """A plain autocommit connection (markers, status, LISTEN), not from the pool."""
        conninfo = psycopg.conninfo.make_conninfo(
            "", **{"connect_timeout": str(CONNECT_TIMEOUT), **dict(self.libpq)}
        )
        return psycopg.connect(
            conninfo,
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password or None,
            autocommit=True,
        )

    def table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)


def log_totals(location: PostgresLocation) -> log_sql.Totals | None:
    """The log's totals on a plain connection (no eventsourcing application for a status)."""
    with location.connect() as conn:
        return log_sql.postgres_totals(conn, location.table(EVENTS_TABLE))


def postgres_log(location: PostgresLocation) -> MasteryLog:
    """The log on PostgreSQL. Tables are made once, by `create_log`, not per process:
    concurrent `CREATE OR REPLACE FUNCTION`s from several ingesters starting together
    would fail, and followers need no DDL rights."""
    return MasteryLog(env=location.eventsourcing_env(create_table=False))


class AppendListener:
    """LISTEN on the log's channel: eventsourcing NOTIFYs it in every insert transaction,
    so a follower wakes within milliseconds of an append instead of at its next poll."""

    def __init__(self, location: PostgresLocation, log: MasteryLog) -> None:
        channel: str = getattr(log.recorder, "channel_name")  # noqa: B009 - PostgreSQL's only
        self._connection = location.connect()
        self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(self, timeout: float) -> bool:
        """True when an append was announced within `timeout` s (a burst counts once)."""
        woke = False
        for _ in self._connection.notifies(timeout=timeout, stop_after=1):
            woke = True
        if woke:
            for _ in self._connection.notifies(timeout=0):  # coalesce a burst
                pass
        return woke

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class LogMarker:
    format: int
    log_id: UUID


def read_marker(conn: Connection, location: PostgresLocation) -> LogMarker | None:
    """The log's format and id, or None when this schema holds no log yet."""
    name = location.table(MARKER_TABLE).as_string(conn)
    row = conn.execute("SELECT to_regclass(%s)", [name]).fetchone()
    if row is None or row[0] is None:
        return None
    found = conn.execute(
        sql.SQL("SELECT format, log_id FROM {}").format(location.table(MARKER_TABLE))
    ).fetchone()
    if found is None:
        return None
    store_format, log_id = found
    assert isinstance(store_format, int) and isinstance(log_id, UUID)
    return LogMarker(store_format, log_id)


def create_log(location: PostgresLocation, store_format: int) -> LogMarker:
    """Make the schema, the log's tables and the marker, once.

    Several ingesters may start on an empty database together: an advisory lock
    makes one of them create everything while the others wait, then find it made.
    """
    lock = f"outcome-mastery:{location.schema}"
    with location.connect() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [lock])
        try:
            marker = read_marker(conn, location)
            if marker is not None:
                return marker
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", [location.schema]
            ).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(location.schema)
                    )
                )
            MasteryLog(env=location.eventsourcing_env(create_table=True)).close()
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),"
                    " format integer NOT NULL,"
                    " log_id uuid NOT NULL,"
                    " program text NOT NULL,"
                    " created_at timestamptz NOT NULL DEFAULT now())"
                ).format(location.table(MARKER_TABLE))
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (format, log_id, program) VALUES (%s, %s, %s) "
                    "ON CONFLICT (one_row) DO NOTHING"
                ).format(location.table(MARKER_TABLE)),
                [store_format, uuid4(), "outcome-mastery"],
            )
            created = read_marker(conn, location)
            assert created is not None
            return created
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock])
