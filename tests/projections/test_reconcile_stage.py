"""The CD2 rows staged on disk come back as they went in, in the order the merge needs."""

from __future__ import annotations

import pytest

from projections import reconcile_stage
from projections.reconcile import CompareRow
from projections.reconcile_stage import CompareStage


def _row(identity: str, line: int, mastery: bool | None = True) -> CompareRow:
    time = "2025-01-02T03:04:05.000000Z"
    return CompareRow(
        identity, 3.0, 4.0, 0.75, mastery, 2, "active", time, time, time, False, "part-0", line
    )


def test_staged_rows_come_back_in_id_order_whatever_the_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reconcile_stage, "BATCH", 3)
    ids = ["30", "100", "2", "100", "7", "11", "2"]
    with CompareStage() as stage:
        stage.add_all(("learning_outcome_results", _row(i, n)) for n, i in enumerate(ids))
        stage.add("learning_outcomes", _row("5", 99, mastery=None))
        back = list(stage.rows("learning_outcome_results"))
        assert [row.id for row in back] == sorted(ids)  # text order, as the log is read
        assert [row.line for row in back if row.id == "100"] == [1, 3]  # as they came
        assert back[0] == _row("100", 1)
        assert list(stage.rows("learning_outcomes")) == [_row("5", 99, mastery=None)]
        assert stage.has("learning_outcomes") and not stage.has("outcome_proficiencies")
        assert list(stage.rows("learning_outcome_results")) == back  # read as often as asked


def test_users_staged_map_numeric_ids_to_uuids_the_last_row_winning() -> None:
    with CompareStage() as stage:
        stage.add_user("51", "old-uuid")
        stage.add_user("52", "uuid-52")
        stage.add_user("51", "uuid-51")
        assert stage.user_uuids(["51", "52", "53"]) == {"51": "uuid-51", "52": "uuid-52"}
        assert stage.user_uuids(str(n) for n in range(2000)) == {
            "51": "uuid-51",
            "52": "uuid-52",
        }
