"""One-click unsubscribe from notification mail (RFC 8058), with no sign-in."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.apis.deps import DbSession, SettingsDep
from backend.apis.openapi import problem_responses
from backend.schemas.auth import LinkToken
from backend.schemas.notifications import Unsubscribed
from backend.services import notifications as notifications_service

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.post("/unsubscribe", response_model=Unsubscribed, responses=problem_responses(400))
async def unsubscribe(
    token: Annotated[LinkToken, Query(description="From the mail's unsubscribe link")],
    db: DbSession,
    settings: SettingsDep,
) -> Unsubscribed:
    """Turn off the kind of mail the link came in.

    Mail clients POST here themselves (the `List-Unsubscribe` and `List-Unsubscribe-Post`
    headers; their `List-Unsubscribe=One-Click` body is ignored); the web app's unsubscribe
    page does too. A tampered or expired link, or one whose kind is already off, is a 400.
    """
    kind = await notifications_service.unsubscribe(db, settings, token=token)
    what = kind.value.replace("_", " ")
    return Unsubscribed(detail=f"You will get no more {what} mails.", kind=kind.value)
