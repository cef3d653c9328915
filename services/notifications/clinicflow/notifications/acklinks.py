"""One-time acknowledgement links for urgent alerts sent by chat and SMS. Pure: no I/O; the clock is passed in.

A link names one delivery (so one person: whoever it was sent to) and an expiry, signed with HMAC-SHA256 under the
service's own key; it carries no personal data. Single use is enforced where the delivery is stored. Opening a link
only shows a confirmation page: chat apps fetch links to preview them, and a preview must never acknowledge.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_SIGNATURE_HEX_CHARS = 32  # 128 bits of the HMAC: short enough for an SMS, far beyond guessing


class InvalidAckLink(Exception):
    """The link is malformed, forged or expired."""


@dataclass(frozen=True)
class AckLinks:
    """Makes and reads acknowledgement links."""

    secret: bytes
    base_url: str
    valid_for: timedelta

    def link(self, delivery_id: uuid.UUID, *, now: datetime) -> str:
        """The link for one delivery, valid until ``now + valid_for``."""
        expires = int((now + self.valid_for).timestamp())
        claim = f"{delivery_id.hex}.{expires}"
        return f"{self.base_url.rstrip('/')}/ack/{claim}.{self._sign(claim)}"

    def read(self, token: str, *, now: datetime) -> uuid.UUID:
        """The delivery a token names; InvalidAckLink when it is malformed, forged or expired."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            raise InvalidAckLink("malformed")
        claim = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(claim), parts[2]):
            raise InvalidAckLink("bad signature")
        if datetime.fromtimestamp(int(parts[1]), UTC) <= now:
            raise InvalidAckLink("expired")
        try:
            return uuid.UUID(hex=parts[0])
        except ValueError:
            raise InvalidAckLink("malformed") from None

    def _sign(self, claim: str) -> str:
        return hmac.new(self.secret, claim.encode(), hashlib.sha256).hexdigest()[:_SIGNATURE_HEX_CHARS]
