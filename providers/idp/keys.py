"""The provider's RSA signing key, generated at start and published as a JWKS.

A fresh key per start is enough for a lab (relying parties re-fetch the JWKS on an unknown
``kid``), and means no private key ever sits on disk. The ``kid`` is the RFC 7638
thumbprint, so it changes exactly when the key does.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"


def _thumbprint(public_jwk: dict[str, Any]) -> str:
    canonical = json.dumps(
        {k: public_jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SigningKey:
    """One RS256 key pair; signs JWTs with its ``kid`` in the header."""

    def __init__(self, bits: int = 2048) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self.public_key = self._private.public_key()
        jwk = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        self.kid = _thumbprint(jwk)
        self.public_jwk: dict[str, Any] = {
            **jwk,
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self.kid})
