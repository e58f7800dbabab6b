"""Every model, imported here so that Alembic and the mappers see them all."""

from backend.db.base import Base
from backend.db.models.refresh_token import RefreshToken
from backend.db.models.session import UserSession
from backend.db.models.user import Role, User

__all__ = ["Base", "RefreshToken", "Role", "User", "UserSession"]
