"""What counts as a transient failure, and how long to wait before trying again."""

from __future__ import annotations

import random

import asyncpg

# The database is unreachable or restarting: the work is sound, try it again later.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.TooManyConnectionsError,
    TimeoutError,
)


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
