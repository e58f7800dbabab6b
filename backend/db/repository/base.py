"""What every repository shares."""

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import Base

Model = TypeVar("Model", bound=Base)


async def update(session: AsyncSession, instance: Model, **values: object) -> Model:
    """Set the given columns on a loaded row and flush; server-side values come back."""
    for name, value in values.items():
        setattr(instance, name, value)
    await session.flush()
    return instance
