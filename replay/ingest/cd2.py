"""Canvas Data 2 snapshot files, as Instructure's `dap` client writes them, read into rows.

What the client's source (instructure-dap-client 2.3.1: `dap/api.py`, `dap/dap_types.py`,
`dap/replicator/sql_op_*.py`) and its documentation establish, and what this reader does:

- `dap snapshot` writes each table's part files under `OUTPUT/job_<id>/`, named after
  the object's URL (the documentation shows `part-00000-....json.gz`); gzip-compressed
  unless asked to decompress. Files are recognised here by their content: gzip or not,
  JSON lines or CSV/TSV (by the first line), and the table by its columns, never by name.
- JSON lines: one object per line, `{"key": {"id": ...}, "value": {...}, "meta": {...}}`;
  properties whose value is null are omitted; `meta` has `ts` and, in incremental
  output, `action` (`U` upsert, `D` delete: a deleted record has no `value`).
- CSV (RFC 4180) and TSV: a header row of every field's qualified name (`meta.ts`,
  `meta.action`, `key.id`, `value.score` ...); in CSV NULL is the unquoted `NULL` and an
  empty string is `""`, in TSV NULL is `\\N`. Python's csv reader cannot tell `NULL`
  from `"NULL"`: both are read as null here. Unqualified headers (`id`, `score`) are
  accepted too, in case a writer flattens them.
- The snapshot's own time (`at` of the job) is returned to the client and logged, but
  written into no file: the snapshot's time here is the latest `meta.ts` of its rows.
- Ids are numbers in CD2; a global id (shard * 10^13 + local) is read as its local id.

Nothing here writes anything: a bad file stops the whole read with an error naming
the file and line, before anything is compared or appended.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from replay.ingest.cd2_values import local_id, typed_values

RESULTS = "learning_outcome_results"
OUTCOMES = "learning_outcomes"
GROUPS = "learning_outcome_groups"
PROFICIENCIES = "outcome_proficiencies"
USERS = "users"
RATINGS = "outcome_proficiency_ratings"

REQUIRED_RESULT_COLUMNS = frozenset(
    {"id", "learning_outcome_id", "context_id", "score", "workflow_state"}
)
"""What a tabular results file must have (JSON lines omit nulls: only the ids are required)."""


class SnapshotError(Exception):
    """A snapshot file that cannot be read; the message names the file and line."""


@dataclass(slots=True)
class Cd2Row:
    id: str
    values: dict[str, Any]
    ts: str | None
    action: str | None
    where: str
    """`file:line`"""


@dataclass
class SnapshotFiles:
    """What a scan of a snapshot found besides its rows: files, formats, counts, times.

    The rows themselves are streamed (`scan_snapshot`), never held here: a caller keeps
    what it needs of each (a 200k-row snapshot held as dicts is about 0.5 GB)."""

    files: dict[str, list[str]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)
    """The latest `meta.ts` of each table that has one, in the order the tables came."""

    @property
    def at(self) -> str | None:
        """The latest `meta.ts` of the results (else of any table): the snapshot's time."""
        for table in (RESULTS, *self.latest):
            if table in self.latest:
                return self.latest[table]
        return None

    def count(self, table: str) -> int:
        return self.counts.get(table, 0)


def scan_snapshot(path: str | Path, found: SnapshotFiles) -> Iterator[tuple[str, Cd2Row]]:
    """Every row of every file of the snapshot at `path`, with its table, one at a time.

    `found` is filled as the scan goes; a bad file raises `SnapshotError` when reached, and
    a snapshot without results rows when the scan ends: consume the whole scan before
    acting on any of it."""
    root = Path(path)
    if not root.exists():
        raise SnapshotError(f"{root}: no such file or directory")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for file in files:
        if file.name.startswith("."):
            continue
        for table, row in _read_file(file, found):
            found.counts[table] = found.counts.get(table, 0) + 1
            if row.ts and (table not in found.latest or row.ts > found.latest[table]):
                found.latest[table] = row.ts
            yield table, row
    if not found.counts.get(RESULTS):
        raise SnapshotError(f"{root}: no learning_outcome_results rows found")


def _open(file: Path) -> IO[bytes]:
    raw = file.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _read_file(file: Path, found: SnapshotFiles) -> Iterator[tuple[str, Cd2Row]]:
    line = 0
    try:
        with _open(file) as stream:
            first = stream.readline()
            line = 1
            head = first.lstrip(b"\xef\xbb\xbf").strip()
            if not head:
                found.skipped.append(f"{file}: empty")
                return
            if head.startswith(b"PAR1"):
                raise SnapshotError(
                    f"{file}: a Parquet file; download the snapshot with --format jsonl or csv"
                )
            if head.startswith(b"{"):
                yield from _read_jsonl(file, first, stream, found)
            else:
                yield from _read_tabular(file, first, stream, found)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise SnapshotError(
            f"{file}: the gzip data is truncated or corrupt after line {line} ({error}); "
            "download the snapshot again"
        ) from None
    except OSError as error:
        raise SnapshotError(f"{file}: cannot be read ({error})") from None


