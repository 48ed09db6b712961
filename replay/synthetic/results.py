"""Outcome results: the hot path of the synthetic dump generator.

One student's graded submission becomes one `learning_outcome_result_created` per
aligned outcome (rubric assessment) or several per outcome (classic quiz), written
by a background job; a few get a later `_updated` (regrade or deletion). Plain
arithmetic on `random()`, dict literals and table-driven timestamps keep this above
100,000 events per second.
"""

from __future__ import annotations

import heapq
import random
from typing import Protocol

from replay.synthetic.catalog import Outcome, Rubric
from replay.synthetic.world import (
    BASE_META,
    MINUTES,
    MS,
    MS_DAY,
    MS_HOUR,
    SS,
    Event,
    Item,
    hash_frac,
    iso_ms,
    iso_s,
    job_meta,
    minute,
    numify,
)


class CourseCounts(Protocol):
    """What grading reads of the world a course lives in (replay.synthetic.course)."""

    @property
    def n_courses(self) -> int: ...
    @property
    def t0(self) -> int: ...
    @property
    def term_days(self) -> int: ...
    @property
    def legacy(self) -> float: ...
    @property
    def seed(self) -> int: ...


class CourseStream(Protocol):
    """What grading needs of the course stream it writes into (replay.synthetic.course)."""

    seq: int
    counters: dict[str, int]
    heap: list[Item]

    @property
    def w(self) -> CourseCounts: ...
    @property
    def rng(self) -> random.Random: ...
    @property
    def idx(self) -> int: ...
    @property
    def stream(self) -> int: ...
    @property
    def cid_s(self) -> str: ...
    @property
    def uuid(self) -> str: ...

    def next_id(self, kind: str, base: int) -> int: ...


RUBRIC_JOB = "RubricAssessment#update_outcomes_for_assessment"
QUIZ_JOB = "Quizzes::SubmissionGrader#update_outcomes"


def session_plan(
    cs: CourseStream, plan: list[tuple[Outcome, int]], quiz: bool, asset: int
) -> list[tuple[Outcome, int, Event]]:
    """Per aligned outcome, the result body fields shared by every student of a session.

    Copying a prepared dict and setting the varying fields costs much less than a
    25-key dict literal, and results are almost all of a dump.
    """
    out = []
    for o, n in plan:
        template: Event = {
            "id": None,
            "assessed_at": None,
            "attempt": 1,
            "created_at": None,
            "learning_outcome_id": str(o.oid),
            "learning_outcome_context_uuid": o.context_uuid,
            "result_context_id": cs.cid_s,
            "result_context_type": "Course",
            "result_context_uuid": cs.uuid,
            "mastery": None,
            "original_mastery": None,
            "original_possible": None,
            "original_score": None,
            "percent": None,
            "possible": None,
            "score": None,
            "user_uuid": None,
            "artifact_id": None,
            "artifact_type": "Quizzes::QuizSubmission" if quiz else "RubricAssessment",
            "artifact_updated_at": None,
            "artifact_created_at": None,
            "associated_asset_id": str(asset),
            "associated_asset_type": "Quizzes::Quiz" if quiz else "Assignment",
            "workflow_state": "active",
        }
        out.append((o, n, template))
    return out


_META = {
    tag: {
        "event_name": "learning_outcome_result_created",
        "event_time": None,
        "job_id": None,
        "job_tag": tag,
        **BASE_META,
    }
    for tag in (RUBRIC_JOB, QUIZ_JOB)
}


