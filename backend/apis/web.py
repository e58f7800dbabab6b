"""The web app (backend/web): its pages and assets, served by the API itself.

Every page is the same shell (`index.html`) whose scripts build the page from the public
REST API; a job's page also carries the job's schema.org JobPosting, written here, so
that search engines read it without running any script. Not part of the OpenAPI document.
"""

from http import HTTPStatus
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.apis.deps import PublicReadDb, SettingsDep
from backend.core.ids import MAX_ID
from backend.core.problems import http_error
from backend.schemas import feeds
from backend.schemas.structured import job_posting, script_tag
from backend.services import jobs as jobs_service

WEB = Path(__file__).resolve().parents[1] / "web"
SHELL = (WEB / "index.html").read_text(encoding="utf-8")
STRUCTURED_DATA = "<!--structured-data-->"

# The app's own scripts, styles and the API: nothing else, nowhere else.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
        "object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # The shell is small and changes with each release; the data comes from the API.
    "Cache-Control": "no-cache",
}

# The app's pages (app.js routes the same paths).
PAGES = (
    "/",
    "/signin",
    "/signup",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/unsubscribe",
    "/verify-company",
    "/open-check",
    "/invitations/accept",
    "/account",
    "/applications",
    "/profile",
    "/saved-searches",
    "/saved-jobs",
    "/dashboard",
    "/admin",
    "/moderation",
    "/feeds",
)

router = APIRouter(include_in_schema=False)


def shell(structured: str = "", status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        SHELL.replace(STRUCTURED_DATA, structured),
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )


async def page() -> HTMLResponse:
    return shell()


for path in PAGES:
    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


@router.get("/dashboard/jobs/{job_id}", response_class=HTMLResponse)
async def dashboard_job(job_id: int) -> HTMLResponse:
    return shell()


@router.get("/dashboard/companies/{company_id}/team", response_class=HTMLResponse)
async def dashboard_team(company_id: int) -> HTMLResponse:
    return shell()


@router.get("/dashboard/companies/{company_id}/integrations", response_class=HTMLResponse)
async def dashboard_integrations(company_id: int) -> HTMLResponse:
    return shell()


@router.get("/moderation/jobs/{job_id}", response_class=HTMLResponse)
async def moderation_job(job_id: int) -> HTMLResponse:
    return shell()


@router.get("/moderation/revisions/{revision_id}", response_class=HTMLResponse)
async def moderation_revision(revision_id: int) -> HTMLResponse:
    return shell()


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(
    job_id: Annotated[int, PathParam(ge=1, le=MAX_ID)], db: PublicReadDb, settings: SettingsDep
) -> HTMLResponse:
    """A visible job's page, with its JobPosting naming the page's canonical address (at
    FRONTEND_URL, without a query; never the request's Host); the app says "not found"
    (404) for others."""
    job = await jobs_service.posting(db, job_id=job_id)
    if job is None:
        return shell(status_code=404)
    page = feeds.job_page(settings.frontend_url, job.id)
    website = job.company_website if job.company_verified else None
    posting = job_posting(job, company=job.company_name, page_url=page, website=website)
    return shell(script_tag(posting))


async def not_found_page(request: Request, exc: Exception) -> Response:
    """A GET of a path no route has, outside the API and the assets, is a page the app does
    not have: its shell says so, with a 404. Everything else keeps its problem answer."""
    path = request.url.path
    if (
        isinstance(exc, StarletteHTTPException)
        and exc.status_code == HTTPStatus.NOT_FOUND
        and request.method in ("GET", "HEAD")
        and not path.startswith(("/api/", "/static/"))
    ):
        return shell(status_code=HTTPStatus.NOT_FOUND)
    return await http_error(request, exc)


def install(app: FastAPI) -> None:
    """The web app's pages, its assets under /static, and its "not found" page."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    app.add_exception_handler(StarletteHTTPException, not_found_page)
