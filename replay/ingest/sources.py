"""Turn dump files into decoded live-event envelopes, one record per line or array item.

Dumps come from many hands (SQS archives, HTTPS captures of signed payloads, ad-hoc
exports), so nothing in a file's content may stop a replay: every problem becomes a
`Rejection` on its record and reading goes on. Only a bad command-line path raises.

Replays read millions of lines, so the path for a good JSONL line is kept to
readline + `orjson.loads` + two checks; everything unusual (blank lines, BOM, JWT,
SQS, errors) is sorted out only after that fast attempt has failed or found no
"metadata".
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

import orjson

from domain.rejections import Rejection
from replay.ingest.discovery import STDIN, SkippedPath, SourceError, find_dumps, suffix_kind
from replay.ingest.envelopes import decode_bytes, from_value

MAX_JSON_FILE_BYTES = 512 * 1024 * 1024
RAW_KEEP_BYTES = 64 * 1024
BINARY_BAD_RUN = 1000

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Location:
    source: str
    line: int
    item: int | None = None

    def __str__(self) -> str:
        if self.item is None:
            return f"{self.source}:{self.line}"
        return f"{self.source}:{self.line} (item {self.item})"


_new = object.__new__
_set_source = vars(Location)["source"].__set__
_set_line = vars(Location)["line"].__set__
_set_item = vars(Location)["item"].__set__


def _location(source: str, line: int) -> Location:
    """Location(source, line) for the hot loop: the frozen __init__ goes through
    object.__setattr__ per field, a large share of a good line's budget."""
    location: Location = _new(Location)
    _set_source(location, source)
    _set_line(location, line)
    _set_item(location, None)
    return location


@dataclass(slots=True)
class RawRecord:
    """One input line or array item.

    `raw` keeps the bytes for the quarantine without the line terminator or a file's
    BOM. Array items have no byte positions in orjson, so their `raw` is the member
    re-serialised by orjson and their line is 1. `wrapper` is also set on rejections
    when the wrapping was recognised before decoding failed.
    """

    location: Location
    raw: bytes
    event: dict[str, Any] | None
    rejection: Rejection | None
    wrapper: str | None = None


class _Stream(Protocol):
    def readline(self, size: int, /) -> bytes: ...
    def read(self, size: int, /) -> bytes: ...
    def peek(self, size: int, /) -> bytes: ...


def _read_error(exc: Exception) -> Rejection:
    if isinstance(exc, EOFError):
        return Rejection("truncated-gzip", f"the gzip data ends early ({exc}); the rest is lost")
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return Rejection("bad-gzip", f"the gzip data is corrupt ({exc}); the rest is skipped")
    return Rejection("unreadable-file", f"the file cannot be read: {exc}")


class _CountingRaw(io.RawIOBase):
    """Counts on-disk bytes as buffers fill, so progress costs nothing per line."""

    def __init__(self, read: Callable[[int], bytes], reader: DumpReader) -> None:
        self._read = read
        self._reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._reader.bytes_read += n
        return n


