"""Companies' keys for machines."""

import enum
from typing import Annotated

from pydantic import ConfigDict, Field

from backend.db.models.api_key import API_KEY_NAME_MAX_LENGTH
from backend.schemas.base import Instant, Line, RequestModel, ResponseModel, Timestamp


class Scope(enum.StrEnum):
    """What a key may do with its company's jobs (read them by external id; publish,
    replace, close them) and with the applications to them (list and export them; move
    them)."""

    jobs_read = "jobs:read"
    jobs_write = "jobs:write"
    applications_read = "applications:read"
    applications_write = "applications:write"


class ApiKeyCreate(RequestModel):
    name: Annotated[Line, Field(max_length=API_KEY_NAME_MAX_LENGTH)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(Scope))]
    expires_at: Instant | None = Field(default=None, description="None: until revoked")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Our ATS", "scopes": ["jobs:read", "jobs:write"]},
                {"name": "Trial", "scopes": ["jobs:read"], "expires_at": "2031-01-01T00:00:00Z"},
            ]
        }
    )


class ApiKeyRead(ResponseModel):
    id: int
    name: str
    prefix: str = Field(description="The secret's first characters, to tell keys apart")
    scopes: list[Scope]
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None = Field(description="To the minute")
    created_at: Timestamp


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(description="Shown this once: the board keeps only its digest")
