from pydantic import ConfigDict

from backend.db.models.user import Role
from backend.schemas.base import PatchModel, StrictBool


class AdminUserUpdate(PatchModel):
    is_active: StrictBool | None = None
    role: Role | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"is_active": False}, {"role": "employer"}]}
    )