class DumpReader:
    def __init__(
        self,
        paths: Sequence[str],
        *,
        stdin: BinaryIO | None = None,
        max_line_bytes: int = 1_000_000,
    ) -> None:
        self.files, self.skipped = find_dumps(paths)
        """The dump files to read, and what the directories held besides (not read)."""
        self.max_line_bytes = max_line_bytes
        self._stdin = stdin
        self._sizes: dict[str, int] = {}
        for path in self.files:
            if path != STDIN:
                try:
                    self._sizes[path] = os.stat(path).st_size
                except OSError:
                    self._sizes[path] = 0
        self.total_bytes: int | None = (
            None if STDIN in self.files else sum(self._sizes[p] for p in self.files)
        )
        self.bytes_read: int = 0

    def __iter__(self) -> Iterator[RawRecord]:
        self.bytes_read = 0
        done = 0
        for path in self.files:
            if path == STDIN:
                stdin = self._stdin if self._stdin is not None else sys.stdin.buffer
                read = getattr(stdin, "read1", stdin.read)
                yield from self._read_stream(STDIN, _CountingRaw(read, self), "jsonl", False)
                done = self.bytes_read
                continue
            try:
                handle = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
            except OSError as exc:
                detail = f"the file cannot be opened: {exc.strerror or exc}"
                yield RawRecord(Location(path, 1), b"", None, Rejection("unreadable-file", detail))
            else:
                with handle:
                    kind = suffix_kind(path) or "jsonl"
                    gz = path.lower().endswith(".gz")
                    yield from self._read_stream(path, _CountingRaw(handle.read, self), kind, gz)
            done += self._sizes[path]
            self.bytes_read = done

    def _read_stream(
        self, source: str, raw: _CountingRaw, kind: str, gz: bool
    ) -> Iterator[RawRecord]:
        """Decide on gzip by extension or by magic bytes (a gzipped ".jsonl" or stdin is
        common), then hand over to the line or whole-document reader."""
        buffered = io.BufferedReader(raw, 1 << 17)
        stream: _Stream = buffered
        try:
            if gz or buffered.peek(2)[:2] == _GZIP_MAGIC:
                stream = gzip.GzipFile(fileobj=buffered, mode="rb")
            if kind == "json":
                yield from self._read_json(source, stream)
            else:
                yield from self._read_lines(source, stream)
        except (OSError, EOFError, zlib.error) as exc:
            # The line reader reports its own breaks; these come from the gzip header,
            # the binary sniff or a whole-document read.
            yield RawRecord(Location(source, 1), b"", None, _read_error(exc))

    def _read_lines(self, source: str, stream: _Stream) -> Iterator[RawRecord]:
        binary = b"\0" in stream.peek(4096)[:4096]
        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        readline = stream.readline
        max_len = self.max_line_bytes
        limit = max_len + 2  # room for "\r\n" after a line of exactly max_len bytes
        lineno = 0
        bad = 0
        try:
            while True:
                line = readline(limit)
                if not line:
                    return
                lineno += 1
                if len(line) > max_len and (too_long := self._too_long(line, readline)):
                    record = RawRecord(Location(source, lineno), too_long[0], None, too_long[1])
                else:
                    try:
                        obj = loads(line)
                    except decode_error:
                        if lineno == 1 and line.startswith(_BOM):
                            line = line[3:]
                        decoded = decode_bytes(line)
                        if decoded is None:
                            continue
                    else:
                        if type(obj) is dict and "metadata" in obj:
                            bad = 0
                            yield RawRecord(
                                _location(source, lineno), line.rstrip(b"\r\n"), obj, None
                            )
                            continue
                        decoded = from_value(obj)
                    record = RawRecord(Location(source, lineno), line.rstrip(b"\r\n"), *decoded)
                yield record
                if record.rejection is None:
                    bad = 0
                    continue
                bad += 1
                if binary and bad >= BINARY_BAD_RUN and stream.peek(1):
                    detail = (
                        f"the file starts with NUL bytes and its last {BINARY_BAD_RUN} lines "
                        "were not events: it looks binary, so the rest of it is skipped"
                    )
                    rejection = Rejection("binary-file", detail)
                    yield RawRecord(Location(source, lineno + 1), b"", None, rejection)
                    return
        except (OSError, EOFError, zlib.error) as exc:
            yield RawRecord(Location(source, lineno + 1), b"", None, _read_error(exc))

    def _too_long(
        self, line: bytes, readline: Callable[[int], bytes]
    ) -> tuple[bytes, Rejection] | None:
        """Decide precisely on a line the fast length check flagged, draining the rest of
        an over-long line in chunks so memory stays bounded whatever the file holds."""
        complete = line.endswith(b"\n") or len(line) < self.max_line_bytes + 2
        content = line.rstrip(b"\r\n") if complete else line
        if complete and len(content) <= self.max_line_bytes:
            return None
        head = content[:RAW_KEEP_BYTES]
        size = len(content)
        while not complete:
            chunk = readline(RAW_KEEP_BYTES)
            complete = not chunk or chunk.endswith(b"\n")
            chunk = chunk.rstrip(b"\r\n") if complete else chunk
            size += len(chunk)
            if len(head) < RAW_KEEP_BYTES:
                head += chunk[: RAW_KEEP_BYTES - len(head)]
        detail = (
            f"the line is {size:,} bytes, over the limit of {self.max_line_bytes:,} "
            "(Canvas drops events over 1,000,000 bytes)"
        )
        return head, Rejection("line-too-long", detail)

    def _read_json(self, source: str, stream: _Stream) -> Iterator[RawRecord]:
        """A .json file is one document, so it has to be read whole; the size cap keeps a
        mistaken multi-GB export from exhausting memory (JSONL streams instead)."""
        too_large = self._sizes.get(source, 0) > MAX_JSON_FILE_BYTES
        data = b"" if too_large else stream.read(MAX_JSON_FILE_BYTES + 1)
        if too_large or len(data) > MAX_JSON_FILE_BYTES:
            detail = (
                f"the file is over {MAX_JSON_FILE_BYTES // 2**20} MiB, too large to read as "
                "one JSON document; convert it to JSONL (one event per line), e.g. with "
                "jq -c '.[]'"
            )
            yield RawRecord(Location(source, 1), b"", None, Rejection("file-too-large", detail))
            return
        if data.startswith(_BOM):
            data = data[3:]
        data = data.strip()
        if not data:
            return
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            decoded = decode_bytes(data)
            if decoded is not None:
                event, rejection, wrapper = decoded
                if rejection is not None and "content after document" in rejection.detail:
                    hint = "; if it holds one event per line, name it .jsonl"
                    rejection = Rejection(rejection.reason, rejection.detail + hint)
                raw = data[:RAW_KEEP_BYTES] if event is None else data
                yield RawRecord(Location(source, 1), raw, event, rejection, wrapper)
            return
        if type(value) is not list:
            event, rejection, wrapper = from_value(value)
            yield RawRecord(Location(source, 1), data, event, rejection, wrapper)
            return
        del data
        dumps = orjson.dumps
        for index, member in enumerate(value, 1):
            event, rejection, wrapper = from_value(member)
            yield RawRecord(Location(source, 1, index), dumps(member), event, rejection, wrapper)


__all__ = ["STDIN", "DumpReader", "Location", "RawRecord", "SkippedPath", "SourceError"]
