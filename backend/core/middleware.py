"""Pure ASGI middleware: request ids (and the headers every response carries) with a
last-resort 500, and the request body limit."""

import asyncio
import logging
import os
import re
import time
from collections.abc import Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core import logs
from backend.core.problems import log_unexpected, problem_response

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CSP_HEADER = b"content-security-policy"
# No other site may frame any page of the board (clickjacking): old browsers read the
# first, current ones the policy, which a response that sets its own policy keeps.
_NO_FRAMING = (b"x-frame-options", b"DENY")
_NO_FRAMING_POLICY = (_CSP_HEADER, b"frame-ancestors 'none'")


def header(scope: Scope, name: bytes) -> bytes | None:
    """The last value of header `name` (lower case, as servers pass names), as a mapping of
    the headers would hold it, without building one on each request."""
    found = None
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return None if found is None else bytes(found)


class RequestIdMiddleware:
    """Tags each request with an id (echoed in X-Request-ID), forbids framing every response,
    and turns a crash into a bare 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (header(scope, _REQUEST_ID_HEADER) or b"").decode("latin-1")
        # 32 random hex digits, as a UUID4's hex but without building the UUID.
        request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        logs.request_id.set(request_id)  # this request's task and what it logs
        logs.request_started.set(time.perf_counter())  # the access line's duration
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID_HEADER, request_id.encode()))
                headers.append(_NO_FRAMING)
                if not any(name.lower() == _CSP_HEADER for name, _ in headers):
                    headers.append(_NO_FRAMING_POLICY)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log_unexpected(request_id, exc)
            if response_started:
                raise
            response = problem_response(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"The server could not handle the request (request id {request_id}).",
            )
            await response(scope, receive, send_with_id)


class DeadlineMiddleware:
    """One deadline for a request until its response starts: past it, the work is cancelled
    (psycopg cancels a running statement on the server) and the client gets a 503 problem.

    Waiting for a pooled connection, statements and slow request bodies all count. Work
    after the response has started (a mail sent after a 202) is not cut short.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        deadline = asyncio.timeout(self.seconds)

        async def send_and_disarm(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_and_disarm)
            return
        except TimeoutError:
            if started or not deadline.expired():
                raise
        logger.warning("request %s passed its deadline", scope.get("state", {}).get("request_id"))
        response = problem_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            f"The request took longer than {self.seconds:g} seconds and was stopped.",
            headers={"Retry-After": "1"},
        )
        await response(scope, receive, send)


class BodySizeLimitMiddleware:
    """Answers 413 for a body over the limit, by Content-Length up front or while streaming.

    The paths in `uploads` (file uploads, which enforce their own limit while they read)
    take bodies up to the limit given with each."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, uploads: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope["path"], self.max_body_bytes)
        detail = f"The request body is larger than {limit} bytes."
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            if declared.isdigit():
                response = problem_response(413, detail)
            else:
                response = problem_response(HTTPStatus.BAD_REQUEST, "Invalid Content-Length.")
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, limited_receive, send)
