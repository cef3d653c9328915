"""Real receiving ends for notification channels: an SMTP server (aiosmtpd) and a signed-webhook HTTP server.

Both record everything they receive, so tests can count what staff would actually see; the webhook server checks
each signature and can be told to fail.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clinicflow.localinfra.ports import free_port
from clinicflow.notifications.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.support import serving


@dataclass
class ReceivedMail:
    """One email as the server got it."""

    message_id: str
    to: str
    subject: str
    body: str
    raw: bytes


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[ReceivedMail] = []
        self.connections: set[tuple] = set()  # the client address and port of each connection that sent mail
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.connections.add(tuple(session.peer))
            self.messages.append(ReceivedMail(
                parsed["Message-ID"], parsed["To"], parsed["Subject"], parsed.get_content(), envelope.content))
        return "250 OK"

    def unique(self) -> list[ReceivedMail]:
        """Messages as a mail client shows them: one per Message-ID."""
        return list({m.message_id: m for m in self.messages}.values())

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


@dataclass
class WebhookReceiver:
    """Accepts signed JSON posts; ``fail_next`` requests get 503, ``fail_always`` makes every one fail,
    ``fail_first_try`` fails each message's first attempt (half of all requests, whatever the interleaving),
    ``hang_seconds`` holds each request that long before answering (a channel that stopped responding)."""

    secret: bytes
    fail_next: int = 0
    fail_always: bool = False
    fail_first_try: bool = False  # every message's first attempt fails: half of all requests
    hang_seconds: float = 0.0
    accepted: list[dict] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    attempts: int = 0
    bad_signatures: int = 0
    url: str = ""

    async def receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        self.attempts += 1
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        if not verify(self.secret, request.headers[TIMESTAMP_HEADER], body, request.headers[SIGNATURE_HEADER]):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        key = request.headers["Idempotency-Key"]
        first_try = key not in self.tried
        self.tried.add(key)
        if self.fail_always or self.fail_next > 0 or (self.fail_first_try and first_try):
            self.fail_next = max(0, self.fail_next - 1)
            return JSONResponse({"error": "unavailable"}, status_code=503)
        self.accepted.append({"key": request.headers["Idempotency-Key"], "body": json.loads(body),
                              "raw": body, "headers": dict(request.headers)})
        return JSONResponse({"ok": True})

    def unique(self) -> list[dict]:
        """Deliveries as the receiving system shows them: one per Idempotency-Key."""
        return list({a["key"]: a for a in self.accepted}.values())


@asynccontextmanager
async def webhook_receiver(secret: bytes) -> AsyncIterator[WebhookReceiver]:
    """A running receiver on a free loopback port."""
    receiver = WebhookReceiver(secret)
    port = free_port()
    app = Starlette(routes=[Route("/hook", receiver.receive, methods=["POST"])])
    async with serving(app, port) as url:
        receiver.url = f"{url}/hook"
        yield receiver
