"""What exists in a synthetic Canvas instance: outcomes, rubrics, scales and their bodies.

Every stream of `generate.py` must agree on the same outcomes (ids, contexts,
rubric criteria, planned changes); this module decides them and builds the event
bodies of outcomes, groups, links, mastery scales and calculation methods in the
field order Canvas's own serialisers use.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

from replay.synthetic.world import MS_DAY, MS_HOUR, Event, iso_s


@dataclass
class Rubric:
    """An outcome's rubric criterion, with a lookup table to score a student fast."""

    points_possible: float
    mastery_points: float
    ratings: list[tuple[str, float]]
    table: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        pts = [p for _, p in self.ratings]
        for b in range(21):  # the rating nearest to each 5% step of points_possible
            x = b / 20 * self.points_possible
            self.table.append(min(pts, key=lambda p: abs(p - x)))

    def criterion(self, title: str) -> Event:
        return {
            "description": title,
            "mastery_points": self.mastery_points,
            "points_possible": self.points_possible,
            "ratings": [{"description": d, "points": p} for d, p in self.ratings],
        }


RUBRICS = (
    Rubric(
        5,
        3,
        [
            ("Exceeds Expectations", 5),
            ("Proficient", 4),
            ("Meets Expectations", 3),
            ("Nearing Expectations", 2),
            ("Developing", 1),
            ("Does Not Meet Expectations", 0),
        ],
    ),
    Rubric(
        3,
        2,
        [
            ("The student shows fluency.", 3),
            ("The student shows proficiency.", 2),
            ("The student understands the fundamentals.", 1),
            ("The student does not meet the requirements.", 0),
        ],
    ),
    Rubric(
        4,
        3,
        [("Advanced", 4), ("Proficient", 3), ("Basic", 2), ("Below Basic", 1), ("No Evidence", 0)],
    ),
    Rubric(
        10,
        6,
        [
            ("Exemplary", 10),
            ("Accomplished", 8),
            ("Developing", 6),
            ("Beginning", 4),
            ("Not Yet", 0),
        ],
    ),
    Rubric(4, 2.5, [("Mastered", 4), ("Near Mastery", 2.5), ("Emerging", 1), ("Missing", 0)]),
)

# (method, int range or None); the first rows are taken in order so small settings
# still cover every method, then the rest is drawn at random.
METHODS: tuple[tuple[str | None, tuple[int, int] | None], ...] = (
    ("decaying_average", (50, 80)),
    ("highest", None),
    ("n_mastery", (1, 4)),
    ("latest", None),
    ("standard_decaying_average", (50, 99)),
    ("average", None),
    ("weighted_average", (1, 99)),
    (None, None),
    ("decaying_average", None),
    ("n_mastery", (5, 10)),
)
_SUBJECTS = (
    (
        "MATH",
        "Mathematics",
        (
            "Ratios and proportional reasoning",
            "Linear equations",
            "Statistical variability",
            "Geometric measurement",
            "Functions",
        ),
    ),
    (
        "SCI",
        "Science",
        (
            "Cell structure",
            "Energy transfer",
            "Chemical reactions",
            "Forces and motion",
            "Ecosystems",
        ),
    ),
    (
        "ELA",
        "English Language Arts",
        (
            "Cite textual evidence",
            "Determine a central idea",
            "Write arguments",
            "Analyze word choice",
            "Research",
        ),
    ),
)


@dataclass
class Outcome:
    """One learning outcome as it will exist over the whole generated term."""

    oid: int
    context_type: str
    context_id: int
    context_uuid: str
    subject: int
    fields: Event  # the body fields of learning_outcome_created, in Canvas's order
    rubric: Rubric
    change_t: int = 0  # when the planned learning_outcome_updated happens (0: never)
    change: Event = field(default_factory=dict)
    new_rubric: Rubric | None = None
    owner: int | None = None  # course index for a course-level outcome

    def rubric_at(self, t: int) -> Rubric:
        if self.new_rubric is not None and t >= self.change_t:
            return self.new_rubric
        return self.rubric

    def body(self, updated_t: int | None) -> Event:
        b = copy.deepcopy(self.fields)  # events never share nested objects
        if updated_t is not None:
            b.update(self.change)
            b["updated_at"] = iso_s(updated_t)
        return b


