"""The API gives the command line's JSON for the same question, in Canvas's shapes."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from replay.cli.app import app
from tests.web.conftest import World

COURSES = ("601", "602", "603")
SPAN = ("2025-01-05", "2025-04-12")


def cli_json(world: World, *args: str, lines: bool = False) -> Any:
    result = CliRunner().invoke(app, [*args, "--store", world.store])
    assert result.exit_code == 0, result.output
    if lines:
        return [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return orjson.loads(result.stdout)


def moment_args(as_of: str | None, known_at: str | None) -> tuple[list[str], dict[str, str]]:
    args, params = [], {}
    if as_of:
        args += ["--as-of", as_of]
        params["as_of"] = as_of
    if known_at:
        args += ["--known-at", known_at]
        params["known_at"] = known_at
    return args, params


def random_moment(rng: random.Random) -> str | None:
    if rng.random() < 0.25:
        return None
    day = rng.randint(0, 95)
    stamp = time.gmtime(time.mktime(time.strptime(SPAN[0], "%Y-%m-%d")) + day * 86400)
    if rng.random() < 0.5:
        return time.strftime("%Y-%m-%d", stamp)
    return (
        time.strftime("%Y-%m-%dT", stamp) + f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    )


def all_pages(api: TestClient, url: str, params: dict[str, Any]) -> list[Any]:
    """Follow Canvas's Link header from page 1 to the end, as a Canvas client does."""
    found: list[Any] = []
    answer = api.get(url, params={**params, "per_page": 7})
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body["rollups"] if isinstance(body, dict) else body
        nxt = answer.links.get("next")
        if not nxt:
            return found
        answer = api.get(nxt["url"])


def test_rollups_through_the_api_equal_the_clis_for_random_questions(
    world: World, api: TestClient
) -> None:
    rng = random.Random(14)
    for _ in range(12):
        course, as_of = rng.choice(COURSES), random_moment(rng)
        known_at = None if rng.random() < 0.7 else "2099-01-01"
        args, params = moment_args(as_of, known_at)
        cli = cli_json(world, "rollups", "--course", course, *args)["rollups"]
        url = f"/api/v1/courses/{course}/outcome_rollups"
        assert all_pages(api, url, params) == cli
        if cli and rng.random() < 0.6:  # narrowed as Canvas narrows: users, outcomes
            users = sorted(rng.sample([r["links"]["user"] for r in cli], k=min(3, len(cli))))
            outcomes = sorted({s["links"]["outcome"] for r in cli for s in r["scores"]})[:2]
            narrowed = api.get(
                url, params={**params, "user_ids[]": users, "outcome_ids[]": outcomes}
            ).json()["rollups"]
            expected = [
                {**r, "scores": [s for s in r["scores"] if s["links"]["outcome"] in outcomes]}
                for r in cli
                if r["links"]["user"] in users
            ]
            assert narrowed == expected
        stat = rng.choice(["mean", "median"])
        aggregate = api.get(url, params={**params, "aggregate": "course", "aggregate_stat": stat})
        assert aggregate.json() == cli_json(
            world, "rollups", "--course", course, "--aggregate", stat, *args
        )


def test_users_distribution_and_tree_equal_the_clis(world: World, api: TestClient) -> None:
    rng = random.Random(41)
    students = [
        r["links"]["user"] for r in cli_json(world, "rollups", "--course", "602")["rollups"]
    ]
    for _ in range(10):
        as_of = random_moment(rng)
        args, params = moment_args(as_of, None)
        user = rng.choice(students)
        across = rng.random() < 0.3
        cli = cli_json(
            world,
            "query",
            "--user",
            user,
            "--format",
            "json",
            *args,
            *(["--all-courses"] if across else []),
        )
        mine = api.get(
            f"/api/v1/users/{user}/mastery",
            params={**params, **({"all_courses": "true"} if across else {})},
        )
        assert mine.json() == cli
        course = rng.choice(COURSES)
        assert api.get(
            f"/api/v1/courses/{course}/outcome_distribution", params=params
        ).json() == cli_json(world, "distribution", "--course", course, "--format", "json", *args)
        tree = api.get(f"/api/v1/courses/{course}/outcome_group_tree", params=params).json()
        assert [tree] == cli_json(
            world, "hierarchy", "--context", f"Course:{course}", "--format", "json", *args
        )


