"""Who may call, and how much: the CDS Hooks JWT check and the request size limits.

CDS Hooks 2.0, "Trusting CDS Clients": each request carries `Authorization: Bearer {{JWT}}`,
signed with the client's private key; the payload has `iss`, `aud` ("MUST be the URL of the CDS
Service endpoint being invoked"), `exp`, `iat` and `jti` ("a nonce ... to protect against replay
attacks"), the header `alg`, `kid` and `typ`. "JWTs SHALL NOT be signed used the `none`
algorithm" and "SHALL NOT be signed using any symmetric algorithm" (HMAC). "CDS Services SHOULD
maintain an allowlist of the `iss` and `jku` fields": the allowed issuers and their public keys
come from the configuration only; a `jku` URL is never fetched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from neutropenia_kb.core.problems import UsageError
from neutropenia_kb.serve.config import ALLOWED_ALGORITHMS, Issuer, ServeConfig

REPLAY_MEMORY = 100_000  # jti values remembered until their token expires


class AuthError(Exception):
    """The token is missing or not acceptable; the message says why (never the token)."""


class JwtVerifier:
    def __init__(self, config: ServeConfig) -> None:
        self.algorithms = [a for a in config.algorithms if a in ALLOWED_ALGORITHMS]
        self.leeway = config.leeway_seconds
        try:
            self.keys: dict[str, list[tuple[str | None, Any]]] = {
                issuer.iss: _public_keys(issuer) for issuer in config.issuers}
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--config auth.issuers: {exc}") from None
        self._seen: dict[str, float] = {}  # jti → expiry
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, audience: str) -> Mapping[str, Any]:
        if not authorization:
            raise AuthError("this service needs an 'Authorization: Bearer <JWT>' header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be 'Bearer <JWT>'")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a JWT") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise AuthError(f"the token's algorithm {str(alg)[:20]!r} is not accepted; allowed: "
                            + ", ".join(self.algorithms))
        iss = unverified.get("iss")
        keys = self.keys.get(iss) if isinstance(iss, str) else None
        if not keys:
            raise AuthError("the token's issuer (iss) is not an allowed CDS client")
        kid = header.get("kid")
        candidates = [key for key_id, key in keys if kid is None or key_id in (None, kid)]
        if not candidates:
            raise AuthError("no key of this issuer has the token's kid")
        claims: Mapping[str, Any] | None = None
        for key in candidates:
            try:
                claims = jwt.decode(
                    token, key, algorithms=[alg], audience=audience, issuer=iss,
                    leeway=self.leeway,
                    options={"require": ["iss", "aud", "exp", "iat", "jti"]})
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidAudienceError:
                raise AuthError(f"the token's audience (aud) must be exactly {audience}") from None
            except jwt.ExpiredSignatureError:
                raise AuthError("the token has expired (exp)") from None
            except jwt.PyJWTError as exc:
                raise AuthError(f"the token is not valid: {exc}") from None
        if claims is None:
            raise AuthError("the token's signature does not match the issuer's keys")
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or iat > time.time() + self.leeway:
            raise AuthError("the token's issue time (iat) is in the future")
        self._once(str(claims["jti"]), float(claims["exp"]))
        return claims

    def _once(self, jti: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            if jti in self._seen and self._seen[jti] + self.leeway >= now:
                raise AuthError("this token (jti) has been used before")
            if len(self._seen) >= REPLAY_MEMORY:
                self._seen = {j: e for j, e in self._seen.items() if e + self.leeway >= now}
                if len(self._seen) >= REPLAY_MEMORY:
                    raise AuthError("too many live tokens; try again shortly")
            self._seen[jti] = expires


def _public_keys(issuer: Issuer) -> list[tuple[str | None, Any]]:
    """(kid or None, public key) pairs; private keys in the configuration are refused."""
    out: list[tuple[str | None, Any]] = []
    for jwk in issuer.jwks:
        if "d" in jwk:
            raise ValueError(f"issuer {issuer.iss}: the configuration holds a private key (JWK "
                             "member 'd'); give only the public key")
        kty = jwk.get("kty")
        reader: Any = {"RSA": RSAAlgorithm, "EC": ECAlgorithm}.get(str(kty))
        if reader is None:
            raise ValueError(f"issuer {issuer.iss}: key type {kty!r} is not RSA or EC")
        kid = jwk.get("kid")
        out.append((str(kid) if kid is not None else None, reader.from_jwk(dict(jwk))))
    for pem in issuer.pems:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        out.append((None, load_pem_public_key(pem.encode("ascii"))))
    return out
