"""Base classes and field types shared by the request and response schemas."""

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    Strict,
    StringConstraints,
    model_validator,
)

from backend.core import emails
from backend.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, is_acceptable_password

# No request body has more fields than this; a body with more is refused in one error
# before any field is looked at, so that a body of many keys costs as little as a small one.
MAX_BODY_FIELDS = 32


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _few_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > MAX_BODY_FIELDS:
            raise ValueError(f"a request body has at most {MAX_BODY_FIELDS} fields")
        return data


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


def _encodable(value: str) -> None:
    # JSON can carry lone surrogates ("\\ud800"), which no database text can hold.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL; other control characters have no place in a name.
    _encodable(value)
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("must not contain control characters")
    return value


def _password(value: str) -> str:
    # Length is checked by Field; this catches NUL and strings that are not valid UTF-8.
    if not is_acceptable_password(value):
        raise ValueError("must be valid text without NUL characters")
    return value


def _text(value: str) -> str:
    _encodable(value)
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# An address that can name an account: valid, in its one written form (see core.emails).
Email = Annotated[EmailStr, AfterValidator(emails.normalize)]

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


# What any timestamp sent to the API may be: an ISO 8601 string with a UTC offset, within
# these bounds, so that every stored time is one every reader can render.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_ISO_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)"
)


def _iso_instant(value: Any) -> Any:
    if isinstance(value, datetime):  # from Python code, not from the wire
        return value
    if not isinstance(value, str) or not _ISO_INSTANT.fullmatch(value):
        raise ValueError(
            "must be an ISO 8601 date and time with a UTC offset, such as 2031-05-01T12:00:00Z"
        )
    return value


def _in_range(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in year 10 000 in UTC
        value = LATEST
    if not EARLIEST <= value < LATEST:
        raise ValueError(
            f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC), not after"
        )
    return value


# A time a client sends: ISO 8601 with an offset, between EARLIEST and LATEST; kept in UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_instant), AfterValidator(_in_range)]
# A true or false that is JSON's true or false: not 0, 1 or "yes".
StrictBool = Annotated[bool, Strict()]


def _utc(value: datetime) -> datetime:
    # Values read from the database are UTC already (the database's TimeZone is set to UTC
    # by `migrate`); what a request sent, or a server in another zone, may carry an offset.
    if value.utcoffset() == _ZERO:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # a time past year 9999, or before year 1, in UTC
        return _LAST if value.year > 1 else _FIRST


_ZERO = timedelta(0)
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)
# Every timestamp leaves as ISO 8601 in UTC, written with "Z", whatever it came in as.
Timestamp = Annotated[datetime, PlainSerializer(_utc, return_type=datetime, when_used="json")]
