"""Benchmark of the web view and the API (a script, not a timed test).

    python -m replay.bench.web [--students 1000] [--outcomes 50] [--results-per-student 200]

Generates one course (`mastery generate`), replays it, serves it with uvicorn on a
loopback port and times, as a browser and a Canvas client would ask (request to
last byte, so server time plus a loopback round trip):

* a page of 100 students as of T (the fragment a slider move fetches, and the whole
  page), sorted by student and by an outcome; the course row (mean), fetched after;
* the whole grid's CSV as of T;
* a student's page (every outcome's history) and the outcomes page (tree and
  distributions) as of T;
* the API's outcome_rollups, a page of 100, as of T;
* a slider move on a small course (30 students x 10 outcomes): the grid fragment.

T is mid-term, three quarters and the end of the course's span (median of those);
the small course's slider moves are 10 moments spread over its span. Targets:
page <= 0.5 s, CSV <= 2 s, slider move <= 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from replay.service import MasteryService
from replay.service.access import AccessService
from replay.service.synthetic import write_synthetic_dump
from replay.web import create_web_app


def make_store(root: Path, students: int, outcomes: int, results: int, seed: int) -> MasteryService:
    root.mkdir(parents=True, exist_ok=True)
    dump = root / "course.jsonl"
    with dump.open("wb") as target:
        write_synthetic_dump(
            target,
            students=students,
            outcomes=outcomes,
            results_per_student=results,
            courses=1,
            seed=seed,
            outcomes_per_course=outcomes,
        )
    service = MasteryService.open(str(root / "store"), create=True)
    service.replay([str(dump)])
    return service


class Served:
    def __init__(self, service: MasteryService) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        access = AccessService.of(service)
        _, token = access.create_token("read")
        app = create_web_app(service, access=access)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        self.client.post("/login", data={"token": token})
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=120,
            headers={"Authorization": f"Bearer {token}"},
        )
        with service.reading() as reader:
            summary = max(reader.courses(), key=lambda c: c.students)
            view = reader.course(summary.course_id)
            self.outcome = view.outcomes[0].outcome_id
            self.student = view.students()[len(view.students()) // 2]
        self.course = summary.course_id
        self.span = (summary.first_event or "", summary.last_event or "")

    def moments(self, fractions: list[float]) -> list[str]:
        first, last = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in self.span)
        return [
            (first + (last - first) * f).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for f in fractions
        ]

    def time(self, client: httpx.Client, url: str, params: dict[str, Any]) -> float:
        started = time.perf_counter()
        answer = client.get(url, params=params)
        seconds = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"{url} {params}: {answer.status_code} {answer.text[:200]}")
        return seconds

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def median_of(
    served: Served, client: httpx.Client, url: str, moments: list[str], **extra: Any
) -> float:
    served.time(client, url, {"as_of": moments[0], **extra})  # warm: the first read of the file
    return round(
        statistics.median(served.time(client, url, {"as_of": m, **extra}) for m in moments), 3
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m replay.bench.web", description=__doc__)
    parser.add_argument("--students", type=int, default=1_000)
    parser.add_argument("--outcomes", type=int, default=50)
    parser.add_argument("--results-per-student", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="mastery-bench-web-"))
    figures: dict[str, Any] = {}

    started = time.perf_counter()
    big = make_store(
        workdir / "big",
        options.students,
        options.outcomes,
        options.results_per_student,
        options.seed,
    )
    figures["big_setup_seconds"] = round(time.perf_counter() - started, 1)
    served = Served(big)
    try:
        moments = served.moments([0.5, 0.75, 1.0])
        course = f"/courses/{served.course}"
        page = {"per_page": 100}
        figures["big"] = {
            "course": served.course,
            "students": options.students,
            "outcomes": options.outcomes,
            "page_of_100_fragment_s": median_of(
                served, served.client, f"{course}/grid", moments, **page
            ),
            "page_of_100_whole_page_s": median_of(served, served.client, course, moments, **page),
            "page_of_100_sorted_by_outcome_s": median_of(
                served, served.client, f"{course}/grid", moments, sort=served.outcome, **page
            ),
            "course_row_mean_s": median_of(served, served.client, f"{course}/aggregate", moments),
            "whole_grid_csv_s": median_of(
                served, served.client, f"{course}/gradebook.csv", moments
            ),
            "student_page_s": median_of(
                served, served.client, f"{course}/students/{served.student}", moments
            ),
            "outcomes_page_s": median_of(served, served.client, f"{course}/outcomes", moments),
            "api_outcome_rollups_page_of_100_s": median_of(
                served,
                served.api,
                f"/api/v1/courses/{served.course}/outcome_rollups",
                moments,
                **page,
            ),
        }
    finally:
        served.close()

    small = make_store(workdir / "small", 30, 10, 40, options.seed)
    served = Served(small)
    try:
        moments = served.moments([i / 9 for i in range(10)])
        figures["small"] = {
            "students": 30,
            "outcomes": 10,
            "slider_move_fragment_s": median_of(
                served, served.client, f"/courses/{served.course}/grid", moments
            ),
            "slider_move_max_s": round(
                max(
                    served.time(served.client, f"/courses/{served.course}/grid", {"as_of": m})
                    for m in moments
                ),
                3,
            ),
        }
    finally:
        served.close()
    print(json.dumps(figures, indent=2))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
