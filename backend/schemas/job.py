import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from backend.core.ids import MAX_ID
from backend.core.markdown import render_html
from backend.db.models.job import (
    EXTERNAL_ID_MAX_LENGTH,
    JOB_DESCRIPTION_MAX_LENGTH,
    LOCATION_MAX_LENGTH,
    MAX_TAGS,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    EmploymentType,
    JobStatus,
    Workplace,
)
from backend.schemas.base import (
    Instant,
    Line,
    PatchModel,
    RequestModel,
    ResponseModel,
    Text,
    Timestamp,
)
from backend.schemas.currencies import ISO_4217

MAX_SALARY = 1_000_000_000
_TAG = re.compile(r"[a-z0-9][a-z0-9+#./ -]*")


def _tag(value: str) -> str:
    value = value.strip().lower()
    if not _TAG.fullmatch(value):
        raise ValueError(
            "a tag is letters, digits, spaces and + # . / - (starting with a letter or digit)"
        )
    return value


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _currency(value: str) -> str:
    if value not in ISO_4217:
        raise ValueError("must be a three-letter ISO 4217 code, such as EUR or USD")
    return value


# Integers in a request body are JSON integers: not true, "5" or 5.0.
EntityId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Title = Annotated[Line, Field(max_length=TITLE_MAX_LENGTH)]
Location = Annotated[Line, Field(max_length=LOCATION_MAX_LENGTH)]
Description = Annotated[Text, Field(min_length=1, max_length=JOB_DESCRIPTION_MAX_LENGTH)]
Salary = Annotated[StrictInt, Field(ge=0, le=MAX_SALARY)]
Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]
Tag = Annotated[str, Field(min_length=1, max_length=TAG_MAX_LENGTH), AfterValidator(_tag)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]

_EXAMPLE: JsonDict = {
    "company_id": 1,
    "title": "Senior Python Developer",
    "description": "Build the APIs our customers rely on.",
    "location": "Berlin, Germany",
    "workplace": "hybrid",
    "employment_type": "full_time",
    "salary_min": 70000,
    "salary_max": 90000,
    "salary_currency": "EUR",
    "tags": ["python", "fastapi", "postgresql"],
    "status": "published",
    "expires_at": "2027-01-31T23:59:59Z",
}


def check_salary_range(salary_min: int | None, salary_max: int | None) -> None:
    if salary_min is not None and salary_max is not None and salary_min > salary_max:
        raise ValueError("salary_min must not exceed salary_max")


class JobFields(RequestModel):
    """What a job says, as its employer writes it (all but its company and status)."""

    title: Title
    description: Description
    location: Location
    workplace: Workplace
    employment_type: EmploymentType
    salary_min: Salary | None = None
    salary_max: Salary | None = None
    salary_currency: Currency | None = None
    tags: Tags = Field(default_factory=list)
    expires_at: Instant | None = None

    @model_validator(mode="after")
    def _salary_range(self) -> Self:
        check_salary_range(self.salary_min, self.salary_max)
        return self


class JobCreate(JobFields):
    company_id: EntityId
    status: JobStatus = JobStatus.draft

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})


class UpsertStatus(StrEnum):
    """The statuses an applicant-tracking system sets: the job open, a draft, or closed."""

    published = "published"
    draft = "draft"
    closed = "closed"


class JobUpsert(JobFields):
    """A job as an applicant-tracking system sends it, whole: created, or replacing what
    the job says (fields left out take their defaults)."""

    status: UpsertStatus = UpsertStatus.published

    model_config = ConfigDict(
        json_schema_extra={"examples": [{k: v for k, v in _EXAMPLE.items() if k != "company_id"}]}
    )


EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=EXTERNAL_ID_MAX_LENGTH,
        pattern=EXTERNAL_ID_PATTERN,
        description="The applicant-tracking system's id of the job: letters, digits, and "
        "`.`, `_`, `:`, `-` after the first",
    ),
]


class ExternalJob(JobUpsert):
    external_id: ExternalId


# Jobs one batch upserts at most.
MAX_BATCH = 500


class JobBatch(RequestModel):
    jobs: Annotated[list[ExternalJob], Field(min_length=1, max_length=MAX_BATCH)]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "jobs": [
                        {
                            **{k: v for k, v in _EXAMPLE.items() if k != "company_id"},
                            "external_id": "REQ-1001",
                        },
                        {
                            **{k: v for k, v in _EXAMPLE.items() if k != "company_id"},
                            "external_id": "REQ-1002",
                            "status": "closed",
                        },
                    ]
                }
            ]
        }
    )