def grade(
    cs: CourseStream,
    t: int,
    st: tuple[int, str, float],
    plan: list[tuple[Outcome, int, Event]],
    quiz: bool,
    title: str,
) -> list[Item]:
    """One student's submission graded: a job writes one result per (outcome, question set).

    The hot path of the generator: plain arithmetic on `random()`, prepared dicts.
    """
    w, rng, items = cs.w, cs.rng, []
    r = rng.random
    sidx, user_uuid, ability = st
    c = cs.counters
    stride, idx, stream = w.n_courses, cs.idx, cs.stream
    job_s = str(1020020528000000 + c["job"] * stride + idx)
    art_s = str(700000 + c["artifact"] * stride + idx)
    c["job"] += 1
    c["artifact"] += 1
    at = iso_ms(t) if r() < 0.1 else iso_s(t)
    growth = 0.15 * (t - w.t0) / (w.term_days * MS_DAY)
    run = t + 300 + int(r() * 3700)
    meta_template = _META[QUIZ_JOB if quiz else RUBRIC_JOB]
    legacy, salt, n_res = w.legacy, 2 * w.seed, c["result"]
    for o, n, template in plan:
        rub = o.rubric_at(t)
        pp, mp = rub.points_possible, rub.mastery_points
        for _ in range(n):
            run += 2 + int(r() * 14)
            x = ability + growth + (r() + r() - 1.0) * 0.3
            x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
            if quiz:
                possible: float = float(1 + int(r() * 5))
                points = round(x * possible * 2) / 2
                mastery = points / possible * pp >= mp
            else:
                possible = pp
                points = rub.table[int(x * 20 + 0.5)]
                mastery = points >= mp
            score: float | None = points
            percent: float | None = points / possible
            u = r()
            if u < 0.005:
                score = percent = None
                mastery = False
            elif u < 0.025:
                percent = None
            rid = 100000 + n_res * stride + idx
            n_res += 1
            m, rem = divmod(run, 60_000)
            s, milli = divmod(rem, 1000)
            prefix = (MINUTES.get(m) or minute(m)) + SS[s]
            if legacy and hash_frac(rid, salt) < legacy:
                body = _legacy_body(
                    template["learning_outcome_id"],
                    o.oid,
                    rid,
                    f"Student {sidx + 1}, {title}",
                    prefix,
                    at,
                    (score, possible, mastery, percent),
                )
            else:
                body = _current_body(
                    template, rid, user_uuid, art_s, prefix, at, (score, possible, mastery, percent)
                )
                if u > 0.953 and score is not None:
                    followup(cs, run, body, quiz, rub, ability, u > 0.993)
            v = r()
            if v < 0.015:
                _oddity(body, v)
            if percent is None and rid % 3 == 0:  # Canvas compacts nulls away
                body = {k: val for k, val in body.items() if val is not None}
            meta = meta_template.copy()
            meta["event_time"] = prefix + MS[milli]
            meta["job_id"] = job_s
            items.append((run, stream, cs.seq, {"metadata": meta, "body": body}))
            cs.seq += 1
    c["result"] = n_res
    return items


Grades = tuple[float | None, float, bool, float | None]
"""A result's score, points possible, mastery and percent."""


def _current_body(
    template: Event,
    rid: int,
    user_uuid: str,
    artifact: str,
    prefix: str,
    at: str,
    grades: Grades,
) -> Event:
    """A result as Canvas sends it today: the session's template with this result's fields."""
    score, possible, mastery, percent = grades
    body = template.copy()
    body["id"] = str(rid)
    body["assessed_at"] = body["artifact_updated_at"] = body["artifact_created_at"] = at
    body["created_at"] = prefix + "Z"
    body["mastery"] = body["original_mastery"] = mastery
    body["original_possible"] = body["possible"] = possible
    body["original_score"] = body["score"] = score
    body["percent"] = percent
    body["user_uuid"] = user_uuid
    body["artifact_id"] = artifact
    return body


def _legacy_body(
    oid_s: str, oid: int, rid: int, title: str, prefix: str, at: str, grades: Grades
) -> Event:
    """A result in an older shape: no ids, a title, and `mastery` holding the outcome id
    (as text for odd result ids, as a number for even ones)."""
    score, possible, mastery, percent = grades
    return {
        "learning_outcome_id": oid_s,
        "mastery": oid_s if rid % 2 else oid,
        "score": score,
        "created_at": prefix + "Z",
        "attempt": 1,
        "possible": possible,
        "original_score": score,
        "original_possible": possible,
        "original_mastery": mastery,
        "assessed_at": at,
        "title": title,
        "percent": percent,
        "workflow_state": "active",
    }


def _oddity(body: Event, v: float) -> None:
    """Odd results: one in 100 with its numbers as strings, one in 200 with a new field."""
    if v < 0.01:
        numify(body)
    else:
        body["some_new_field"] = {"added_in": "2025-02", "value": int(v * 1000)}


def followup(
    cs: CourseStream, run: int, body: Event, quiz: bool, rub: Rubric, ability: float, delete: bool
) -> None:
    """A later learning_outcome_result_updated for the same id: a regrade or a deletion."""
    rng = cs.rng
    t = run + rng.randint(MS_HOUR, 7 * MS_DAY)
    new = dict(body)
    new["updated_at"] = iso_s(t)
    if delete:
        new["workflow_state"] = "deleted"
    else:
        at = iso_s(t - rng.randint(500, 5000))
        if rng.random() < 0.5:
            new["attempt"] = 2
        possible = float(body["possible"])
        x = min(1.0, ability + 0.15 + (rng.random() - 0.5) * 0.3)
        score = round(x * possible * 2) / 2 if quiz else rub.table[int(x * 20 + 0.5)]
        pct = score / possible
        new.update(
            score=score,
            assessed_at=at,
            artifact_updated_at=at,
            percent=pct if body["percent"] is not None else None,
            mastery=pct * rub.points_possible >= rub.mastery_points,
        )
    job = 1020020528000000 + cs.next_id("job", 0)
    tag = QUIZ_JOB if quiz else RUBRIC_JOB
    heapq.heappush(
        cs.heap,
        (
            t,
            cs.stream,
            cs.seq,
            {"metadata": job_meta("learning_outcome_result_updated", t, job, tag), "body": new},
        ),
    )
    cs.seq += 1
