"""The application service: what every front door (CLI, server, Python) calls.

    from replay.service import MasteryService, question

    service = MasteryService.open("demo-store")
    with service.reading() as reader:
        for record in reader.rollups(question(course="601", as_of="2025-03-01")):
            ...

Front doors import from here only: the service, its errors, its documents, and
the types its answers come in.
"""

from typing import TYPE_CHECKING

from projections.catchup import DEFAULT_BATCH
from projections.exports import (
    CourseView,
    aggregate_rollup_json,
    gradebook_header,
    gradebook_row,
    student_rollup_json,
)
from projections.hierarchy import ContextTree
from projections.queries import MasteryQuestion
from projections.result_export import RESULT_COLUMNS
from projections.rollups import RollupRecord
from projections.tree import Node, OutcomeEntry, group_label, outcome_label
from replay.jobs.pipeline import ReplayOptions
from replay.jobs.progress import Advance, Progress, no_progress
from replay.service.documents import (
    moment_text,
    rollup_csv_rows,
    rollup_json,
    tree_json,
)
from replay.service.errors import (
    BadInput,
    BadQuestion,
    NotFound,
    ServiceError,
    StoreUnavailable,
    StrictStop,
)
from replay.service.mastery import MasteryService
from replay.service.reading import MasteryReader, parse_context, question
from replay.store.location import (
    READ_MODELS_ENV,
    STORE_ENV,
    resolve_store_location,
    set_read_models_default,
)

if TYPE_CHECKING:
    from replay.ingest.ingestor import ReplaySummary
    from replay.jobs.copy import CopyReport
    from replay.jobs.follow import Lag
    from replay.jobs.status import StoreStatus
    from replay.jobs.verify import VerifyReport

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
    "CourseView",
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
    "gradebook_header",
    "gradebook_row",
    "group_label",
    "moment_text",
    "no_progress",
    "outcome_label",
    "parse_context",
    "question",
    "resolve_store_location",
    "rollup_csv_rows",
    "rollup_json",
    "set_read_models_default",
    "student_rollup_json",
    "tree_json",
]
