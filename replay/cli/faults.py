"""Storage faults turned into one clear sentence at the command line's boundary.

A read-only store, a full disk or a damaged file surface deep inside SQLite or
eventsourcing as `sqlite3.OperationalError` (often wrapped in eventsourcing's own
errors), far from any code that knows which store was meant. Rather than catch them
in every command, `mastery`'s entry point hands them here: the message names the
cause, the store, what to do, and that the log was not damaged (SQLite rolls back
the batch it could not write; nothing already committed is touched).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator, Sequence

from replay import service

_NOT_DAMAGED = "nothing already stored was changed (the batch being written was rolled back)"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_storage_fault(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is SQLite or the file system failing."""
    return any(isinstance(link, sqlite3.Error | OSError) for link in _chain(error))


def _store_named(argv: Sequence[str]) -> str:
    option = None
    for index, argument in enumerate(argv):
        if argument == "--store" and index + 1 < len(argv):
            option = argv[index + 1]
        elif argument.startswith("--store="):
            option = argument.partition("=")[2]
    return service.resolve_store_location(option)


def describe_storage_fault(error: BaseException, argv: Sequence[str]) -> str:
    """The sentence to print for a storage fault: cause, store, what to do."""
    store = _store_named(argv)
    texts = " | ".join(str(link) for link in _chain(error)).lower()
    codes = {link.errno for link in _chain(error) if isinstance(link, OSError)}
    if "disk is full" in texts or errno.ENOSPC in codes or errno.EDQUOT in codes:
        return (
            f"the disk holding the store {store} is full: free some space (or move the store "
            f"with --store) and run the command again; {_NOT_DAMAGED}"
        )
    read_only = "readonly" in texts or "read-only" in texts or codes & {errno.EROFS, errno.EACCES}
    if read_only or ("unable to open database file" in texts and not _writable(store)):
        return (
            f"the store {store} cannot be written (a read-only file system or no permission), "
            f"and every command, even a query, needs to write there (the read models follow "
            f"the log, SQLite keeps its -wal and -shm files beside them): make it writable, or "
            f"copy the directory somewhere writable and use --store; {_NOT_DAMAGED}"
        )
    if "not a database" in texts or "malformed" in texts:
        return (
            f"a file of the store {store} is damaged ({error}): `mastery verify --store {store}` "
            f"says which; a damaged read-models.sqlite is fixed by `mastery rebuild`"
        )
    return (
        f"the store {store} could not be used ({type(error).__name__}: {error}); "
        f"`mastery verify --store {store}` checks the log"
    )


def _writable(store: str) -> bool:
    return os.access(store, os.W_OK) and not _on_read_only_mount(store)


def _on_read_only_mount(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
