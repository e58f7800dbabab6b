from typing import Annotated, Literal

from pydantic import ConfigDict, Field, computed_field

from backend.core.security import PASSWORD_MAX_LENGTH
from backend.db.models.user import FULL_NAME_MAX_LENGTH, Role
from backend.schemas.base import (
    Email,
    Line,
    Password,
    PatchModel,
    RequestModel,
    ResponseModel,
    Timestamp,
)

FullName = Annotated[Line, Field(max_length=FULL_NAME_MAX_LENGTH)]


class UserCreate(RequestModel):
    email: Email
    password: Password
    full_name: FullName
    role: Literal["candidate", "employer"] = "candidate"

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery staple",
                    "full_name": "Ada Lovelace",
                    "role": "candidate",
                }
            ]
        }
    )


class UserUpdate(PatchModel):
    full_name: FullName | None = None
    # A new address takes effect once confirmed through the link mailed to it.
    email: Email | None = None
    current_password: Annotated[str, Field(max_length=PASSWORD_MAX_LENGTH)] | None = Field(
        default=None, description="Required with `email`"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"full_name": "Ada King"},
                {"email": "ada.king@example.com", "current_password": "my passphrase"},
            ]
        }
    )


class UserRead(ResponseModel):
    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: Timestamp
    # When the address was confirmed through a mailed link; until then a candidate cannot
    # apply and an employer cannot publish.
    email_verified_at: Timestamp | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
