"""Key rotation against a loopback JWKS: previous/current/next, a key that disappears,
a kid that appears only after a refetch, and a cooldown on refetches."""

from __future__ import annotations

import time
from pathlib import Path

from tests.server.support import CLIENT, ISSUER, JwksServer, Key, server_in_thread
from tests.server.test_hostile import event


def test_rotation_refetch_disappearance_and_cooldown(tmp_path: Path) -> None:
    keys = {name: Key.make(f"kid-{name}") for name in ("previous", "current", "next", "new")}
    with (
        JwksServer([keys["previous"], keys["current"], keys["next"]]) as jwks,
        server_in_thread(
            tmp_path / "store", jwks_url=jwks.url, issuer=ISSUER, jwks_cooldown_seconds=0.5
        ) as (base, live),
    ):

        def post(key: Key, outcome_id: str) -> int:
            token = key.sign(event(outcome_id))
            return CLIENT.post(f"{base}/events", content=token, timeout=30).status_code

        assert jwks.fetches == 1  # at start
        assert [post(keys[n], f"1{i}") for i, n in enumerate(("previous", "current", "next"))] == [
            200,
            200,
            200,
        ]
        assert jwks.fetches == 1  # cached

        # A kid the set does not hold yet: refused (one refetch, once the cooldown
        # since the last fetch has passed) ...
        time.sleep(0.6)
        assert post(keys["new"], "20") == 401
        assert jwks.fetches == 2
        # ... and unknown kids within the cooldown cause no more fetches.
        assert [post(keys["new"], f"2{i}") for i in range(1, 10)] == [401] * 9
        assert jwks.fetches == 2

        # Rotation: "new" is published, "previous" disappears.
        jwks.keys = [keys["current"], keys["next"], keys["new"]]
        time.sleep(0.6)
        assert post(keys["new"], "30") == 200  # refetched on the unknown kid
        assert jwks.fetches == 3
        assert live.keys is not None and "kid-previous" not in live.keys.kids
        assert post(keys["previous"], "31") == 401  # gone from the set: gone here too

        # The JWKS endpoint failing keeps the keys we have.
        jwks.down = True
        time.sleep(0.6)
        assert post(keys["previous"], "32") == 401  # a refetch is tried, fails
        assert post(keys["current"], "33") == 200
        assert live.keys.last_error is not None
