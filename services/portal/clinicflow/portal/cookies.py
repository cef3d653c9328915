"""The portal's session, kept in a signed cookie (HttpOnly, SameSite=Strict, Secure outside local http): who is
signed in, their bearer token for the services, and the token that every form must echo (CSRF). A session unused
for the idle timeout is over: each request signs it afresh, so the timeout runs from the last use."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "clinicflow_session"
SIGN_IN_COOKIE = "clinicflow_sign_in"  # the sign-in form's own CSRF token, before anyone is signed in


@dataclass(frozen=True)
class StaffSession:
    """A signed-in member of staff."""

    staff_id: str
    roles: tuple[str, ...]
    token: str
    csrf: str
    break_glass: tuple[tuple[str, str], ...] = ()  # (pathway id, reason): records opened on a broken glass

    def has_any(self, *roles: str) -> bool:
        """Whether the person holds one of ``roles``."""
        return bool(set(roles) & set(self.roles))

    def breaking_glass(self, pathway_id: str, reason: str) -> StaffSession:
        """This session with the glass broken for one client's record, for as long as the session lasts."""
        kept = tuple((p, r) for p, r in self.break_glass if p != pathway_id)
        return replace(self, break_glass=(*kept, (pathway_id, reason)))


def new_csrf() -> str:
    """A fresh unguessable form token."""
    return secrets.token_urlsafe(24)


class Cookies:
    """Reads and writes the portal's signed cookies."""

    def __init__(self, secret: str, *, idle_seconds: float, secure: bool) -> None:
        self._sessions = URLSafeTimedSerializer(secret, salt="clinicflow-portal-session")
        self._sign_in = URLSafeTimedSerializer(secret, salt="clinicflow-portal-sign-in")
        self._idle = idle_seconds
        self._secure = secure

    def session(self, request: Request) -> StaffSession | None:
        """The session the request carries, or None when absent, tampered with or idle too long."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._sessions.loads(raw, max_age=self._idle)
        except BadSignature:  # includes SignatureExpired: idle too long
            return None
        return StaffSession(data["staff_id"], tuple(data["roles"]), data["token"], data["csrf"],
                            tuple((p, r) for p, r in data.get("break_glass", ())))

    def keep(self, response: Response, session: StaffSession) -> None:
        """Set (or renew) the session cookie."""
        response.set_cookie(SESSION_COOKIE, self._sessions.dumps(asdict(session)), max_age=int(self._idle),
                            httponly=True, samesite="strict", secure=self._secure, path="/")

    def end(self, response: Response) -> None:
        """Sign out: the cookie is gone."""
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=self._secure)

    def remember_sign_in_token(self, response: Response, token: str) -> None:
        """The sign-in form's CSRF token, remembered in its own short-lived cookie."""
        response.set_cookie(SIGN_IN_COOKIE, self._sign_in.dumps(token), max_age=600, httponly=True,
                            samesite="strict", secure=self._secure, path="/sign-in")

    def sign_in_token_matches(self, request: Request, submitted: str) -> bool:
        """Whether the sign-in form echoed the token its cookie holds."""
        try:
            expected = self._sign_in.loads(request.cookies.get(SIGN_IN_COOKIE, ""), max_age=600)
        except BadSignature:
            return False
        return secrets.compare_digest(expected, submitted)
