from typing import Any

from pydantic import ConfigDict, model_validator

from backend.db.models.user import Role
from backend.schemas.base import RequestModel


class AdminUserUpdate(RequestModel):
    is_active: bool | None = None
    role: Role | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"is_active": False}, {"role": "employer"}]}
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(value is None for value in data.values()):
            raise ValueError("fields may be left out but not set to null")
        return data
