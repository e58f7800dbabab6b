from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.schemas.base import Email, Password, RequestModel

OpaqueToken = Annotated[str, Field(min_length=1, max_length=512)]


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    refresh_token: str


class RefreshRequest(RequestModel):
    """Optional: browsers may leave it out and rely on the refresh-token cookie."""

    refresh_token: OpaqueToken | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": "q3Xb...Zk"}, {}]})


class PasswordResetRequest(RequestModel):
    email: Email

    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "ada@example.com"}]})


class PasswordResetConfirm(RequestModel):
    token: OpaqueToken
    new_password: Password

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"token": "token-from-the-mailed-link", "new_password": "a new passphrase"}
            ]
        }
    )


class PasswordChange(RequestModel):
    # Only bounded: a wrong current password is a 400, whatever its shape.
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Password

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"current_password": "correct horse battery staple", "new_password": "a new one!"}
            ]
        }
    )


class Accepted(BaseModel):
    detail: str


# A signed link token (a JWT, a few hundred characters).
LinkToken = Annotated[str, Field(min_length=1, max_length=4096)]


class EmailVerification(RequestModel):
    token: LinkToken

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "token-from-the-mailed-link"}]}
    )
