"""What can go wrong when a front door asks the service, in the service's own words.

Each front door maps these to its own answer (the CLI to an exit code, the server
to an HTTP status) and shows the message as it is: messages name the store, the
option or the id at fault, and what to do.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""


class BadQuestion(ServiceError):
    """The question cannot be asked as put: a malformed time, context or option."""


class StoreUnavailable(ServiceError):
    """The store or its read models cannot be used: missing, damaged, another format."""


class NotFound(ServiceError):
    """The question is well put but names something the store does not know."""


class BadInput(ServiceError):
    """A dump named for a replay cannot be read (no such file, not a dump)."""


class StrictStop(ServiceError):
    """`strict` replay met an unusable line; what came before it is stored."""
