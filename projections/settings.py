"""Which criterion, method and mastery scale are in force for an outcome in a course.

Canvas resolves them at the moment of asking, so this does too, at any moment: the
outcome's version as of T, the course's own mastery scale and calculation method as
of T, else the nearest account's up the account chain, else the root account's.

Canvas applies course and account settings only when the root account has the
`account_level_mastery_scales` feature on, and feature flags are not in live events.
The rule used here: the flag is taken as on for a root account once any mastery scale
or calculation method event of that root account is known at that moment. With it on
and nothing in force anywhere, Canvas's defaults apply (its default scale, `highest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlite_utils

from domain.ids import local_id, shard_of
from domain.rating import (
    DEFAULT_MASTERY_SCALE,
    DEFAULT_RUBRIC_CRITERION_MASTERY_POINTS,
    DEFAULT_RUBRIC_CRITERION_POINTS_POSSIBLE,
    DEFAULT_RUBRIC_CRITERION_RATINGS,
    Rating,
)
from domain.rollup_settings import RollupSettings, settings_from_scale

END_OF_TIME = "9999-12-31T23:59:59.999999Z"
MAX_ACCOUNT_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Moment:
    """A point in valid time and in known time; both unbounded by default."""

    valid: str = END_OF_TIME
    known: str = END_OF_TIME

    @property
    def is_now(self) -> bool:
        return self.valid == END_OF_TIME and self.known == END_OF_TIME


NOW = Moment()


class SettingsResolver:
    """Resolves settings against the read model, caching within one question."""

    def __init__(self, db: sqlite_utils.Database, moment: Moment = NOW) -> None:
        self.db = db
        self.moment = moment
        self._cache: dict[tuple[Any, ...], Any] = {}

    def settings_for(
        self, root_account: str, outcome_id: str, context_type: str, context_id: str
    ) -> RollupSettings:
        key = ("settings", root_account, outcome_id, context_type, context_id)
        if key not in self._cache:
            self._cache[key] = self._resolve(root_account, outcome_id, context_type, context_id)
        settings: RollupSettings = self._cache[key]
        return settings

    def outcome(self, root_account: str, outcome_id: str) -> dict[str, Any] | None:
        key = ("outcome", root_account, outcome_id)
        if key not in self._cache:
            self._cache[key] = self._latest(
                "outcome_versions", "outcome_id", root_account, outcome_id
            )
        row: dict[str, Any] | None = self._cache[key]
        return row

    def _resolve(
        self, root_account: str, outcome_id: str, context_type: str, context_id: str
    ) -> RollupSettings:
        if not self._account_level_settings(root_account):
            return self.outcome_settings(root_account, outcome_id)
        contexts = [(context_type, context_id)] + [
            ("Account", account)
            for account in self._account_chain(root_account, context_type, context_id)
        ]
        scale: tuple[Rating, ...] = DEFAULT_MASTERY_SCALE
        for ctx_type, ctx_id in contexts:
            found = self._active_in_context(
                "mastery_scale_versions", root_account, ctx_type, ctx_id
            )
            if found is not None:
                scale = _scale_ratings(found["ratings"])
                break
        method: str | None = "highest"
        calculation_int: int | None = None
        for ctx_type, ctx_id in contexts:
            found = self._active_in_context(
                "calculation_method_versions", root_account, ctx_type, ctx_id
            )
            if found is not None:
                method, calculation_int = found["calculation_method"], found["calculation_int"]
                break
        return settings_from_scale(scale, method, calculation_int)

    def uses_account_settings(self, root_account: str) -> bool:
        """Whether account_level_mastery_scales counts as on for the root account.

        Canvas's exports branch on the flag too (the Outcome Results report's
        points possible), so they ask the same rule the rollups use.
        """
        return self._account_level_settings(root_account)

    def outcome_settings(self, root_account: str, outcome_id: str) -> RollupSettings:
        outcome = self.outcome(root_account, outcome_id)
        if outcome is None:
            return _default_criterion(None, None)
        if outcome["ratings"] is None and outcome["points_possible"] is None:
            return _default_criterion(outcome["calculation_method"], outcome["calculation_int"])
        return RollupSettings(
            calculation_method=outcome["calculation_method"],
            calculation_int=outcome["calculation_int"],
            points_possible=outcome["points_possible"],
            mastery_points=outcome["mastery_points"],
            ratings=_criterion_ratings(outcome["ratings"]),
        )

    def _account_level_settings(self, root_account: str) -> bool:
        key = ("flag", root_account)
        if key not in self._cache:
            found = False
            for table in ("mastery_scale_versions", "calculation_method_versions"):
                row = self.db.execute(
                    f"SELECT 1 FROM {table} WHERE root_account = ? AND event_time <= ? "
                    "AND recorded_at <= ? LIMIT 1",
                    [root_account, self.moment.valid, self.moment.known],
                ).fetchone()
                found = found or row is not None
            self._cache[key] = found
        flag: bool = self._cache[key]
        return flag

    def _account_chain(self, root_account: str, context_type: str, context_id: str) -> list[str]:
        """Accounts above the context, nearest first, the root account last."""
        key = ("chain", root_account, context_type, context_id)
        if key in self._cache:
            chain: list[str] = self._cache[key]
            return chain
        chain = []
        current = (context_type, context_id)
        seen = {current}
        for _ in range(MAX_ACCOUNT_DEPTH):
            parent = self._parent(root_account, current)
            if parent is None or ("Account", parent) in seen:
                break
            chain.append(parent)
            current = ("Account", parent)
            seen.add(current)
        root_local = local_id(root_account, shard_of(root_account))
        if root_local not in chain and (context_type, context_id) != ("Account", root_local):
            chain.append(root_local)
        self._cache[key] = chain
        return chain

    def _parent(self, root_account: str, context: tuple[str, str]) -> str | None:
        """The account a course or an account sits in: one lookup by primary key, so a
        question costs the depth of the account tree, not the number of courses."""
        key = ("parent", root_account, *context)
        if key not in self._cache:
            row = self.db.execute(
                "SELECT account_id FROM context_accounts "
                "WHERE root_account = ? AND context_type = ? AND context_id = ?",
                [root_account, *context],
            ).fetchone()
            self._cache[key] = row[0] if row is not None else None
        parent: str | None = self._cache[key]
        return parent

    def _active_in_context(
        self, table: str, root_account: str, context_type: str, context_id: str
    ) -> dict[str, Any] | None:
        """The context's own scale or method in force: latest active one, if any."""
        key = (table, root_account, context_type, context_id)
        if key in self._cache:
            cached: dict[str, Any] | None = self._cache[key]
            return cached
        id_column = (
            "proficiency_id" if table == "mastery_scale_versions" else "calculation_method_id"
        )
        rows = _dict_rows(
            self.db,
            f"SELECT * FROM {table} WHERE root_account = ? AND context_type = ? "
            "AND context_id = ? AND event_time <= ? AND recorded_at <= ? ORDER BY valid_order",
            [root_account, context_type, context_id, self.moment.valid, self.moment.known],
        )
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            latest[row[id_column]] = row
        active = [row for row in latest.values() if row["workflow_state"] != "deleted"]
        found = max(active, key=lambda row: row["valid_order"]) if active else None
        self._cache[key] = found
        return found

    def _latest(
        self, table: str, id_column: str, root_account: str, entity_id: str
    ) -> dict[str, Any] | None:
        rows = _dict_rows(
            self.db,
            f"SELECT * FROM {table} WHERE root_account = ? AND {id_column} = ? "
            "AND event_time <= ? AND recorded_at <= ? ORDER BY valid_order DESC LIMIT 1",
            [root_account, entity_id, self.moment.valid, self.moment.known],
        )
        return rows[0] if rows else None


