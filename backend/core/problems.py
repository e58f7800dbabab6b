"""One place that turns every exception into an RFC 9457 problem response."""

import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.core.exceptions import AppError, Conflict, InvalidField, NotFound, ServiceUnavailable

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Constraints whose violation is the client's doing (or lost a race with another client's
# request), with what to answer.
CONSTRAINT_ERRORS: dict[str, AppError] = {
    "uq_users_email_lower": Conflict("This email is already registered."),
    "uq_users_email_skeleton": Conflict(
        "This email looks too much like an address already registered."
    ),
    "uq_applications_job_id_candidate_id": Conflict("You have already applied to this job."),
    # The job was deleted while the application was being made.
    "fk_applications_job_id_jobs": NotFound("Job not found."),
}


# RFC 9110's names where Python's table still has the older ones.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


# One error of a 422: where, what, and its kind (`backend.schemas.problem` documents them).
Issue = dict[str, Any]


def problem_response(
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[Issue] | None = None,
) -> ProblemResponse:
    title = _TITLES.get(status) or HTTPStatus(status).phrase
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return ProblemResponse(body, status_code=status, headers=headers)


def _validation_issues(raw: Any) -> list[Issue]:
    # Only loc, msg and type: pydantic's `input` and `ctx` may hold a submitted password.
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err["msg"]), "type": str(err["type"])}
        for err in raw
    ]


async def _app_error(_: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, AppError)
    if isinstance(exc, InvalidField):
        issue = {"loc": list(exc.loc), "msg": exc.message, "type": "value_error"}
        return problem_response(exc.status_code, exc.detail, errors=[issue])
    return problem_response(exc.status_code, exc.detail, headers=exc.headers)


# What FastAPI answers (400) for a body it cannot decode at all, such as invalid UTF-8.
_UNDECODABLE_BODY = "There was an error parsing the body"


async def http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == HTTPStatus.BAD_REQUEST and detail == _UNDECODABLE_BODY:
        # The same problem as any other malformed body: a 422 saying where.
        issue = {"loc": ["body"], "msg": "The body is not valid JSON text", "type": "json_invalid"}
        return problem_response(422, "The request is invalid: body is not JSON.", errors=[issue])
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem_response(exc.status_code, detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (the router names only one route's)."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        pattern, route_methods = (
            getattr(context, "path_regex", None),
            getattr(context, "methods", None),
        )
        if pattern is not None and route_methods and pattern.match(path):
            methods |= set(route_methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


# A 422 lists this many errors at most, and says how many there were.
MAX_REPORTED_ERRORS = 20


async def _validation_error(_: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    issues = _validation_issues(raw[:MAX_REPORTED_ERRORS])
    first = issues[0] if issues else None
    detail = "The request is invalid."
    if first is not None:
        where = ".".join(str(part) for part in first["loc"])
        detail = f"The request is invalid: {where}: {first['msg']}."
        if len(raw) > 1:
            detail += f" ({len(raw)} errors in all"
            detail += f"; the first {len(issues)} are listed.)" if len(raw) > len(issues) else ".)"
    return problem_response(422, detail, errors=issues)


async def _integrity_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, sa_exc.IntegrityError)
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if constraint in CONSTRAINT_ERRORS:
        return await _app_error(request, CONSTRAINT_ERRORS[constraint])
    return await _unexpected_error(request, exc)


# SQLSTATE of a write sent to a database that takes none (a standby, or one failing over).
READ_ONLY_SQL_TRANSACTION = "25006"


async def _database_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, sa_exc.SQLAlchemyError)
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == READ_ONLY_SQL_TRANSACTION:
        logger.warning("write refused: %s", describe_database_error(exc))
        detail = "The database takes no writes right now (read-only); try again shortly."
        return await _app_error(request, ServiceUnavailable(detail))
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        # Server down, restarting, out of connections, or a statement past its timeout.
        logger.warning("database unavailable: %s", describe_database_error(exc))
        return await _app_error(request, ServiceUnavailable())
    return await _unexpected_error(request, exc)


async def _driver_error(request: Request, exc: Exception) -> ProblemResponse:
    """An error psycopg raised on the raw path of the hot reads (`backend.db.hot`), answered
    as the same error through SQLAlchemy is."""
    assert isinstance(exc, psycopg.Error)
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        # Server down or restarting, the connection lost, a statement past its timeout.
        logger.warning("database unavailable: %s", describe_database_error(exc))
        return await _app_error(request, ServiceUnavailable())
    return await _unexpected_error(request, exc)


def describe_database_error(exc: BaseException) -> str:
    """The driver's error class, SQLSTATE and primary message: enough to tell "too many
    clients" from "read-only transaction", and never a bound value (DETAIL lines, which
    can quote one, are left out)."""
    original = getattr(exc, "orig", None) or exc
    diag = getattr(original, "diag", None)
    message = getattr(diag, "message_primary", None) or str(original).split("\n", 1)[0]
    sqlstate = getattr(diag, "sqlstate", None) or getattr(original, "sqlstate", None)
    state = f" [{sqlstate}]" if sqlstate else ""
    return f"{type(original).__module__}.{type(original).__name__}{state}: {message}"


def log_unexpected(request_id: str, exc: BaseException) -> None:
    """Log an error no handler expected, with its traceback.

    A database error's own text can quote bound values (PostgreSQL's DETAIL lines, e.g.
    `Key (token_hash)=(...)`), so for those the traceback is logged without it, after the
    class, SQLSTATE and primary message.
    """
    if isinstance(exc, sa_exc.DBAPIError | psycopg.Error):
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error(
            "unhandled database error in request %s: %s\nTraceback (most recent call last):\n%s",
            request_id,
            describe_database_error(exc),
            frames.rstrip(),
        )
        return
    logger.error("unhandled error in request %s", request_id, exc_info=exc)


async def _unexpected_error(request: Request, exc: Exception) -> ProblemResponse:
    request_id = getattr(request.state, "request_id", "-")
    log_unexpected(request_id, exc)
    return problem_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        f"The server could not handle the request (request id {request_id}).",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to a problem response."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sa_exc.IntegrityError, _integrity_error)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(psycopg.Error, _driver_error)
