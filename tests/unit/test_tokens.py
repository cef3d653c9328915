"""Staff tokens: what a token must carry to be accepted, and what production settings must check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from clinicflow.localinfra.tokens import mint_token
from clinicflow.shared.auth import InvalidToken, TokenVerifier
from clinicflow.shared.settings import AuthSettings

SECRET = "unit-test-secret-that-is-long-enough-0123"


def claims(**changes) -> dict:  # noqa: ANN003
    now = datetime.now(UTC)
    base = {"sub": "dr-1", "roles": ["doctor"], "iat": now, "exp": now + timedelta(hours=1), "jti": "t-1",
            "iss": "https://idp.clinic.example", "aud": "clinicflow"}
    return {k: v for k, v in (base | changes).items() if v is not None}


def test_a_minted_token_carries_an_id_issuer_and_audience():
    token = jwt.decode(mint_token(SECRET, staff_id="rn-1", roles=["nurse"]), options={"verify_signature": False})
    assert {"sub", "roles", "iat", "exp", "jti", "iss", "aud"} <= set(token)
    assert TokenVerifier(AuthSettings(jwt_secret=SECRET)).verify(mint_token(SECRET, staff_id="rn-1",
                                                                             roles=["nurse"])).id == "rn-1"


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "jti"])
def test_a_token_without_a_required_claim_is_refused(missing):
    with pytest.raises(InvalidToken):
        TokenVerifier(AuthSettings(jwt_secret=SECRET)).verify(jwt.encode(claims(**{missing: None}), SECRET))


def test_issuer_and_audience_are_checked_where_configured():
    verifier = TokenVerifier(AuthSettings(jwt_secret=SECRET, issuer="https://idp.clinic.example",
                                          audience="clinicflow"))
    assert verifier.verify(jwt.encode(claims(), SECRET)).id == "dr-1"
    for wrong in ({"iss": "https://elsewhere.example"}, {"aud": "another-app"}, {"iss": None}, {"aud": None}):
        with pytest.raises(InvalidToken):
            verifier.verify(jwt.encode(claims(**wrong), SECRET))


def test_an_identity_provider_without_issuer_and_audience_refuses_to_start():
    with pytest.raises(ValueError, match="AUTH_ISSUER and AUTH_AUDIENCE"):
        AuthSettings(jwks_url="https://idp.clinic.example/jwks")
    assert AuthSettings(jwks_url="https://idp.clinic.example/jwks", issuer="https://idp.clinic.example",
                        audience="clinicflow").jwks_url
