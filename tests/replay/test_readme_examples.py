"""The README's hierarchy and export examples are what the commands print on the sample."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from tests.replay.helpers import replay_json, run

REPOSITORY = Path(__file__).resolve().parents[2]
README = (REPOSITORY / "README.md").read_text()


def example_after(command: str) -> list[str]:
    """The lines of the README's code block that follow `$ <command>`."""
    start = README.index(f"$ {command}\n") + len(command) + 3
    block = README[start : README.index("```", start)]
    lines = block.split("\n\n$ ")[0]
    return lines.rstrip("\n").splitlines()


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("readme") / "demo-store"
    replay_json(store, REPOSITORY / "data" / "sample.jsonl")
    return store


def printed(store: Path, *args: str) -> list[str]:
    result = run(*args[:1], "--store", str(store), *args[1:])
    assert result.exit_code == 0, result.output
    lines: list[str] = result.stdout.rstrip("\n").splitlines()
    return lines


def test_the_readme_tree_is_the_sample_course_tree(sample_store: Path) -> None:
    expected = example_after("mastery hierarchy --store demo-store --context Course:601")
    assert printed(sample_store, "hierarchy", "--context", "Course:601") == expected


def test_the_readme_export_examples_are_the_sample_exports(sample_store: Path) -> None:
    (aggregate,) = example_after("mastery rollups --store demo-store --course 601 --aggregate mean")
    (line,) = printed(sample_store, "rollups", "--course", "601", "--aggregate", "mean")
    assert line.startswith(aggregate.split("...")[0])
    header, row = example_after(
        "mastery rollups --store demo-store --course 601 --format csv | head -2"
    )
    lines = printed(sample_store, "rollups", "--course", "601", "--format", "csv")
    assert lines[0].startswith(header.removesuffix("..."))
    assert lines[1] == row


def test_the_readme_python_api_example_runs_on_the_sample(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    start = README.index("```python\nfrom replay.service import") + len("```python\n")
    example = README[start : README.index("```", start)]
    monkeypatch.chdir(sample_store.parent)
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md (Python API)", "exec"), namespace)
    printed_rollups = capsys.readouterr().out.splitlines()
    assert printed_rollups and all("'context_id': '601'" in line for line in printed_rollups)
    assert namespace["last_seen"] == max(
        change["sequence"]
        for change in namespace["service"].changes(limit=1000)  # type: ignore[attr-defined]
    )


def test_the_readme_known_at_example_shows_what_was_known_before_the_rest_arrived(
    tmp_path: Path,
) -> None:
    start = README.index("  head -n 400 data/sample.jsonl | mastery replay --store s -")
    snippet = textwrap.dedent(README[start : README.index("```", start)])
    bin_directory = Path(sys.executable).parent
    environment = {**os.environ, "PATH": f"{bin_directory}{os.pathsep}{os.environ['PATH']}"}
    (tmp_path / "data").symlink_to(REPOSITORY / "data")
    script = snippet.replace("mastery query", "mastery query --format json")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        check=True,
    )
    answer = done.stdout[done.stdout.index(b"\n[") :]  # after the two replay summaries
    known_then = {(r["user_uuid"], r["learning_outcome_id"]) for r in orjson.loads(answer)}
    everything = run("query", "--store", str(tmp_path / "s"), "--course", "601", "--format", "json")
    known_now = {
        (r["user_uuid"], r["learning_outcome_id"]) for r in orjson.loads(everything.stdout)
    }
    assert known_then and known_then < known_now


def test_the_readme_lists_every_read_model_table(sample_store: Path) -> None:
    import sqlite3

    connection = sqlite3.connect(sample_store / "read-models.sqlite")
    try:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    finally:
        connection.close()
    store_section = README[README.index("## The store") : README.index("## Scaling out")]
    assert {table for table in tables if f"`{table}`" not in store_section} == set()
