"""Opaque, signed keyset cursors: a client can hand them back but not forge or edit them.

A cursor holds a *position*: a small typed model, owned by the repository of its list,
with the exact sort keys of the last row served. It is bound to its list (`kind`) and to
the query it was made for (`scope`: filters and sort), so that a cursor of one search is
refused by another.
"""

import base64
import binascii
import hashlib
import hmac
import json
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.core.ids import MAX_ID

_MAC_BYTES = 16
_SCOPE_BYTES = 12

CursorId = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]


class Position(BaseModel):
    """The sort keys of a list's last row served; subclasses name and type them exactly."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


P = TypeVar("P", bound=Position)


class InvalidCursor(Exception):
    """A cursor that was not minted by us, for this list and query, or that cannot be read."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def scope_of(*parts: Any) -> str:
    """A short digest naming a query (its filters and sort) that a cursor is bound to."""
    canonical = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)
    return _b64encode(hashlib.sha256(canonical.encode()).digest()[:_SCOPE_BYTES])


class CursorCodec:
    """Encodes a list's position as `payload.mac`."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"jobboard cursor\x00" + secret.encode()).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, kind: str, scope: str, position: Position) -> str:
        """A cursor for the row after `position` in the list `kind` queried as `scope`."""
        envelope = {"k": kind, "s": scope, "p": position.model_dump(mode="json")}
        payload = json.dumps(envelope, separators=(",", ":")).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._mac(payload))}"

    def decode(self, kind: str, scope: str, cursor: str, position: type[P]) -> P:
        """The position a cursor of the list `kind` and query `scope` holds."""
        try:
            encoded_payload, encoded_mac = cursor.split(".")
            payload, mac = _b64decode(encoded_payload), _b64decode(encoded_mac)
        except (ValueError, binascii.Error):
            raise InvalidCursor("malformed cursor") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidCursor("cursor signature mismatch")
        try:
            envelope = json.loads(payload)
        except ValueError:
            raise InvalidCursor("malformed cursor") from None
        if not isinstance(envelope, dict) or envelope.get("k") != kind:
            raise InvalidCursor("cursor of another list")
        if envelope.get("s") != scope:
            raise InvalidCursor("cursor of another query")
        try:
            # JSON mode: ISO strings become datetimes, while numbers and booleans stay exact.
            return position.model_validate_json(json.dumps(envelope.get("p")))
        except ValidationError:
            raise InvalidCursor("cursor position of the wrong shape") from None
