"""The application service: every job the project does, behind one object per store.

Front doors (the `mastery` command line, the HTTP server, a Python program) open a
`MasteryService` on a store and call it; they never reach for the store, the
ingest code or the projections themselves. The service speaks in its own errors
(replay.service.errors) and takes a progress callback for long jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from domain.rejections import REASONS
from projections.catchup import DEFAULT_BATCH, ReadModelError
from projections.feed import FeedError
from projections.queries import MasteryQuestion, QueryError
from projections.rollups import RollupRecord
from replay.jobs.pipeline import ReplayOptions, open_feed, open_read_side, rebuild_read_models
from replay.jobs.progress import Progress, no_progress
from replay.jobs.status import StoreStatus, store_status
from replay.service.errors import BadInput, BadQuestion, StoreUnavailable, StrictStop
from replay.service.reading import MasteryReader
from replay.store.location import Store, StoreError, open_store
from replay.store.quarantine import Quarantine, QuarantinedLine

if TYPE_CHECKING:  # these load eventsourcing: only for the jobs that need it
    from replay.ingest.ingestor import ReplaySummary
    from replay.jobs.copy import CopyReport
    from replay.jobs.follow import Follower, Lag
    from replay.jobs.verify import VerifyReport


class Following:
    """A follower loop, its errors in the service's words (see `MasteryService.follower`)."""

    def __init__(self, follower: Follower) -> None:
        self._follower = follower

    def stop(self) -> None:
        """Ask the loop to end after the batch in hand (safe from a signal handler)."""
        self._follower.stop()

    def run(self, *, once: bool = False, attempts: int | None = None) -> Lag | None:
        """Follow until stopped (with `once`, until level); `attempts` bounds reconnections."""
        try:
            return self._follower.run(once=once, attempts=attempts)
        except ReadModelError as error:
            raise StoreUnavailable(str(error)) from None