def _dict_rows(db: sqlite_utils.Database, sql: str, params: list[str]) -> list[dict[str, Any]]:
    """Rows as dicts, straight from the connection: `Database.query` wraps each
    statement in a savepoint and parses its first keyword, which cost more than these
    small indexed reads themselves (a question makes several)."""
    cursor = db.conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _default_criterion(method: str | None, calculation_int: int | None) -> RollupSettings:
    return RollupSettings(
        calculation_method=method,
        calculation_int=calculation_int,
        points_possible=DEFAULT_RUBRIC_CRITERION_POINTS_POSSIBLE,
        mastery_points=DEFAULT_RUBRIC_CRITERION_MASTERY_POINTS,
        ratings=DEFAULT_RUBRIC_CRITERION_RATINGS,
    )


def _criterion_ratings(ratings_json: str | None) -> tuple[Rating, ...]:
    if not ratings_json:
        return ()
    return tuple(
        Rating(rating.get("description"), float(rating["points"]))
        for rating in orjson.loads(ratings_json)
        if rating.get("points") is not None
    )


def _scale_ratings(ratings_json: str) -> tuple[Rating, ...]:
    """Active ratings of a mastery scale (deleted ratings are not loaded by Canvas)."""
    return tuple(
        Rating(
            rating.get("description"),
            float(rating["points"]),
            rating.get("color"),
            bool(rating.get("mastery")),
        )
        for rating in orjson.loads(ratings_json)
        if rating.get("points") is not None and rating.get("workflow_state") != "deleted"
    )
