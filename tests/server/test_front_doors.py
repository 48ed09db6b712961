"""One server, three doors: Canvas's signed posts, a backfill tool's token, the read side."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from replay.service import MasteryService
from replay.service.access import AccessService
from tests.server.support import ISSUER, JwksServer, Key, server_in_thread
from tests.server.test_hostile import event


def _tokens(store: Path) -> dict[str, str]:
    access = AccessService.of(MasteryService.open(str(store), create=True))
    return {
        scope: access.create_token(scope, name=f"{scope}-tool")[1] for scope in ("read", "ingest")
    }


def test_a_backfill_tool_posts_unsigned_events_with_an_ingest_token_only(tmp_path: Path) -> None:
    store = tmp_path / "store"
    tokens = _tokens(store)
    key = Key.make("current")
    with (
        JwksServer([key]) as jwks,
        server_in_thread(store, jwks_url=jwks.url, issuer=ISSUER) as (
            base,
            _,
        ),
    ):
        body = orjson.dumps(event("7001"))
        anonymous = httpx.post(f"{base}/events", content=body)
        as_reader = httpx.post(
            f"{base}/events", content=body, headers={"Authorization": f"Bearer {tokens['read']}"}
        )
        as_ingester = httpx.post(
            f"{base}/events", content=body, headers={"Authorization": f"Bearer {tokens['ingest']}"}
        )
        signed = httpx.post(f"{base}/events", content=key.sign(event("7002")))
    assert anonymous.status_code == 401
    assert as_reader.status_code == 403 and "read token" in as_reader.text
    assert as_ingester.status_code == 200 and as_ingester.json()["outcome"] == "appended"
    assert signed.status_code == 200 and signed.json()["outcome"] == "appended"


def test_the_read_side_is_served_beside_the_intake_and_needs_a_read_token(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    tokens = _tokens(store)
    with server_in_thread(store, accept_unsigned=True) as (base, _):
        assert httpx.post(f"{base}/events", content=orjson.dumps(event("7003"))).status_code == 200
        url = f"{base}/api/v1/users/someone/mastery"
        assert httpx.get(url).status_code == 401
        assert (
            httpx.get(url, headers={"Authorization": f"Bearer {tokens['ingest']}"}).status_code
            == 403
        )
        assert httpx.get(
            url, headers={"Authorization": f"Bearer {tokens['read']}"}
        ).status_code in (
            200,
            404,
        )
        assert httpx.get(f"{base}/", follow_redirects=False).status_code in (302, 303, 307)


def test_no_intake_serves_reading_only(tmp_path: Path) -> None:
    store = tmp_path / "store"
    tokens = _tokens(store)
    with server_in_thread(store, intake=False) as (base, _):
        refused = httpx.post(f"{base}/events", content=orjson.dumps(event("7004")))
        reading = httpx.get(
            f"{base}/api/v1/changes", headers={"Authorization": f"Bearer {tokens['read']}"}
        )
    assert refused.status_code in (401, 404, 405)
    assert reading.status_code == 200
