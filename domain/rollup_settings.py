"""What a rollup is computed under: a calculation method and a mastery scale or criterion.

Canvas resolves these per (outcome, course) before it computes anything
(`Outcomes::ResultAnalytics#mastery_scale_opts`, `RollupScore#initialize` and
`#adjust_calculation_method`); this module holds those rules, pure. `domain.rollup`
applies them to results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.rating import Rating

DECAYING_METHODS = frozenset({"decaying_average", "weighted_average", "standard_decaying_average"})
DEFAULT_DECAYING_INT = 65
DEFAULT_N_MASTERY_INT = 5


@dataclass(frozen=True, slots=True)
class RollupSettings:
    """What is in force for one (outcome, course).

    Either the outcome's own calculation method and rubric criterion, or, under
    account_level_mastery_scales, the resolved calculation method and mastery scale
    (`Outcomes::ResultAnalytics#mastery_scale_opts`; see `settings_from_scale`).
    `new_decaying_average` is the root account's outcomes_new_decaying_average_calculation
    flag: only with it on does a stored `standard_decaying_average` decay
    (`RollupScore#adjust_calculation_method`). That name is only ever saved while the flag
    is on (`LearningOutcome#adjust_calculation_method`), hence the default.
    """

    calculation_method: str | None
    calculation_int: int | None
    points_possible: float | None
    mastery_points: float | None
    ratings: tuple[Rating, ...] = ()
    new_decaying_average: bool = True


def effective_method(method: str | None, calculation_int: int | None) -> tuple[str, int | None]:
    """The stored method and int as the rollup applies them.

    A null method is `highest` (`RollupScore#initialize`, and the outcome API's
    "existing outcomes that have a nil calculation method should be handled as highest").
    The decaying variants use `@calculation_int || 65`. A null n_mastery int makes Canvas
    raise (`length < nil`); outcomes never store one (`LearningOutcome#default_calculation_int`
    fills 5 on save), so 5 stands in. Ints are not clamped to the ranges of
    `OutcomeCalculationMethod::VALID_CALCULATION_INTS`: those are save-time validations
    and the rollup uses whatever was stored. Other methods ignore the int.
    """
    resolved = method or "highest"
    if resolved in DECAYING_METHODS:
        return resolved, DEFAULT_DECAYING_INT if calculation_int is None else calculation_int
    if resolved == "n_mastery":
        return resolved, DEFAULT_N_MASTERY_INT if calculation_int is None else calculation_int
    return resolved, None


def method_label(method: str | None, calculation_int: int | None) -> str:
    """How a method is shown wherever one is shown: its stored name, and its int where
    the method reads one ("standard_decaying_average 80", "n_mastery 2", "highest").

    Canvas's API and our JSON use the stored name; one spelling everywhere lets a
    reader match a table cell, a tree line and a JSON field without a glossary.
    """
    resolved, used_int = effective_method(method, calculation_int)
    return resolved if used_int is None else f"{resolved} {used_int}"


def formula_for(method: str, new_decaying_average: bool) -> str | None:
    """Which computation a stored method runs (`RollupScore#adjust_calculation_method`).

    With the flag on, `standard_decaying_average` runs the true decaying average and
    `decaying_average` / `weighted_average` the weighted one; with it off, all three run
    the weighted one. An unknown method gives no score (`calculate_results` falls through).
    """
    if method == "standard_decaying_average":
        return "decaying_average" if new_decaying_average else "weighted_average"
    if method in DECAYING_METHODS:
        return "weighted_average"
    if method in {"n_mastery", "latest", "highest", "average"}:
        return method
    return None


def settings_from_scale(
    ratings: Sequence[Rating],
    method: str | None,
    calculation_int: int | None,
    new_decaying_average: bool = True,
) -> RollupSettings:
    """Settings from a mastery scale and calculation method (`mastery_scale_opts`).

    P is the top rating's points (`OutcomeProficiency#points_possible`, ratings ordered
    `points DESC, id ASC`), M the first mastery rating's (`#mastery_points`). Deleted
    ratings are the caller's to leave out (the association only loads active ones).
    Under account_level_mastery_scales these replace the outcome's own: the course's
    active scale / method, else the nearest account's up the chain, else the root
    account's default (`DEFAULT_MASTERY_SCALE`, method `highest`), never the outcome's.
    """
    ordered = tuple(sorted(ratings, key=lambda r: -r.points))
    return RollupSettings(
        calculation_method=method,
        calculation_int=calculation_int,
        points_possible=ordered[0].points if ordered else None,
        mastery_points=next((r.points for r in ordered if r.mastery), None),
        ratings=ordered,
        new_decaying_average=new_decaying_average,
    )
