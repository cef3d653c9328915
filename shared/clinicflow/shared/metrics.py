"""Prometheus metrics for one service: messages consumed, published, failed, dead-lettered, latency, backlog.

Each app owns its own registry (no import-time globals), exposed at ``/metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    """The platform's counters for one service instance."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.consumed = Counter("clinicflow_messages_consumed", "Events handled", ["type"], registry=r)
        self.duplicates = Counter("clinicflow_messages_duplicate", "Redelivered events skipped", ["type"], registry=r)
        self.failed = Counter("clinicflow_messages_failed", "Handler attempts that failed", ["kind"], registry=r)
        self.dead_lettered = Counter("clinicflow_messages_dead_lettered", "Messages sent to a DLQ", ["topic"],
                                     registry=r)
        self.published = Counter("clinicflow_messages_published", "Outbox events published", ["topic"], registry=r)
        self.handler_seconds = Histogram("clinicflow_handler_seconds", "Handler latency", ["type"], registry=r)
        self.outbox_backlog = Gauge("clinicflow_outbox_backlog", "Outbox events not yet published", registry=r)
        self.outbox_oldest_seconds = Gauge("clinicflow_outbox_oldest_unsent_seconds",
                                           "Age of the oldest outbox event not yet published", registry=r)