class UpsertOutcome(StrEnum):
    created = "created"
    replaced = "replaced"
    unchanged = "unchanged"
    held = "held"  # an edit of a published job, waiting for a moderator's review


class UpsertResult(ResponseModel):
    external_id: str
    job_id: int
    outcome: UpsertOutcome


class BatchResult(ResponseModel):
    results: list[UpsertResult]


# Fields a PATCH may set to null; every other field may only be left out.
NULLABLE_JOB_FIELDS = frozenset({"salary_min", "salary_max", "salary_currency", "expires_at"})


class JobUpdate(PatchModel):
    nullable = NULLABLE_JOB_FIELDS

    title: Title | None = None
    description: Description | None = None
    location: Location | None = None
    workplace: Workplace | None = None
    employment_type: EmploymentType | None = None
    salary_min: Salary | None = None
    salary_max: Salary | None = None
    salary_currency: Currency | None = None
    tags: Tags | None = None
    status: JobStatus | None = None
    expires_at: Instant | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "closed"}, {"salary_max": 95000}]}
    )


class JobRead(ResponseModel):
    id: int
    company_id: int
    company_name: str
    company_verified: bool = Field(
        description="Whether the company proved a mailbox at its website's domain"
    )
    title: str
    description: str = Field(description="As written: Markdown (see `description_html`)")
    description_html: str = Field(
        description="The description rendered and sanitised: safe to show as HTML"
    )
    location: str
    workplace: Workplace
    employment_type: EmploymentType
    salary_min: int | None
    salary_max: int | None
    salary_currency: str | None
    tags: list[str]
    status: JobStatus
    expires_at: Timestamp | None
    published_at: Timestamp | None
    submitted_at: Timestamp | None = Field(
        description="When its owner last asked to publish it and it was held for review"
    )
    confirmed_open_at: Timestamp | None = Field(
        description="When its employer last confirmed it is still open (or published it)"
    )
    created_at: Timestamp
    updated_at: Timestamp

    @field_validator("confirmed_open_at", mode="before")
    @classmethod
    def _confirmed(cls, stored: datetime | None, info: ValidationInfo) -> datetime | None:
        """A job not confirmed since it was published was confirmed by publishing it."""
        return info.data.get("published_at") if stored is None else stored

    @field_validator("description_html", mode="before")
    @classmethod
    def _rendered(cls, stored: str | None, info: ValidationInfo) -> str:
        """A row written without its rendering (see the job model) is rendered here."""
        return render_html(info.data["description"]) if stored is None else stored


class SimilarJobs(ResponseModel):
    """Jobs on the board like one, the most alike first."""

    items: list[JobRead]


MAX_QUERY_LENGTH = 200
MAX_SEARCH_TAGS = 20
Sort = Literal["relevance", "newest", "salary"]


class JobQuery(BaseModel):
    """What a list of jobs is filtered by: `GET /jobs` and its feed take these as query
    parameters, and a saved search stores them (with `sort`, as `JobSearch`)."""

    q: Annotated[
        Text | None,
        Field(
            max_length=MAX_QUERY_LENGTH,
            description='Full-text search in web-search syntax: `"exact phrase"`, `-word`, `or`.',
        ),
    ] = None
    location: Annotated[
        Text | None, Field(max_length=200, description="Case-insensitive substring")
    ] = None
    workplace: Workplace | None = None
    employment_type: EmploymentType | None = None
    company_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None
    tag: Annotated[
        list[Tag] | None,
        Field(max_length=MAX_SEARCH_TAGS, description="Repeatable; every tag must match"),
    ] = None
    salary_min: Annotated[
        int | None,
        Field(ge=0, le=MAX_SALARY, description="Jobs paying at least this (max, else min)"),
    ] = None
    posted_after: Annotated[
        Instant | None, Field(description="Published at or after this time (ISO 8601, with offset)")
    ] = None


class JobSearch(JobQuery):
    """A job search: its filters and its order."""

    sort: Annotated[
        Sort | None, Field(description="Default: `relevance` with `q`, else `newest`")
    ] = None
