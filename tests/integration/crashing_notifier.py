"""A notifications process that dies (``os._exit(9)``, like ``kill -9``) right after a channel accepted a message
and before the delivery is recorded as sent. Run by test_notifications; arguments: bootstrap prefix dsn schema
smtp-port."""

import asyncio
import os
import sys

from clinicflow.localinfra.ports import free_port
from clinicflow.notifications import service
from clinicflow.notifications.app import create_app
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.shared.settings import AuthSettings, DatabaseSettings, KafkaSettings
from tests.conftest import TEST_JWT_SECRET
from tests.support import serving


async def main(bootstrap: str, prefix: str, dsn: str, schema: str, smtp_port: str) -> None:
    record_sent = service._sent

    async def die_after_sending(uow, delivery, *, attempts):  # noqa: ANN001, ANN202
        if delivery.channel != "inbox":
            os._exit(9)
        await record_sent(uow, delivery, attempts=attempts)

    service._sent = die_after_sending
    settings = NotificationsSettings(
        http_port=free_port(), db_schema=schema, kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix),
        database=DatabaseSettings(url=dsn), auth=AuthSettings(jwt_secret=TEST_JWT_SECRET),
        dispatcher_poll_seconds=0.1, smtp_host="127.0.0.1", smtp_port=int(smtp_port),
    )
    async with serving(create_app(settings), settings.http_port):
        await asyncio.sleep(60)
    sys.exit("nothing was sent")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
