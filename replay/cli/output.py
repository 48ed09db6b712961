"""Machine output: JSON, JSON lines and CSV, written straight to stdout or a file.

Streamed as it is produced, never held whole and never re-parsed: a 100,000-row
answer costs what its rows cost. The pretty tables are for terminals only.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import orjson

from replay.cli.options import fail

_ITEM_BREAK = b"\n  "


@contextmanager
def output_to(path: Path | None) -> Iterator[TextIO]:
    """stdout, or the file `path` (created or replaced); a file that cannot be written
    is named with the reason (exit 2), not blamed on the store."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        target = path.open("w", encoding="utf-8", newline="")
    except OSError as error:
        raise fail(f"cannot write {path}: {error.strerror or error}", 2) from None
    with target:
        yield target


def write_json(document: Any, target: TextIO | None = None) -> None:
    """One JSON document, indented, then a newline."""
    _bytes_writer(target)(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


def write_json_array(items: Iterable[Any], target: TextIO | None = None) -> int:
    """A JSON array written item by item (each item indented); returns how many."""
    write, count = _bytes_writer(target), 0
    for item in items:
        text = orjson.dumps(item, option=orjson.OPT_INDENT_2).replace(b"\n", _ITEM_BREAK)
        write((b",\n  " if count else b"[\n  ") + text)
        count += 1
    write(b"\n]\n" if count else b"[]\n")
    return count


def write_json_lines(items: Iterable[Any], target: TextIO | None = None) -> int:
    """One compact JSON document per line; returns how many."""
    write, count = _bytes_writer(target), 0
    for item in items:
        write(orjson.dumps(item) + b"\n")
        count += 1
    return count


def write_csv(rows: Iterable[list[Any]], target: TextIO | None = None) -> None:
    """CSV rows (the first is the header); None is written as an empty cell."""
    writer = csv.writer(target or sys.stdout, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])


def _bytes_writer(target: TextIO | None) -> Callable[[bytes], Any]:
    """Bytes straight to the stream's buffer, once the text written before is out."""
    stream = target or sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only stream (a test's capture, a StringIO)
        return lambda data: stream.write(data.decode())
    stream.flush()
    return buffer.write  # type: ignore[no-any-return]
