"""The web app's routes without a browser: pages and assets served, the JobPosting of a job
page written safely, and the setting that turns the app off."""

from typing import Any


async def test_the_web_app_can_be_turned_off(make_client: Any) -> None:
    on = await make_client(web_app_enabled=True)
    off = await make_client(web_app_enabled=False)
    for path in ("/", "/signin", "/static/app.js", "/no-such-page"):
        assert (await off.get(path)).status_code == 404, path
    home = await on.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert (await on.get("/static/app.js")).status_code == 200
    assert (await on.get("/no-such-page")).status_code == 404
    # Unknown API paths keep their problem answer; the API's own routes are untouched.
    missing = await on.get("/api/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert (await on.get("/health/live")).status_code == 200
    assert (await on.get("/openapi.json")).status_code == 200


async def test_a_job_pages_json_ld_names_its_canonical_address(
    client: Any, db: Any, company: Any
) -> None:
    import json
    import re

    from backend.db.models import JobStatus
    from tests.factories import create_job

    job = await create_job(db, company=company, status=JobStatus.published)
    settings = client.app.state.settings
    page = await client.get(
        f"/jobs/{job.id}", params={"utm": "<x>"}, headers={"Host": "evil.example"}
    )
    assert page.status_code == 200
    assert "evil.example" not in page.text
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S)
    assert found is not None
    posting = json.loads(found[1])
    assert posting["url"] == f"{settings.frontend_url.rstrip('/')}/jobs/{job.id}"


async def test_a_separate_origin_app_can_use_optimistic_concurrency(make_client: Any) -> None:
    app_origin = "https://app.example"
    client = await make_client(cors_origins=[app_origin])
    preflight = await client.options(
        "/api/v1/jobs/1",
        headers={
            "Origin": app_origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type,if-match",
        },
    )
    assert preflight.status_code == 200, preflight.text
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "if-match" in allowed
    answer = await client.get("/api/v1/jobs", headers={"Origin": app_origin})
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert {"etag", "retry-after", "location"} <= {h.strip() for h in exposed.split(",")}


async def test_no_page_can_be_framed_by_another_site(client: Any) -> None:
    for path in ("/docs", "/openapi.json", "/api/v1/jobs", "/"):
        answer = await client.get(path)
        assert answer.headers["x-frame-options"] == "DENY", path
    docs = await client.get("/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
