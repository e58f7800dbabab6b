from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from backend.db.models.resume import (
    HEADLINE_MAX_LENGTH,
    MAX_LINKS,
    PROFILE_LOCATION_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    WORK_AUTHORIZATION_MAX_LENGTH,
    TextState,
)
from backend.schemas.base import RequestModel, ResponseModel, StrictBool, Text, Timestamp
from backend.schemas.company import Website
from backend.schemas.job import Tags


class ResumeRead(ResponseModel):
    id: int
    file_name: str
    media_type: str
    size: int = Field(description="Bytes")
    pages: int | None = Field(description="A PDF's pages; null for other kinds")
    text_state: TextState = Field(
        description="Whether the worker has read the text employers search: "
        "pending, ready, or failed (kept and downloadable, not searchable)"
    )
    created_at: Timestamp


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


class ProfileWrite(RequestModel):
    """A candidate's whole profile; what a field leaves out is empty."""

    headline: Annotated[Text, Field(max_length=HEADLINE_MAX_LENGTH)] = ""
    summary: Annotated[Text, Field(max_length=SUMMARY_MAX_LENGTH)] = ""
    skills: Tags = Field(default_factory=list)
    links: Annotated[list[Website], Field(max_length=MAX_LINKS), AfterValidator(_unique)] = Field(
        default_factory=list
    )
    location: Annotated[Text, Field(max_length=PROFILE_LOCATION_MAX_LENGTH)] = ""
    work_authorization: Annotated[Text, Field(max_length=WORK_AUTHORIZATION_MAX_LENGTH)] = ""
    open_to_remote: StrictBool = False

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "headline": "Backend developer, 6 years of Python",
                    "summary": "I build APIs and the databases behind them.",
                    "skills": ["python", "postgresql"],
                    "links": ["https://github.com/ada"],
                    "location": "Berlin, Germany",
                    "work_authorization": "EU citizen",
                    "open_to_remote": True,
                }
            ]
        }
    )


class ProfileRead(ResponseModel):
    user_id: int
    full_name: str
    headline: str
    summary: str
    skills: list[str]
    links: list[str]
    location: str
    work_authorization: str
    open_to_remote: bool
    updated_at: Timestamp | None = Field(description="null until the candidate first saves it")
