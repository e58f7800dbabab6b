"""Who is calling, by role: the checks every route makes before its use case runs.

The contract's order: the caller's role (403) here, then whether the caller may see the
thing at all (404, revealing nothing) and its state (409) in the services.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path

from backend.apis.deps import (
    Caller,
    CurrentUser,
    DbSession,
    SettingsDep,
    bearer_scheme,
    get_principal,
)
from backend.core.cursor import MAX_ID
from backend.core.exceptions import Forbidden
from backend.db.models import Role

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def require_role(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency: the current user, if their role (read from the database) is one of these."""

    async def check(user: CurrentUser) -> Caller:
        if user.role not in roles:
            raise Forbidden(
                f"Only {' or '.join(role.value for role in roles)} accounts may do this."
            )
        return user

    return check


EmployerOrAdmin = Annotated[Caller, Depends(require_role(Role.employer, Role.admin))]
Candidate = Annotated[Caller, Depends(require_role(Role.candidate))]
Admin = Annotated[Caller, Depends(require_role(Role.admin))]


async def optional_user(
    db: DbSession, settings: SettingsDep, token: Annotated[str | None, Depends(bearer_scheme)]
) -> Caller | None:
    """The signed-in user when a token is sent (a bad one is still a 401), else None."""
    if not token:
        return None
    return (await get_principal(db, settings, token)).user


MaybeUser = Annotated[Caller | None, Depends(optional_user)]
