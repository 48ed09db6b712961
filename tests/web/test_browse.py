"""The gradebook's faster reads give exactly what the exports' reads give."""

from __future__ import annotations

import itertools

import pytest

from tests.web.conftest import World

MOMENTS = [None, "2025-01-15", "2025-02-01T12:00:00Z", "2025-02-20", "2025-03-15", "2099-01-01"]


@pytest.mark.parametrize("course", ["601", "602", "603"])
def test_a_page_the_grid_and_the_students_equal_the_exports_reads(
    world: World, course: str
) -> None:
    with world.service.reading() as reader:
        for as_of in MOMENTS:
            for known_at in (None, "2099-01-01"):
                view = reader.course(course, as_of=as_of, known_at=known_at)
                expected = dict(view.rollups_by_student())
                students = view.students()
                assert reader.students(view, reader.course_facts(view)) == students
                page = reader.students_rollups(view, students[3:11])
                assert page == {u: expected[u] for u in students[3:11]}
                grid = reader.course_grid(view)
                assert {u: grid.get(u, []) for u in students} == expected


def test_a_students_history_is_the_rollup_as_of_every_moment(world: World) -> None:
    from datetime import datetime, timedelta

    from projections.queries import MasteryQueries, MasteryQuestion

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    with world.service.reading() as reader:
        for course in ("601", "602", "603"):
            view = reader.course(course)
            queries = MasteryQueries(view.db)
            for user in view.students()[:4]:
                history = reader.student_history(view, user)
                assert any(history.values())
                for outcome_id, points in history.items():
                    checks = [(at(p.at), p) for p in points]
                    # just before each change, the point before it still holds
                    checks += [
                        (at(b.at) - timedelta(microseconds=1), a)
                        for a, b in itertools.pairwise(points)
                    ]
                    for moment, point in checks:
                        found = queries.rollups(
                            MasteryQuestion(
                                users=[user], outcomes=[outcome_id], course=course, as_of=moment
                            )
                        )
                        score = found[0].rollup.score if found and found[0].rollup.count else None
                        count = found[0].rollup.count if found else 0
                        assert (score, count) == (point.score, point.count), (
                            user,
                            outcome_id,
                            moment,
                        )


@pytest.mark.parametrize("as_of", MOMENTS)
def test_the_distribution_from_one_scan_is_the_exports(world: World, as_of: str | None) -> None:
    with world.service.reading() as reader:
        for course in ("601", "602", "603"):
            view = reader.course(course, as_of=as_of)
            assert reader.course_distribution(view) == reader.distribution(view)
