"""Bodies serialised once, on the routes every page view calls."""

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel, RootModel

JSON = "application/json"


def json_response(
    body: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """`body` written to JSON by pydantic's serializer, straight into the response.

    A route that returns a model instead has FastAPI validate it again against the route's
    `response_model`, turn it into a dict and write that with the json module: three passes
    over what was already checked when the model was built. The route keeps its
    `response_model=` for the OpenAPI document; the body is that model's JSON, as before.
    """
    return Response(
        body.model_dump_json(), status_code=status_code, headers=headers, media_type=JSON
    )


class Strings(RootModel[list[str]]):
    """A JSON array of strings, for `json_response`."""
