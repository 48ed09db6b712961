"""The web view's pages: what they show is the command line's answer; errors in style."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from replay.cli.app import app
from tests.web.conftest import World

STUDENT = "5cr9jQY6cxkTWDU2DQ1nxknDJ8zKWxLLHXsuPZMQ"


def cli(world: World, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--store", world.store])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_csv_download_is_the_clis_gradebook_csv(world: World) -> None:
    client = world.browser()
    for params in (
        {},
        {"as_of": "2025-02-01"},
        {"as_of": "2025-01-20T12:00:00Z", "known_at": "2099-01-01"},
    ):
        answer = client.get("/courses/601/gradebook.csv", params=params)
        assert answer.status_code == 200
        assert answer.headers["content-disposition"].startswith("attachment")
        args = [f"--{k.replace('_', '-')}={v}" for k, v in params.items()]
        assert answer.text == cli(world, "rollups", "--course", "601", "--format", "csv", *args)


def test_the_gradebook_shows_each_cell_as_the_cli_answers_it(world: World) -> None:
    import orjson

    client = world.browser()
    html = client.get("/courses/602", params={"as_of": "2025-02-01", "per_page": 100}).text
    answers = orjson.loads(
        cli(world, "query", "--course", "602", "--as-of", "2025-02-01", "--format", "json")
    )
    cells = {
        (row.group(1), cell.group(1)): cell.group(2)
        for row in re.finditer(r'<tr data-user="([^"]+)">(.*?)</tr>', html, re.S)
        for cell in re.finditer(r'<td [^>]*data-outcome="(\d+)"[^>]*>([^<]*)<', row.group(2))
    }
    assert answers and len(cells) > 50
    for answer in answers:
        if answer["count"] == 0:
            continue
        key = (answer["user_uuid"], answer["learning_outcome_id"])
        if key in cells and answer["score"] is not None:
            assert float(cells[key]) == answer["score"]


def test_sorting_filtering_and_pages(world: World) -> None:
    client = world.browser()
    first = client.get("/courses/601", params={"per_page": 20}).text
    students = re.findall(r'<th scope="row" class="student-col"><a href="[^"]+">([^<]+)</a>', first)
    assert students == sorted(students) and len(students) == 15
    desc = client.get("/courses/601", params={"dir": "desc"}).text
    assert re.findall(r'class="student-col"><a href="[^"]+">([^<]+)</a>', desc) == sorted(
        students, reverse=True
    )
    by_outcome = client.get("/courses/601", params={"sort": "2001", "dir": "desc"}).text
    scores = [float(s) for s in re.findall(r'data-outcome="2001"[^>]*>([0-9.]+)<', by_outcome)]
    assert scores == sorted(scores, reverse=True) and scores
    filtered = client.get("/courses/601", params={"rating": "Well Below Mastery"}).text
    assert "Well Below Mastery" in filtered
    kept = re.findall(r'class="student-col"><a href="[^"]+">([^<]+)</a>', filtered)
    assert 0 < len(kept) < 15


def test_the_aggregate_row_is_the_clis_course_mean_and_median(world: World) -> None:
    import orjson

    client = world.browser()
    for stat in ("mean", "median"):
        html = client.get("/courses/603/aggregate", params={"stat": stat}).text
        shown = dict(re.findall(r'<td class="agg" data-outcome="(\d+)">([0-9.]+)<span', html))
        expected = orjson.loads(cli(world, "rollups", "--course", "603", "--aggregate", stat))
        scores = {s["links"]["outcome"]: s["score"] for s in expected["rollups"][0]["scores"]}
        assert len(shown) >= 3
        assert {o: float(s) for o, s in shown.items()} == {
            o: s for o, s in scores.items() if s is not None and o in shown
        }
        assert set(shown) == {o for o, s in scores.items() if s is not None}


def test_error_pages_are_in_the_house_style_never_a_traceback(world: World) -> None:
    client = world.browser()
    unknown = client.get("/courses/999")
    assert unknown.status_code == 404 and "course 999" in unknown.text
    assert 'class="card error"' in unknown.text and "Traceback" not in unknown.text
    before = client.get("/courses/601", params={"as_of": "2020-01-01"})
    assert before.status_code == 400 and "before its first event" in before.text
    bad = client.get("/courses/601", params={"as_of": "yesterday"})
    assert bad.status_code == 400 and "as_of" in bad.text
    fragment = client.get(
        "/courses/601/grid", params={"as_of": "2020-01-01"}, headers={"X-Fragment": "1"}
    )
    assert fragment.status_code == 400 and "<html" not in fragment.text
    student = client.get("/courses/601/students/nobody")
    assert student.status_code == 404 and "nobody" in student.text


def test_the_store_unreachable_is_a_503_page(tmp_path, world: World) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from starlette.testclient import TestClient

    from replay.service import MasteryService
    from replay.service.access import AccessService
    from replay.web import create_web_app

    shutil.copytree(world.store, tmp_path / "store")
    service = MasteryService.open(str(tmp_path / "store"))
    access = AccessService.of(service)
    _, token = access.create_token("read")
    client = TestClient(create_web_app(service, access=access), follow_redirects=False)
    client.post("/login", data={"token": token})
    shutil.rmtree(tmp_path / "store" / "store.json", ignore_errors=True)
    (tmp_path / "store" / "read-models.sqlite").write_bytes(b"x" * 4096)
    for suffix in ("-wal", "-shm"):
        (tmp_path / "store" / f"read-models.sqlite{suffix}").unlink(missing_ok=True)
    answer = client.get("/courses/601")
    assert answer.status_code == 503 and "cannot be reached" in answer.text
    assert "Traceback" not in answer.text


def test_a_student_page_charts_every_change_with_its_causes(world: World) -> None:
    client = world.browser()
    html = client.get(f"/courses/601/students/{STUDENT}").text
    assert html.count('<svg class="chart"') >= 4
    assert "result " in html and "learning_outcome_result_" in html
    earlier = client.get(f"/courses/601/students/{STUDENT}", params={"as_of": "2025-01-20"}).text
    assert 'class="marker"' in earlier
