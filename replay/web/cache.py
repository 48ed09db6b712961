"""What the web side keeps between requests: each course's facts (its span of events,
each student's first result), valid while the read models stay at one log position."""

from __future__ import annotations

import threading

from replay.service import CourseFacts, CourseView, MasteryReader

MOST_COURSES = 256


class FactsCache:
    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[int, CourseFacts]] = {}
        self._lock = threading.Lock()

    def facts(self, reader: MasteryReader, view: CourseView) -> CourseFacts:
        key = (view.root_account, view.course)
        position = reader.applied_position()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == position:
            return kept[1]
        facts = reader.course_facts(view)
        with self._lock:
            if len(self._kept) >= MOST_COURSES:
                self._kept.clear()
            self._kept[key] = (position, facts)
        return facts
