"""Structured JSON logs (structlog) that never carry identifiable data.

Every line is JSON on stdout. A processor drops fields whose names are known to hold identifiers or free text, so a
careless ``log.info(..., email=...)`` loses the value instead of leaking it. Standard-library loggers (FastStream,
uvicorn, asyncpg) are routed through the same processors.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# Field names that hold direct identifiers, free text or answers (docs/clinical-rules.md §6), compared
# case-insensitively.
IDENTIFIABLE_FIELDS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "date_of_birth",
        "dob",
        "address",
        "story",
        "answers",
        "free_text",
        "notes",
        "body",
        "payload",
        "data",
        "message_body",
    }
)
REDACTED = "[redacted]"


def drop_identifiable_fields(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: replace the value of any identifiable field with a marker."""
    for key in list(event_dict):
        if key.lower() in IDENTIFIABLE_FIELDS:
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    """Configure structlog and the standard library to write redacted JSON lines to stdout."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_identifiable_fields,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream logs each message it receives; our consumer logs what matters with pathway context.
    logging.getLogger("faststream").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def bind_event_context(*, event_id: str, event_type: str, correlation_id: str, pathway_id: str) -> None:
    """Bind the ids of the event being handled to every log line until cleared."""
    structlog.contextvars.bind_contextvars(
        event_id=event_id, event_type=event_type, correlation_id=correlation_id, pathway_id=pathway_id
    )


def clear_event_context() -> None:
    """Forget the ids bound by :func:`bind_event_context`."""
    structlog.contextvars.clear_contextvars()