def test_outcome_results_are_canvas_shaped_and_paginated(api: TestClient) -> None:
    first = api.get(
        "/api/v1/courses/601/outcome_results",
        params={"per_page": 5, "include[]": ["outcomes", "users"]},
    )
    assert first.status_code == 200
    body = first.json()
    assert len(body["outcome_results"]) == 5
    result = body["outcome_results"][0]
    assert set(result) == {
        "id",
        "score",
        "mastery",
        "possible",
        "percent",
        "hide_points",
        "hidden",
        "submitted_or_assessed_at",
        "links",
    }
    assert set(result["links"]) == {"user", "learning_outcome", "alignment", "assignment"}
    assert {o["id"] for o in body["linked"]["outcomes"]} >= {"2001", "2002"}
    assert {u["id"] for u in body["linked"]["users"]} == {
        r["links"]["user"] for r in body["outcome_results"]
    }
    links = first.links
    assert set(links) >= {"current", "next", "first", "last"}
    last = api.get(links["last"]["url"])
    assert "next" not in last.links and last.json()["outcome_results"]
    everything = api.get("/api/v1/courses/601/outcome_results", params={"per_page": 100})
    pages = int(links["last"]["url"].split("page=")[-1].split("&")[0])
    assert pages == -(-len(everything.json()["outcome_results"]) // 5) or pages >= 3


def test_outcome_groups_are_canvas_groups_as_of_a_moment(api: TestClient) -> None:
    now = api.get("/api/v1/courses/601/outcome_groups", params={"per_page": 100}).json()
    then = api.get(
        "/api/v1/courses/601/outcome_groups", params={"per_page": 100, "as_of": "2025-01-10"}
    ).json()
    assert "Drafts" in {g["title"] for g in then} and "Drafts" not in {g["title"] for g in now}
    child = next(g for g in now if g["parent_outcome_group"])
    assert child["url"] == f"/api/v1/courses/601/outcome_groups/{child['id']}"


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/api/v1/courses/999/outcome_rollups", 404, "course 999"),
        ("/api/v1/courses/601/outcome_rollups?as_of=soon", 400, "as_of 'soon'"),
        ("/api/v1/courses/601/outcome_rollups?aggregate_stat=mode&aggregate=course", 400, "mode"),
        ("/api/v1/courses/601/outcome_results?per_page=x", 400, "per_page"),
        ("/api/v1/courses/601/outcome_rollups?include[]=everything", 400, "include"),
        ("/api/v1/changes?after=-1", 400, "after"),
        ("/api/v1/changes?as_of=2025-01-01", 400, "moment"),
    ],
)
def test_service_errors_are_statuses_with_a_json_reason(
    api: TestClient, url: str, status: int, words: str
) -> None:
    answer = api.get(url)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert words in answer.json()["error"]


def test_a_store_that_cannot_be_read_is_503(world: World, tmp_path: Any) -> None:
    import shutil

    from replay.service import MasteryService
    from replay.service.access import AccessService
    from replay.web import create_web_app

    copy = tmp_path / "store"
    shutil.copytree(world.store, copy)
    service = MasteryService.open(str(copy))
    access = AccessService.of(service)
    _, token = access.create_token("read")
    (copy / "read-models.sqlite").write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (copy / f"read-models.sqlite{suffix}").unlink(missing_ok=True)
    client = TestClient(create_web_app(service, access=access))
    answer = client.get(
        "/api/v1/courses/601/outcome_rollups", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 503
    assert "rebuild" in answer.json()["error"] or "read model" in answer.json()["error"]


def test_the_change_feed_equals_the_clis_and_a_long_poll_wakes_within_a_second(
    world: World, api: TestClient, tmp_path: Any
) -> None:
    cli = cli_json(world, "changes", "--after", "10", "--limit", "25", lines=True)
    assert api.get("/api/v1/changes", params={"after": 10, "limit": 25}).json() == cli
    last = cli_json(world, "changes", lines=True)[-1]["sequence"]
    started = time.monotonic()
    assert api.get("/api/v1/changes", params={"after": last, "wait": 1}).json() == []
    assert 0.9 <= time.monotonic() - started < 2.5

    # a replay commits new changes while a consumer waits: it hears of them at once
    # (into a copy of the store: the other tests' world stays the sample)
    import shutil

    from replay.service import MasteryService
    from tests.builders import result, write_dump

    shutil.copytree(world.store, tmp_path / "store")
    for old in (tmp_path / "store").glob("access.sqlite*"):
        old.unlink()
    world = World(MasteryService.open(str(tmp_path / "store")))
    api = world.api()
    dump = tmp_path / "late.jsonl"
    write_dump(
        dump,
        [
            result(
                "990001",
                1.0,
                at="2025-03-01T00:00:00Z",
                user="late-student",
                outcome_id="2001",
                course="601",
            )
        ],
    )
    heard: dict[str, Any] = {}

    def wait() -> None:
        begun = time.monotonic()
        heard["body"] = api.get("/api/v1/changes", params={"after": last, "wait": 20}).json()
        heard["seconds"] = time.monotonic() - begun

    waiting = threading.Thread(target=wait)
    waiting.start()
    time.sleep(0.5)
    world.service.replay([str(dump)])
    committed = time.monotonic()
    waiting.join(25)
    assert heard["body"] and heard["body"][0]["user_uuid"] == "late-student"
    assert heard["seconds"] < 20
    assert time.monotonic() - committed < 1.5
