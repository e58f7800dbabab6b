from typing import Annotated, Literal

from pydantic import ConfigDict, Field

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

    model_config = ConfigDict(json_schema_extra={"examples": [{"full_name": "Ada King"}]})


class UserRead(ResponseModel):
    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: Timestamp
