"""Base classes and field types shared by the request and response schemas."""

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from backend.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, is_acceptable_password


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PatchModel(RequestModel):
    """A partial update: fields may be left out, but only those in `nullable` set to null."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulled = sorted(k for k, v in data.items() if v is None and k not in cls.nullable)
            if nulled:
                raise ValueError(f"may be left out but not set to null: {', '.join(nulled)}")
        return data


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL; other control characters have no place in a name.
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("must not contain control characters")
    return value


def _password(value: str) -> str:
    # Length is checked by Field; this catches NUL and strings that are not valid UTF-8.
    if not is_acceptable_password(value):
        raise ValueError("must be valid text without NUL characters")
    return value


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# A one-line name or title: trimmed, then not empty, no control characters.
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_printable)
]
# Free text: newlines and tabs welcome, NUL refused.
Text = Annotated[str, AfterValidator(_text)]
# A password is never trimmed, truncated or echoed.
Password = Annotated[
    str,
    Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(_password),
]


def _utc(value: datetime) -> datetime:
    # Values read from the database are UTC already (connections run with TimeZone=UTC);
    # what a request just sent (an echoed `expires_at`) may carry any offset.
    return value if value.utcoffset() == _ZERO else value.astimezone(UTC)


_ZERO = timedelta(0)
# Every timestamp leaves as ISO 8601 in UTC, written with "Z", whatever it came in as.
Timestamp = Annotated[datetime, PlainSerializer(_utc, return_type=datetime, when_used="json")]
