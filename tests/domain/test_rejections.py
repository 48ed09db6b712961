"""Every reason code the program can give is listed, with its meaning, in one place."""

from __future__ import annotations

import re
from pathlib import Path

from domain.rejections import REASONS

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCES = [*REPOSITORY.glob("domain/**/*.py"), *REPOSITORY.glob("replay/**/*.py")]
# `Rejection("code", ...)`, over line breaks; and the codes chosen into a variable first
# (`reason = "a" if ... else "b"`) just before `Rejection(reason, ...)`.
CODE_LITERAL = re.compile(
    r'Rejection\(\s*"([a-z0-9-]+)"|reason = "([a-z0-9-]+)"(?: if .* else "([a-z0-9-]+)")?'
)


def test_every_reason_code_written_in_the_code_is_a_known_reason() -> None:
    written = {
        code
        for path in SOURCES
        for match in CODE_LITERAL.finditer(path.read_text())
        for code in match.groups()
        if code
    }
    assert {"not-json", "wrong-type", "missing-entity-id", "implausible-event-time"} <= written
    assert written <= set(REASONS), f"missing from REASONS: {written - set(REASONS)}"


def test_the_readme_lists_every_reason_code() -> None:
    readme = (REPOSITORY / "README.md").read_text()
    missing = [code for code in REASONS if f"`{code}`" not in readme]
    assert not missing, f"README's quarantine table lacks {missing}"
