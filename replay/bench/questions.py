"""The read side, timed: random point-in-time questions and the big course grid."""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from projections.catchup import open_read_models
from projections.queries import MasteryQueries, MasteryQuestion
from replay.bench.processes import run_process
from replay.synthetic.generate import (
    GeneratorSettings,
    write_dump,
)


def point_in_time(store: Path, questions: int, seed: int) -> dict[str, Any]:
    """Latency of random (student, outcome, course, T) questions, and of a course grid."""
    db = open_read_models(store / "read-models.sqlite")
    try:
        keys = db.execute(
            "SELECT user_uuid, outcome_id, context_id FROM rollups ORDER BY random() LIMIT ?",
            [questions],
        ).fetchall()
        span = db.execute("SELECT MIN(event_time), MAX(event_time) FROM result_versions").fetchone()
        first, last = (datetime.fromisoformat(value) for value in span)
        chooser = random.Random(seed)
        queries = MasteryQueries(db)
        latencies = []
        for user, outcome, course in keys:
            moment = first + (last - first) * chooser.random()
            started = time.perf_counter()
            queries.rollup(user, outcome, course, as_of=moment)
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        course, students, outcomes = db.execute(
            "SELECT context_id, COUNT(DISTINCT user_uuid), COUNT(DISTINCT outcome_id) FROM rollups "
            "GROUP BY context_id ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        middle = first + (last - first) / 2
        started = time.perf_counter()
        grid = queries.rollups(MasteryQuestion(course=course, as_of=middle))
        grid_seconds = time.perf_counter() - started
    finally:
        db.close()
    cli_runs = []
    for user, outcome, course in keys[:15]:
        started = time.perf_counter()
        run_process(
            [
                "query",
                "--store",
                str(store),
                "--user",
                user,
                "--outcome",
                outcome,
                "--course",
                course,
                "--as-of",
                (middle + timedelta(seconds=1)).isoformat(),
                "--format",
                "json",
            ]
        )
        cli_runs.append(time.perf_counter() - started)
    return {
        "questions": len(latencies),
        "api_p50_ms": round(1000 * latencies[len(latencies) // 2], 3),
        "api_p99_ms": round(1000 * latencies[int(len(latencies) * 0.99) - 1], 3),
        "cli_median_s": round(statistics.median(cli_runs), 3),
        "grid": {
            "course": course,
            "students": students,
            "outcomes": outcomes,
            "rollups": len(grid),
            "seconds": round(grid_seconds, 3),
        },
    }


def big_course_grid(workdir: Path, seed: int) -> dict[str, Any]:
    """The target's grid: one course, 1,000 students, 50 outcomes, as of mid-term.

    The course links all 50 outcomes and grades them in turn, 200 results per student
    (~200,000 events): by mid-term nearly every student has a rollup of every outcome.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    dump = workdir / "course.jsonl"
    settings = GeneratorSettings(
        students=1_000,
        outcomes=50,
        results_per_student=200,
        courses=1,
        seed=seed,
        outcomes_per_course=50,
    )
    with dump.open("wb") as out:
        write_dump(settings, out)
    store = workdir / "store"
    run_process(["replay", "--store", str(store), str(dump)])
    db = open_read_models(store / "read-models.sqlite")
    try:
        course, students, outcomes = db.execute(
            "SELECT context_id, COUNT(DISTINCT user_uuid), COUNT(DISTINCT outcome_id) "
            "FROM rollups GROUP BY context_id ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        first, last = (
            datetime.fromisoformat(value)
            for value in db.execute(
                "SELECT MIN(event_time), MAX(event_time) FROM result_versions"
            ).fetchone()
        )
        queries = MasteryQueries(db)
        timings = []
        rollups = 0
        for fraction in (0.5, 0.75, 1.0):
            started = time.perf_counter()
            rollups = len(
                queries.rollups(
                    MasteryQuestion(course=course, as_of=first + (last - first) * fraction)
                )
            )
            timings.append(time.perf_counter() - started)
    finally:
        db.close()
    return {
        "students": students,
        "outcomes": outcomes,
        "rollups": rollups,
        "median_seconds": round(statistics.median(timings), 3),
    }
