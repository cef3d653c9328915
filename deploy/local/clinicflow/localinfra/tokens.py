"""Staff tokens for local runs and tests: HS256, signed with the run's ``AUTH_JWT_SECRET``. Production tokens come
from the clinic's identity provider; this module is in the development install only, never in the runtime image."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt

LOCAL_ISSUER, LOCAL_AUDIENCE = "clinicflow-local", "clinicflow"


def mint_token(secret: str, *, staff_id: str, roles: list[str], ttl: timedelta = timedelta(hours=8),
               issuer: str = LOCAL_ISSUER, audience: str = LOCAL_AUDIENCE) -> str:
    """An HS256 staff token, for local runs and tests (production tokens come from the identity provider)."""
    now = datetime.now(UTC)
    claims = {"sub": staff_id, "roles": roles, "iat": now, "exp": now + ttl, "jti": str(uuid.uuid4()),
              "iss": issuer, "aud": audience}
    return jwt.encode(claims, secret, algorithm="HS256")
