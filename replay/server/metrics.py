"""What `GET /metrics` shows, in the Prometheus text format (prometheus_client).

One registry per app, so that several servers in one process (the tests) do not
share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from replay.service.intake import Verdict

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.received = Counter(
            "mastery_events_received", "Event bodies judged by the intake", registry=registry
        )
        self.appended = Counter(
            "mastery_events_appended", "Events appended to the log", registry=registry
        )
        self.duplicates = Counter(
            "mastery_events_duplicate", "Events recognised as duplicates", registry=registry
        )
        self.not_learning = Counter(
            "mastery_events_not_learning",
            "Events of other Canvas types, skipped",
            registry=registry,
        )
        self.quarantined = Counter(
            "mastery_events_quarantined",
            "Authentic events that could not be used, by reason",
            ["reason"],
            registry=registry,
        )
        self.refused = Counter(
            "mastery_signatures_refused",
            "POSTs refused for their signature (401), by why",
            ["why"],
            registry=registry,
        )
        self.answers = Counter(
            "mastery_http_answers",
            "Answers by path and status",
            ["path", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "mastery_request_seconds",
            "Time from a POST's arrival to its answer",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "mastery_commit_batch_events",
            "Deliveries per group commit",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "mastery_commit_seconds",
            "Time to judge and commit one group",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.lag_events = Gauge(
            "mastery_follower_lag_events",
            "Log events not yet applied to the read models",
            registry=registry,
        )
        self.lag_seconds = Gauge(
            "mastery_follower_lag_seconds",
            "Age of the oldest log event not yet applied to the read models",
            registry=registry,
        )

    def on_commit(self, deliveries: int, seconds: float) -> None:
        self.batch_size.observe(deliveries)
        self.commit_seconds.observe(seconds)

    def on_verdict(self, verdict: Verdict) -> None:
        self.received.inc()
        if verdict.outcome == "appended":
            self.appended.inc()
        elif verdict.outcome == "duplicate":
            self.duplicates.inc()
        elif verdict.outcome == "not-learning":
            self.not_learning.inc()
        else:
            self.quarantined.labels(verdict.reason or "unknown").inc()
