"""What counts as a transient failure, and how long to wait before trying again."""

from __future__ import annotations

import random

import asyncpg

# SQLSTATE classes whose errors say nothing about the work itself, only about the database's state at that moment
# (PostgreSQL manual, Appendix A): 08 connection exception, 40 transaction rollback (serialization failure,
# deadlock), 53 insufficient resources (too many connections, disk full, out of memory), 57 operator intervention
# (query cancelled, admin or crash shutdown, cannot connect now), 58 system error (I/O error).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
# Single codes from other classes that pass with time: a lock timeout, and a read-only transaction while a managed
# PostgreSQL fails over to a new primary.
TRANSIENT_SQLSTATES = frozenset({"55P03", "25006"})
# Failures below the SQL layer: the socket, a timeout, a pool that is reconnecting or closing.
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (OSError, TimeoutError, asyncpg.InterfaceError)


# asyncpg's catch-all for a protocol in an unexpected state. Seen when a connection breaks mid-query (a database
# restart), but it can as well be a defect, so it is retried a few times on fresh connections, then parked: never
# redelivered for ever, never parked at the first sight of it.
_PERHAPS_TRANSIENT: tuple[type[BaseException], ...] = (asyncpg.InternalClientError,)


def is_perhaps_transient(exc: BaseException) -> bool:
    """Whether ``exc`` deserves a few retries before it is treated as a defect."""
    return isinstance(exc, _PERHAPS_TRANSIENT)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may succeed if the same work is tried again later (the work itself is sound)."""
    if isinstance(exc, asyncpg.PostgresError):
        code = exc.sqlstate or ""
        return code[:2] in TRANSIENT_SQLSTATE_CLASSES or code in TRANSIENT_SQLSTATES
    return isinstance(exc, _TRANSIENT_TYPES)


class Backoff:
    """Exponential backoff with jitter, capped."""

    def __init__(self, *, first: float = 0.2, cap: float = 5.0) -> None:
        self._first = first
        self._cap = cap
        self._attempt = 0

    def next(self) -> float:
        """Seconds to wait before the next attempt."""
        delay = min(self._cap, self._first * 2**self._attempt)
        self._attempt += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        """Start again from the shortest wait."""
        self._attempt = 0
