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
