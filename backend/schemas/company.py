from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, HttpUrl, TypeAdapter
from pydantic.config import JsonDict

from backend.db.models.company import (
    COMPANY_DESCRIPTION_MAX_LENGTH,
    COMPANY_NAME_MAX_LENGTH,
    WEBSITE_MAX_LENGTH,
)
from backend.schemas.base import Line, PatchModel, RequestModel, ResponseModel, Text, Timestamp

_http_url = TypeAdapter(HttpUrl)


def _website(value: str) -> str:
    # Validated as an http(s) URL but kept as written: no added trailing slash.
    _http_url.validate_python(value)
    return value


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
    description: str | None
    owner_id: int
    created_at: Timestamp
