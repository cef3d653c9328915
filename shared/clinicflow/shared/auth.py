"""Staff authentication: bearer JWTs with ``sub`` (staff id) and ``roles``, checked per route before anything else.

Verification uses a shared HS256 key or an identity provider's JWKS (from settings). Every token must carry ``sub``,
``exp``, ``iat`` and ``jti`` (an id, so a token can be traced and revoked); ``iss`` and ``aud`` are checked where
configured, which production must (settings refuse a JWKS without them). Missing or invalid tokens get 401, tokens
without a required role 403.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clinicflow.shared.settings import AuthSettings

# accountable_officer: the controlled-drugs accountable officer; pharmacy: who orders and receives stock.
ROLES = frozenset({"contact_centre", "clinician", "doctor", "nurse", "therapist", "clinical_lead", "admin",
                   "accountable_officer", "pharmacy"})
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti"]


@dataclass(frozen=True)
class Staff:
    """The member of staff making a request."""

    id: str
    roles: frozenset[str]


class InvalidToken(Exception):
    """The token is missing, malformed, expired or not signed by a trusted key."""


class TokenVerifier:
    """Checks bearer tokens against the configured key source."""

    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        # One fetch at a time (the client's lock), the key set cached 5 minutes, and a token with an unknown key id
        # refetches at most once a minute: a flood of made-up key ids cannot hammer the identity provider.
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_jwk_set=True, lifespan=300, cooldown_duration=60,
                                     timeout=5) if settings.jwks_url else None

    def verify(self, token: str) -> Staff:
        """The staff member a valid token names; raises :class:`InvalidToken` otherwise."""
        try:
            if self._jwks is not None:
                key, algorithms = self._jwks.get_signing_key_from_jwt(token).key, ["RS256", "ES256"]
            else:
                key, algorithms = self._settings.jwt_secret.get_secret_value(), ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self._settings.issuer,
                audience=self._settings.audience,
                options={"require": [*REQUIRED_CLAIMS, *(["iss"] if self._settings.issuer else []),
                                     *(["aud"] if self._settings.audience else [])],
                         "verify_aud": self._settings.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles claim must be a list of strings")
        return Staff(id=str(claims["sub"]), roles=frozenset(roles))


_bearer = HTTPBearer(auto_error=False)


def require_roles(*allowed: str):  # noqa: ANN201 - a FastAPI dependency
    """A route dependency: the caller must hold one of ``allowed`` roles; returns the :class:`Staff`."""
    unknown = set(allowed) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def check(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Staff:
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        try:
            staff = request.app.state.token_verifier.verify(credentials.credentials)
        except InvalidToken:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the bearer token is invalid or expired",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        if not staff.roles & set(allowed):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {', '.join(sorted(allowed))}")
        return staff

    return check
