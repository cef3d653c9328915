"""The channels that reach staff: SMTP email, a chat incoming webhook and an SMS gateway webhook.

Every send carries the delivery id as its idempotency handle (``Message-ID`` for email, ``Idempotency-Key`` for
webhooks), so a retry after a crash between sending and recording is recognisable as the same message. Webhooks are
signed with HMAC-SHA256 over ``timestamp + "." + body``.

The dispatcher hands a channel everything due for it at once (``send_all``): email goes over one SMTP connection per
pass and webhooks share one HTTP connection pool, so a busy hour costs one handshake, not one per message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx

from clinicflow.notifications.routing import StaffMember
from clinicflow.notifications.templates import Content

SIGNATURE_HEADER = "X-Clinicflow-Signature"
TIMESTAMP_HEADER = "X-Clinicflow-Timestamp"


@dataclass(frozen=True)
class Outgoing:
    """One notification on its way to one person over one channel."""

    delivery_id: uuid.UUID
    recipient: StaffMember
    content: Content
    priority: str
    ack_link: str | None = None  # urgent alerts by chat or SMS: a one-time link that acknowledges them


class TransientFailure(Exception):
    """Worth trying again later (the channel is down or slow)."""


class PermanentFailure(Exception):
    """Trying again will not help (the channel refused the message)."""


# What became of one message: None when the channel accepted it, else why not.
Outcome = TransientFailure | PermanentFailure | None


class Channel(Protocol):
    """A way to reach staff."""

    async def send_all(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """Hand over every message; the outcome of each, in order."""
        ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The webhook signature header value: ``v1=<hex HMAC-SHA256 of timestamp.body>``."""
    return "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, *, tolerance_seconds: int = 300) -> bool:
    """What a receiver checks: a valid signature on a recent timestamp."""
    fresh = abs(time.time() - int(timestamp)) <= tolerance_seconds
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook endpoint (chat or SMS gateway) that takes signed JSON."""

    url: str
    secret: bytes
    kind: str  # chat | sms
    timeout_seconds: float = 10.0

    def body(self, message: Outgoing) -> dict:
        """Slack/Teams incoming-webhook shape for chat; ``to``/``message`` for the SMS gateway."""
        text = f"{message.content.title}\n{message.content.body}"
        if message.ack_link:
            text += f"\nAcknowledge: {message.ack_link}"
        if self.kind == "sms":
            return {"to": message.recipient.phone, "message": text, "reference": str(message.delivery_id)}
        return {"text": text, "priority": message.priority}

    async def send_all(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """POST each once, concurrently over one connection pool."""
        async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
            return list(await asyncio.gather(*(self._post(client, message) for message in messages)))

    async def _post(self, client: httpx.AsyncClient, message: Outgoing) -> Outcome:
        payload = json.dumps(self.body(message)).encode()
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, payload),
            "Idempotency-Key": str(message.delivery_id),
        }
        try:
            response = await client.post(self.url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            return TransientFailure(type(exc).__name__)
        if response.status_code >= 500 or response.status_code in (408, 429):
            return TransientFailure(f"http_{response.status_code}")
        if response.status_code >= 400:
            return PermanentFailure(f"http_{response.status_code}")
        return None


@dataclass(frozen=True)
class SmtpEmail:
    """Email through an SMTP server, with STARTTLS or implicit TLS when configured."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0

    def message(self, message: Outgoing) -> EmailMessage:
        """The email; its Message-ID is stable per delivery."""
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient.email
        email["Subject"] = message.content.title
        email["Message-ID"] = f"<{message.delivery_id}@clinicflow.notifications>"
        if message.priority == "urgent":
            email["Importance"] = "high"
        email.set_content(message.content.body)
        return email

    async def send_all(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """Hand the messages to the SMTP server over one connection, in a thread: smtplib blocks, and building
        the emails' headers is a noticeable share of a busy event loop (the bench's profile)."""
        return await asyncio.to_thread(self._send_all_blocking, messages)

    def _send_all_blocking(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        emails = [self.message(m) for m in messages]
        outcomes: list[Outcome] = []
        context = ssl.create_default_context()
        try:
            smtp_class = smtplib.SMTP_SSL if self.implicit_tls else smtplib.SMTP
            options = {"context": context} if self.implicit_tls else {}
            with smtp_class(self.host, self.port, timeout=self.timeout_seconds, **options) as smtp:
                if self.starttls:
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                for email in emails:
                    outcomes.append(_hand_over(smtp, email))
        except (OSError, smtplib.SMTPException) as exc:  # no connection, or it dropped: the rest go next time
            outcomes += [TransientFailure(type(exc).__name__)] * (len(emails) - len(outcomes))
        return outcomes


def _hand_over(smtp: smtplib.SMTP, email: EmailMessage) -> Outcome:
    """One message on an open connection; a refusal of this message is its outcome, a broken connection raises."""
    try:
        smtp.send_message(email)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        code = getattr(exc, "smtp_code", 0)
        if 400 <= code < 500:
            return TransientFailure(f"smtp_{code}")
        return PermanentFailure(type(exc).__name__)
    return None
