from typing import Annotated

from pydantic import ConfigDict, Field, StrictInt
from pydantic.config import JsonDict

from backend.db.models.application import (
    INTERVIEW_LOCATION_MAX_LENGTH,
    INTERVIEW_NOTE_MAX_LENGTH,
    InterviewState,
)
from backend.schemas.base import (
    Instant,
    Line,
    PatchModel,
    RequestModel,
    ResponseModel,
    StrictBool,
    Text,
    Timestamp,
)

Minutes = Annotated[StrictInt, Field(ge=15, le=480, description="15 to 480")]
Where = Annotated[
    Line,
    Field(max_length=INTERVIEW_LOCATION_MAX_LENGTH, description="An address or a video link"),
]
Note = Annotated[Text, Field(max_length=INTERVIEW_NOTE_MAX_LENGTH)]

_EXAMPLE: JsonDict = {
    "starts_at": "2031-05-01T10:00:00Z",
    "minutes": 45,
    "location": "https://meet.example/abc-defg-hij",
    "note": "You will meet the team lead and one engineer.",
}


class InterviewCreate(RequestModel):
    starts_at: Instant = Field(description="In the future")
    minutes: Minutes
    location: Where
    note: Note = ""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})


class InterviewUpdate(PatchModel):
    starts_at: Instant | None = None
    minutes: Minutes | None = None
    location: Where | None = None
    note: Note | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"starts_at": "2031-05-02T14:30:00Z"}]}
    )


class InterviewAnswer(RequestModel):
    accept: StrictBool

    model_config = ConfigDict(json_schema_extra={"examples": [{"accept": True}]})


class InterviewRead(ResponseModel):
    id: int
    application_id: int
    starts_at: Timestamp
    minutes: int
    location: str
    note: str
    state: InterviewState
    sequence: int = Field(description="The invitation's version: one more at each change")
    created_at: Timestamp
    updated_at: Timestamp
