"""The names a replay's and a server's processes give themselves (`ps`, `top`).

A replay runs three processes (a parser, the appender, the projection; while a large
bulk load ends, also the rollups' helper, `projections.bulk_rollups.HELPER_NAME`; a
rebuild runs that helper too), `mastery serve` two (the server and its follower).
See `projections.process_name`.
"""

from __future__ import annotations

from projections.process_name import name_this_process

__all__ = ["LIVE_FOLLOWER", "PARSER", "PROJECTION", "name_this_process"]

PARSER = "mastery-parse"
PROJECTION = "mastery-project"
LIVE_FOLLOWER = "mastery-follow"
