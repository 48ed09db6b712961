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
