from typing import Annotated

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from backend.db.models.saved_search import SAVED_SEARCH_NAME_MAX_LENGTH, AlertFrequency
from backend.schemas.base import Line, PatchModel, RequestModel, ResponseModel, Timestamp
from backend.schemas.job import JobSearch

SavedSearchName = Annotated[Line, Field(min_length=1, max_length=SAVED_SEARCH_NAME_MAX_LENGTH)]


class SavedJobSearch(JobSearch):
    """`GET /jobs`'s query parameters, as a JSON object (`tag` a list); nothing else."""

    model_config = ConfigDict(extra="forbid")


_EXAMPLE: JsonDict = {
    "name": "Remote Python",
    "frequency": "daily",
    "search": {"q": "python", "workplace": "remote", "tag": ["django"], "sort": "newest"},
}


class SavedSearchCreate(RequestModel):
    name: SavedSearchName
    search: SavedJobSearch
    frequency: AlertFrequency = AlertFrequency.daily

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})


class SavedSearchUpdate(PatchModel):
    name: SavedSearchName | None = None
    search: SavedJobSearch | None = None
    frequency: AlertFrequency | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"frequency": "weekly"}]})


class SavedSearchRead(ResponseModel):
    id: int
    name: str
    search: JobSearch = Field(validation_alias="query")
    frequency: AlertFrequency
    # The next alert mails the jobs published from `alerted_through` on; it is sent a little
    # after `next_alert_at`.
    alerted_through: Timestamp
    next_alert_at: Timestamp
    created_at: Timestamp
    updated_at: Timestamp

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": 1, **_EXAMPLE}]})
