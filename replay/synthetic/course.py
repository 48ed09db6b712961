"""One course's Canvas events over a term, yielded in event_time order.

A course is set up by its teacher (outcome groups, links, maybe its own outcomes,
mastery scale and calculation method), then graded in sessions spread over the
term: rubric assessments (one result per aligned outcome) and classic quizzes
(several results per outcome and quiz). Later changes (regrades, deleted results,
renamed/moved/deleted groups, removed links, deleted scales) are planned when they
become known and held in a small per-course heap until their time comes, so the
stream stays in time order with bounded memory. Each course has its own
`random.Random`, so its content does not depend on how streams interleave.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from replay.synthetic.catalog import (
    COURSE_METHODS,
    COURSE_SCALE,
    SKILLS,
    Outcome,
    calc_method_body,
    group_body,
    link_body,
    proficiency_body,
)
from replay.synthetic.results import grade, session_plan
from replay.synthetic.world import (
    COURSE_NAMES,
    MS_DAY,
    SUB_ACCOUNT,
    TEACHERS,
    Actor,
    Event,
    Item,
    canvas_uuid,
    hash_frac,
    numify,
    t0_days,
)


@dataclass
class CourseWorld:
    """What a course stream needs to know about the instance it lives in."""

    seed: int
    n_students: int
    n_courses: int
    results_per_student: int
    legacy: float
    t0: int
    term_days: int
    account_outcomes: list[Outcome]
    own_outcomes: dict[int, list[Outcome]] = field(default_factory=dict)
    outcomes_per_course: int | None = None  # see GeneratorSettings


class CourseStream:
    """Iterating yields the course's events as (event_time ms, stream, seq, envelope).

    Ids are the course's own share of Canvas's per-table sequences (strided by the
    course index), so courses never collide and need no shared counter.
    """

    def __init__(self, w: CourseWorld, idx: int, start: int) -> None:
        self.w, self.idx, self.start = w, idx, start
        self.stream = idx + 1
        self.rng = rng = random.Random(f"{w.seed}/course/{idx}")
        self.cid = 601 + idx
        self.cid_s = str(self.cid)
        self.uuid = canvas_uuid(w.seed, "course", idx)
        self.ctx = ("Course", self.cid, self.uuid)
        name = COURSE_NAMES[idx % len(COURSE_NAMES)]
        self.name = f"{name} - Section {idx // len(COURSE_NAMES) + 1}"
        person = TEACHERS[idx % len(TEACHERS)]
        self.teacher = Actor(
            1000 + idx,
            f"{person}{idx}@example.edu",
            f"T{40000 + idx}",
            "TeacherEnrollment",
            "Course",
            self.cid,
            SUB_ACCOUNT,
            f"2025.SP.{name[:4].upper()}-{idx:03d}",
            rng,
        )
        self.heap: list[Item] = []
        self.seq = 0
        self.counters = {"result": 0, "group": 0, "link": 0, "asset": 0, "artifact": 0, "job": 0}
        self.link_gone: dict[int, int] = {}  # outcome id -> time its link was deleted
        self.outcomes = self.choose_outcomes()
        self.turn = 0  # sessions so far, in outcomes (outcomes_per_course rotation)

    # -- plumbing -----------------------------------------------------------------
    def next_id(self, kind: str, base: int) -> int:
        """Canvas ids are one sequence per table; courses interleave by striding."""
        n = self.counters[kind]
        self.counters[kind] = n + 1
        return base + n * self.w.n_courses + self.idx

    def push(self, t: int, meta: Event, body: Event) -> None:
        rng = self.rng
        if rng.random() < 0.01:
            numify(body)
        if rng.random() < 0.004:
            body["some_new_field"] = {"added_in": "2025-02", "value": rng.randint(1, 9)}
        heapq.heappush(self.heap, (t, self.stream, self.seq, {"metadata": meta, "body": body}))
        self.seq += 1

    def request(self, t: int, name: str, method: str, path: str, body: Event) -> None:
        if self.rng.random() < 0.3:  # Canvas compacts nulls away for some accounts
            body = {k: v for k, v in body.items() if v is not None}
        ref = f"/courses/{self.cid}/outcomes"
        self.push(t, self.teacher.meta(name, t, method, path, ref), body)

    def drain(self, upto: int) -> Iterator[Item]:
        heap = self.heap
        while heap and heap[0][0] <= upto:
            yield heapq.heappop(heap)

    # -- the term -----------------------------------------------------------------
    def __iter__(self) -> Iterator[Item]:
        w, rng = self.w, self.rng
        r = rng.random
        heap = self.heap
        t = self.setup(self.start)
        yield from self.drain(t)
        n_sessions = max(1, round(w.results_per_student / 2.4))  # ~2.4 results per session
        spacing = (w.term_days - 5) * MS_DAY // n_sessions
        students = self.students()
        done, j = 0, 0
        while done < w.results_per_student:
            start = w.t0 + 5 * MS_DAY + j * spacing + int(r() * (spacing // 3))
            t = max(t + 30 * 60_000, start)
            active = [o for o in self.outcomes if self.link_gone.get(o.oid, 1 << 62) > t]
            if not active:
                break
            if r() < 0.3:
                plan = [(o, rng.choice((1, 2, 3))) for o in self.pick(active, min(2, len(active)))]
                lo, span, quiz = 60_000, 840_000, True
            else:
                k = min(len(active), rng.choice((1, 2, 2, 3, 3)))
                plan = [(o, 1) for o in self.pick(active, k)]
                lo, span, quiz = 20_000, 130_000, False
            left, plan = w.results_per_student - done, plan[:]
            plan = [
                (o, min(n, left - sum(m for _, m in plan[:i]))) for i, (o, n) in enumerate(plan)
            ]
            plan = [(o, n) for o, n in plan if n > 0]  # the last session tops up to the target
            done += sum(n for _, n in plan)
            asset = self.next_id("asset", 3000)
            title = f"{'Quiz' if quiz else 'Assignment'} {j + 1}"
            self.teacher.new_session()
            prepared = session_plan(self, plan, quiz, asset)
            for st in students:
                t += lo + int(r() * span)
                if r() < 0.03:
                    continue  # no submission
                items = grade(self, t, st, prepared, quiz, title)
                if heap and items and heap[0][0] <= items[-1][0]:
                    for item in items:  # a planned change falls among these results
                        while heap and heap[0][0] <= item[0]:
                            yield heapq.heappop(heap)
                        yield item
                else:
                    yield from items
            j += 1
        yield from self.drain(1 << 62)

    def pick(self, active: list[Outcome], k: int) -> list[Outcome]:
        """A session's outcomes: a random few, or (outcomes_per_course set) the next in turn."""
        if self.w.outcomes_per_course is None:
            return self.rng.sample(active, k)
        self.turn += k
        return [active[(self.turn - k + j) % len(active)] for j in range(k)]

    def students(self) -> list[tuple[int, str, float]]:
        """(index, uuid, ability): home students plus a few enrolled from the previous course.

        Derived from the student's index: a student is the same person (same
        user_uuid, same ability) in every course they are enrolled in.
        """
        w, c = self.w, self.idx
        idxs = list(range(c, w.n_students, w.n_courses))
        if w.n_courses > 1:
            prev = (c - 1) % w.n_courses
            idxs += [i for i in range(prev, w.n_students, w.n_courses) if i % 20 == 7]
        return [
            (i, canvas_uuid(w.seed, "user", i), 0.25 + 0.7 * hash_frac(i, 2 * w.seed + 1))
            for i in idxs
        ]

    def choose_outcomes(self) -> list[Outcome]:
        acc = self.w.account_outcomes
        k = min(len(acc), 6 if self.w.outcomes_per_course is None else self.w.outcomes_per_course)
        start = (self.idx * 3) % len(acc) if acc else 0
        return [acc[(start + j) % len(acc)] for j in range(k)] + self.w.own_outcomes.get(
            self.idx, []
        )

    def setup(self, t: int) -> int:
        """The teacher builds the course's outcome tree; later changes are planned now."""
        rng, cid, ctx, w = self.rng, self.cid, self.ctx, self.w

        def step() -> int:
            return rng.randint(5_000, 40_000)

        api = f"/api/v1/courses/{cid}/outcome_groups"
        root = self.next_id("group", 5000)
        self.request(
            t,
            "learning_outcome_group_created",
            "GET",
            f"/courses/{cid}/outcomes",
            group_body(root, ctx, self.name, None, None),
        )
        units: list[int] = []
        leaves: list[tuple[int, int]] = []  # (group, its unit)
        for u in range(rng.choice((2, 3))):
            t += step()
            gid_ = self.next_id("group", 5000)
            units.append(gid_)
            self.request(
                t,
                "learning_outcome_group_created",
                "POST",
                f"{api}/{root}/subgroups",
                group_body(gid_, ctx, f"Unit {u + 1}", root, self.uuid),
            )
            for k in range(rng.choice((1, 2))):
                t += step()
                leaf = self.next_id("group", 5000)
                leaves.append((leaf, gid_))
                self.request(
                    t,
                    "learning_outcome_group_created",
                    "POST",
                    f"{api}/{gid_}/subgroups",
                    group_body(
                        leaf,
                        ctx,
                        f"Unit {u + 1} skills {'AB'[k]}",
                        gid_,
                        self.uuid,
                        description=SKILLS,
                    ),
                )
        link_of: dict[int, tuple[int, int]] = {}
        for o in self.outcomes:
            t += step()
            leaf = rng.choice(leaves)[0]
            if o.owner == self.idx:
                path = f"{api}/{leaf}/outcomes"
                self.request(t, "learning_outcome_created", "POST", path, o.body(None))
                t += rng.randint(20, 400)
            else:
                path = f"{api}/{leaf}/outcomes/{o.oid}"
            link = self.next_id("link", 20000)
            link_of[o.oid] = (link, leaf)
            self.request(
                t,
                "learning_outcome_link_created",
                "PUT" if o.owner is None else "POST",
                path,
                link_body(link, o, leaf, ctx),
            )
        c = self.idx
        if c % 4 == 0:
            t += step()
            self.request(
                t,
                "outcome_proficiency_created",
                "POST",
                f"/courses/{cid}/outcome_proficiency",
                proficiency_body(2 + c, "Course", cid, 100 + 10 * c, COURSE_SCALE),
            )
            if c == 0:
                self.later(
                    t0_days(w.t0, 40, rng),
                    "outcome_proficiency_updated",
                    "POST",
                    f"/courses/{cid}/outcome_proficiency",
                    lambda u: proficiency_body(
                        2 + c, "Course", cid, 100 + 10 * c, COURSE_SCALE, "deleted", u
                    ),
                )
        if c % 3 == 0:
            t += step()
            meth, n = COURSE_METHODS[(c // 3) % len(COURSE_METHODS)]
            self.request(
                t,
                "outcome_calculation_method_created",
                "POST",
                "/api/graphql",
                calc_method_body(2 + c, "Course", cid, meth, n),
            )
            if c == 0:
                self.later(
                    t0_days(w.t0, 33, rng),
                    "outcome_calculation_method_updated",
                    "POST",
                    "/api/graphql",
                    lambda u: calc_method_body(2 + c, "Course", cid, meth, n, "deleted", u),
                )
        self.plan_changes(root, units, leaves, link_of, api)
        return t

    def later(
        self, t: int, name: str, method: str, path: str, body: Callable[[int], Event]
    ) -> None:
        """A change the teacher makes at time t (body gets its updated_at), held until due."""
        self.teacher.new_session()
        self.request(t, name, method, path, body(t - self.rng.randint(0, 900)))

    def plan_changes(
        self,
        root: int,
        units: list[int],
        leaves: list[tuple[int, int]],
        link_of: dict[int, tuple[int, int]],
        api: str,
    ) -> None:
        rng, ctx, w, c = self.rng, self.ctx, self.w, self.idx
        first = c == 0
        if first or rng.random() < 0.4:
            g = units[0]
            self.later(
                t0_days(w.t0, rng.randint(10, 25), rng),
                "learning_outcome_group_updated",
                "PUT",
                f"{api}/{g}",
                lambda u: group_body(g, ctx, "Unit 1: Foundations", root, self.uuid, u),
            )
        if (first or rng.random() < 0.15) and len(units) > 1:
            leaf, unit = leaves[-1]  # the last unit's last skills group moves to another unit
            dest = units[0] if unit != units[0] else units[1]
            title = f"Unit {len(units)} skills {'AB'[sum(un == unit for _, un in leaves) - 1]}"
            self.later(
                t0_days(w.t0, rng.randint(20, 35), rng),
                "learning_outcome_group_updated",
                "PUT",
                f"{api}/{leaf}",
                lambda u: group_body(leaf, ctx, title, dest, self.uuid, u, description=SKILLS),
            )
        if first or rng.random() < 0.15:
            drafts = self.next_id("group", 5000)
            when = self.w.t0 + 3 * MS_DAY + rng.randrange(MS_DAY)
            self.later(
                when,
                "learning_outcome_group_created",
                "POST",
                f"{api}/{root}/subgroups",
                lambda u: group_body(drafts, ctx, "Drafts", root, self.uuid),
            )
            self.later(
                t0_days(w.t0, rng.randint(6, 14), rng),
                "learning_outcome_group_updated",
                "DELETE",
                f"{api}/{drafts}",
                lambda u: group_body(drafts, ctx, "Drafts", root, self.uuid, u, "deleted"),
            )
        shared = [o for o in self.outcomes if o.owner is None]
        if len(shared) > 1 and (first or rng.random() < 0.2):  # never the course's last one
            o = shared[-1]
            link, leaf = link_of[o.oid]
            when = t0_days(w.t0, rng.randint(35, 45), rng)
            self.link_gone[o.oid] = when
            self.later(
                when,
                "learning_outcome_link_updated",
                "DELETE",
                f"{api}/{leaf}/outcomes/{o.oid}",
                lambda u: link_body(link, o, leaf, ctx, u, "deleted"),
            )
        if len(shared) > 1 and rng.random() < 0.1:
            o = shared[0]
            link, _ = link_of[o.oid]
            dest = leaves[0][0]
            self.later(
                t0_days(w.t0, rng.randint(15, 30), rng),
                "learning_outcome_link_updated",
                "PUT",
                f"{api}/{dest}/outcomes/{o.oid}",
                lambda u: link_body(link, o, dest, ctx, u),
            )
        for o in self.w.own_outcomes.get(c, []):
            if o.change_t:
                self.later(
                    o.change_t,
                    "learning_outcome_updated",
                    "PUT",
                    f"/api/v1/outcomes/{o.oid}",
                    o.body,
                )
