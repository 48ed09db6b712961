"""Which files a replay reads: paths named on the command line, directories walked.

Kept apart from reading (replay/ingest/sources.py) because it is about the file
system, not about bytes: what a directory holds that is not a dump is listed with a
reason, and nothing that could block (a FIFO, a device) is ever opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

STDIN = "-"
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_JSON_SUFFIXES = (".json", ".json.gz")


class SourceError(Exception):
    """A command-line path cannot be used at all; content problems never raise."""


def suffix_kind(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(_JSON_SUFFIXES):
        return "json"
    return None


@dataclass(frozen=True, slots=True, order=True)
class SkippedPath:
    """Something a directory held that a replay did not read, and why."""

    path: str
    reason: str


_NOT_A_DUMP = "not a dump file (.jsonl, .ndjson or .json, optionally .gz)"


def expand_paths(paths: Sequence[str]) -> list[str]:
    """The dump files of `paths` (see `find_dumps`)."""
    return find_dumps(paths)[0]


def find_dumps(paths: Sequence[str]) -> tuple[list[str], list[SkippedPath]]:
    """Directories expand to their dump files (sorted, so replays are repeatable), and
    to what else they hold, which is skipped with a reason: other files, FIFOs,
    sockets and devices (never opened: a FIFO would block the replay forever).
    Symbolic links to files and to directories are followed; a directory or file met
    again (a link loop, two links to one place) is read once. Hidden entries are
    skipped without a word, as they are editor or macOS ("._x.jsonl") debris.

    A path named on the command line is read whatever it is (a FIFO from `<(zcat
    ...)` included), or refused if it cannot be: named, it is meant."""
    files: list[str] = []
    skipped: list[SkippedPath] = []
    for path in paths:
        if path == STDIN:
            files.append(path)
        elif os.path.isdir(path):
            found: list[tuple[str, tuple[int, int]]] = []
            passed: list[SkippedPath] = []
            _walk(path, {}, found, passed)
            seen: dict[tuple[int, int], str] = {}
            for name, key in sorted(found):
                if key in seen:
                    passed.append(SkippedPath(name, f"the same file as {seen[key]}, read once"))
                else:
                    seen[key] = name
                    files.append(name)
            skipped.extend(sorted(passed))
        elif not os.path.exists(path):
            raise SourceError(f"{path}: no such file or directory")
        elif suffix_kind(path) is None:
            raise SourceError(
                f"{path}: not a dump file; expected .jsonl, .ndjson or .json, optionally .gz"
            )
        else:
            files.append(path)
    return files, skipped


def _walk(
    directory: str,
    visited: dict[tuple[int, int], str],
    found: list[tuple[str, tuple[int, int]]],
    skipped: list[SkippedPath],
) -> None:
    """Collect a directory's dump files, following symbolic links; `visited` (device,
    inode of each directory entered) stops link loops."""
    try:
        info = os.stat(directory)
        key = (info.st_dev, info.st_ino)
        if key in visited:
            reason = f"the same directory as {visited[key]} (a symbolic link), read once"
            skipped.append(SkippedPath(directory, reason))
            return
        visited[key] = directory
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        skipped.append(SkippedPath(directory, f"cannot be listed: {error.strerror or error}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            info = os.stat(entry.path)  # follows a symbolic link
        except OSError as error:
            reason = (
                "a broken symbolic link"
                if entry.is_symlink()
                else f"cannot be read: {error.strerror or error}"
            )
            skipped.append(SkippedPath(entry.path, reason))
            continue
        if stat.S_ISDIR(info.st_mode):
            _walk(entry.path, visited, found, skipped)
        elif not stat.S_ISREG(info.st_mode):
            skipped.append(SkippedPath(entry.path, f"{_special_kind(info.st_mode)}, never opened"))
        elif suffix_kind(entry.name) is None:
            skipped.append(SkippedPath(entry.path, _NOT_A_DUMP))
        else:
            found.append((entry.path, (info.st_dev, info.st_ino)))


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
