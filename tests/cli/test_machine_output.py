"""Machine output is streamed, complete and the same in every format; errors stay whole."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.cli.output import write_json_array, write_json_lines
from tests.replay.helpers import replay_json, run

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("output") / "store"
    replay_json(store, SAMPLE)
    return store


def test_a_json_array_is_written_item_by_item_as_the_items_come() -> None:
    target = io.StringIO()

    def items() -> Iterator[dict[str, Any]]:
        yield {"n": 1}
        yield {"n": 2}
        assert orjson.loads(target.getvalue() + "\n]") == [{"n": 1}, {"n": 2}]
        raise RuntimeError("the source failed after two items")

    with pytest.raises(RuntimeError):
        write_json_array(items(), target)


def test_json_arrays_and_lines_parse_back_to_their_items() -> None:
    items = [{"a": 1, "nested": {"b": [1, 2]}}, {"a": None}, {}]
    array, lines = io.StringIO(), io.StringIO()
    assert write_json_array(items, array) == 3
    assert write_json_lines(items, lines) == 3
    assert orjson.loads(array.getvalue()) == items
    assert [orjson.loads(line) for line in lines.getvalue().splitlines()] == items
    empty = io.StringIO()
    write_json_array([], empty)
    assert orjson.loads(empty.getvalue()) == []


def test_query_json_and_csv_hold_the_same_rollups(sample_store: Path) -> None:
    as_json = run("query", "--store", str(sample_store), "--format", "json")
    as_csv = run("query", "--store", str(sample_store), "--format", "csv")
    documents = orjson.loads(as_json.stdout)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(documents) == len(rows) > 100
    for document, row in zip(documents, rows, strict=True):
        assert row["user_uuid"] == document["user_uuid"]
        assert row["score"] == ("" if document["score"] is None else str(document["score"]))
        rating = document["rating"] or {}
        assert row["rating_color"] == (rating.get("color") or "")


def test_an_output_file_that_cannot_be_written_is_named_not_the_store(
    sample_store: Path, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-directory" / "x.csv"
    result = run("rollups", "--store", str(sample_store), "--course", "601", "-o", str(target))
    assert result.exit_code == 2
    assert f"cannot write {target}" in result.stderr
    assert "store" not in result.stderr


def test_error_messages_are_never_wrapped_when_not_on_a_terminal(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-directory-name-" * 4) / "store"
    result = run("query", "--store", str(deep))
    assert result.exit_code == 2
    (message,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert str(deep) in message
