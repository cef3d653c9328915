"""Fixtures that serve a real service over HTTP on the suite's broker and database, one namespace per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clinicflow.intake.app import create_app as create_intake
from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.settings import IntakeSettings
from clinicflow.localinfra.ports import free_port
from clinicflow.localinfra.tokens import mint_token
from clinicflow.notifications.app import create_app as create_notifications
from clinicflow.notifications.settings import NotificationsSettings
from clinicflow.register.app import create_app as create_register
from clinicflow.register.settings import RegisterSettings
from clinicflow.screening.app import create_app as create_screening
from clinicflow.screening.settings import ScreeningSettings
from clinicflow.sessions.app import create_app as create_sessions
from clinicflow.sessions.settings import SessionsSettings
from tests.conftest import TEST_ACK_LINK_SECRET, TEST_JWT_SECRET
from tests.receivers import SmtpSink, WebhookReceiver, webhook_receiver
from tests.support import serving


@dataclass
class RunningService:
    """A service under test: its HTTP client, settings, and the clock it reads."""

    http: httpx.AsyncClient
    settings: object
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def bearer(*roles: str, staff_id: str = "staff-1") -> dict[str, str]:
    """Authorization header for a member of staff with ``roles``."""
    return {"Authorization": f"Bearer {mint_token(TEST_JWT_SECRET, staff_id=staff_id, roles=list(roles))}"}


@pytest.fixture
async def intake(kafka_settings, database_settings, auth_settings, namespace) -> AsyncIterator[RunningService]:
    """The intake service on its own schema and topics."""
    port = free_port()
    settings = IntakeSettings(
        http_port=port, db_schema=namespace, kafka=kafka_settings, database=database_settings, auth=auth_settings,
        encryption_keys=FieldCipher.new_key_setting("test1"), outbox_poll_seconds=0.5,
    )
    async with serving(create_intake(settings), port) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield RunningService(http=http, settings=settings)


@pytest.fixture
async def screening(kafka_settings, database_settings, auth_settings, namespace) -> AsyncIterator[RunningService]:
    """The screening service on its own schema and topics."""
    port = free_port()
    settings = ScreeningSettings(
        http_port=port, db_schema=namespace, kafka=kafka_settings, database=database_settings, auth=auth_settings,
        outbox_poll_seconds=0.5,
    )
    async with serving(create_screening(settings), port) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield RunningService(http=http, settings=settings)


class MovableClock:
    """Real time plus an offset the test moves forward, for rules measured in minutes and hours."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> datetime:
        """Move forward by a ``timedelta``'s keywords; returns the new time."""
        self.offset += timedelta(**delta)
        return self()


@pytest.fixture
def clock() -> MovableClock:
    """The clock the sessions service under test reads."""
    return MovableClock()


@asynccontextmanager
async def sessions_instance(settings: SessionsSettings, clock: MovableClock) -> AsyncIterator[RunningService]:
    """One running instance of the sessions service."""
    port = free_port()
    app = create_sessions(settings.model_copy(update={"http_port": port}), clock=clock)
    async with serving(app, port) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield RunningService(http=http, settings=settings, clock=clock)


@pytest.fixture
def sessions_settings(kafka_settings, database_settings, auth_settings, namespace) -> SessionsSettings:
    """Sessions settings on this test's schema and topics, with a fast scheduler."""
    return SessionsSettings(
        http_port=0, db_schema=namespace, kafka=kafka_settings, database=database_settings, auth=auth_settings,
        outbox_poll_seconds=0.5, scheduler_poll_seconds=0.2,
    )


@pytest.fixture
async def sessions(sessions_settings, clock) -> AsyncIterator[RunningService]:
    """The sessions service on its own schema and topics, reading the test's clock."""
    async with sessions_instance(sessions_settings, clock) as running:
        yield running


@pytest.fixture
def register_settings(kafka_settings, database_settings, auth_settings, namespace) -> RegisterSettings:
    """Register settings on this test's schema and topics, with a fast wastage watch."""
    return RegisterSettings(
        http_port=0, db_schema=namespace, kafka=kafka_settings, database=database_settings, auth=auth_settings,
        outbox_poll_seconds=0.5, watch_poll_seconds=0.2,
    )


@asynccontextmanager
async def register_instance(settings: RegisterSettings, clock: MovableClock) -> AsyncIterator[RunningService]:
    """One running instance of the register service."""
    port = free_port()
    app = create_register(settings.model_copy(update={"http_port": port}), clock=clock)
    async with serving(app, port) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield RunningService(http=http, settings=settings, clock=clock)


@pytest.fixture
async def register(register_settings, clock) -> AsyncIterator[RunningService]:
    """The register service on its own schema and topics, reading the test's clock."""
    async with register_instance(register_settings, clock) as running:
        yield running


@dataclass
class StaffChannels:
    """The real servers notifications deliver to."""

    smtp: SmtpSink
    chat: WebhookReceiver
    sms: WebhookReceiver


@pytest.fixture
async def staff_channels() -> AsyncIterator[StaffChannels]:
    """An SMTP server and two signed-webhook receivers (chat, SMS) on loopback."""
    with SmtpSink() as smtp:
        async with webhook_receiver(b"chat-secret") as chat, webhook_receiver(b"sms-secret") as sms:
            yield StaffChannels(smtp, chat, sms)


@pytest.fixture
def notifications_settings(kafka_settings, database_settings, auth_settings, namespace, staff_channels):
    """Notifications settings on this test's schema and topics, pointed at the test's channel servers."""
    return NotificationsSettings(
        http_port=0, db_schema=namespace, kafka=kafka_settings, database=database_settings, auth=auth_settings,
        outbox_poll_seconds=0.5, dispatcher_poll_seconds=0.1, retry_first_seconds=0.1, retry_cap_seconds=0.5,
        smtp_host="127.0.0.1", smtp_port=staff_channels.smtp.port,
        chat_webhook_url=staff_channels.chat.url, chat_webhook_secret="chat-secret",
        sms_gateway_url=staff_channels.sms.url, sms_gateway_secret="sms-secret",
        ack_link_secret=TEST_ACK_LINK_SECRET,
    )


@asynccontextmanager
async def notifications_instance(settings: NotificationsSettings, clock: MovableClock) -> AsyncIterator[RunningService]:
    """One running instance of the notifications service."""
    port = free_port()
    app = create_notifications(settings.model_copy(update={"http_port": port}), clock=clock)
    async with serving(app, port) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield RunningService(http=http, settings=settings)


@pytest.fixture
async def notifications(notifications_settings, clock) -> AsyncIterator[RunningService]:
    """The notifications service, delivering to the test's SMTP and webhook servers."""
    async with notifications_instance(notifications_settings, clock) as running:
        yield running
