"""Who may read and who may write: tokens and browser sessions, in the service's words.

    access = AccessService.of(service)           # access.sqlite in the store directory
    info, secret = access.create_token("read", name="reports")   # show `secret` once
    grant = access.authenticate(secret)          # Grant(name, scope) or None

Tokens live in the store (beside the read models, or in a PostgreSQL store's local
read-models directory): each machine serving a store has its own. The secret of a
token is never stored, logged or shown again.
"""

from __future__ import annotations

from replay.service.errors import BadQuestion, NotFound, StoreUnavailable
from replay.service.mastery import MasteryService
from replay.store.access import SCOPES, AccessError, AccessStore, Grant, TokenInfo

ACCESS_FILE = "access.sqlite"

__all__ = ["SCOPES", "AccessService", "Grant", "TokenInfo"]


class AccessService:
    """Tokens and sessions of one store."""

    def __init__(self, store: AccessStore) -> None:
        self._store = store

    @classmethod
    def of(cls, service: MasteryService) -> AccessService:
        path = service.store.root / ACCESS_FILE
        try:
            return cls(AccessStore(path))
        except Exception as error:  # sqlite3.Error, OSError: the file cannot be used
            raise StoreUnavailable(f"cannot open the token file {path}: {error}") from None

    def close(self) -> None:
        self._store.close()

    def create_token(self, scope: str, name: str | None = None) -> tuple[TokenInfo, str]:
        try:
            return self._store.create_token(scope, name)
        except AccessError as error:
            raise BadQuestion(str(error)) from None

    def tokens(self) -> list[TokenInfo]:
        return self._store.tokens()

    def revoke(self, name: str) -> TokenInfo:
        try:
            return self._store.revoke(name)
        except AccessError as error:
            raise NotFound(str(error)) from None

    def authenticate(self, secret: str) -> Grant | None:
        return self._store.authenticate(secret) if secret else None

    def open_session(self, grant: Grant) -> tuple[str, Grant]:
        return self._store.open_session(grant)

    def session(self, secret: str) -> Grant | None:
        return self._store.session(secret) if secret else None

    def end_session(self, secret: str) -> None:
        self._store.end_session(secret)
