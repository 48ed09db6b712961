"""The gaps-and-reconcile benchmark runs end to end (a smoke run: it proves it works, not how
fast)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from replay.bench import delivery


@pytest.mark.slow
def test_a_small_delivery_benchmark_prints_every_step_with_its_ratios(tmp_path: Path) -> None:
    import typer

    app = typer.Typer(add_completion=False)
    app.command()(delivery.main)
    target = tmp_path / "delivery.json"
    result = CliRunner().invoke(
        app, ["--events", "3000", "--json", str(target), "--workdir", str(tmp_path / "w")]
    )
    assert result.exit_code == 0, result.output
    figures = orjson.loads(target.read_bytes())
    steps = {row["step"]: row for row in figures["steps"]}
    reconcile = steps["mastery reconcile --format json"]
    assert reconcile["peak_rss_mb"] > 0 and reconcile["cpu_seconds"] > 0
    assert reconcile["ratio_to_append_floor"] > 0
    assert "mastery gaps --format json" in steps and "mastery replay" in steps
    assert figures["cd2_rows"] > 0 and figures["lost"]["fraction"] > 0
    assert "mastery reconcile --format json" in result.output
