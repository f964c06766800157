"""Production auth: tokens signed by the county's OIDC provider are verified with its published
keys (JWKS, fetched over HTTP); a token signed by another key is refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from contracts.common import Role
from services.runtime.auth import Authenticator
from services.runtime.problems import Problem
from services.runtime.settings import ServiceSettings


@pytest.fixture
def oidc() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "county-1", "use": "sig", "alg": "RS256"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    finally:
        server.shutdown()


def _token(key: rsa.RSAPrivateKey, kid: str = "county-1", **claims: object) -> str:
    import time

    now = int(time.time())
    base = {"sub": "li", "name": "李四", "role": "unit_head", "unit": "LYJ", "iss": "https://oidc.county.example",
            "aud": "onewindow", "iat": now, "exp": now + 600}
    return jwt.encode(base | claims, key, algorithm="RS256", headers={"kid": kid})


def test_tokens_from_the_county_provider_verify_with_its_published_keys(oidc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, key = oidc
    auth = Authenticator(
        ServiceSettings(data_dir=tmp_path, auth_jwks_url=url, auth_issuer="https://oidc.county.example")
    )
    staff = auth.verify(_token(key))
    assert (staff.sub, staff.role, staff.unit) == ("li", Role.UNIT_HEAD, "LYJ")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Problem) as err:
        auth.verify(_token(other))
    assert err.value.status == 401
    with pytest.raises(Problem):
        auth.verify(_token(key, iss="https://elsewhere.example"))
    with pytest.raises(RuntimeError):
        auth.issue("x", Role.CLERK, "LYJ")  # local issuing is off when the provider signs
