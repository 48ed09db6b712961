"""In a real browser (Debian's chromium, headless, driven by playwright): sign in, move
the time slider, and see the command line's answer for that moment; a student's chart;
the CSV download. Screenshots of each page are saved (the test's tmp dir, and
$MASTERY_SCREENSHOTS when set: `MASTERY_SCREENSHOTS=docs pytest tests/web/test_browser.py`
makes the README's)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from replay.cli.app import app
from tests.web.conftest import LiveServer, World

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def cli(world: World, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--store", world.store])
    assert result.exit_code == 0, result.output
    return result.stdout


def shoot(page: Any, tmp_path: Path, name: str, *, full: bool = False) -> None:
    target = tmp_path / f"{name}.png"
    page.screenshot(path=str(target), full_page=full)
    wanted = os.environ.get("MASTERY_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(target, Path(wanted) / f"web-{name}.png")


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


def test_a_teacher_moves_the_slider_and_sees_mastery_as_of_that_moment(
    world: World, live: LiveServer, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{live.url}/courses/602")
    assert page.url.startswith(f"{live.url}/login")
    shoot(page, tmp_path, "login")
    page.fill("#token", world.read_token)
    page.click("button.primary")
    page.wait_for_url(f"{live.url}/courses/602")
    page.wait_for_selector("td.agg >> text=/\\d/")
    shoot(page, tmp_path, "gradebook")

    # move the slider to about a third of the course's span
    slider = page.locator("[data-slider]")
    low, high = int(slider.get_attribute("min") or 0), int(slider.get_attribute("max") or 0)
    with page.expect_response(lambda r: "/courses/602/grid" in r.url):
        slider.fill(str(low + (high - low) // 3))
    page.locator('#view[aria-busy="false"]').wait_for()
    value = int(slider.input_value())
    moment = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"as_of={moment.replace(':', '%3A')}" in page.url

    # a cell that is not what it is now: it must show the CLI's answer as of that moment
    then = orjson.loads(
        cli(world, "query", "--course", "602", "--as-of", moment, "--format", "json")
    )
    now = orjson.loads(cli(world, "query", "--course", "602", "--format", "json"))
    now_scores = {(r["user_uuid"], r["learning_outcome_id"]): r["score"] for r in now}
    changed = [
        r
        for r in then
        if r["score"] is not None
        and r["rating"]
        and r["rating"]["color"]
        and now_scores.get((r["user_uuid"], r["learning_outcome_id"])) != r["score"]
    ]
    assert changed, "the sample should change between that moment and now"
    shown_students = page.locator("tbody th.student-col a").all_inner_texts()
    answer = next(r for r in changed if r["user_uuid"] in shown_students)
    cell = page.locator(
        f'tr[data-user="{answer["user_uuid"]}"] td[data-outcome="{answer["learning_outcome_id"]}"]'
    )
    assert float(cell.inner_text().split(",")[0]) == answer["score"]
    colour = cell.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == rgb(answer["rating"]["color"])
    assert cell.get_attribute("title", timeout=1000).startswith(answer["rating"]["description"])
    assert answer["rating"]["description"] in cell.locator(".sr-only").inner_text()
    shoot(page, tmp_path, "gradebook-as-of")

    # the URL holds the moment: reloading shows the same cell
    page.reload()
    cell = page.locator(
        f'tr[data-user="{answer["user_uuid"]}"] td[data-outcome="{answer["learning_outcome_id"]}"]'
    )
    assert float(cell.inner_text().split(",")[0]) == answer["score"]

    # the CSV of what is shown is the CLI's for that moment
    with page.expect_download() as download:
        page.click("[data-csv]")
    downloaded = Path(download.value.path()).read_text()
    assert downloaded == cli(
        world, "rollups", "--course", "602", "--format", "csv", "--as-of", moment
    )

    # the student's page: a chart per outcome, at the same moment
    page.click(f'tbody th.student-col a:text("{answer["user_uuid"]}")')
    page.wait_for_selector("svg.chart")
    assert "as_of=" in page.url
    assert page.locator("svg.chart").count() >= 3
    assert page.locator("svg.chart circle.dot").count() >= 3
    shoot(page, tmp_path, "student", full=True)

    page.goto(f"{live.url}/courses/602/outcomes?as_of={moment}")
    page.wait_for_selector("svg.bars")
    shoot(page, tmp_path, "outcomes", full=True)

    page.goto(f"{live.url}/")
    shoot(page, tmp_path, "courses")
    assert not errors, errors
    page.goto(f"{live.url}/courses/602?as_of=2019-01-01")  # answered 400, as a page
    assert "before its first event" in page.inner_text("main")
    shoot(page, tmp_path, "error")
    page.close()


def test_signing_out_in_the_browser_ends_the_session(
    world: World, live: LiveServer, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{live.url}/login")
    page.fill("#token", world.read_token)
    page.click("button.primary")
    page.wait_for_url(f"{live.url}/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "mastery_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click(".signout button")
    page.wait_for_url(f"{live.url}/login")
    page.goto(f"{live.url}/courses/601")
    assert "/login" in page.url
    page.close()
