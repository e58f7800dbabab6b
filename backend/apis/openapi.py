"""OpenAPI wiring: documented error responses, operation ids, problem media types."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from backend.apis.deps import API_KEY_SCHEME, bearer_scheme
from backend.core.problems import PROBLEM_MEDIA_TYPE
from backend.schemas.problem import Problem, ValidationProblem

_REF = "#/components/schemas/{model}"
_DESCRIPTIONS = {
    400: "The request cannot be carried out",
    401: "Not signed in, or the token was rejected (see WWW-Authenticate)",
    403: "Signed in, but not allowed to do this",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state",
    412: "`If-Match` no longer matches: the resource changed since it was read",
    413: "Request body too large",
    429: "Too many requests (see Retry-After)",
    503: "Database unavailable (see Retry-After)",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting problem bodies for these statuses."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        }
        for status in statuses
    }


def with_etag(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """`responses=` entry documenting the ETag header of a success."""
    return {
        status: {
            "headers": {
                "ETag": {
                    "description": "The version of this representation; send it back in "
                    "`If-Match` to change the resource only if nobody changed it since.",
                    "schema": {"type": "string"},
                }
            }
        }
    }


def operation_id(route: APIRoute) -> str:
    """Stable ids for generated clients, e.g. `auth-register`, `users-read-me`."""
    return f"{route.tags[0]}-{route.name.replace('_', '-')}" if route.tags else route.name


def install_openapi(app: FastAPI) -> None:
    """Serve errors as application/problem+json in the document, 422s as ValidationProblem."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=declared_order(app),
            tags=app.openapi_tags,
        )
        if any(
            "security" in operation
            for path in schema.get("paths", {}).values()
            for operation in path.values()
        ):
            # The scheme the operations' `security` names (`router.include_routes`), as FastAPI
            # writes a security dependency's.
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[bearer_scheme.scheme_name] = jsonable_encoder(
                bearer_scheme.model, by_alias=True, exclude_none=True
            )
            schemes[API_KEY_SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "jbk_...",
                "description": "A company's API key (POST /companies/{company_id}/api-keys), "
                "sent as `Authorization: Bearer jbk_...`: on the routes that name this "
                "scheme, within the key's scopes and its company only.",
            }
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for model in (Problem, ValidationProblem):
            model_schema = model.model_json_schema(ref_template=_REF)
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _rewrite_errors(operation.get("responses", {}))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def declared_order(app: FastAPI) -> list[BaseRoute]:
    """The app's routes in the order they were added: what `router.match_hot_routes_first`
    moved to the front goes back to its place (a route added after it comes last)."""
    order: dict[int, int] = getattr(app.state, "declared_routes", {})
    return sorted(app.router.routes, key=lambda route: order.get(id(route), len(order)))


def _rewrite_errors(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        content = response.get("content", {})
        schema = content.pop("application/json", {}).get("schema")
        if status == "422":
            schema = {"$ref": _REF.format(model="ValidationProblem")}
            response["description"] = "The request is invalid (see `errors`)"
        response["content"] = {
            PROBLEM_MEDIA_TYPE: {"schema": schema or {"$ref": _REF.format(model="Problem")}}
        }
