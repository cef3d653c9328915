"""Key rotation, finished in the background: rows still under an older encryption key are re-encrypted with the
active one in small batches, so an old key can be removed from settings once none is left (watch the log line)."""

from __future__ import annotations

import structlog

from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.repository import EnquiryRepository
from clinicflow.shared.database import transaction
from clinicflow.shared.loops import repeat
from clinicflow.shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)


def reencryption(cipher: FieldCipher, *, batch: int = 100, idle_seconds: float = 60.0):  # noqa: ANN201
    """A background task for the runtime: re-encrypt batches until none is left, then look again now and then."""

    async def run(runtime: ServiceRuntime) -> None:
        async def step() -> int:
            async with transaction(runtime.pool) as conn:
                done = await EnquiryRepository(conn, cipher).reencrypt_batch(limit=batch)
            if done:
                log.info("personal details re-encrypted with the active key", rows=done, key_id=cipher.active_key_id)
            return done

        await repeat("re-encryption", step, idle_seconds=idle_seconds)

    return run
