"""The numbers a store can hold.

SQLite's INTEGER and PostgreSQL's bigint are signed 64-bit: a larger integer is
refused by the driver (OverflowError) when a row is written. JSON parsers give
back integers up to 2**64 - 1, so the bound is checked where input is judged.
"""

from __future__ import annotations

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def fits_int64(value: int) -> bool:
    """Whether an integer can be stored in a SQLite INTEGER column."""
    return INT64_MIN <= value <= INT64_MAX
