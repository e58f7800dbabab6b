import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from pydantic.config import JsonDict

from backend.core.markdown import render_html
from backend.db.models import CompanyResponsiveness
from backend.db.models.company import (
    COMPANY_DESCRIPTION_MAX_LENGTH,
    COMPANY_NAME_MAX_LENGTH,
    WEBSITE_MAX_LENGTH,
)
from backend.schemas.base import (
    Email,
    Line,
    PatchModel,
    RequestModel,
    ResponseModel,
    Text,
    Timestamp,
)

_http_url = TypeAdapter(HttpUrl)


# What no web address holds as written (RFC 3986 leaves them out): controls, spaces,
# quotes, angle brackets and the like. The URL parser would quietly drop or encode them.
_NOT_IN_AN_ADDRESS = re.compile(r'[\x00-\x20\x7f-\x9f"<>\\^`{|}]')


def _website(value: str) -> str:
    """An http(s) address in its normal form (scheme and host in lower case, the host in
    IDNA, the rest percent-encoded), without a slash added after a bare host."""
    if _NOT_IN_AN_ADDRESS.search(value):
        raise ValueError(
            "must be a web address without spaces, quotes, angle brackets or control characters"
        )
    url = _http_url.validate_python(value)
    normal = str(url)
    if url.path == "/" and url.query is None and url.fragment is None and normal.endswith("/"):
        normal = normal[:-1]
    if len(normal) > WEBSITE_MAX_LENGTH:  # percent-encoding made it longer than it came
        raise ValueError(f"must be at most {WEBSITE_MAX_LENGTH} characters once encoded")
    return normal


CompanyName = Annotated[Line, Field(max_length=COMPANY_NAME_MAX_LENGTH)]
Website = Annotated[str, Field(max_length=WEBSITE_MAX_LENGTH), AfterValidator(_website)]
CompanyDescription = Annotated[Text, Field(max_length=COMPANY_DESCRIPTION_MAX_LENGTH)]

_EXAMPLE: JsonDict = {
    "name": "Acme Robotics",
    "website": "https://acme.example",
    "description": "We build friendly robots.",
}


class CompanyCreate(RequestModel):
    name: CompanyName
    website: Website | None = None
    description: CompanyDescription | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})


class CompanyUpdate(PatchModel):
    nullable = frozenset({"website", "description"})

    name: CompanyName | None = None
    website: Website | None = None
    description: CompanyDescription | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"description": "Now hiring."}]})


class CompanyRead(ResponseModel):
    id: int
    name: str
    website: str | None
    description: str | None = Field(description="As written: Markdown (see `description_html`)")
    description_html: str | None = Field(
        description="The description rendered and sanitised: safe to show as HTML"
    )
    owner_id: int
    verified: bool = Field(
        description="Whether someone of the company proved a mailbox at `verified_domain`"
    )
    verified_domain: str | None = Field(
        description="The website's domain the company was verified at"
    )
    created_at: Timestamp

    @field_validator("description_html", mode="before")
    @classmethod
    def _rendered(cls, stored: str | None, info: ValidationInfo) -> str | None:
        """A row written without its rendering (see the company model) is rendered here."""
        written = info.data.get("description")
        return render_html(written) if stored is None and written is not None else stored


class CompanyVerificationCreate(RequestModel):
    email: Email

    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "jobs@acme.example"}]})


class ResponsivenessRead(ResponseModel):
    """How a company answers applications made 30 to 365 days ago: the share answered (a
    move or an interview) within 30 days, and the median time to a first answer; every
    figure null until it has enough applications to tell."""

    company_id: int
    applications: int | None = Field(description="Applications judged")
    answered_within_30_days: float | None = Field(description="A share, 0 to 1")
    median_hours_to_first_answer: float | None = Field(
        description="Among those answered; null when none was"
    )
    computed_at: Timestamp | None

    @classmethod
    def of(cls, company_id: int, figures: CompanyResponsiveness | None) -> "ResponsivenessRead":
        if figures is None:
            return cls(
                company_id=company_id,
                applications=None,
                answered_within_30_days=None,
                median_hours_to_first_answer=None,
                computed_at=None,
            )
        median = figures.median_seconds
        return cls(
            company_id=company_id,
            applications=figures.applications,
            answered_within_30_days=round(figures.answered / figures.applications, 3),
            median_hours_to_first_answer=None if median is None else round(median / 3600, 1),
            computed_at=figures.computed_at,
        )