def make_outcome(
    rng: random.Random, i: int, oid: int, ctx: tuple[str, int, str], t0: int
) -> Outcome:
    """Outcome number `i` with a method from METHODS and, for every third one, a planned change."""
    method, span = METHODS[i] if i < len(METHODS) else rng.choice(METHODS)
    subject = i % len(_SUBJECTS)
    code, _, skills = _SUBJECTS[subject]
    skill = skills[(i // len(_SUBJECTS)) % len(skills)]
    grade = 6 + i % 4
    title = f"{code}.{grade}.{i + 1} {skill}"
    rubric = RUBRICS[rng.randrange(len(RUBRICS))]
    fields: Event = {
        "learning_outcome_id": str(oid),
        "context_type": ctx[0],
        "context_id": str(ctx[1]),
        "context_uuid": ctx[2],
        "display_name": skill if rng.random() < 0.6 else None,
        "short_description": title,
        "description": f"<p>{skill}: grade {grade} standard {i + 1}.</p>",
        "vendor_guid": f"{code}-{grade}-{i + 1}" if rng.random() < 0.7 else None,
        "calculation_method": method,
        "calculation_int": rng.randint(*span) if span else None,
        "rubric_criterion": rubric.criterion(title),
        "title": title,
        "workflow_state": "active",
    }
    o = Outcome(oid, ctx[0], ctx[1], ctx[2], subject, fields, rubric)
    if i % 3 == 1:
        o.change_t = t0 + rng.randint(14, 45) * MS_DAY + rng.randint(MS_HOUR, 10 * MS_HOUR)
        kind = (i // 3) % 3
        if kind == 0:
            o.change = {"title": f"{title} (revised)", "short_description": f"{title} (revised)"}
        elif kind == 1:
            o.change = {"calculation_method": "decaying_average", "calculation_int": 75}
        else:
            o.new_rubric = RUBRICS[(RUBRICS.index(rubric) + 1) % len(RUBRICS)]
            o.change = {"rubric_criterion": o.new_rubric.criterion(title)}
    return o


SCALE = (
    ("Exceeds Mastery", 4.0, False, "127A1B"),
    ("Mastery", 3.0, True, "0B874B"),
    ("Near Mastery", 2.0, False, "FAB901"),
    ("Below Mastery", 1.0, False, "FD5D10"),
    ("Well Below Mastery", 0.0, False, "E0061F"),
)
COURSE_SCALE = (
    ("Advanced", 4.0, False, "127A1B"),
    ("Proficient", 3.0, True, "0B874B"),
    ("Developing", 2.0, False, "FAB901"),
    ("Beginning", 1.0, False, "E0061F"),
)
COURSE_METHODS = (("highest", None), ("n_mastery", 2), ("latest", None), ("decaying_average", 70))
SKILLS = "<p>Skills practised in this unit.</p>"


def proficiency_body(
    pid: int,
    ctx_type: str,
    ctx_id: int,
    first_rating: int,
    scale: tuple[tuple[str, float, bool, str], ...],
    state: str = "active",
    updated_t: int | None = None,
) -> Event:
    b: Event = {
        "outcome_proficiency_id": str(pid),
        "context_type": ctx_type,
        "context_id": str(ctx_id),
        "workflow_state": state,
    }
    if updated_t is not None:
        b["updated_at"] = iso_s(updated_t)
    b["outcome_proficiency_ratings"] = [
        {
            "outcome_proficiency_rating_id": str(first_rating + k),
            "description": d,
            "points": p,
            "mastery": m,
            "color": c,
            "workflow_state": "active",
        }
        for k, (d, p, m, c) in enumerate(scale)
    ]
    return b


def calc_method_body(
    mid: int,
    ctx_type: str,
    ctx_id: int,
    method: str,
    n: int | None,
    state: str = "active",
    updated_t: int | None = None,
) -> Event:
    b: Event = {
        "outcome_calculation_method_id": str(mid),
        "context_type": ctx_type,
        "context_id": str(ctx_id),
        "workflow_state": state,
        "calculation_method": method,
        "calculation_int": n,
    }
    if updated_t is not None:
        b["updated_at"] = iso_s(updated_t)
    return b


def group_body(
    group_id: int,
    ctx: tuple[str, int, str],
    title: str,
    parent: int | None,
    parent_uuid: str | None,
    updated_t: int | None = None,
    state: str = "active",
    description: str | None = None,
) -> Event:
    b: Event = {
        "learning_outcome_group_id": str(group_id),
        "context_id": str(ctx[1]),
        "context_uuid": ctx[2],
        "context_type": ctx[0],
        "title": title,
        "description": description,
        "vendor_guid": None,
        "parent_outcome_group_id": None if parent is None else str(parent),
        "parent_outcome_group_context_uuid": parent_uuid,
        "workflow_state": state,
    }
    if updated_t is not None:
        b["updated_at"] = iso_s(updated_t)
    return b


def link_body(
    link_id: int,
    o: Outcome,
    group_id: int,
    ctx: tuple[str, int, str],
    updated_t: int | None = None,
    state: str = "active",
) -> Event:
    b: Event = {
        "learning_outcome_link_id": str(link_id),
        "learning_outcome_id": str(o.oid),
        "learning_outcome_context_uuid": o.context_uuid,
        "learning_outcome_group_id": str(group_id),
        "learning_outcome_group_context_uuid": ctx[2],
        "context_id": str(ctx[1]),
        "context_type": ctx[0],
        "workflow_state": state,
    }
    if updated_t is not None:
        b["updated_at"] = iso_s(updated_t)
    return b


def subjects() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    return _SUBJECTS
