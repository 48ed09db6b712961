"""Synthetic Canvas dumps, for trying the tool and for benchmarks (replay.synthetic)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, BinaryIO, cast

from replay.service.errors import BadInput


def write_synthetic_dump(target: BinaryIO, **settings: Any) -> tuple[int, int]:
    """Write a dump for `GeneratorSettings(**settings)`: (events written, events estimated)."""
    from replay.synthetic.generate import GeneratorSettings, estimate_events, write_dump

    chosen = GeneratorSettings(**settings)
    return write_dump(chosen, target), estimate_events(chosen)


def write_synthetic_file(path: Path, **settings: Any) -> tuple[int, int]:
    """The same into a file, compressed by its name as a replay reads it ("x.jsonl.gz")."""
    try:
        with path.open("wb") as file:
            if path.name.lower().endswith(".gz"):
                with gzip.GzipFile(fileobj=file, mode="wb") as packed:
                    return write_synthetic_dump(cast(BinaryIO, packed), **settings)
            return write_synthetic_dump(file, **settings)
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror or error}") from None


def write_synthetic_world(
    target: BinaryIO,
    *,
    drop_fraction: float = 0.0,
    drop_days: tuple[str, ...] = (),
    silences: tuple[str, ...] = (),
    cd2_snapshot: str | None = None,
    cd2_format: str = "jsonl",
    cd2_user_ids: bool = False,
    dropped: BinaryIO | None = None,
    **settings: Any,
) -> tuple[int, dict[str, int]]:
    """A dump with known losses and/or the world's CD2 snapshot: (events written, lost by reason).

    With `cd2_user_ids` the snapshot's results name students by a numeric `user_id` only,
    beside a `users` table mapping those ids to the uuids live events carry.

    Raises `BadQuestion` for a loss option that cannot be understood.
    """
    from replay.service.errors import BadQuestion
    from replay.synthetic.generate import GeneratorSettings
    from replay.synthetic.losses import LossError, LossPlan, Silence, parse_days, write_world

    chosen = GeneratorSettings(**settings)
    try:
        plan = LossPlan(
            drop_fraction=drop_fraction,
            drop_days=parse_days(drop_days),
            silences=tuple(Silence.parse(text) for text in silences),
            seed=chosen.seed,
        )
    except LossError as error:
        raise BadQuestion(str(error)) from None
    written, ledger = write_world(
        chosen,
        target,
        plan,
        snapshot_dir=cd2_snapshot,
        snapshot_format=cd2_format,
        snapshot_user_ids=cd2_user_ids,
        dropped_out=dropped,
    )
    return written, dict(sorted(ledger.by_reason.items()))
