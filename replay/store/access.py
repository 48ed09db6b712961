"""Access: tokens and browser sessions, kept in `access.sqlite` beside the read models.

Student results are protected personal data, so nothing is readable without a
token. Only a token's SHA-256 is stored: the secret itself is shown once, when it
is made, and cannot be recovered from the store. A token is 32 random bytes
(urlsafe base64) with a `mst_` prefix, so that secret scanners can spot one;
looking one up compares every stored hash in constant time (`hmac.compare_digest`),
never through an index that would answer faster for a near miss.

A browser session is a second random secret, kept the same way (its hash, the
token it was opened with, a CSRF form token and when it ends). Revoking a token
ends its sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SCOPES = ("read", "ingest")
TOKEN_PREFIX = "mst_"
SESSION_HOURS = 12

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,
    token_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""


class AccessError(ValueError):
    """A token cannot be made or revoked as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as `mastery token list` shows it (never its secret or its hash)."""

    name: str
    scope: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class Grant:
    """Who is asking: the token's name and scope (and, for a browser, the session's
    CSRF form token)."""

    name: str
    scope: str
    csrf: str | None = None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AccessStore:
    """The tokens and sessions of one store (one small SQLite file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    # -- tokens --------------------------------------------------------------------
    def create_token(self, scope: str, name: str | None = None) -> tuple[TokenInfo, str]:
        """A new token: its description and its secret (shown once, stored hashed)."""
        if scope not in SCOPES:
            raise AccessError(f"--scope {scope!r}: expected one of {', '.join(SCOPES)}")
        name = name or f"{scope}-{secrets.token_hex(3)}"
        if not name.strip() or len(name) > 100:
            raise AccessError("--name: give 1 to 100 characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = _text(_now())
        try:
            self._conn.execute(
                "INSERT INTO tokens (name, scope, token_hash, created_at) VALUES (?, ?, ?, ?)",
                [name, scope, digest(secret), created],
            )
        except sqlite3.IntegrityError:
            raise AccessError(
                f"a token named {name!r} exists: choose another --name "
                f"(or revoke it: mastery token revoke {name})"
            ) from None
        return TokenInfo(name, scope, created, None), secret

    def tokens(self) -> list[TokenInfo]:
        rows = self._conn.execute(
            "SELECT name, scope, created_at, revoked_at FROM tokens ORDER BY created_at, name"
        ).fetchall()
        return [TokenInfo(*row) for row in rows]

    def revoke(self, name: str) -> TokenInfo:
        row = self._conn.execute(
            "SELECT name, scope, created_at, revoked_at FROM tokens WHERE name = ?", [name]
        ).fetchone()
        if row is None:
            raise AccessError(f"no token named {name!r}: `mastery token list` shows them")
        if row[3] is None:
            revoked = _text(_now())
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.execute(
                    "UPDATE tokens SET revoked_at = ? WHERE name = ?", [revoked, name]
                )
                self._conn.execute("DELETE FROM sessions WHERE token_name = ?", [name])
            return TokenInfo(row[0], row[1], row[2], revoked)
        return TokenInfo(*row)

    def authenticate(self, secret: str) -> Grant | None:
        """The grant of a live token whose secret this is, else None.

        Every live token's hash is compared, in constant time, whatever matches.
        """
        wanted = digest(secret)
        found: Grant | None = None
        rows = self._conn.execute(
            "SELECT name, scope, token_hash FROM tokens WHERE revoked_at IS NULL"
        ).fetchall()
        for name, scope, token_hash in rows:
            if hmac.compare_digest(wanted, token_hash) and found is None:
                found = Grant(name, scope)
        return found

    # -- browser sessions ----------------------------------------------------------
    def open_session(self, grant: Grant, hours: float = SESSION_HOURS) -> tuple[str, Grant]:
        """A new session for a signed-in token: (its secret for the cookie, its grant)."""
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = _now()
        self._conn.execute(
            "INSERT INTO sessions (session_hash, token_name, csrf, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [digest(secret), grant.name, csrf, _text(now), _text(now + timedelta(hours=hours))],
        )
        return secret, Grant(grant.name, grant.scope, csrf)

    def session(self, secret: str) -> Grant | None:
        """The grant of a live session (its token not revoked, not expired), else None."""
        row = self._conn.execute(
            "SELECT t.name, t.scope, s.csrf, s.expires_at FROM sessions s JOIN tokens t "
            "ON t.name = s.token_name WHERE s.session_hash = ? AND t.revoked_at IS NULL",
            [digest(secret)],
        ).fetchone()
        if row is None or row[3] <= _text(_now()):
            return None
        return Grant(row[0], row[1], row[2])

    def end_session(self, secret: str) -> None:
        self._conn.execute(
            "DELETE FROM sessions WHERE session_hash = ? OR expires_at <= ?",
            [digest(secret), _text(_now())],
        )
