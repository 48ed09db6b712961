"""How dump files become records: formats, wrappers, and every way input can be bad."""

from __future__ import annotations

import base64
import gzip
import io
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.ingest import discovery, sources
from replay.ingest.discovery import expand_paths
from replay.ingest.sources import DumpReader, Location, RawRecord, SourceError


def event(n: int) -> dict[str, Any]:
    return {
        "metadata": {"event_name": "learning_outcome_created", "event_time": f"2024-01-0{n}"},
        "body": {"learning_outcome_id": str(n), "title": f"outcome {n}"},
    }


def line(n: int) -> bytes:
    return orjson.dumps(event(n))


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt(claims: Any, header: bytes = b'{"alg":"RS256","typ":"JWT"}') -> bytes:
    return b64url(header) + b"." + b64url(orjson.dumps(claims)) + b".c2lnbmF0dXJl"


def write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return str(path)


def read(*paths: str, **options: Any) -> list[RawRecord]:
    return list(DumpReader(paths, **options))


def reasons(records: list[RawRecord]) -> list[str | None]:
    return [r.rejection.reason if r.rejection else None for r in records]


def test_each_jsonl_line_becomes_one_event_record_with_its_line_number(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", line(1) + b"\n" + line(2) + b"\n")

    records = read(path)

    assert [r.event for r in records] == [event(1), event(2)]
    assert [r.location for r in records] == [Location(path, 1), Location(path, 2)]
    assert [r.raw for r in records] == [line(1), line(2)]
    assert [(r.rejection, r.wrapper) for r in records] == [(None, None), (None, None)]


def test_an_ndjson_file_is_read_as_lines_even_without_a_final_newline(tmp_path: Path) -> None:
    path = write(tmp_path / "a.ndjson", line(1) + b"\n" + line(2))

    assert [r.event for r in read(path)] == [event(1), event(2)]


def test_a_json_file_holding_one_object_gives_one_event(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", orjson.dumps(event(1), option=orjson.OPT_INDENT_2))

    records = read(path)

    assert [(r.event, r.location, r.rejection) for r in records] == [
        (event(1), Location(path, 1), None)
    ]


def test_a_json_array_gives_one_record_per_member_and_rejects_a_non_object(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "many.json", orjson.dumps([event(1), [1, 2], event(3)]))

    records = read(path)

    assert [r.location for r in records] == [Location(path, 1, i) for i in (1, 2, 3)]
    assert [r.event for r in records] == [event(1), None, event(3)]
    assert reasons(records) == [None, "not-an-object", None]
    assert "an array" in str(records[1].rejection)
    assert records[1].raw == b"[1,2]"


def test_a_json_file_that_does_not_parse_gives_one_not_json_record(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.json", b'[\n  {"metadata": {}},\n  {"body": ]\n')

    records = read(path)

    assert reasons(records) == ["not-json"]
    assert "line 3" in records[0].rejection.detail  # type: ignore[union-attr]


def test_a_json_file_holding_json_lines_is_rejected_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "lines.json", line(1) + b"\n" + line(2) + b"\n")

    records = read(path)

    assert reasons(records) == ["not-json"]
    assert ".jsonl" in records[0].rejection.detail  # type: ignore[union-attr]


def test_a_json_file_over_the_size_cap_is_refused_in_one_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_JSON_FILE_BYTES", 300)
    small = write(tmp_path / "small.json", line(1))
    big = write(tmp_path / "big.json", orjson.dumps([event(n) for n in range(1, 5)]))
    big_gz = write(tmp_path / "big.json.gz", orjson.dumps([event(n) for n in range(1, 5)]))
    assert os.path.getsize(small) < 300 < os.path.getsize(big)
    assert os.path.getsize(big_gz) < 300  # too large only once decompressed

    reader = DumpReader([small, big, big_gz])
    records = list(reader)

    assert reasons(records) == [None, "file-too-large", "file-too-large"]
    assert "JSONL" in records[1].rejection.detail  # type: ignore[union-attr]
    assert reader.bytes_read == reader.total_bytes


@pytest.mark.parametrize("name", ["a.jsonl.gz", "a.ndjson.gz"])
def test_a_gzipped_jsonl_file_is_decompressed(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, line(1) + b"\n" + line(2) + b"\n")

    assert [r.event for r in read(path)] == [event(1), event(2)]


def test_a_gzipped_json_array_is_decompressed(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json.gz", orjson.dumps([event(1), event(2)]))

    assert [r.event for r in read(path)] == [event(1), event(2)]


def test_a_gzipped_file_without_the_gz_suffix_is_recognised_by_its_magic_bytes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(gzip.compress(line(1) + b"\n"))

    assert [r.event for r in read(str(path))] == [event(1)]


def test_a_directory_is_read_recursively_in_path_order_skipping_other_files(
    tmp_path: Path,
) -> None:
    root = tmp_path / "dump"
    write(root / "b" / "2.jsonl", line(3) + b"\n")
    write(root / "b" / "1.json", orjson.dumps(event(2)))
    write(root / "a.jsonl.gz", line(1) + b"\n")
    write(root / "c" / "d" / "4.ndjson", line(4) + b"\n")
    write(root / "notes.txt", b"not a dump\n")
    write(root / "._a.jsonl", b"\0\0macOS debris")

    reader = DumpReader([str(root)])
    records = list(reader)

    assert reader.files == [
        str(root / "a.jsonl.gz"),
        str(root / "b" / "1.json"),
        str(root / "b" / "2.jsonl"),
        str(root / "c" / "d" / "4.ndjson"),
    ]
    assert [r.event for r in records] == [event(1), event(2), event(3), event(4)]
    assert [s.path for s in reader.skipped] == [str(root / "notes.txt")]


def test_files_a_directory_holds_that_are_not_dumps_are_listed_with_why(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    write(root / "a.log", b"log\n")
    write(root / "sub" / "b.jsonl.bz2", b"BZh9")
    write(root / "c.jsonl", line(1) + b"\n")

    reader = DumpReader([str(root)])

    assert reader.files == [str(root / "c.jsonl")]
    assert [(s.path, s.reason) for s in reader.skipped] == [
        (str(root / "a.log"), discovery._NOT_A_DUMP),
        (str(root / "sub" / "b.jsonl.bz2"), discovery._NOT_A_DUMP),
    ]


def _read_within(reader: DumpReader, seconds: float) -> list[RawRecord]:
    """Read on a thread: a reader blocked on a FIFO must fail the test, not hang it."""
    import threading

    records: list[RawRecord] = []
    thread = threading.Thread(target=lambda: records.extend(reader), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the reader blocked (opened a FIFO?)"
    return records


def test_fifos_sockets_and_devices_in_a_directory_are_skipped_with_a_reason_never_opened(
    tmp_path: Path,
) -> None:
    import socket

    root = tmp_path / "dump"
    write(root / "a.jsonl", line(1) + b"\n")
    os.mkfifo(root / "b.jsonl")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(root / "c.jsonl"))
    os.symlink("/dev/null", root / "d.jsonl")
    write(root / "e.jsonl", line(2) + b"\n")
    try:
        reader = DumpReader([str(root)])
        records = _read_within(reader, 10)
    finally:
        unix.close()

    assert [r.event for r in records] == [event(1), event(2)]
    assert [(s.path, s.reason) for s in reader.skipped] == [
        (str(root / "b.jsonl"), "a FIFO (named pipe), never opened"),
        (str(root / "c.jsonl"), "a socket, never opened"),
        (str(root / "d.jsonl"), "a device, never opened"),
    ]


def test_a_fifo_named_on_the_command_line_is_read(tmp_path: Path) -> None:
    """`mastery replay <(zcat dump.jsonl.gz)` names a pipe: meant, so read."""
    import threading

    fifo = tmp_path / "piped.jsonl"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(line(1) + b"\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    assert [r.event for r in _read_within(DumpReader([str(fifo)]), 10)] == [event(1)]


def test_a_symlinked_subdirectory_is_followed_and_a_link_loop_is_read_once(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    write(real / "1.jsonl", line(1) + b"\n")
    root = tmp_path / "d2"
    write(root / "2.jsonl", line(2) + b"\n")
    os.symlink("../real", root / "linked")
    os.symlink("..", real / "up")  # real/up -> tmp_path, which holds d2 and real again
    os.symlink("../real/1.jsonl", root / "same.jsonl")

    reader = DumpReader([str(root)])
    records = list(reader)

    assert reader.files == [str(root / "2.jsonl"), str(root / "linked" / "1.jsonl")]
    assert [r.event for r in records] == [event(2), event(1)]
    reasons_by_path = {s.path: s.reason for s in reader.skipped}
    assert reasons_by_path[str(root / "same.jsonl")].startswith("the same file as")
    assert "a symbolic link" in reasons_by_path[str(root / "linked" / "up" / "d2")]


def test_stdin_is_read_as_jsonl(tmp_path: Path) -> None:
    reader = DumpReader(["-"], stdin=io.BytesIO(line(1) + b"\n" + line(2) + b"\n"))

    records = list(reader)

    assert [r.event for r in records] == [event(1), event(2)]
    assert [r.location for r in records] == [Location("-", 1), Location("-", 2)]
    assert reader.total_bytes is None


def test_gzipped_stdin_is_recognised_by_its_magic_bytes() -> None:
    stdin = io.BytesIO(gzip.compress(line(1) + b"\n" + line(2) + b"\n"))

    assert [r.event for r in read("-", stdin=stdin)] == [event(1), event(2)]


def test_blank_lines_are_skipped_but_still_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", b"\n  \t\n" + line(1) + b"\n\r\n\n" + line(2) + b"\n \n")

    records = read(path)

    assert [(r.location.line, r.event) for r in records] == [(3, event(1)), (6, event(2))]


def test_a_byte_order_mark_at_the_start_of_a_file_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", b"\xef\xbb\xbf" + line(1) + b"\n" + line(2) + b"\n")
    array = write(tmp_path / "a.json", b"\xef\xbb\xbf" + orjson.dumps([event(3)]))

    records = read(path, array)

    assert [r.event for r in records] == [event(1), event(2), event(3)]
    assert records[0].raw == line(1)


def test_crlf_line_endings_are_accepted_and_left_out_of_raw(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", line(1) + b"\r\n" + line(2) + b"\r\n")

    records = read(path)

    assert [r.event for r in records] == [event(1), event(2)]
    assert [r.raw for r in records] == [line(1), line(2)]


def test_a_line_that_is_not_json_is_rejected_with_orjsons_message(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", b'{"metadata": \n' + b"NaN\n" + line(3) + b"\n")

    records = read(path)

    assert reasons(records) == ["not-json", "not-json", None]
    assert "line 1 column" in records[0].rejection.detail  # type: ignore[union-attr]
    assert records[0].raw == b'{"metadata": '
    assert records[2].event == event(3)


def test_invalid_utf8_is_rejected_naming_the_byte(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", b'{"metadata": {"x": "caf\xe9"}}\n')

    records = read(path)

    assert reasons(records) == ["invalid-utf8"]
    assert "byte 24 (0xe9)" in records[0].rejection.detail  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (b"[1, 2]", "an array"),
        (b'"x"', "a string"),
        (b"3", "a number"),
        (b"3.5", "a number"),
        (b"true", "a boolean"),
        (b"null", "null"),
    ],
)
def test_a_json_value_that_is_not_an_object_is_rejected(
    tmp_path: Path, text: bytes, kind: str
) -> None:
    path = write(tmp_path / "a.jsonl", text + b"\n")

    records = read(path)

    assert reasons(records) == ["not-an-object"]
    assert f"is {kind}," in records[0].rejection.detail  # type: ignore[union-attr]


@pytest.mark.parametrize("limit", [200, 70_000])
def test_an_over_long_line_is_rejected_and_reading_resumes_after_it(
    tmp_path: Path, limit: int
) -> None:
    long = b'{"x": "' + b"a" * 100_000 + b'"}'
    path = write(tmp_path / "a.jsonl", line(1) + b"\n" + long + b"\r\n" + line(3) + b"\n")

    records = read(path, max_line_bytes=limit)

    assert reasons(records) == [None, "line-too-long", None]
    assert [r.location.line for r in records] == [1, 2, 3]
    assert records[1].raw == long[: 64 * 1024]
    assert f"{len(long):,} bytes" in records[1].rejection.detail  # type: ignore[union-attr]
    assert records[2].event == event(3)


def test_a_line_of_exactly_the_limit_is_accepted_whatever_its_line_ending(
    tmp_path: Path,
) -> None:
    size = len(line(1))
    path = write(tmp_path / "a.jsonl", line(1) + b"\r\n" + line(2) + b"\n" + line(3))

    records = read(path, max_line_bytes=size)

    assert reasons(records) == [None, None, None]
    assert reasons(read(path, max_line_bytes=size - 1)) == ["line-too-long"] * 3


def test_an_sqs_message_body_is_unwrapped(tmp_path: Path) -> None:
    upper = {"MessageId": "m1", "Body": line(1).decode(), "MessageAttributes": {}}
    lower = {"messageId": "m2", "body": line(2).decode()}
    path = write(tmp_path / "a.jsonl", orjson.dumps(upper) + b"\n" + orjson.dumps(lower))

    records = read(path)

    assert [(r.event, r.wrapper) for r in records] == [(event(1), "sqs"), (event(2), "sqs")]
    assert records[0].raw == orjson.dumps(upper)


def test_an_event_whose_body_is_an_object_is_not_mistaken_for_sqs(tmp_path: Path) -> None:
    no_metadata = {"body": {"id": "1"}}
    path = write(tmp_path / "a.jsonl", orjson.dumps(no_metadata) + b"\n")

    records = read(path)

    assert [(r.event, r.wrapper, r.rejection) for r in records] == [(no_metadata, None, None)]


@pytest.mark.parametrize(
    ("body", "cause"),
    [("{not json", "not JSON"), ("[1]", "an array"), ("eyJhbGciOiJub25lIn0.e30x.", "bad JWT")],
)
def test_an_sqs_body_that_is_not_an_event_is_rejected(
    tmp_path: Path, body: str, cause: str
) -> None:
    path = write(tmp_path / "a.jsonl", orjson.dumps({"MessageId": "m", "Body": body}) + b"\n")

    records = read(path)

    assert reasons(records) == ["bad-sqs-body"]
    assert cause in records[0].rejection.detail  # type: ignore[union-attr]
    assert records[0].event is None


def test_a_jwt_line_is_decoded_without_checking_the_signature(tmp_path: Path) -> None:
    unsigned = b".".join(base64.urlsafe_b64encode(p) for p in (b'{"alg":"none"}', line(2), b""))
    assert b"=." in unsigned and unsigned.endswith(b".")  # padding; no signature
    path = write(tmp_path / "a.jsonl", jwt(event(1)) + b"\n" + unsigned + b"\n")

    records = read(path)

    assert [(r.event, r.wrapper) for r in records] == [(event(1), "jwt"), (event(2), "jwt")]
    assert records[0].raw == jwt(event(1))


@pytest.mark.parametrize(
    ("token", "cause"),
    [
        (b64url(b'{"alg":"RS256"}') + b".abcde.sig", "not valid base64url"),
        (b64url(b'{"alg":"RS256"}') + b"." + b64url(b"not json") + b".sig", "not JSON"),
        (jwt([event(1)]), "an array"),
        (b"eyJub3QganNvbg." + b64url(line(1)) + b".sig", "header"),
    ],
)
def test_a_jwt_that_cannot_be_decoded_is_rejected(tmp_path: Path, token: bytes, cause: str) -> None:
    path = write(tmp_path / "a.jsonl", token + b"\n")

    records = read(path)

    assert reasons(records) == ["bad-jwt"]
    assert cause in records[0].rejection.detail  # type: ignore[union-attr]
    assert records[0].raw == token


def test_an_sqs_body_holding_a_jwt_is_unwrapped_twice(tmp_path: Path) -> None:
    message = {"MessageId": "m", "Body": jwt(event(1)).decode()}
    path = write(tmp_path / "a.jsonl", orjson.dumps(message) + b"\n")

    records = read(path)

    assert [(r.event, r.wrapper) for r in records] == [(event(1), "sqs+jwt")]


def test_a_truncated_gzip_keeps_the_lines_before_the_break_and_goes_on(tmp_path: Path) -> None:
    lines = [orjson.dumps({**event(1), "n": n, "pad": os.urandom(200).hex()}) for n in range(400)]
    whole = gzip.compress(b"\n".join(lines) + b"\n")
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    after = write(tmp_path / "next.jsonl", line(2) + b"\n")

    records = read(str(broken), after)

    good = [r for r in records if r.location.source == str(broken) and r.rejection is None]
    assert 0 < len(good) < 400
    assert [r.raw for r in good] == lines[: len(good)]
    assert reasons(records[len(good) :]) == ["truncated-gzip", None]
    assert records[len(good)].location == Location(str(broken), len(good) + 1)
    assert records[-1].event == event(2)


def test_a_gz_file_that_is_not_gzip_is_reported_as_bad_gzip(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl.gz"
    path.write_bytes(line(1) + b"\n")

    records = read(str(path))

    assert reasons(records) == ["bad-gzip"]
    assert records[0].location == Location(str(path), 1)


def test_a_binary_file_is_cut_short_after_a_run_of_bad_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", b"\0\x01\x02\n" * 1500)

    records = read(path)

    assert len(records) == 1001
    assert set(reasons(records[:1000])) == {"not-json"}
    assert reasons(records[1000:]) == ["binary-file"]
    assert records[1000].location == Location(path, 1001)


def test_a_text_file_full_of_bad_lines_is_not_cut_short(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", b"oops\n" * 1500)

    assert reasons(read(path)) == ["not-json"] * 1500


def test_a_file_that_vanished_before_reading_gives_one_unreadable_record(
    tmp_path: Path,
) -> None:
    gone = tmp_path / "gone.jsonl"
    write(gone, line(1) + b"\n")
    after = write(tmp_path / "next.jsonl", line(2) + b"\n")
    reader = DumpReader([str(gone), after])
    gone.unlink()

    records = list(reader)

    assert reasons(records) == ["unreadable-file", None]
    assert records[0].location == Location(str(gone), 1)


@pytest.mark.parametrize("name", ["a.jsonl", "a.json", "a.jsonl.gz", "a.json.gz", "b.json"])
def test_empty_files_give_no_records(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, b"" if name != "b.json" else b" \n\n")

    assert read(path) == []


def test_a_missing_path_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        DumpReader([str(tmp_path / "missing.jsonl")])


def test_an_unsupported_file_named_explicitly_raises_source_error(tmp_path: Path) -> None:
    path = write(tmp_path / "dump.csv", b"a,b\n")

    with pytest.raises(SourceError, match="not a dump file"):
        expand_paths([path])


def test_bytes_read_grows_during_reading_and_reaches_total_bytes(tmp_path: Path) -> None:
    lines = b"".join(line(n % 9 + 1) + b"\n" for n in range(5000))
    plain = write(tmp_path / "a.jsonl", lines)
    packed = write(tmp_path / "b.jsonl.gz", lines)
    array = write(tmp_path / "c.json", orjson.dumps([event(1)]))
    reader = DumpReader([plain, packed, array])
    assert reader.total_bytes == sum(os.path.getsize(p) for p in (plain, packed, array))

    seen = [reader.bytes_read for _ in reader]

    assert 0 < seen[0] < os.path.getsize(plain)
    assert seen == sorted(seen)
    assert reader.bytes_read == reader.total_bytes


def test_bytes_read_ends_at_total_bytes_even_if_a_file_grew_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    write(path, line(1) + b"\n")
    reader = DumpReader([str(path)])
    with path.open("ab") as growing:
        growing.write(line(2) + b"\n")

    records = list(reader)

    assert len(records) == 2
    assert reader.bytes_read == reader.total_bytes == len(line(1)) + 1


def test_a_file_named_twice_is_read_and_counted_twice(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", line(1) + b"\n")
    reader = DumpReader([path, path])

    records = list(reader)

    assert [r.event for r in records] == [event(1), event(1)]
    assert reader.bytes_read == reader.total_bytes == 2 * os.path.getsize(path)


def test_bytes_read_counts_stdin() -> None:
    data = line(1) + b"\n" + line(2) + b"\n"
    reader = DumpReader(["-"], stdin=io.BytesIO(data))

    list(reader)

    assert reader.bytes_read == len(data)


def test_a_location_reads_as_path_and_line_with_the_item_for_arrays() -> None:
    assert str(Location("dump/a.jsonl", 12)) == "dump/a.jsonl:12"
    assert str(Location("dump/a.json", 3, 7)) == "dump/a.json:3 (item 7)"
