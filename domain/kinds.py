"""The kinds of Canvas entity the Learning events speak of.

In a module of its own so that readers of the read models (projections, queries)
need not import the event models and their validation library.
"""

from __future__ import annotations

from enum import StrEnum


class EntityKind(StrEnum):
    """The Canvas entities whose changes the Learning events announce."""

    OUTCOME = "outcome"
    OUTCOME_GROUP = "outcome_group"
    LINK = "link"
    RESULT = "result"
    PROFICIENCY = "proficiency"
    CALCULATION_METHOD = "calculation_method"