def _read_jsonl(
    file: Path, first: bytes, stream: IO[bytes], found: SnapshotFiles
) -> Iterator[tuple[str, Cd2Row]]:
    table: str | None = None
    for number, text in _lines(file, first, stream):
        if not text.strip():
            continue
        where = f"{file}:{number}"
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise SnapshotError(f"{where}: not JSON ({error})") from None
        if not isinstance(record, dict):
            raise SnapshotError(f"{where}: a JSON line of a snapshot is an object, not this")
        if number == 1 and "key" not in record and ("schema" in record or "version" in record):
            found.skipped.append(f"{file}: a schema file")
            return
        key, value, meta = record.get("key"), record.get("value", {}), record.get("meta", {})
        if not isinstance(key, dict) or key.get("id") is None:
            raise SnapshotError(f"{where}: no 'key' object with an 'id'")
        if not isinstance(value, dict) or not isinstance(meta, dict):
            raise SnapshotError(f"{where}: 'value' and 'meta' must be objects")
        if table is None:
            table = _table_of({*key, *value}, file)
            _add(found, table, file, "jsonl")
        values = {**value, **{k: v for k, v in key.items() if k != "id"}}
        yield table, _row(table, key["id"], values, meta.get("ts"), meta.get("action"), where)


def _read_tabular(
    file: Path, first: bytes, stream: IO[bytes], found: SnapshotFiles
) -> Iterator[tuple[str, Cd2Row]]:
    header_text = first.decode("utf-8-sig").rstrip("\r\n")
    tsv = "\t" in header_text and "," not in header_text
    counter = [1]

    def texts() -> Iterator[str]:
        for number, raw in _lines(file, b"", stream, start=2):
            counter[0] = number
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise SnapshotError(f"{file}:{number}: not UTF-8 text") from None

    reader = csv.reader(texts(), delimiter="\t" if tsv else ",")
    header = next(csv.reader([header_text], delimiter="\t" if tsv else ","))
    names = [_column(name) for name in header]
    where0 = f"{file}:1"
    if "id" not in names:
        raise SnapshotError(f"{where0}: the header has no key.id (or id) column: {header_text!r}")
    table = _table_of(set(names), file)
    if table == RESULTS:
        missing = sorted(REQUIRED_RESULT_COLUMNS - set(names))
        if missing:
            raise SnapshotError(
                f"{where0}: learning_outcome_results without the column(s) {', '.join(missing)}"
            )
    _add(found, table, file, "tsv" if tsv else "csv")
    null = "\\N" if tsv else "NULL"
    for cells in reader:
        if not cells:
            continue
        where = f"{file}:{counter[0]}"
        if len(cells) != len(names):
            raise SnapshotError(f"{where}: {len(cells)} fields where the header has {len(names)}")
        record = {
            name: (None if cell == null else cell) for name, cell in zip(names, cells, strict=True)
        }
        identity = record.pop("id")
        if identity is None or identity == "":
            raise SnapshotError(f"{where}: no id")
        ts, action = record.pop("meta.ts", None), record.pop("meta.action", None)
        values = {k: v for k, v in record.items() if not k.startswith("meta.")}
        yield table, _row(table, identity, values, ts, action, where)


def _lines(
    file: Path, first: bytes, stream: IO[bytes], start: int = 1
) -> Iterator[tuple[int, bytes]]:
    """Numbered lines; a truncated or corrupt gzip stream is an error naming the line."""
    number = start
    if first:
        yield number, first
        number += 1
    while True:
        try:
            text = stream.readline()
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise SnapshotError(
                f"{file}:{number}: the gzip data is truncated or corrupt at this line "
                f"({error}); download the snapshot again"
            ) from None
        if not text:
            return
        yield number, text
        number += 1


def _column(name: str) -> str:
    name = name.strip()
    for prefix in ("value.", "key."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _table_of(columns: set[str], file: Path) -> str:
    if "learning_outcome_id" in columns and columns & {
        "score",
        "possible",
        "attempt",
        "assessed_at",
        "user_id",
        "user_uuid",
        "artifact_id",
        "association_id",
    }:
        return RESULTS
    if "short_description" in columns:
        return OUTCOMES
    if columns & {"root_learning_outcome_group_id", "learning_outcome_group_id", "vendor_guid"}:
        return GROUPS
    titled = {"title", "context_id", "context_type"} <= columns
    if titled and "outcome_proficiency_id" not in columns:
        return GROUPS  # a root group's JSON line: its null parent and guid are left out
    if "sortable_name" in columns or {"uuid", "name"} <= columns:
        return USERS
    if "outcome_proficiency_id" in columns and columns & {"points", "mastery", "color"}:
        return RATINGS
    if {"context_id", "context_type", "workflow_state"} <= columns and "title" not in columns:
        return PROFICIENCIES
    raise SnapshotError(
        f"{file}: not a snapshot of learning_outcome_results, learning_outcomes, "
        f"learning_outcome_groups, outcome_proficiencies, outcome_proficiency_ratings or "
        f"users (columns: "
        f"{', '.join(sorted(columns)[:12])})"
    )


def _add(found: SnapshotFiles, table: str, file: Path, fmt: str) -> None:
    found.files.setdefault(table, []).append(str(file))
    found.formats[str(file)] = fmt


def _row(
    table: str, identity: Any, values: dict[str, Any], ts: Any, action: Any, where: str
) -> Cd2Row:
    try:
        local = local_id(identity)
        typed = typed_values(values)
    except ValueError as error:
        raise SnapshotError(f"{where}: {error}") from None
    if table == RESULTS and typed.get("learning_outcome_id") is None and action != "D":
        raise SnapshotError(f"{where}: a result without learning_outcome_id")
    return Cd2Row(
        local,
        typed,
        None if ts is None else str(ts),
        None if action is None else str(action),
        where,
    )
