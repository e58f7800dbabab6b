"""Opaque, signed keyset cursors: a client can hand them back but not forge or edit them."""

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

_MAC_BYTES = 16


class InvalidCursor(Exception):
    """A cursor that was not minted by us, for this list, or that cannot be read."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


class CursorCodec:
    """Encodes a list's position (the sort key of its last row) as `payload.mac`."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"jobboard cursor\x00" + secret.encode()).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, kind: str, position: list[Any]) -> str:
        """A cursor for the row after `position` in the list named `kind`."""
        payload = json.dumps([kind, *position], separators=(",", ":"), default=_iso).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._mac(payload))}"

    def decode(self, kind: str, cursor: str) -> list[Any]:
        """The position a cursor of the list `kind` holds; InvalidCursor otherwise."""
        try:
            encoded_payload, encoded_mac = cursor.split(".")
            payload, mac = _b64decode(encoded_payload), _b64decode(encoded_mac)
        except (ValueError, binascii.Error):
            raise InvalidCursor("malformed cursor") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidCursor("cursor signature mismatch")
        values = json.loads(payload)
        if not isinstance(values, list) or not values or values[0] != kind:
            raise InvalidCursor("cursor of another list")
        return values[1:]
