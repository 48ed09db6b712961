"""Nothing readable without a token; scopes; escaping; headers; no state change on GET."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from replay.service import MasteryService
from replay.service.access import AccessService
from replay.web import create_web_app, require_scope
from tests import builders
from tests.web.conftest import World

STUDENT = "5cr9jQY6cxkTWDU2DQ1nxknDJ8zKWxLLHXsuPZMQ"
API_ROUTES = [
    "/api/v1/courses/601/outcome_rollups",
    "/api/v1/courses/601/outcome_results",
    "/api/v1/courses/601/outcome_groups",
    "/api/v1/courses/601/outcome_group_tree",
    "/api/v1/courses/601/outcome_distribution",
    f"/api/v1/users/{STUDENT}/mastery",
    "/api/v1/changes",
    "/api/v1/delivery",
]
PAGE_ROUTES = [
    "/",
    "/courses/601",
    "/courses/601/grid",
    "/courses/601/aggregate",
    "/courses/601/gradebook.csv",
    "/courses/601/outcomes",
    "/courses/601/outcomes/fragment",
    f"/courses/601/students/{STUDENT}",
    f"/courses/601/students/{STUDENT}/fragment",
    "/delivery",
]


def test_every_route_is_listed_here(world: World) -> None:
    paths = {getattr(r, "path", None) for r in create_web_app(world.service).routes}
    listed = {
        p.replace("601", "{course_id}").replace(STUDENT, "{user_uuid}")
        for p in API_ROUTES + PAGE_ROUTES
    }
    assert paths - {"/login", "/logout", "/static"} == listed


@pytest.mark.parametrize("path", API_ROUTES)
def test_the_api_without_a_valid_read_token_is_401_or_403(world: World, path: str) -> None:
    client = world.client()
    assert client.get(path).status_code == 401
    assert client.get(path).headers["www-authenticate"] == "Bearer"
    wrong = client.get(path, headers={"Authorization": "Bearer mst_not-a-token"})
    assert wrong.status_code == 401
    ingest = client.get(path, headers={"Authorization": f"Bearer {world.ingest_token}"})
    assert ingest.status_code == 403 and "ingest" in ingest.json()["error"]
    # a browser session does not open the API, and a token does not open pages
    assert world.browser().get(path).status_code == 401


@pytest.mark.parametrize("path", PAGE_ROUTES)
def test_pages_without_a_session_go_to_the_login_page(world: World, path: str) -> None:
    client = world.client()
    answer = client.get(path + "?as_of=2025-02-01")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=" + path.replace("/", "%2F"))
    bearer = client.get(path, headers={"Authorization": f"Bearer {world.read_token}"})
    assert bearer.status_code == 303
    assert world.browser().get(path).status_code == 200


def test_an_ingest_token_cannot_sign_in_and_a_read_token_cannot_post_events(world: World) -> None:
    client = world.client()
    refused = client.post("/login", data={"token": world.ingest_token})
    assert refused.status_code == 401 and "mastery_session" not in refused.headers.get(
        "set-cookie", ""
    )
    assert "not a read token" in refused.text
    posted = client.post(
        "/events", content=b"{}", headers={"Authorization": f"Bearer {world.read_token}"}
    )
    assert posted.status_code == 403 and "ingest" in posted.json()["error"]


def test_require_scope_guards_an_endpoint_the_intake_adds(world: World) -> None:
    async def events(request: Request) -> PlainTextResponse:
        grant = require_scope(request, "ingest")
        return PlainTextResponse(f"accepted from {grant.name}")

    app = create_web_app(world.service)
    app.router.routes.insert(0, Route("/events", events, methods=["POST"]))
    client = TestClient(app)
    ingest = client.post("/events", headers={"Authorization": f"Bearer {world.ingest_token}"})
    assert ingest.status_code == 200 and ingest.text == "accepted from backfill"
    assert client.post("/events").status_code == 401


def test_the_session_cookie_is_httponly_strict_and_secure_behind_tls(world: World) -> None:
    plain = world.client().post("/login", data={"token": world.read_token})
    cookie = plain.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    secure = world.client(secure_cookies=True).post("/login", data={"token": world.read_token})
    assert "secure" in secure.headers["set-cookie"].lower()
    assert world.read_token not in plain.headers["set-cookie"]


def test_sign_out_is_a_post_with_the_form_token_and_ends_the_session(world: World) -> None:
    client = world.browser()
    page = client.get("/")
    assert client.get("/logout").status_code == 405  # no state change on GET
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 200
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    cross = client.post("/logout", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/").status_code == 303


def test_login_is_not_a_get_and_never_takes_the_token_from_the_url(world: World) -> None:
    client = world.client()
    answer = client.get("/login", params={"token": world.read_token})
    assert answer.status_code == 200 and "set-cookie" not in answer.headers
    assert world.read_token not in answer.text
    assert client.get("/").status_code == 303


def test_sign_in_goes_only_to_a_path_of_this_site(world: World) -> None:
    for target, expected in [
        ("/courses/601", "/courses/601"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ]:
        answer = world.client().post("/login", data={"token": world.read_token, "next": target})
        assert answer.headers["location"] == expected


@pytest.mark.parametrize(
    "path", ["/", "/courses/601", "/login", "/api/v1/changes", "/static/app.js", "/nowhere"]
)
def test_every_answer_has_a_csp_without_inline_script_and_nosniff(world: World, path: str) -> None:
    answer = world.browser().get(path, headers={"Authorization": f"Bearer {world.read_token}"})
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(world: World) -> None:
    client = world.browser()
    for path in PAGE_ROUTES[:3] + PAGE_ROUTES[5:]:
        html = client.get(path).text
        assert "<script>" not in html and "onclick" not in html and " style=" not in html
        assert "<script" not in html or 'src="/static/app.js"' in html


HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>']


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("hostile")
    events = [
        builders.outcome("1", title=HOSTILE[0]),
        builders.outcome("2", title=HOSTILE[1]),
        builders.group("10", at="2025-01-01T00:00:00Z"),
        builders.group("11", at="2025-01-01T00:00:00Z", parent="10", title=HOSTILE[1]),
        builders.group("12", at="2025-01-01T00:00:00Z", parent="10", title=HOSTILE[0]),
        builders.link("20", "1", "11", at="2025-01-01T00:00:00Z"),
        builders.link("21", "2", "12", at="2025-01-01T00:00:00Z"),
        builders.result("100", 4, at="2025-01-02T00:00:00Z", outcome_id="1"),
        builders.result("101", 2, at="2025-01-03T00:00:00Z", outcome_id="2"),
    ]
    service = MasteryService.open(str(root / "store"), create=True)
    service.replay([str(builders.write_dump(root / "hostile.jsonl", events))])
    return World(service)


def test_titles_from_events_render_as_text_never_as_markup(hostile: World) -> None:
    client = hostile.browser()
    course = builders.COURSE
    for path in (
        f"/courses/{course}",
        f"/courses/{course}/outcomes",
        f"/courses/{course}/students/{builders.STUDENT}",
    ):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html, path
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html, path


def test_no_token_is_written_to_the_log(world: World, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.DEBUG):
        client = world.client()
        client.post("/login", data={"token": world.read_token})
        client.get("/api/v1/changes", headers={"Authorization": f"Bearer {world.read_token}"})
        client.get("/api/v1/changes", headers={"Authorization": "Bearer mst_wrong"})
    assert world.read_token not in caplog.text and "mst_wrong" not in caplog.text


def test_a_revoked_token_stops_at_once(tmp_path: Path, world: World) -> None:
    access = AccessService.of(world.service)
    _, token = access.create_token("read", name="short-lived")
    client = world.client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/changes", headers=headers).status_code == 200
    access.revoke("short-lived")
    assert client.get("/api/v1/changes", headers=headers).status_code == 401
    access.close()
