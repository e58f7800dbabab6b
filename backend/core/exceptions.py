"""The domain's exception tree: each error carries its HTTP status and is rendered in one place."""

from http import HTTPStatus


class AppError(Exception):
    """An error the API answers with a problem body of this class's status."""

    status_code: int = HTTPStatus.INTERNAL_SERVER_ERROR
    detail: str = "The server could not handle the request."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        self.detail = detail or self.detail
        self.headers = headers or {}
        super().__init__(self.detail)


class BadRequest(AppError):
    status_code = HTTPStatus.BAD_REQUEST
    detail = "The request cannot be carried out."


class NotAuthenticated(AppError):
    """No usable credentials were sent."""

    status_code = HTTPStatus.UNAUTHORIZED
    detail = "Not authenticated."

    def __init__(self, detail: str | None = None, *, error: str | None = None):
        challenge = f'Bearer error="{error}"' if error else "Bearer"
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class InvalidCredentials(NotAuthenticated):
    """A token was sent but rejected: bad, expired, or its session or user is gone."""

    detail = "The access token is invalid or has expired."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, error="invalid_token")


class Forbidden(AppError):
    status_code = HTTPStatus.FORBIDDEN
    detail = "You may not do this."


class NotFound(AppError):
    status_code = HTTPStatus.NOT_FOUND
    detail = "Not found."


class Conflict(AppError):
    status_code = HTTPStatus.CONFLICT
    detail = "The request conflicts with the current state."


class PreconditionFailed(AppError):
    """An `If-Match` that no longer matches: someone changed the thing since it was read."""

    status_code = HTTPStatus.PRECONDITION_FAILED
    detail = "The resource has changed since it was read; fetch it again and retry."


class InvalidField(AppError):
    """A request that is well-formed but invalid in one field: a 422 like any validation error."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        self.loc = loc
        self.message = message
        super().__init__(f"The request is invalid: {'.'.join(map(str, loc))}: {message}.")


class TooManyRequests(AppError):
    status_code = HTTPStatus.TOO_MANY_REQUESTS
    detail = "Too many requests; try again later."

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(AppError):
    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    detail = "The service is temporarily unavailable; try again shortly."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class HashQueueFull(ServiceUnavailable):
    """More password checks are waiting than the hashing threads can serve promptly."""

    detail = "Too many sign-ins at once; try again in a moment."

    def __init__(self) -> None:
        super().__init__(retry_after=1)


class ContentTooLarge(AppError):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    detail = "The request body is too large."
