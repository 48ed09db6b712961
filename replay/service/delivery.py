"""The service's side of `mastery gaps` and `mastery reconcile`: options checked, errors in
the service's words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.catchup import ReadModelError
from replay.service.errors import BadInput, BadQuestion, StoreUnavailable
from replay.store.location import Store, StoreError


def _period_bound(text: str | None, option: str) -> str | None:
    if text is None:
        return None
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuestion(
            f"{option} {text!r}: expected a date or a time, e.g. 2025-03-01 or 2025-03-01T10"
        ) from None
    return text


def gap_report(
    store: Store,
    *,
    by: str,
    since: str | None,
    until: str | None,
    root_account: str | None,
    late_answers: bool,
) -> dict[str, Any]:
    from projections.gap_periods import GapSettings
    from replay.jobs.gaps import gap_report as run

    if by not in ("day", "hour"):
        raise BadQuestion(f"--by {by!r}: expected day or hour")
    if since is not None and len(since) == 13 and "T" in since:
        since += ":00"
    settings = GapSettings(
        by=by,
        since=_period_bound(since, "--since"),
        until=_period_bound(until, "--until"),
        root_account=root_account,
        late_answers=late_answers,
    )
    try:
        return run(store, settings)
    except (StoreError, ReadModelError) as error:
        raise StoreUnavailable(str(error)) from None


def reconcile(store: Store, snapshot: str, *, as_of: str | None, backfill: bool) -> dict[str, Any]:
    from replay.ingest.cd2 import SnapshotError
    from replay.jobs.reconcile import reconcile_snapshot
    from replay.service.reading import moment

    at = moment(as_of, option="--as-of")
    try:
        return reconcile_snapshot(store, snapshot, as_of=at, backfill=backfill)
    except SnapshotError as error:
        raise BadInput(str(error)) from None
    except (StoreError, ReadModelError) as error:
        raise StoreUnavailable(str(error)) from None
