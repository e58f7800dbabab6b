"""`Idempotency-Key` for the POSTs an integration retries (see services.idempotency)."""

from typing import Annotated

from fastapi import Header, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backend.apis.responses import JSON
from backend.db.models.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from backend.services import idempotency

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        pattern=r"^[\x21-\x7e]+$",
        description="A key of yours (printable ASCII, at most 200 characters) that makes a "
        "retry of this request safe: the same key again within 24 hours gets the first "
        "answer again and changes nothing; with another body it is a 422.",
    ),
]
REPLAYED = "Idempotent-Replayed"


class Once:
    """One request under an optional `Idempotency-Key`: `kept` the first answer, if any,
    before doing anything; `answer` keeps this request's answer, in its transaction."""

    def __init__(
        self,
        db: AsyncSession,
        request: Request,
        *,
        user_id: int,
        key: str | None,
        payload: BaseModel,
    ) -> None:
        self.db = db
        self.user_id = user_id
        self.key = key
        self.request = idempotency.fingerprint(
            request.method, request.url.path, payload.model_dump_json().encode()
        )

    async def kept(self) -> Response | None:
        if self.key is None:
            return None
        first = await idempotency.begin(
            self.db, user_id=self.user_id, key=self.key, request=self.request
        )
        if first is None:
            return None
        headers = {REPLAYED: "true"}
        if first.etag is not None:
            headers["ETag"] = first.etag
        return Response(first.body, status_code=first.status_code, headers=headers, media_type=JSON)

    async def answer(self, response: Response) -> Response:
        if self.key is not None:
            kept = idempotency.Kept(
                response.status_code, bytes(response.body), response.headers.get("etag")
            )
            await idempotency.keep(self.db, user_id=self.user_id, key=self.key, answer=kept)
        return response
