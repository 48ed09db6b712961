"""The gradebook's faster reads give exactly what the exports' reads give."""

from __future__ import annotations

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
