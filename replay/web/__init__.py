"""The read side over HTTP: a Canvas-shaped JSON API and the web gradebook.

`create_web_app(service, secure_cookies=...)` makes the Starlette application; the
server (`mastery serve`) mounts it beside the intake. Imports `replay.service` only.
"""

from __future__ import annotations

from replay.web.app import create_web_app
from replay.web.security import require_scope

__all__ = ["create_web_app", "require_scope"]
