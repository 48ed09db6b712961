"""Waiting for the read models' write lock, instead of failing after SQLite's 5 s.

One process writes the read models at a time (a replay's projection, a follower, a
question finishing pending rollups, a rebuild). Another writer waits for it: SQLite's
own busy handler waits in slices of `NOTICE_AFTER_SECONDS`; after the first slice the
wait is said on stderr when that is a terminal (a cron job's log stays quiet), and it
goes on until `WAIT_SECONDS`, a bound generous enough for any batch, before failing
with a message that says what held the lock.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from typing import TypeVar

WAIT_SECONDS = 600.0
"""How long a writer waits for the lock in all before giving up."""
NOTICE_AFTER_SECONDS = 3.0
"""SQLite's busy timeout on read-model connections: one slice of the wait."""

T = TypeVar("T")


class WriteLockTimeout(sqlite3.OperationalError):
    """Another process held the read models' write lock for longer than WAIT_SECONDS."""


def _on_terminal() -> bool:
    return sys.stderr.isatty()


def _locked(error: sqlite3.OperationalError) -> bool:
    message = str(error)
    return "database is locked" in message or "database is busy" in message


def waiting_for_lock(action: Callable[[], T], *, what: str = "the read models") -> T:
    """Run `action` (which takes the write lock), retrying while another process
    holds it, for up to WAIT_SECONDS."""
    started = time.monotonic()
    noticed = False
    while True:
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not _locked(error):
                raise
            waited = time.monotonic() - started
            if waited >= WAIT_SECONDS:
                raise WriteLockTimeout(
                    f"{what}: another process held the write lock for over "
                    f"{WAIT_SECONDS:.0f} s (a replay, rebuild or follower on this store?)"
                ) from error
            if not noticed and _on_terminal():
                print(
                    f"waiting for the write lock of {what}: another mastery process is "
                    f"writing them (waiting up to {WAIT_SECONDS / 60:.0f} min)",
                    file=sys.stderr,
                    flush=True,
                )
            noticed = True
            time.sleep(0.05)  # SQLite's busy handler did the waiting: just try again


def begin_immediate(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE (take the write lock now), waiting for another writer."""
    waiting_for_lock(lambda: connection.execute("BEGIN IMMEDIATE"))
