"""The Delivery page (`mastery gaps`' per-day chart, flags and deliveries, in a browser)
and `GET /api/v1/delivery` (`mastery gaps --format json`), on a world with a dropped day."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from replay.cli.app import app
from replay.service import MasteryService
from replay.service.synthetic import write_synthetic_world
from tests.web.conftest import World

DROP_DAY = "2025-02-04"
WORLD = {"seed": 7, "students": 500, "courses": 16, "results_per_student": 30}


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("delivery-web")
    dump = root / "lossy.jsonl"
    with dump.open("wb") as target:
        write_synthetic_world(target, drop_days=(DROP_DAY,), **WORLD)  # type: ignore[arg-type]
    service = MasteryService.open(str(root / "store"), create=True)
    service.replay([str(dump)])
    return World(service)


def cli_json(world: World, *args: str) -> Any:
    answer = CliRunner().invoke(
        app, ["gaps", "--store", str(world.store), "--format", "json", *args]
    )
    assert answer.exit_code == 0, answer.output
    return orjson.loads(answer.stdout)


def test_the_page_and_the_api_need_sign_in(lossy: World) -> None:
    with lossy.client() as client:
        page = client.get("/delivery?since=2025-02-01")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fdelivery%3Fsince%3D2025-02-01"
        assert client.get("/api/v1/delivery").status_code == 401
    with lossy.client() as client:
        client.headers["Authorization"] = f"Bearer {lossy.ingest_token}"
        assert client.get("/api/v1/delivery").status_code == 403


def test_the_page_shows_the_dropped_day_flagged_in_its_chart_and_tables(lossy: World) -> None:
    report = lossy.service.gaps(late_answers=False)
    flagged = {flag["period"] for flag in report["flags"]}
    assert DROP_DAY in flagged
    with lossy.browser() as client:
        courses = client.get("/")
        assert 'href="/delivery"' in courses.text  # in the navigation of every page
        page = client.get("/delivery")
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page">Delivery' in html
    # the chart: a pair of bars per day, `!` under each flagged day, a title per day
    svg = html[html.index('<svg class="chart delivery"') : html.index("</svg>")]
    days = re.findall(r"<title>(\d{4}-\d\d-\d\d): ([\d,]+) by event time", svg)
    assert len(days) == len(report["totals"])
    assert (DROP_DAY, "0") in days
    assert svg.count('class="ev"') == svg.count('class="rec"') == len(days)
    assert svg.count('class="flag">!</text>') == len(flagged)
    # the flags with their evidence, and the day's row marked
    flags = html[html.index('id="flags"') : html.index("</table>", html.index('id="flags"'))]
    assert f"<td>{DROP_DAY}</td><td><strong>silent</strong></td><td>all events</td>" in flags
    assert "0 events; previous 7 periods: median" in flags
    assert f'<tr class="flagged"><th scope="row">{DROP_DAY}</th>' in html
    # no inline script or style: the CSP forbids them
    assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_the_page_takes_since_until_and_by(lossy: World) -> None:
    with lossy.browser() as client:
        page = client.get("/delivery?since=2025-02-03&until=2025-02-05").text
        hours = client.get("/delivery?since=2025-02-03&until=2025-02-03&by=hour")
        bad = client.get("/delivery?by=week")
    assert re.findall(r'<th scope="row">([^<]+)</th>', page) == [
        "2025-02-03",
        DROP_DAY,
        "2025-02-05",
    ]
    assert 'href="/api/v1/delivery?since=2025-02-03&amp;until=2025-02-05"' in page
    assert hours.status_code == 200 and "2025-02-03T10" in hours.text
    assert bad.status_code == 400 and "expected day or hour" in bad.text


def test_titles_and_names_are_escaped(lossy: World, monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = '<script>alert("x")</script>'
    report = lossy.service.gaps(late_answers=False)
    report["flags"] = [
        {
            "flag": "silent",
            "period": report["totals"][0]["period"],
            "series": "root_account",
            "name": hostile,
            "evidence": {"count": 0, "trailing_median": 9, "trailing_min": 7, "window": 7},
        }
    ]
    report["rows"][0]["canvas_event"] = hostile
    report["root_account"] = hostile
    monkeypatch.setattr(lossy.service, "gaps", lambda **options: report)
    with lossy.browser() as client:
        html = client.get("/delivery").text
    assert hostile not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "flags: silent</title>" in html


def test_the_api_answers_the_clis_json(lossy: World) -> None:
    with lossy.api() as client:
        for query, args in (
            ("", ()),
            (
                "?since=2025-02-01&until=2025-02-10",
                ("--since", "2025-02-01", "--until", "2025-02-10"),
            ),
            (
                "?since=2025-02-03T00&until=2025-02-03T23&by=hour&late_answers=false",
                (
                    "--since",
                    "2025-02-03T00",
                    "--until",
                    "2025-02-03T23",
                    "--by",
                    "hour",
                    "--no-late-answers",
                ),
            ),
        ):
            answer = client.get(f"/api/v1/delivery{query}")
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/json"
            assert answer.json() == cli_json(lossy, *args), query
        bad = client.get("/api/v1/delivery?since=someday")
    assert bad.status_code == 400 and bad.json()["error"].startswith("since 'someday'")


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    world = World(MasteryService.open(str(tmp_path / "empty"), create=True))
    with world.browser() as client:
        page = client.get("/delivery")
    assert page.status_code == 200 and "No events in the store" in page.text
