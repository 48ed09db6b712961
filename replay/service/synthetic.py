"""Synthetic Canvas dumps, for trying the tool and for benchmarks (replay.synthetic)."""

from __future__ import annotations

from typing import Any, BinaryIO


def write_synthetic_dump(target: BinaryIO, **settings: Any) -> tuple[int, int]:
    """Write a dump for `GeneratorSettings(**settings)`: (events written, events estimated)."""
    from replay.synthetic.generate import GeneratorSettings, estimate_events, write_dump

    chosen = GeneratorSettings(**settings)
    return write_dump(chosen, target), estimate_events(chosen)
