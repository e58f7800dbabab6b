"""Company teams: members, invitations and the activity record."""

from typing import Any

from pydantic import ConfigDict, Field

from backend.db.models import MemberRole
from backend.schemas.base import Email, RequestModel, ResponseModel, Timestamp


class MemberRead(ResponseModel):
    user_id: int
    full_name: str
    email: str
    role: MemberRole
    primary: bool = Field(
        description="The primary owner: gets the company's mail; its keys act as them"
    )
    created_at: Timestamp = Field(description="When they joined")


class MemberUpdate(RequestModel):
    role: MemberRole

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "recruiter"}]})


class Transfer(RequestModel):
    user_id: int = Field(ge=1, description="The member who becomes the primary owner")

    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": 42}]})


class InvitationCreate(RequestModel):
    email: Email
    role: MemberRole

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "grace@example.com", "role": "recruiter"}]}
    )


class InvitationRead(ResponseModel):
    id: int
    email: str
    role: MemberRole
    created_at: Timestamp
    expires_at: Timestamp
    last_sent_at: Timestamp | None
    sends: int = Field(description="How many times its link was mailed (only the last works)")


class MyInvitationRead(ResponseModel):
    id: int
    company_id: int
    company_name: str
    role: MemberRole
    created_at: Timestamp
    expires_at: Timestamp


class InvitationAccept(RequestModel):
    token: str = Field(min_length=1, max_length=4096, description="From the mailed link")

    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "eyJhbGciOi..."}]})


class Membership(ResponseModel):
    """The company joined, and the new member."""

    company_id: int
    member: MemberRead


class ActivityRead(ResponseModel):
    id: int
    actor_id: int | None = Field(description="The member (None once the account is gone)")
    actor_name: str | None
    api_key_id: int | None = Field(description="Set when a company's key did it")
    action: str = Field(
        description=(
            "job_created, job_updated, job_deleted, application_moved, applications_moved, "
            "key_created, key_revoked, member_invited, member_joined, member_left, "
            "member_removed, role_changed, ownership_transferred, invitation_revoked"
        )
    )
    detail: dict[str, Any] = Field(description="Ids and values of what it was done to")
    created_at: Timestamp
