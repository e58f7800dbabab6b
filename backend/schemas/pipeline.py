"""A job's pipeline (its stages), its screening questions and the answers to them, and the
templated mail of a rejection."""

import enum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, model_validator

from backend.db.models.application import (
    STAGE_KEY_MAX_LENGTH,
    STAGE_NAME_MAX_LENGTH,
    ApplicationStatus,
)
from backend.schemas.base import Line, RequestModel, ResponseModel, StrictBool, Text

MAX_STAGES = 20
MAX_QUESTIONS = 20
MAX_CHOICES = 20
PROMPT_MAX_LENGTH = 300
CHOICE_MAX_LENGTH = 100
TEXT_ANSWER_MAX_LENGTH = 1000
MESSAGE_MAX_LENGTH = 2000
# Numbers asked and answered stay within this, either way.
NUMBER_LIMIT = 1e12

StageKey = Annotated[str, Field(min_length=1, max_length=STAGE_KEY_MAX_LENGTH)]


class StageStatus(enum.StrEnum):
    """The statuses a stage may belong to: all but the candidate's `withdrawn`."""

    submitted = "submitted"
    reviewing = "reviewing"
    interviewing = "interviewing"
    offered = "offered"
    hired = "hired"
    rejected = "rejected"


class StageRead(ResponseModel):
    key: str
    name: str
    status: ApplicationStatus
    applications: int = Field(description="How many applications are in it now")


class PipelineRead(ResponseModel):
    stages: list[StageRead]


class StageWrite(RequestModel):
    key: StageKey | None = Field(
        default=None, description="An existing stage's key (kept); left out for a new stage"
    )
    name: Annotated[Line, Field(max_length=STAGE_NAME_MAX_LENGTH)]
    status: StageStatus | None = Field(
        default=None, description="A new stage's status; an existing stage keeps its own"
    )


class PipelineWrite(RequestModel):
    stages: Annotated[list[StageWrite], Field(min_length=1, max_length=MAX_STAGES)]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stages": [
                        {"key": "applied", "name": "New"},
                        {"key": "screening", "name": "Screening"},
                        {"name": "Phone screen", "status": "reviewing"},
                        {"key": "interview", "name": "Interview"},
                        {"key": "offer", "name": "Offer"},
                        {"key": "hired", "name": "Hired"},
                        {"key": "rejected", "name": "Not this time"},
                    ]
                }
            ]
        }
    )


class QuestionKind(enum.StrEnum):
    yes_no = "yes_no"
    choice = "choice"
    text = "text"
    number = "number"


Number = Annotated[float, Field(ge=-NUMBER_LIMIT, le=NUMBER_LIMIT, allow_inf_nan=False)]
Choice = Annotated[Line, Field(max_length=CHOICE_MAX_LENGTH)]


class QuestionWrite(RequestModel):
    """A screening question. Knock-out answers (the employer's, never shown to candidates)
    file an application as rejected with the reason `knocked_out`: for `yes_no` the answer
    `knockout_answer`, for `choice` any of `knockout_choices`, for `number` one below
    `knockout_below` or above `knockout_above`; `text` has none."""

    kind: QuestionKind
    prompt: Annotated[Line, Field(max_length=PROMPT_MAX_LENGTH)]
    required: StrictBool = False
    choices: Annotated[list[Choice], Field(max_length=MAX_CHOICES)] | None = None
    knockout_answer: StrictBool | None = None
    knockout_choices: Annotated[list[Choice], Field(max_length=MAX_CHOICES)] | None = None
    knockout_below: Number | None = None
    knockout_above: Number | None = None

    @model_validator(mode="after")
    def fits_its_kind(self) -> Self:
        kind = self.kind
        if (self.choices is not None) != (kind == QuestionKind.choice):
            raise ValueError("choices go with (and only with) a choice question")
        if self.choices is not None:
            if len(self.choices) < 2:
                raise ValueError("a choice question offers at least 2 choices")
            if len({c.casefold() for c in self.choices}) != len(self.choices):
                raise ValueError("each choice is offered once")
        if self.knockout_answer is not None and kind != QuestionKind.yes_no:
            raise ValueError("knockout_answer goes with a yes_no question")
        if self.knockout_choices is not None:
            if kind != QuestionKind.choice:
                raise ValueError("knockout_choices go with a choice question")
            if not set(self.knockout_choices) <= set(self.choices or ()):
                raise ValueError("knockout_choices must be among the choices")
        numbers = (self.knockout_below, self.knockout_above)
        if any(n is not None for n in numbers) and kind != QuestionKind.number:
            raise ValueError("knockout_below and knockout_above go with a number question")
        below, above = numbers
        if below is not None and above is not None and below > above:
            raise ValueError("knockout_below is above knockout_above: every answer is out")
        return self


class QuestionsWrite(RequestModel):
    questions: Annotated[list[QuestionWrite], Field(max_length=MAX_QUESTIONS)]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "questions": [
                        {
                            "kind": "yes_no",
                            "prompt": "Are you allowed to work in the EU?",
                            "required": True,
                            "knockout_answer": False,
                        },
                        {
                            "kind": "number",
                            "prompt": "Years of PostgreSQL in production?",
                            "required": True,
                            "knockout_below": 2,
                        },
                        {
                            "kind": "choice",
                            "prompt": "When could you start?",
                            "choices": ["Now", "Within a month", "Later"],
                        },
                        {"kind": "text", "prompt": "A project you are proud of?"},
                    ]
                }
            ]
        }
    )


class QuestionRead(ResponseModel):
    """A screening question as candidates read it (the knock-out answers are the
    employer's: null for anyone else)."""

    id: str = Field(description="Changes whenever the question does")
    kind: QuestionKind
    prompt: str
    required: bool
    choices: list[str] | None
    knockout_answer: bool | None = None
    knockout_choices: list[str] | None = None
    knockout_below: float | None = None
    knockout_above: float | None = None


class QuestionsRead(ResponseModel):
    questions: list[QuestionRead]


# An answer: yes/no, a choice or a text (a string), or a number.
Answer = StrictBool | Number | Annotated[Text, Field(max_length=TEXT_ANSWER_MAX_LENGTH)]


class AnswerRead(ResponseModel):
    """A question as it was asked when the candidate applied, with their answer (null: not
    answered) and, for the employer's side, whether it knocked the application out."""

    id: str
    kind: QuestionKind
    prompt: str
    answer: bool | float | str | None
    knocked_out: bool | None = Field(
        default=None, description="The employer's side only: null for the candidate"
    )


class AnswersRead(ResponseModel):
    answers: list[AnswerRead]


class RejectionTemplate(enum.StrEnum):
    """The board's rejection mails an employer chooses from."""

    standard = "standard"
    after_interview = "after_interview"
    position_filled = "position_filled"


class RejectionMail(RequestModel):
    """Mail the candidate of a rejection with one of the board's templates, and an optional
    message of the employer's own (plain text) in it."""

    template: RejectionTemplate
    message: Annotated[Text, Field(max_length=MESSAGE_MAX_LENGTH)] | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"template": "standard"},
                {"template": "after_interview", "message": "Thank you for your time."},
            ]
        }
    )


class MailPreview(ResponseModel):
    subject: str
    text: str
    html: str
