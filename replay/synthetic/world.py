"""How Canvas spells things, for the synthetic dump generator.

Global ids in metadata and local ids in bodies, 40-character uuids, ISO times with
milliseconds, request metadata full of the acting person's personal data, job
metadata. Every stream of `generate.py` spells events through these helpers, so a
dump is consistent; timestamp formatting is table-driven because it is the
generator's hottest operation.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.ids import SHARD_FACTOR, is_canvas_id

Event = dict[str, Any]
Item = tuple[int, int, int, Event]  # (event_time ms, stream number, sequence, envelope)

SHARD = 2107
HOST = "oxana.instructure.com"
ROOT_UUID = "VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs"
ROOT_ACCOUNT = 1
SUB_ACCOUNT = 79
MS_MINUTE = 60_000
MS_HOUR = 3_600_000
MS_DAY = 86_400_000
COURSE_NAMES = (
    "Algebra I",
    "Biology",
    "World History",
    "English 10",
    "Chemistry",
    "Geometry",
    "Physics",
    "Statistics",
    "Earth Science",
    "Literature",
)
TEACHERS = ("maria.silva", "john.okafor", "li.wang", "ana.kowalski", "sam.taylor", "noor.haddad")

BASE_META: dict[str, str] = {
    "producer": "canvas",
    "root_account_id": str(SHARD * SHARD_FACTOR + ROOT_ACCOUNT),
    "root_account_lti_guid": f"{ROOT_UUID}.{HOST}",
    "root_account_uuid": ROOT_UUID,
}
# Keys whose values are ids: Canvas stringifies them, a few consumers see numbers.
ID_KEYS = (
    "id",
    "learning_outcome_id",
    "learning_outcome_group_id",
    "parent_outcome_group_id",
    "learning_outcome_link_id",
    "result_context_id",
    "artifact_id",
    "associated_asset_id",
    "context_id",
    "outcome_proficiency_id",
    "outcome_calculation_method_id",
)


def gid(local: int) -> str:
    """Global id: shard * 10^13 + local, as metadata carries it."""
    return str(SHARD * SHARD_FACTOR + local)


def canvas_uuid(*parts: object) -> str:
    """A stable 40-character alphanumeric uuid (Canvas's shape) derived from `parts`."""
    raw = hashlib.blake2b(repr(parts).encode(), digest_size=30).digest()
    return base64.b64encode(raw, altchars=b"xQ").decode()


def hash_frac(n: int, salt: int) -> float:
    """A deterministic uniform draw in [0, 1) for item `n`, without consuming rng state.

    Used for decisions (legacy shape) that must not shift every later random draw.
    """
    x = ((n + 1) * 0x9E3779B97F4A7C15 ^ (salt * 0xBF58476D1CE4E5B9)) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 31)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (x >> 11) / 9007199254740992.0


_DATES: dict[int, str] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Formatting a timestamp is the hottest thing the generator does: build it from tables
# and a memo of `2025-01-06T08:00:` per minute (events of many courses interleave, so
# consecutive events rarely share a second but nearly always share a minute).
_HM = [f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
SS = [f"{s:02d}" for s in range(60)]
MS = [f".{n:03d}Z" for n in range(1000)]
MINUTES: dict[int, str] = {}


def minute(m: int) -> str:
    """`2025-01-06T08:00:` for a minute since the epoch."""
    p = MINUTES.get(m)
    if p is None:
        if len(MINUTES) > 4096:
            MINUTES.clear()
        day, rem = divmod(m, 1440)
        date = _DATES.get(day)
        if date is None:
            date = _DATES[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
        p = MINUTES[m] = date + _HM[rem]
    return p


def iso_ms(ms: int) -> str:
    """`2025-01-06T08:00:00.123Z`: the event_time spelling."""
    m, rem = divmod(ms, 60_000)
    s, milli = divmod(rem, 1000)
    return (MINUTES.get(m) or minute(m)) + SS[s] + MS[milli]


def iso_s(ms: int) -> str:
    """`2025-01-06T08:00:00Z`: whole seconds, as Canvas writes most body timestamps."""
    m, rem = divmod(ms, 60_000)
    return (MINUTES.get(m) or minute(m)) + SS[rem // 1000] + "Z"


def request_uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


_RA_ID, _RA_LTI = BASE_META["root_account_id"], BASE_META["root_account_lti_guid"]


def job_meta(name: str, t: int, job_id: int, tag: str) -> Event:
    return {
        "event_name": name,
        "event_time": iso_ms(t),
        "job_id": str(job_id),
        "job_tag": tag,
        "producer": "canvas",
        "root_account_id": _RA_ID,
        "root_account_lti_guid": _RA_LTI,
        "root_account_uuid": ROOT_UUID,
    }


_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
)
_ZONES = ("America/Denver", "America/Sao_Paulo", "America/New_York", "Europe/London")


@dataclass
class Actor:
    """A person acting through a web request, in one Canvas context (course or account).

    Request-triggered events carry all of this: that is the personal data a consumer
    of outcome mastery must not need (and should drop).
    """

    user_local_id: int
    login: str
    sis_id: str
    role: str
    context_type: str
    context_local_id: int
    account_local_id: int  # the context's account (a course's account, an account's parent)
    context_sis: str
    rng: random.Random
    client_ip: str = ""
    user_agent: str = ""
    time_zone: str = ""
    session_id: str = ""

    def __post_init__(self) -> None:
        r = self.rng
        self.client_ip = (
            f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        )
        self.user_agent = r.choice(_AGENTS)
        self.time_zone = r.choice(_ZONES)
        self.new_session()

    def new_session(self) -> None:
        self.session_id = f"{self.rng.getrandbits(128):032x}"

    def meta(self, name: str, t: int, method: str, path: str, referrer: str | None) -> Event:
        """Request metadata in Canvas's key order (alphabetical, as the reference shows)."""
        return {
            "client_ip": self.client_ip,
            "context_account_id": gid(self.account_local_id),
            "context_id": gid(self.context_local_id),
            "context_role": self.role,
            "context_sis_source_id": self.context_sis,
            "context_type": self.context_type,
            "event_name": name,
            "event_time": iso_ms(t),
            "hostname": HOST,
            "http_method": method,
            "producer": "canvas",
            "referrer": None if referrer is None else f"https://{HOST}{referrer}",
            "request_id": request_uuid(self.rng),
            "root_account_id": BASE_META["root_account_id"],
            "root_account_lti_guid": BASE_META["root_account_lti_guid"],
            "root_account_uuid": ROOT_UUID,
            "session_id": self.session_id,
            "time_zone": self.time_zone,
            "url": f"https://{HOST}{path}",
            "user_account_id": gid(ROOT_ACCOUNT),
            "user_agent": self.user_agent,
            "user_id": gid(self.user_local_id),
            "user_login": self.login,
            "user_sis_id": self.sis_id,
        }


def numify(body: Event) -> None:
    """Emit the id fields as JSON numbers, as some Canvas consumers receive them."""
    for k in ID_KEYS:
        v = body.get(k)
        if isinstance(v, str) and is_canvas_id(v):
            body[k] = int(v)


def t0_days(t0: int, days: int, rng: random.Random) -> int:
    """A working-hours moment `days` into the term that starts at `t0` (ms)."""
    return t0 + days * MS_DAY + rng.randint(0, 10 * MS_HOUR)
