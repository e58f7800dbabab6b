"""The signed-in user's own account."""

from fastapi import APIRouter, Request, Response, status

from backend.apis.deps import (
    ClientAddress,
    CurrentPrincipal,
    CurrentUser,
    DbSession,
    HasherDep,
    SettingsDep,
    TransactionsDep,
    authenticate,
    bearer_scheme,
    hot_reads,
    reads_bearer_token,
)
from backend.apis.openapi import problem_responses
from backend.apis.responses import json_response
from backend.schemas.auth import PasswordChange
from backend.schemas.notifications import NotificationSettings, NotificationSettingsUpdate
from backend.schemas.user import UserRead, UserUpdate
from backend.services import auth as auth_service
from backend.services import notifications as notifications_service
from backend.services import users as users_service

router = APIRouter(prefix="/users", tags=["users"], responses=problem_responses(401))


@router.get("/me", response_model=UserRead)
@reads_bearer_token
async def read_me(request: Request) -> Response:
    """The signed-in user."""
    async with hot_reads(request) as db:
        principal = await authenticate(request, db, await bearer_scheme(request))
    return json_response(UserRead.model_validate(principal.user))


@router.patch("/me", response_model=UserRead, responses=problem_responses(400, 409, 429))
async def update_me(
    payload: UserUpdate,
    user: CurrentUser,
    address: ClientAddress,
    db: DbSession,
    transactions: TransactionsDep,
    hasher: HasherDep,
    settings: SettingsDep,
) -> UserRead:
    """Change the signed-in user's own profile.

    The name changes at once. A new `email` (with `current_password`) changes nothing yet:
    a confirmation link goes to the new address, which becomes the account's when the link
    is opened (`POST /auth/verify-email`); the answer shows the address still in use.
    """
    updated = await users_service.update_profile(
        db, transactions, hasher, settings, user=user, payload=payload, address=address
    )
    return UserRead.model_validate(updated)


@router.get("/me/notifications", response_model=NotificationSettings)
async def read_notifications(user: CurrentUser, db: DbSession) -> NotificationSettings:
    """Which notification mails the signed-in user gets."""
    return await notifications_service.read_settings(db, user=user)


@router.patch("/me/notifications", response_model=NotificationSettings)
async def update_notifications(
    payload: NotificationSettingsUpdate, user: CurrentUser, db: DbSession
) -> NotificationSettings:
    """Turn kinds of notification mail on or off (each mail also has a one-click link that
    turns its kind off)."""
    return await notifications_service.update_settings(db, user=user, payload=payload)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 409, 429),
)
async def change_password(
    payload: PasswordChange,
    principal: CurrentPrincipal,
    address: ClientAddress,
    db: DbSession,
    transactions: TransactionsDep,
    hasher: HasherDep,
    settings: SettingsDep,
) -> Response:
    """Change the password; every other session of the user ends. If the password changed
    meanwhile (a reset), nothing changes and the answer is 409."""
    await auth_service.change_password(
        db,
        transactions,
        hasher,
        settings,
        user=principal.user,
        session_id=principal.session_id,
        current_password=payload.current_password,
        new_password=payload.new_password,
        address=address,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
