"""Query parameters read into a pydantic model, as a dependency.

FastAPI reads a query model (`Annotated[Model, Query()]`) by inspecting every field's type
again on every request, which measured about 210 us a request for a job search's nine
fields and 115 us for `?limit=&cursor=` (BENCHMARKS.md), more than running the search's
SQL costs the API in Python. `QueryParameters(Model, convert)` is a dependency that reads
the same parameters into the same model with the field shapes worked out once: a list
field takes every value given (`?tag=a&tag=b`), any other field the last one; the model
validates them as FastAPI would (the same errors, under `("query", field)`, as a 422).

The OpenAPI document still comes from FastAPI: `documented_parameters` asks it how it
documents `Annotated[Model, Query()]`, and `router.include_routes` adds that to each route
whose dependencies read parameters this way. One model, one description of it.
"""

import collections.abc
import functools
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
Value = TypeVar("Value")


# Collections FastAPI reads from repeated query parameters but these readers do not: a
# model declaring one is refused when the reader is made, not at a request.
_UNREAD_COLLECTIONS = (set, frozenset, tuple, collections.abc.Sequence, collections.abc.Set)


def _origins(annotation: Any) -> list[Any]:
    """The types a field may hold, through `Annotated` and unions."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _origins(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [found for arm in typing.get_args(annotation) for found in _origins(arm)]
    return [origin or annotation]


def _is_list(annotation: Any) -> bool:
    """Whether a field takes several values: `list[...]`, optional or not."""
    return list in _origins(annotation)


class QueryParameters(Generic[Model, Value]):
    """A dependency: the request's query parameters as `model`, passed through `convert`."""

    def __init__(self, model: type[Model], convert: Callable[[Request, Model], Value]) -> None:
        for name, field in model.model_fields.items():
            if field.alias not in (None, name) or field.validation_alias is not None:
                raise ValueError(f"{model.__name__}.{name}: query fields take no aliases")
        if model.model_config.get("extra") in ("allow", "forbid"):
            # FastAPI hands such a model every other parameter too; these read its own only.
            raise ValueError(f"{model.__name__}: query models ignore other parameters")
        for name, field in model.model_fields.items():
            unread = [
                kind
                for kind in _origins(field.annotation)
                if isinstance(kind, type)
                and kind is not list
                and not issubclass(kind, str | bytes)
                and issubclass(kind, _UNREAD_COLLECTIONS)
            ]
            if unread:
                raise TypeError(
                    f"{model.__name__}.{name}: declare several values as list[...] "
                    f"({unread[0].__name__} is not read from repeated parameters here)"
                )
        self.model = model
        self.convert = convert
        self._lists = tuple(
            name for name, field in model.model_fields.items() if _is_list(field.annotation)
        )
        self._single = tuple(name for name in model.model_fields if name not in self._lists)

    def read(self, request: Request) -> Model:
        """The parameters as the model; a RequestValidationError (422) if they are not."""
        received = request.query_params
        values: dict[str, Any] = {}
        for name in self._single:
            value = received.get(name)
            if value is not None:
                values[name] = value
        for name in self._lists:
            several = received.getlist(name)
            if several:
                values[name] = several
        try:
            return self.model.model_validate(values)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in errors]
            ) from None

    async def __call__(self, request: Request) -> Value:
        return self.convert(request, self.read(request))

    @property
    def documented(self) -> list[dict[str, Any]]:
        return documented_parameters(self.model)


@functools.cache
def documented_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI parameters FastAPI writes for `Annotated[model, Query()]`."""

    async def endpoint(query: Annotated[model, Query()]) -> None:  # type: ignore[valid-type]
        """Never called: declared for its document only."""

    document = get_openapi(title="", version="", routes=[APIRoute("/", endpoint)])
    parameters: list[dict[str, Any]] = document["paths"]["/"]["get"]["parameters"]
    return parameters


def same(_: Request, model: Model) -> Model:
    """The model itself, for a QueryParameters that converts nothing."""
    return model
