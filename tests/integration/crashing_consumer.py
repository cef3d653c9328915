"""A consumer process that dies (``os._exit(9)``, like ``kill -9``) right after its database transaction commits
and before Kafka's offset is committed. Run by test_platform; arguments: bootstrap prefix dsn schema."""

import asyncio
import os
import sys

from clinicflow.shared.consumer import EventConsumer
from clinicflow.shared.database import create_pool
from clinicflow.shared.settings import KafkaSettings
from tests.integration.platform_kit import running_consumer


async def main(bootstrap: str, prefix: str, dsn: str, schema: str) -> None:
    applied_then_commit_offset = EventConsumer._apply

    async def apply_then_die(self, batch):  # noqa: ANN001, ANN202
        await applied_then_commit_offset(self, batch)
        os._exit(9)

    EventConsumer._apply = apply_then_die
    pool = await create_pool(dsn, schema=schema)
    async with running_consumer(pool, KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)):
        await asyncio.sleep(60)
    sys.exit("the event never arrived")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
