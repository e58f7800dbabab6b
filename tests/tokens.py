"""Forging JWTs by hand, so that the tests need no JOSE library of their own."""

import base64
import hashlib
import hmac
import json
from typing import Any

from tests.conftest import TEST_SECRET_KEY

_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(unb64(token.split(".")[1]))
    return claims


def forge(
    claims: dict[str, Any],
    *,
    header: dict[str, Any] | None = None,
    key: str = TEST_SECRET_KEY,
    sign_with: str | None = "HS256",
) -> str:
    """A token with these claims and header, signed with `sign_with` (None: unsigned)."""
    header = {"alg": "HS256", "typ": "JWT"} if header is None else header
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if sign_with is None:
        return f"{signing_input}."
    digest = hmac.new(key.encode(), signing_input.encode(), _DIGESTS[sign_with]).digest()
    return f"{signing_input}.{b64(digest)}"
