"""A read-only store, a full disk, a newer store: a clear error, exit code 2, no traceback,
and no damage to the log (it verifies, and a later run finishes the job)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.reliability.helpers import assert_same_store, generated_dump, mastery
from tests.replay.helpers import log_contents

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


def _mounts_required() -> bool:
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("MASTERY_REQUIRE_MOUNTS", "") == "1"
    )


def _tmpfs(directory: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (needs root and a sandbox that allows mounts).

    Where it cannot be mounted the test skips, except on CI (CI=true, or
    MASTERY_REQUIRE_MOUNTS=1), where it fails: CI runs as root and must run these.
    """
    target = directory / "mnt"
    target.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target))
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs here ({mounted.stderr.strip()}): needs root"
        if _mounts_required():
            pytest.fail(f"CI must run the resource-fault tests: {message}")
        pytest.skip(message)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """1 MB: too small for the log of a few thousand events."""
    yield from _tmpfs(tmp_path, "1m")


@pytest.fixture
def roomy_filesystem(tmp_path: Path) -> Iterator[Path]:
    yield from _tmpfs(tmp_path, "16m")


def assert_clear_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    message = " ".join(result.stderr.split())
    for word in words:
        assert word in message, message


def test_a_read_only_store_gives_a_clear_error_and_no_damage(
    roomy_filesystem: Path, tmp_path: Path
) -> None:
    small_filesystem = roomy_filesystem
    store = small_filesystem / "store"
    assert mastery("replay", "--store", str(store), str(SAMPLE)).returncode == 0
    before = log_contents(store)
    more = generated_dump(tmp_path, students=5, results_per_student=5)
    remounted = _mount("-o", "remount,ro", str(small_filesystem))
    assert remounted.returncode == 0, remounted.stderr
    try:
        for command in (["replay", str(more)], ["query"], ["verify"]):
            result = mastery(command[0], "--store", str(store), *command[1:])
            assert_clear_error(result, "cannot be written", "read-only", "writable", str(store))
    finally:
        assert _mount("-o", "remount,rw", str(small_filesystem)).returncode == 0
    assert log_contents(store) == before
    assert mastery("verify", "--store", str(store)).returncode == 0


@pytest.mark.slow
def test_a_full_disk_gives_a_clear_error_and_a_later_run_finishes(
    small_filesystem: Path, tmp_path: Path
) -> None:
    dump = generated_dump(tmp_path, students=120, results_per_student=20)
    reference = tmp_path / "reference"
    assert mastery("replay", "--store", str(reference), str(dump)).returncode == 0

    store = small_filesystem / "store"
    full = mastery("replay", "--store", str(store), "--batch-size", "200", str(dump))
    assert_clear_error(full, "is full", "free some space", str(store))
    stored = log_contents(store)
    assert stored < log_contents(reference)  # what was committed is a part of the log

    grown = _mount("-o", "remount,size=64m", str(small_filesystem))
    assert grown.returncode == 0, grown.stderr
    assert mastery("verify", "--store", str(store)).returncode == 0
    finished = mastery("replay", "--store", str(store), str(dump))
    assert finished.returncode == 0, finished.stderr
    assert_same_store(store, reference)


def test_a_store_of_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert mastery("replay", "--store", str(store), str(SAMPLE)).returncode == 0
    marker = store / "store.json"
    marker.write_bytes(orjson.dumps({"format": 99, "program": "outcome-mastery"}))
    log_before = (store / "log.sqlite").read_bytes()
    for command in ("replay", "query", "verify", "rebuild", "status"):
        extra = [str(SAMPLE)] if command == "replay" else []
        result = mastery(command, "--store", str(store), *extra)
        assert_clear_error(result, "newer outcome-mastery", "format 99", "upgrade")
    assert (store / "log.sqlite").read_bytes() == log_before


def test_a_corrupt_read_model_file_is_named_and_fixed_by_rebuild(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert mastery("replay", "--store", str(store), str(SAMPLE)).returncode == 0
    reference = tmp_path / "reference"
    shutil.copytree(store, reference)
    path = store / "read-models.sqlite"
    path.write_bytes(path.read_bytes()[:8192] + b"\x00garbage" * 4096)
    broken = mastery("query", "--store", str(store))
    assert_clear_error(broken, "read-models.sqlite", "mastery rebuild")
    assert mastery("rebuild", "--store", str(store)).returncode == 0
    assert_same_store(store, reference)
