"""The store: one directory holding the log, the quarantine and the read models.

The log is the only thing that cannot be recreated; the read models are disposable
and `mastery rebuild` makes them again. A small `store.json` says which format the
directory is in, so that an older program refuses a newer store instead of
misreading it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from replay.log import MasteryLog, sqlite_log

STORE_FORMAT = 1
DEFAULT_STORE = "mastery-store"
STORE_ENV = "MASTERY_STORE"


class StoreError(Exception):
    """The store cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Store:
    root: Path

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
        return sqlite_log(self.log_path)


def resolve_store_location(option: str | None) -> str:
    """--store, else $MASTERY_STORE, else ./mastery-store."""
    return option or os.environ.get(STORE_ENV) or DEFAULT_STORE


def open_store(location: str | None, *, create: bool) -> Store:
    """The store at `location`, checked (and made, when `create`)."""
    store = Store(Path(resolve_store_location(location)))
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
