"""The broker's access rules, made from the event catalogue (docs/contracts.md, least privilege).

Each service authenticates as its own principal and may write only the events it produces and the dead-letter topics
of what it consumes, and read only what it consumes, in its own consumer group. So a compromised service cannot
publish another's events (a forged ``screening.completed`` never reaches the bus) nor read what it has no use for
(only intake reads the identifiable web form). Everything is named literally: a rule never covers a topic added later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clinicflow.shared.catalogue import CATALOGUE, consumer_group


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule: ``principal`` may ``operation`` the resource named exactly ``resource_name``."""

    principal: str
    resource_type: Literal["TOPIC", "GROUP"]
    resource_name: str
    operation: Literal["READ", "WRITE"]


def login_name(producer_or_consumer: str) -> str:
    """The user name a service, or the upstream web form, logs in to the broker as (``KAFKA_SASL_USERNAME``)."""
    return f"clinicflow-{producer_or_consumer}"


def principal(producer_or_consumer: str) -> str:
    """The Kafka principal that login becomes."""
    return f"User:{login_name(producer_or_consumer)}"


def catalogue_acls(topic_prefix: str = "") -> list[Acl]:
    """Every rule the catalogue implies, for topics and groups under ``topic_prefix``."""
    acls = set()
    for spec in CATALOGUE.values():
        acls.add(Acl(principal(spec.producer), "TOPIC", topic_prefix + spec.topic, "WRITE"))
        for consumer in spec.consumers:
            acls |= {Acl(principal(consumer), "TOPIC", topic_prefix + spec.topic, "READ"),
                     Acl(principal(consumer), "TOPIC", topic_prefix + spec.dead_letter_topic, "WRITE"),
                     Acl(principal(consumer), "GROUP", consumer_group(consumer, topic_prefix), "READ")}
    return sorted(acls)
