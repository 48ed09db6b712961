"""Many keys' results at a moment from one scan of their versions: a course grid.

`latest_results` (a window over every version of every candidate result) answers a
question about a few students; for a course's whole grid that window would cost most
of the answer, so the grid is read here in one pass over the matching versions, and
rolled up an outcome at a time while its results are still in the processor's caches.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from operator import itemgetter
from sys import intern
from typing import Any, cast

import sqlite_utils

from domain.rollup import RESULT_ID, RESULT_TIME, SCORE, ScoredResult
from projections.rollups import (
    DELETED,
    ROLLUP_KEY_COLUMNS,
    VALID_ORDER,
    Moments,
    RollupKey,
    scored_version,
)
from projections.settings import Moment


# One pass over sorted rows holding a few running states; the record type it scans is
# being reworked on another branch, which is the time to split it.
def scanned_results(  # noqa: C901
    db: sqlite_utils.Database,
    where: str,
    params: Sequence[Any],
    moment: Moment,
    course: str | None = None,
) -> Iterator[dict[RollupKey, list[ScoredResult]]]:
    """What `score_rows(latest_results(...))` gives, from one scan of the matching versions,
    an outcome at a time.

    For questions about many keys, e.g. a course grid, where a window over every
    version of every candidate result would cost most of the answer. A result's
    versions outside the filter matter only if one of them is its latest; as the filter
    names key columns only, such a result has versions under several keys, or under a
    key and under none (no student or no course): the projection lists both kinds in
    `moved_results`. Those few are looked up alone, the rest is grouped by key as read.
    `course`: the filter's course, when it has one (its columns are then not read).
    Run it inside `one_snapshot`: it reads several times.

    A grid reads hundreds of thousands of versions, and what costs most is the
    processor's caches missing them. So a version is made a result as it is read (its
    row then dropped), unless it is deleted or has no score; the few keys with such a
    version, or with a result read in several versions, are worked out again at the end
    (`_latest_versions`). And each part holds every key of one outcome (of every course:
    what `rollup_records` merges across courses stays together), outcomes in the order
    they were read, to be rolled up while their results are still in the caches. The
    parts, and the keys in them, are in no particular order.
    """
    cursor = db.conn.cursor()
    as_of = [moment.valid, moment.known]
    spanning = {tuple(found) for found in cursor.execute("SELECT * FROM moved_results")}
    key_columns = ROLLUP_KEY_COLUMNS[: 5 if course is None else 3]  # the course's are known
    columns = _SCAN + "".join(f", r.{column}" for column in key_columns)
    # by key, each version read and its valid_order, one after the other: the version
    # made a result at once, unless deleted or without a score (then as read)
    groups: defaultdict[tuple[str, ...], list[Any]] = defaultdict(list)
    unsettled: set[tuple[str, ...]] = set()  # keys with a version as read
    spanned: set[tuple[str, str]] = set()
    moments = Moments()
    failed: list[BaseException] = []

    def read(  # a version, as _SCAN reads it
        result_id: str,
        score: float | None,
        percent: float | None,
        possible: float | None,
        is_quiz: int,
        asset_type: str | None,
        asset_id: str | None,
        assessed_at: str | None,
        valid_order: str,
        deleted: int,
        *key: str,
    ) -> None:
        try:
            if spanning and (key[0], result_id) in spanning:
                spanned.add((key[0], result_id))
                return
            found = groups[key]
            if deleted or score is None:
                unsettled.add(key)
                scanned = (result_id, score, percent, possible, is_quiz, asset_type, asset_id)
                found.append((*scanned, assessed_at, valid_order, deleted))  # a `Scanned`
            else:  # a `ScoredResult`, as `scored_version` makes it
                found.append(
                    (result_id, score, percent, possible, is_quiz, asset_type, asset_id)
                    + moments[assessed_at]
                )
            found.append(valid_order)
        except BaseException as error:  # SQLite would only say that it raised
            failed.append(error)
            raise

    _each_row(
        db,
        columns,
        f"FROM result_versions r WHERE ({where}) AND r.event_time <= ? AND r.recorded_at <= ?",
        [*params, *as_of],
        read,
        failed,
    )
    for root_account, result_id in spanned:  # in its latest version, if that still matches
        latest = cursor.execute(
            f"SELECT {columns}, ({where}) FROM result_versions r "
            "WHERE r.root_account = ? AND r.result_id = ? AND r.event_time <= ? "
            "AND r.recorded_at <= ? ORDER BY r.valid_order DESC LIMIT 1",
            [*params, root_account, result_id, *as_of],
        ).fetchone()
        if latest[-1]:  # its `_SCAN` columns, its key's, and whether it matches
            version, key = latest[:_SCANNED_WIDTH], latest[_SCANNED_WIDTH:-1]
            groups[key] += (version, version[VALID_ORDER])
            unsettled.add(key)
    outcomes: defaultdict[str, list[tuple[str, ...]]] = defaultdict(list)
    for key in groups:
        if key[1] is None or key[2] is None or (course is None and key[4] is None):
            continue
        outcomes[key[2]].append(key)
    suffix = () if course is None else ("Course", course)
    try:
        for keys in outcomes.values():
            scored: dict[RollupKey, list[ScoredResult]] = {}
            for key in keys:
                versions = groups.pop(key)  # freed as used: what comes next reuses the memory
                kept: list[ScoredResult] | None = (made := versions[::2])
                if key in unsettled or (
                    len(made) > 1 and len(set(map(_RESULT_ID, made))) < len(made)
                ):  # a version deleted, without a score, or a result's second
                    kept = _latest_versions(versions, moments)
                if kept is None:
                    continue  # every result deleted: no rollup
                # interned: the records are sorted by key, comparing equal strings often
                key_of = (intern(key[0]), intern(key[1]), *key[2:], *suffix)
                scored[cast(RollupKey, key_of)] = kept
            yield scored
    finally:  # SQLite may keep `read` a while (see `_each_row`), not what it read
        groups.clear()
        moments.clear()


_SCAN = (
    "r.result_id, r.score, r.percent, r.possible, "
    "r.artifact_type IS 'Quizzes::QuizSubmission', r.associated_asset_type, "
    "r.associated_asset_id, r.assessed_at, r.valid_order, r.workflow_state IS 'deleted'"
)
"""What `scanned_results` reads of a version before its key, laid out as a `Scanned`:
the fields of `ROLLUP_COLUMNS`, the two tests the rules make of them done by SQLite
(fewer objects)."""

_EACH_ROW = "scanned_results_row"


def _each_row(
    db: sqlite_utils.Database,
    columns: str,
    source: str,
    arguments: list[Any],
    read: Callable[..., None],
    failed: list[BaseException],
) -> None:
    """`read(*row)` for each row of `SELECT {columns} {source}`, in SQLite's order.

    SQLite hands the rows to `read` as a function it calls, rather than to a cursor: for
    each column it reads, a cursor lets go of the GIL and takes it back (Python 3.11),
    which would be most of a course grid's time; a function is given a row at once. What
    `read` raises it puts in `failed` (SQLite only says that the function raised).
    """
    conn = db.conn
    try:
        conn.create_function(_EACH_ROW, -1, read)
    except sqlite3.OperationalError:  # a statement of this connection is running
        for row in conn.execute(f"SELECT {columns} {source}", arguments):
            read(*row)
        return
    try:
        conn.execute(f"SELECT count({_EACH_ROW}({columns})) {source}", arguments).fetchall()
    except sqlite3.Error:  # OperationalError, or DataError for an OverflowError
        if failed:
            raise failed[0] from None
        raise
    finally:  # lets go of `read`, unless a statement of this connection is running:
        with suppress(sqlite3.OperationalError):  # then the next call replaces it
            conn.create_function(_EACH_ROW, -1, None)


def _latest_versions(read: list[Any], moments: Moments) -> list[ScoredResult] | None:
    """The results that count of a key `scanned_results` could not settle as it read it:
    what `_scored` gives of its rows once each result is in its latest version (None:
    every result deleted).

    `read`: the key's versions in the order read, each followed by its valid_order, and
    each a `ScoredResult` already or (deleted, without a score) a `Scanned`. A result
    keeps the place of its first version read, its latest's value.
    """
    latest: dict[str, tuple[str, Any]] = {}
    for version, order in zip(read[::2], read[1::2], strict=True):
        seen = latest.get(version[RESULT_ID])
        if seen is None or seen[0] < order:
            latest[version[RESULT_ID]] = (order, version)
    kept: list[ScoredResult] = []
    present = False
    for _, version in latest.values():
        if len(version) == _SCORED_WIDTH:
            kept.append(version)
            present = True
        elif not version[DELETED]:
            present = True
            if version[SCORE] is not None:
                kept.append(scored_version(version, moments))
    return kept if present else None


_SCORED_WIDTH = RESULT_TIME + 1
"""A `ScoredResult`'s length: one less than a `Scanned`'s."""
_SCANNED_WIDTH = DELETED + 1


_RESULT_ID = itemgetter(RESULT_ID)
