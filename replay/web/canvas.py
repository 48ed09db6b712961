"""Canvas's API parameters, mapped to the service's questions. Pure: no I/O.

Canvas clients send `user_ids[]=1&user_ids[]=2` (repeated keys with brackets),
`page` and `per_page` (Canvas's numbered pagination: default 10, at most 100 here),
and read the next page from the `Link` header
(`<...?page=2&per_page=10>; rel="next"`). Here user ids are `user_uuid`s (live
events carry no numeric user id) and every endpoint also takes `as_of` and
`known_at`, with `mastery query`'s meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import urlencode

from replay.service import BadQuestion

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100

Params = Sequence[tuple[str, str]]
"""A query string as (key, value) pairs, repeated keys kept in order."""


@dataclass(frozen=True, slots=True)
class Moment:
    as_of: str | None
    known_at: str | None


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page


def values(params: Params, name: str) -> list[str]:
    """Every value of `name` or `name[]` (Canvas's array parameters), in order."""
    return [value for key, value in params if key in (name, f"{name}[]") and value != ""]


def one(params: Params, name: str) -> str | None:
    found = [value for key, value in params if key == name]
    if len(found) > 1:
        raise BadQuestion(f"{name} is given {len(found)} times: give it once")
    return found[0] if found and found[0] != "" else None


def moment(params: Params) -> Moment:
    """`as_of` and `known_at` as the service takes them (it parses and judges them)."""
    return Moment(one(params, "as_of"), one(params, "known_at"))


def number(params: Params, name: str, default: int, *, least: int, most: int | None) -> int:
    text = one(params, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadQuestion(f"{name} {text!r}: expected a whole number") from None
    if value < least:
        raise BadQuestion(f"{name} {value}: expected {least} or more")
    return value if most is None else min(value, most)


def page(params: Params, default_per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Canvas's `page` (from 1) and `per_page` (capped at 100, as Canvas caps it)."""
    return Page(
        number(params, "page", 1, least=1, most=None),
        number(params, "per_page", default_per_page, least=1, most=MAX_PER_PAGE),
    )


def flag(params: Params, name: str) -> bool:
    """Canvas's booleans: true/1/yes/on, false/0/no/off (absent: false)."""
    text = one(params, name)
    if text is None:
        return False
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise BadQuestion(f"{name} {text!r}: expected true or false")


class GapOptions(TypedDict):
    """`MasteryService.gaps`' keyword arguments, as given in a query."""

    since: str | None
    until: str | None
    by: str
    root_account: str | None


def gap_options(params: Params) -> GapOptions:
    """`mastery gaps`' options as parameters: `since`, `until`, `by` (day or hour),
    `root_account_id`; the service judges them."""
    return {
        "since": one(params, "since"),
        "until": one(params, "until"),
        "by": one(params, "by") or "day",
        "root_account": one(params, "root_account_id"),
    }


def choice(params: Params, name: str, allowed: Sequence[str], default: str | None) -> str | None:
    text = one(params, name)
    if text is None:
        return default
    if text not in allowed:
        raise BadQuestion(f"{name} {text!r}: expected one of {', '.join(allowed)}")
    return text


def link_header(base_url: str, params: Params, current: Page, total: int) -> str:
    """Canvas's `Link` header: current, next (if any), prev (if any), first, last."""
    kept = [(k, v) for k, v in params if k not in ("page", "per_page")]
    last = max(1, -(-total // current.per_page))

    def url(number: int) -> str:
        query = urlencode([*kept, ("page", str(number)), ("per_page", str(current.per_page))])
        return f"<{base_url}?{query}>"

    links = [f'{url(current.number)}; rel="current"']
    if current.number < last:
        links.append(f'{url(current.number + 1)}; rel="next"')
    if current.number > 1:
        links.append(f'{url(current.number - 1)}; rel="prev"')
    links.append(f'{url(1)}; rel="first"')
    links.append(f'{url(last)}; rel="last"')
    return ",".join(links)
