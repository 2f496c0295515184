"""JWT bearer tokens as CDS Hooks requires them, against a real `nkb serve` with an issuer
configured: a good RS384 (and ES384) token is accepted; a wrong audience, an expired token,
`alg: none`, HMAC, an unknown issuer, a replayed jti and a missing header are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from serve_http import SERVICE, Server, bundle, free_port, hook, observation, start, stop

ISS = "https://ehr.example.org/"
EC_ISS = "https://other-ehr.example.org/"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    rsa_jwk = {**json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key())), "kid": "rsa-1"}
    ec_jwk = {**json.loads(ECAlgorithm.to_jwk(EC_KEY.public_key())), "kid": "ec-1"}
    srv = start(tmp_path_factory.mktemp("jwt"), {
        "base_url": f"http://127.0.0.1:{port}",
        "auth": {"issuers": [{"iss": ISS, "jwks": {"keys": [rsa_jwk]}},
                             {"iss": EC_ISS, "jwks": {"keys": [ec_jwk]}}]}}, port=port)
    yield srv
    log = stop(srv)
    assert "Traceback" not in log, log


def claims(server: Server, path: str, **change: Any) -> dict[str, Any]:
    now = int(time.time())
    out = {"iss": ISS, "aud": server.url + path, "exp": now + 300, "iat": now,
           "jti": str(uuid.uuid4())}
    out.update(change)
    return {k: v for k, v in out.items() if v is not None}


def rs384(payload: dict[str, Any], kid: str = "rsa-1") -> str:
    return jwt.encode(payload, RSA_KEY, algorithm="RS384", headers={"kid": kid, "typ": "JWT"})


def unsigned(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    """A token PyJWT will not make: `alg: none`, or HMAC-signed."""
    def b64(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    signing = b64(header) + b"." + b64(payload)
    signature = b"" if secret is None else base64.urlsafe_b64encode(
        hmac.new(secret, signing, hashlib.sha256).digest()).rstrip(b"=")
    return (signing + b"." + signature).decode()


def call(server: Server, token: str | None, path: str = SERVICE) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if path == SERVICE:
        body = hook({"anc": bundle(observation("751-8", 0.8, "10*3/uL")), "temperature": None})
        return server.json("POST", path, body, headers=headers)
    return server.json("GET", path, headers=headers)


def test_rs384_and_es384_tokens_are_accepted(server: Server) -> None:
    status, body = call(server, rs384(claims(server, SERVICE)))
    assert status == 200 and body["cards"]
    status, body = call(server, rs384(claims(server, "/cds-services")), "/cds-services")
    assert status == 200 and body["services"]
    token = jwt.encode(claims(server, SERVICE, iss=EC_ISS), EC_KEY, algorithm="ES384",
                       headers={"kid": "ec-1"})
    assert call(server, token)[0] == 200


@pytest.mark.parametrize("case", ["no header", "wrong audience", "audience of another endpoint",
                                  "expired", "issued in the future", "alg none", "HS256",
                                  "unknown issuer", "unknown kid", "other key", "no jti",
                                  "not a JWT"])
def test_bad_tokens_are_refused(server: Server, case: str) -> None:
    good = claims(server, SERVICE)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "no header": None,
        "wrong audience": lambda: rs384({**good, "aud": "https://cds.example.org/cds-services"}),
        "audience of another endpoint": lambda: rs384({**good, "aud": server.url + "/cds-services"}),
        "expired": lambda: rs384({**good, "exp": int(time.time()) - 3600,
                                  "iat": int(time.time()) - 4000}),
        "issued in the future": lambda: rs384({**good, "iat": int(time.time()) + 3600,
                                               "exp": int(time.time()) + 4000}),
        "alg none": lambda: unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, good, None),
        "HS256": lambda: unsigned({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, good,
                                  RSAAlgorithm.to_jwk(RSA_KEY.public_key()).encode()),
        "unknown issuer": lambda: rs384({**good, "iss": "https://evil.example/"}),
        "unknown kid": lambda: rs384(good, kid="nope"),
        "other key": lambda: jwt.encode(good, other, algorithm="RS384", headers={"kid": "rsa-1"}),
        "no jti": lambda: rs384({k: v for k, v in good.items() if k != "jti"}),
        "not a JWT": lambda: "not.a.jwt",
    }[case]
    status, body = call(server, token() if callable(token) else None)
    assert status == 401, body
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "login"


def test_a_token_is_used_once(server: Server) -> None:
    token = rs384(claims(server, SERVICE))
    assert call(server, token)[0] == 200
    status, body = call(server, token)
    assert status == 401 and "used before" in body["issue"][0]["diagnostics"]


def test_evaluate_needs_a_token_too_but_health_does_not(server: Server) -> None:
    status, body = server.json("POST", "/evaluate", {"anc": 800})
    assert status == 401 and "Authorization" in body["error"]
    token = rs384(claims(server, "/evaluate"))
    status, body = server.json("POST", "/evaluate", {"anc": 800},
                               headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and body["severity"] == "moderate"
    assert server.json("GET", "/health")[0] == 200
