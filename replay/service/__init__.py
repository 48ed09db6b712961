"""The application service: what every front door (CLI, server, Python) calls.

    from replay.service import MasteryService, question

    service = MasteryService.open("demo-store")
    with service.reading() as reader:
        for record in reader.rollups(question(course="601", as_of="2025-03-01")):
            ...

Front doors import from here only: the service, its errors, its documents, and
the types its answers come in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from replay.service.errors import (
    BadInput,
    BadQuestion,
    NotFound,
    ServiceError,
    StoreUnavailable,
    StrictStop,
)

if TYPE_CHECKING:
    from domain.rollup_settings import method_label
    from projections.browse import CourseFacts, CourseSummary
    from projections.catchup import DEFAULT_BATCH
    from projections.exports import (
        CourseView,
        aggregate_rollup_json,
        gradebook_header,
        gradebook_row,
        student_rollup_json,
    )
    from projections.hierarchy import ContextTree
    from projections.history import HistoryPoint
    from projections.queries import MasteryQuestion
    from projections.result_export import RESULT_COLUMNS
    from projections.rollups import RollupRecord
    from projections.tree import Node, OutcomeEntry, group_label, outcome_label
    from replay.ingest.ingestor import ReplaySummary
    from replay.jobs.copy import CopyReport
    from replay.jobs.follow import Lag
    from replay.jobs.pipeline import ReplayOptions
    from replay.jobs.progress import Advance, Progress, no_progress
    from replay.jobs.status import StoreStatus
    from replay.jobs.verify import VerifyReport
    from replay.service.delivery_documents import DailyCounts, daily_counts, duration
    from replay.service.documents import (
        moment_text,
        quarantined_json,
        rollup_csv_rows,
        rollup_json,
        tree_json,
    )
    from replay.service.mastery import MasteryService
    from replay.service.reading import MasteryReader, parse_context, question
    from replay.store.location import (
        READ_MODELS_ENV,
        STORE_ENV,
        resolve_store_location,
        set_read_models_default,
    )

_LAZY = {
    "method_label": "domain.rollup_settings",
    "Advance": "replay.jobs.progress",
    "ContextTree": "projections.hierarchy",
    "CopyReport": "replay.jobs.copy",
    "CourseFacts": "projections.browse",
    "CourseSummary": "projections.browse",
    "CourseView": "projections.exports",
    "HistoryPoint": "projections.history",
    "DEFAULT_BATCH": "projections.catchup",
    "Lag": "replay.jobs.follow",
    "MasteryQuestion": "projections.queries",
    "MasteryReader": "replay.service.reading",
    "MasteryService": "replay.service.mastery",
    "Node": "projections.tree",
    "OutcomeEntry": "projections.tree",
    "Progress": "replay.jobs.progress",
    "READ_MODELS_ENV": "replay.store.location",
    "RESULT_COLUMNS": "projections.result_export",
    "ReplayOptions": "replay.jobs.pipeline",
    "ReplaySummary": "replay.ingest.ingestor",
    "RollupRecord": "projections.rollups",
    "STORE_ENV": "replay.store.location",
    "StoreStatus": "replay.jobs.status",
    "VerifyReport": "replay.jobs.verify",
    "aggregate_rollup_json": "projections.exports",
    "gradebook_header": "projections.exports",
    "gradebook_row": "projections.exports",
    "group_label": "projections.tree",
    "DailyCounts": "replay.service.delivery_documents",
    "daily_counts": "replay.service.delivery_documents",
    "duration": "replay.service.delivery_documents",
    "moment_text": "replay.service.documents",
    "quarantined_json": "replay.service.documents",
    "no_progress": "replay.jobs.progress",
    "outcome_label": "projections.tree",
    "parse_context": "replay.service.reading",
    "question": "replay.service.reading",
    "resolve_store_location": "replay.store.location",
    "rollup_csv_rows": "replay.service.documents",
    "rollup_json": "replay.service.documents",
    "set_read_models_default": "replay.store.location",
    "student_rollup_json": "projections.exports",
    "tree_json": "replay.service.documents",
}
"""Where each name lives: imported on first use, so that a command that needs
little (`mastery --help`) does not load the projections, the log or pydantic."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_BATCH",
    "READ_MODELS_ENV",
    "RESULT_COLUMNS",
    "STORE_ENV",
    "Advance",
    "BadInput",
    "BadQuestion",
    "ContextTree",
    "CopyReport",
    "CourseFacts",
    "CourseSummary",
    "CourseView",
    "DailyCounts",
    "HistoryPoint",
    "Lag",
    "MasteryQuestion",
    "MasteryReader",
    "MasteryService",
    "Node",
    "NotFound",
    "OutcomeEntry",
    "Progress",
    "ReplayOptions",
    "ReplaySummary",
    "RollupRecord",
    "ServiceError",
    "StoreStatus",
    "StoreUnavailable",
    "StrictStop",
    "VerifyReport",
    "aggregate_rollup_json",
    "daily_counts",
    "duration",
    "gradebook_header",
    "gradebook_row",
    "group_label",
    "method_label",
    "moment_text",
    "no_progress",
    "outcome_label",
    "parse_context",
    "quarantined_json",
    "question",
    "resolve_store_location",
    "rollup_csv_rows",
    "rollup_json",
    "set_read_models_default",
    "student_rollup_json",
    "tree_json",
]
