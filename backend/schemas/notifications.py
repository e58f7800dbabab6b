from pydantic import ConfigDict, Field

from backend.schemas.base import PatchModel, ResponseModel, StrictBool


class NotificationSettings(ResponseModel):
    """Which notification mails the user gets."""

    new_applicants: bool = Field(description="An employer's jobs got applications")
    application_status: bool = Field(description="A candidate's application changed status")
    job_alerts: bool = Field(description="Saved searches found new jobs")
    job_expiry: bool = Field(description="An employer's published jobs expire in a few days")


class NotificationSettingsUpdate(PatchModel):
    new_applicants: StrictBool | None = None
    application_status: StrictBool | None = None
    job_alerts: StrictBool | None = None
    job_expiry: StrictBool | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"job_alerts": False}]})


class Unsubscribed(ResponseModel):
    detail: str
    kind: str
