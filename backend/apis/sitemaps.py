"""Sitemaps of the job pages, at the site's root where search engines look for them."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from backend.apis.deps import PublicReadDb, SettingsDep
from backend.apis.openapi import problem_responses
from backend.schemas.feeds import XML_CONTENT_TYPE, XML_MEDIA_TYPE, sitemap, sitemap_index
from backend.services import jobs as jobs_service

router = APIRouter(tags=["feeds"])

# Search engines may keep what they fetched this long (seconds).
MAX_AGE = 3600
XML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {XML_MEDIA_TYPE: {}}, "description": "XML (sitemaps.org)"}
}


def _xml(body: bytes) -> Response:
    return Response(
        body, media_type=XML_CONTENT_TYPE, headers={"Cache-Control": f"public, max-age={MAX_AGE}"}
    )


@router.get("/sitemap.xml", name="sitemap-index", response_class=Response, responses=XML_RESPONSE)
async def read_sitemap_index(db: PublicReadDb, settings: SettingsDep) -> Response:
    """The sitemap index: one sitemap file per range of 50 000 job ids, at the API's public
    address (API_URL; never the request's Host, which a cache would keep for everyone)."""
    files = await jobs_service.sitemap_files(db)
    base = settings.api_url.rstrip("/")
    return _xml(
        sitemap_index(f"{base}/sitemaps/jobs-{number}.xml" for number in range(1, files + 1))
    )


@router.get(
    "/sitemaps/jobs-{number}.xml",
    name="sitemap",
    response_class=Response,
    responses={**XML_RESPONSE, **problem_responses(404)},
)
async def read_sitemap(
    number: Annotated[int, Path(ge=1, le=1_000_000)], db: PublicReadDb, settings: SettingsDep
) -> Response:
    """The web app's page of every visible job in one range of ids, with its last change."""
    jobs = await jobs_service.sitemap_file(db, number=number)
    return _xml(sitemap(settings.frontend_url, jobs))
