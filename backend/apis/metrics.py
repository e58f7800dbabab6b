"""Prometheus' scrape target."""

from fastapi import APIRouter, Request, Response

from backend.core.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """This process's metrics in Prometheus' text format (see backend.core.metrics)."""
    return Response(exposition(request.app.state.metrics), media_type=CONTENT_TYPE)