class MasteryService:
    """One store (a directory, or a PostgreSQL log with local read models) and its jobs."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(
        cls, location: str | None = None, *, read_models: str | None = None, create: bool = False
    ) -> MasteryService:
        """The store at `location` (default $MASTERY_STORE, else ./mastery-store).

        `create=True` makes a new store where there is none (what a replay does);
        otherwise a missing store is `StoreUnavailable`.
        """
        try:
            return cls(open_store(location, create=create, read_models=read_models))
        except StoreError as error:
            raise StoreUnavailable(str(error)) from None

    @property
    def location(self) -> str:
        """The store's directory or URL (never with a password), for messages."""
        return self.store.location

    @property
    def read_models_location(self) -> str:
        """Where this machine keeps the read models (a file path)."""
        return str(self.store.read_models_path)

    @property
    def on_postgres(self) -> bool:
        return self.store.postgres is not None

    # -- filling the log -----------------------------------------------------------
    def replay(
        self,
        paths: Sequence[str],
        options: ReplayOptions | None = None,
        *,
        stdin: BinaryIO | None = None,
        progress: Progress = no_progress,
    ) -> ReplaySummary:
        """Append the Learning events of dumps to the log, then project them."""
        from replay.ingest.parsing import StrictModeStop
        from replay.ingest.sources import SourceError
        from replay.jobs.pipeline import run_replay

        if options is None:
            options = ReplayOptions(batch_size=10_000 if self.on_postgres else 2_000)
        try:
            return run_replay(self.store, paths, options, stdin=stdin, progress=progress)
        except SourceError as error:
            raise BadInput(str(error)) from None
        except StoreError as error:
            raise StoreUnavailable(str(error)) from None
        except StrictModeStop as stop:
            raise StrictStop(str(stop)) from None

    def rebuild(self, progress: Progress = no_progress) -> dict[str, Any]:
        """Throw the read models away and project the whole log again."""
        try:
            return rebuild_read_models(self.store, progress)
        except ReadModelError as error:
            raise StoreUnavailable(str(error)) from None

    # -- asking --------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[MasteryReader]:
        """A reader on the read models, brought level with the log first."""
        try:
            db = open_read_side(self.store)
        except (StoreError, ReadModelError) as error:
            raise StoreUnavailable(str(error)) from None
        try:
            yield MasteryReader(db)
        except QueryError as error:  # a question put to the projections that cannot be asked
            raise BadQuestion(str(error)) from None
        finally:
            db.close()

    def rollups(self, asked: MasteryQuestion) -> list[RollupRecord]:
        """One question, answered (see `replay.service.question`)."""
        with self.reading() as reader:
            return reader.rollups(asked)

    def changes(self, after: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The change feed after sequence `after`, in order (projections/feed.py's contract).

        Reads what the projection has committed, without catching up or taking a
        write lock: a consumer polling never waits on a replay nor makes it wait.
        """
        from projections.feed import changes_after

        try:
            db = open_feed(self.store.read_models_path)
        except ReadModelError as error:
            raise StoreUnavailable(str(error)) from None
        try:
            yield from changes_after(db, after, limit)
        except FeedError as error:
            raise BadQuestion(str(error)) from None
        finally:
            db.close()

    # -- looking after the store ---------------------------------------------------
    def status(self) -> StoreStatus:
        return store_status(self.store)

    def gaps(
        self,
        *,
        by: str = "day",
        since: str | None = None,
        until: str | None = None,
        root_account: str | None = None,
        late_answers: bool = True,
    ) -> dict[str, Any]:
        """The delivery-gap report (`mastery gaps`): what the stream lost, when."""
        from replay.service.delivery import gap_report

        return gap_report(
            self.store,
            by=by,
            since=since,
            until=until,
            root_account=root_account,
            late_answers=late_answers,
        )

    def reconcile(
        self, snapshot: str, *, as_of: str | None = None, backfill: bool = False
    ) -> dict[str, Any]:
        """Compare the log with a Canvas Data 2 snapshot (`mastery reconcile`)."""
        from replay.service.delivery import reconcile

        return reconcile(self.store, snapshot, as_of=as_of, backfill=backfill)

    def verify(self) -> VerifyReport:
        from replay.jobs.verify import verify_store

        return verify_store(self.store)

    def quarantined(
        self, *, reason: str | None = None, limit: int | None = None, source: str | None = None
    ) -> list[QuarantinedLine]:
        """The quarantined lines, oldest first, of one reason or source if asked."""
        _check_reason(reason)
        quarantine = Quarantine(self.store.quarantine_path)
        try:
            return list(quarantine.lines(reason=reason, limit=limit, source=source))
        finally:
            quarantine.close()

    def clear_quarantine(self, *, reason: str | None = None, source: str | None = None) -> int:
        """Delete quarantined lines (of one reason or source, or all); how many."""
        _check_reason(reason)
        quarantine = Quarantine(self.store.quarantine_path)
        try:
            return quarantine.clear(reason=reason, source=source)
        finally:
            quarantine.close()

    def follower(
        self,
        *,
        poll_interval: float = 1.0,
        batch_size: int | None = None,
        report_every: float = 10.0,
        on_report: Callable[[Lag], None] | None = None,
    ) -> Following:
        """A loop keeping the local read models level with a log others append to."""
        from replay.jobs.follow import Follower

        return Following(
            Follower(
                self.store,
                poll_interval=poll_interval,
                batch_size=batch_size or DEFAULT_BATCH,
                report_every=report_every,
                on_report=on_report,
            )
        )

    def log_head(self) -> int:
        """The log's last position (0 for an empty log)."""
        log = self.store.open_log()
        try:
            return log.head()
        finally:
            log.close()

    def copy_to(
        self, target: MasteryService, *, batch_size: int, progress: Progress = no_progress
    ) -> CopyReport:
        """Copy this store's log into `target`'s, event for event; safe to run again."""
        from replay.jobs.copy import copy_log

        if self.location == target.location:
            raise BadQuestion("--from and --to are the same store")
        with progress(self.log_head(), unit="events", label="copying") as update:
            return copy_log(
                self.store,
                target.store,
                batch_size=batch_size,
                on_progress=lambda position, _: update(position),
            )


def _check_reason(reason: str | None) -> None:
    if reason is not None and reason not in REASONS:
        raise BadQuestion(
            f"--reason {reason!r} is not a reason code; the codes are: "
            + ", ".join(sorted(REASONS))
        )
