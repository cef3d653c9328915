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


def test_tokens_with_made_up_key_ids_cannot_hammer_the_identity_provider():
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "use": "sig", "alg": "RS256"}
    fetches = []

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            fetches.append(self.path)
            body = json.dumps({"keys": [jwk]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        verifier = TokenVerifier(AuthSettings(jwks_url=f"http://127.0.0.1:{server.server_port}/jwks",
                                              issuer="https://idp.clinic.example", audience="clinicflow"))
        good = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
        assert verifier.verify(good).id == "dr-1"
        for n in range(20):
            forged = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": f"made-up-{n}"})
            with pytest.raises(InvalidToken):
                verifier.verify(forged)
        assert len(fetches) <= 2  # the first fetch, and at most one refresh within the cooldown
        assert verifier.verify(good).id == "dr-1"
    finally:
        server.shutdown()
