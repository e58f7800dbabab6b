"""Registration and sign-in."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from backend.apis.deps import DbSession, HasherDep, SettingsDep
from backend.apis.openapi import problem_responses
from backend.core.config import Settings
from backend.schemas.auth import TokenPair
from backend.schemas.user import UserCreate, UserRead
from backend.services import auth as auth_service

router = APIRouter(prefix="/auth", tags=["auth"])

REFRESH_COOKIE = "refresh_token"
REFRESH_COOKIE_PATH = "/api/v1/auth"


def set_refresh_cookie(
    response: Response, settings: Settings, tokens: auth_service.IssuedTokens
) -> None:
    """Hand the refresh token to browsers in a cookie that scripts cannot read."""
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        expires=tokens.refresh_expires_at,
        path=REFRESH_COOKIE_PATH,
        httponly=True,
        secure=not settings.is_development,
        samesite="strict",
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=problem_responses(409, 413),
)
async def register(payload: UserCreate, db: DbSession, hasher: HasherDep) -> UserRead:
    """Create an account: a candidate by default, or an employer."""
    user = await auth_service.register(db, hasher, payload)
    return UserRead.model_validate(user)


@router.post("/token", response_model=TokenPair, responses=problem_responses(401, 403))
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    response: Response,
    db: DbSession,
    hasher: HasherDep,
    settings: SettingsDep,
) -> TokenPair:
    """Sign in with email (as `username`) and password; returns an access and a refresh token."""
    user = await auth_service.authenticate(db, hasher, email=form.username, password=form.password)
    tokens = await auth_service.start_session(db, settings, user=user)
    set_refresh_cookie(response, settings, tokens)
    return TokenPair(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
    )
