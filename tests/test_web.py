"""The web app in a real browser: Debian's Chromium driven by Playwright, against a live
server (with its worker) on a throwaway database, mail written to files.

Two accounts end to end (an employer posts, a candidate finds and applies, the employer
moves the application, the candidate sees it), the session across reloads and sign-out,
the reset link from the mail, problems shown where they belong, an accessibility check
(axe-core) and screenshots of the main pages at desktop and phone widths, and no console
errors. Screenshots go to test-artifacts/screenshots/.
"""

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
import pytest
from sqlalchemy.engine import URL

from backend.db import admin
from tests import documents
from tests.conftest import PGBOUNCER_PORT
from tests.mailbox import link_token, text_of, to
from tests.receiver import receiving
from tests.test_server import Server, free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError("Chromium is missing (apt-get install chromium)")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402


@dataclass
class Site:
    server: Server
    mail: Path
    url: str
    database: URL

    def mail_to(self, address: str, *, seconds: float = 10) -> list[Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = to(self.mail, address)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address}")

    def wait_for(self, address: str, subject: str, *, seconds: float = 10) -> Any:
        """The one mail to `address` with `subject`, once the worker has sent it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [mail for mail in to(self.mail, address) if mail["Subject"] == subject]
            if found:
                (mail,) = found
                return mail
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address} about {subject!r}")


@pytest.fixture(scope="module")
def site(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = database_url.set(database=f"jobboard_web_{uuid.uuid4().hex[:12]}")
    admin.create_database(url)
    admin.upgrade(url)
    mail = tmp_path_factory.mktemp("mail")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(
        url,
        port=port,
        log=mail.parent / "server.log",
        WORKER_IN_PROCESS="true",
        WORKER_POLL_SECONDS="0.2",
        # PgBouncer in transaction mode cannot LISTEN: the worker polls there.
        WORKER_LISTEN_NOTIFY=str(not PGBOUNCER_PORT).lower(),
        WORKER_HEARTBEAT_FILE=str(mail.parent / "alive"),
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(mail),
        FRONTEND_URL=base,
        API_URL=base,
        RATE_LIMITS_ENABLED="false",
        NOTIFY_BATCH_MINUTES="0",
        # New posters publish at once, whatever their jobs' signals; the moderation flow
        # holds a company's jobs itself.
        MODERATION_FIRST_JOBS="0",
        MODERATION_SIGNALS_HOLD="false",
        JOBS_PER_DAY="100000",
        JOBS_PER_DAY_PER_DOMAIN="1000000",
        # The webhook walk-through's receiver listens on the loopback interface.
        WEBHOOK_ALLOW_PRIVATE="true",
    )
    try:
        yield Site(server=server, mail=mail, url=base, database=url)
    finally:
        stop_server(server)
        admin.drop_database(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """A page, and every error its console or its scripts reported."""

    page: Page
    errors: list[str] = field(default_factory=list)
    # API answers a test provokes on purpose (a wrong password): statuses as text.
    expected: set[str] = field(default_factory=set)
    # Every answer of 400 or more the page received ("status url").
    answers: list[str] = field(default_factory=list)

    def unexpected_errors(self) -> list[str]:
        """Console errors, and the answers of 400 or more, not provoked on purpose; a 5xx
        is never expected."""
        unexpected = [answer for answer in self.answers if answer.split()[0] not in self.expected]
        errors = [
            error
            for error in self.errors
            if not (error.startswith("Failed to load resource") and not unexpected)
        ]
        return errors + unexpected


@pytest.fixture
def new_tab(browser: Browser, site: Site) -> Iterator[Callable[..., Tab]]:
    contexts: list[BrowserContext] = []

    def make(viewport: dict[str, int] = DESKTOP, context: BrowserContext | None = None) -> Tab:
        if context is None:
            context = browser.new_context(viewport=viewport, base_url=site.url)  # type: ignore[arg-type]
            contexts.append(context)
        page = context.new_page()
        tab = Tab(page)
        page.on(
            "console",
            lambda message: tab.errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: tab.errors.append(f"script error: {error}"))
        page.on(
            "response",
            lambda response: (
                tab.errors.append(f"answered {response.status} {response.url}")
                if response.status >= 500
                else None
            ),
        )
        return tab

    yield make
    for context in contexts:
        context.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def sign_up(tab: Tab, site: Site, *, name: str, email: str, role: str) -> None:
    page = tab.page
    page.goto("/signup")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Account type").select_option(role)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status").filter(has_text="Welcome!")).to_be_visible()
    # An employer lands on the dashboard, a candidate on the search.
    expect(page).to_have_url(re.compile(r"/dashboard$" if role == "employer" else r"/$"))
    # The link mailed by the worker confirms the address, in this browser.
    (mail,) = site.mail_to(email)
    page.goto(f"/verify-email?token={link_token(mail, '/verify-email')}")
    expect(page.get_by_text("Your address is confirmed.")).to_be_visible()


def sign_in(tab: Tab, email: str, password: str = PASSWORD) -> None:
    page = tab.page
    page.goto("/signin")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The sign-in page then moves on by itself: a click before that would be overtaken.
    expect(page).not_to_have_url(re.compile(r"/signin"))
    expect(page.locator("main h1")).not_to_have_text("Sign in")


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} "
        f"{[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


# What a page shows when a script printed a value that was not there.
LEAKED = re.compile(r"\b(null|undefined|NaN)\b|\[object Object\]")


def screenshot(page: Page, name: str) -> None:
    shown = page.locator("main").inner_text()
    assert not LEAKED.search(shown), (name, shown)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def create_admin(site: Site, email: str) -> str:
    """An admin account made from the command line, as the README says; its address."""
    import subprocess
    import sys

    from tests.test_worker import worker_environment

    made = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "backend", "create-admin", "--email", email],
        cwd=ROOT,
        env=worker_environment(site.database, 25),
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    return email


def add_first_company(tab: Tab, name: str) -> None:
    """An employer's first company, from the dashboard; the dashboard is then loaded again
    (it redraws itself once its first company exists)."""
    page = tab.page
    page.goto("/dashboard")
    add = page.get_by_role("form", name="Add a company")
    add.get_by_label("Company name").fill(name)
    add.get_by_role("button", name="Add company").click()
    expect(page.get_by_text(f"Added {name}.")).to_be_visible()
    page.reload()


def post_job(tab: Tab, *, title: str, **fields: str) -> None:
    page = tab.page
    form = page.get_by_role("form", name="Post a job")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Description").fill(fields.get("description", "Build things people use."))
    form.get_by_label("Location").fill(fields.get("location", "Lisbon, Portugal"))
    form.get_by_label("Workplace").select_option(fields.get("workplace", "remote"))
    form.get_by_label("Minimum salary").fill(fields.get("salary_min", "60000"))
    form.get_by_label("Maximum salary").fill(fields.get("salary_max", "80000"))
    form.get_by_label("Currency").fill("EUR")
    form.get_by_label("Tags").fill(fields.get("tags", "python, django"))
    form.get_by_label("Status").select_option(fields.get("status", "published"))
    form.get_by_role("button", name="Post the job").click()
    expect(page.get_by_role("status").filter(has_text=f'Posted "{title}"')).to_be_visible()


def test_an_employer_posts_a_candidate_applies_and_follows_it(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer, candidate = new_tab(), new_tab()
    boss, seeker = unique("boss"), unique("seeker")
    sign_up(employer, site, name="Grace Hopper", email=boss, role="employer")
    page = employer.page
    page.get_by_role("link", name="Dashboard").click()
    add = page.get_by_role("form", name="Add a company")
    add.get_by_label("Company name").fill("Analytical Engines")
    add.get_by_role("button", name="Add company").click()
    expect(page.get_by_text("Added Analytical Engines.")).to_be_visible()
    page.reload()
    title = f"Compiler Engineer {uuid.uuid4().hex[:6]}"
    post_job(employer, title=title)
    screenshot(page, "dashboard-desktop")

    sign_up(candidate, site, name="Ada Lovelace", email=seeker, role="candidate")
    page = candidate.page
    page.goto("/")
    search = page.get_by_role("search", name="Search jobs")
    search.get_by_label("What").fill(title.split()[0].lower())
    # Autocomplete offers the title as one types.
    expect(page.locator(f'#title-suggestions option[value="{title}"]')).to_be_attached()
    search.get_by_label("What").fill(title)
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/\?q=Compiler"))
    expect(page.get_by_role("link", name=title)).to_be_visible()
    screenshot(page, "search-desktop")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_text("Analytical Engines")).to_be_visible()
    screenshot(page, "job-desktop")
    page.get_by_label("Cover letter (optional)").fill("I would love to.")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Your application is in.")).to_be_visible()
    # The job page then says so, rather than offer the form again.
    page.reload()
    expect(
        page.get_by_text(re.compile(r"You applied on .*; your application is submitted"))
    ).to_be_visible()
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)

    # The employer hears of it (NOTIFY_BATCH_MINUTES=0 here), and moves it.
    site.wait_for(boss, f"1 new applicant for {title}")
    page = employer.page
    page.goto("/dashboard")
    page.get_by_role("link", name="Applicants and edit").first.click()
    expect(page.get_by_role("heading", name="Applicants")).to_be_visible()
    expect(page.get_by_role("link", name=seeker)).to_have_attribute("href", f"mailto:{seeker}")
    expect(page.get_by_role("cell", name=re.compile("^Ada Lovelace seeker"))).to_be_visible()
    page.get_by_label(re.compile("Stage of application")).select_option("interview")
    page.get_by_role("button", name="Move Ada Lovelace's application").click()
    # Exactly the stage cell, written from the answer: the cell of the stage picker is
    # named after its choice before anything is saved.
    expect(page.get_by_role("cell", name="Interview (interviewing)", exact=True)).to_be_visible()

    page = candidate.page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(urlparse(request.url).path))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications").click()
    expect(page.get_by_role("cell", name="interviewing", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=title)).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("Analytical Engines"))).to_be_visible()
    # The whole list in one request (each application names its job and company), and the
    # API's choices once per page load at most: never a request per row.
    api = [path for path in requested if path.startswith("/api/")]
    assert api.count("/api/v1/users/me/applications") == 1
    assert set(api) <= {"/api/v1/users/me/applications", "/api/v1/options"}
    screenshot(page, "applications-desktop")
    site.wait_for(seeker, f"Your application for {title}: interviewing")
    assert employer.unexpected_errors() == []
    assert candidate.unexpected_errors() == []


def test_a_session_survives_a_reload_and_a_new_tab_and_ends_on_sign_out(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    email = unique("stay")
    sign_up(tab, site, name="Stay Put", email=email, role="candidate")
    page = tab.page
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # A new tab of the same browser: signed in from the refresh cookie alone.
    other = new_tab(context=page.context)
    other.page.goto("/account")
    expect(other.page.get_by_role("heading", name="Account")).to_be_visible()
    # The access token is in memory only: nothing in storage a script could read later.
    storage = page.evaluate("JSON.stringify(Object.assign({}, window.localStorage))")
    assert "eyJ" not in storage
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["refresh_token"]["httpOnly"] is True
    assert cookies["refresh_token"]["path"] == "/api/v1/auth"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    # Ended on the server: the old refresh token no longer works anywhere.
    stale = cookies["refresh_token"]["value"]
    answer = httpx.post(f"{site.url}/api/v1/auth/refresh", json={"refresh_token": stale})
    assert answer.status_code == 401
    assert tab.unexpected_errors() == []
    assert other.unexpected_errors() == []


def test_the_account_page_offers_a_candidate_their_mail_and_signs_out_everywhere(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    tab, other = new_tab(), new_tab()
    email = unique("settings")
    sign_up(tab, site, name="Mail Reader", email=email, role="candidate")
    sign_in(other, email)
    page = tab.page
    page.goto("/account")
    mail = page.get_by_role("form", name="Mail we send you")
    expect(mail.get_by_role("checkbox")).to_have_count(2)
    expect(mail.get_by_label("Changes to my applications")).to_be_checked()
    expect(mail.get_by_label("New jobs for my saved searches")).to_be_checked()
    expect(mail.get_by_label("New applicants to my jobs")).to_have_count(0)
    mail.get_by_label("New jobs for my saved searches").uncheck()
    mail.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page.get_by_role("status").filter(has_text="signed out everywhere")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    # The other browser's session ended too: its next page finds it signed out.
    other.page.goto("/account")
    expect(other.page.get_by_role("link", name="Sign in")).to_be_visible()
    assert tab.unexpected_errors() == []


def test_a_reset_link_from_the_mail_sets_a_new_password(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    email = unique("forgetful")
    sign_up(tab, site, name="Forgetful", email=email, role="candidate")
    page = tab.page
    page.get_by_role("button", name="Sign out").click()
    page.goto("/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status").filter(has_text="reset link")).to_be_visible()
    reset = site.wait_for(email, "Reset your password")
    page.goto(f"/reset-password?token={link_token(reset, '/reset-password')}")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()
    sign_in(tab, email, "a brand new passphrase")
    assert tab.unexpected_errors() == []


def test_problems_show_next_to_their_fields_and_429_says_how_long(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    page = tab.page
    page.goto("/signup")
    page.get_by_label("Full name").fill("Short Password")
    page.get_by_label("Email").fill(unique("short"))
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    error_id = (password.get_attribute("aria-describedby") or "").split()[0]
    # In the reader's words, not the validator's ("String should have at least 8 ...").
    expect(page.locator(f"#{error_id}")).to_have_text("Use at least 8 characters.")
    tab.expected.add("422")

    # Five wrong passwords for one address, then 429 with the wait from Retry-After.
    email = unique("locked")
    for _ in range(6):
        page.goto("/signin")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"Try again in \d+ seconds"))
    tab.expected |= {"401", "429"}
    assert tab.unexpected_errors() == []


def publish_through_the_api(
    site: Site, employer: Tab, titles: list[str], *, company: str = "Place Co", **fields: str
) -> None:
    """A company of the signed-in employer's, and a published job of it for each title, in
    that order, through the API with the tab's session."""
    token = employer.page.evaluate(
        """async () => (await (await fetch('/api/v1/auth/refresh', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{}'})).json()).access_token"""
    )
    headers = {"Authorization": f"Bearer {token}"}
    made = httpx.post(f"{site.url}/api/v1/companies", json={"name": company}, headers=headers)
    assert made.status_code == 201, made.text
    for title in titles:
        created = httpx.post(
            f"{site.url}/api/v1/jobs",
            headers=headers,
            json={
                "company_id": made.json()["id"],
                "title": title,
                "description": "Work.",
                "location": "Porto",
                "workplace": "remote",
                "employment_type": "full_time",
                "status": "published",
                **fields,
            },
        )
        assert created.status_code == 201, created.text


def test_search_lives_in_the_address_and_loads_more(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    email = unique("many")
    sign_up(employer, site, name="Many Jobs", email=email, role="employer")
    word = f"zq{uuid.uuid4().hex[:6]}"
    publish_through_the_api(
        site,
        employer,
        [f"Role {number} {word}" for number in range(23)],
        company="Batch Co",
        workplace="hybrid",
        employment_type="contract",
    )
    tab = new_tab()
    page = tab.page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(urlparse(request.url).path))
    page.goto(f"/?q={word}&workplace=hybrid&employment_type=contract&sort=newest")
    search = page.get_by_role("search", name="Search jobs")
    expect(search.get_by_label("What")).to_have_value(word)
    expect(search.get_by_label("Workplace")).to_have_value("hybrid")
    expect(search.get_by_label("Sort by")).to_have_value("newest")
    results = page.get_by_role("list", name="Jobs").locator(":scope > li")
    expect(results).to_have_count(20)
    expect(results.locator(".company")).to_have_text(["Batch Co"] * 20)
    # The page of 20 jobs in one request (each job names its company); the API's choices
    # once; the signed-out visitor's session check: never a request per row.
    api = [path for path in requested if path.startswith("/api/")]
    assert api.count("/api/v1/jobs") == 1
    assert set(api) <= {"/api/v1/jobs", "/api/v1/options", "/api/v1/auth/refresh"}, api
    page.get_by_role("button", name="Load more").click()
    expect(results).to_have_count(23)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    titles = results.locator("h2").all_inner_texts()
    assert titles == [f"Role {number} {word}" for number in range(22, -1, -1)]
    # Another search is another address; going back restores the first, with the pages
    # it had loaded.
    search.get_by_label("Type").select_option("full_time")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No jobs match this search.")).to_be_visible()
    page.go_back()
    expect(results).to_have_count(23)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    assert employer.unexpected_errors() == []
    assert tab.unexpected_errors() == []


def test_a_job_page_shows_formatted_descriptions_and_nothing_they_smuggle(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Formats", email=unique("md"), role="employer")
    page = employer.page
    page.goto("/dashboard")
    add = page.get_by_role("form", name="Add a company")
    add.get_by_label("Company name").fill("Markup Works")
    add.get_by_label("About").fill("We **build** engines.\n\n<img src=x onerror=window.pwned=1>")
    add.get_by_role("button", name="Add company").click()
    expect(page.get_by_text("Added Markup Works.")).to_be_visible()
    page.reload()
    title = f"Formatter {uuid.uuid4().hex[:6]}"
    description = (
        "### The role\n\nShip **fast** code, see [our site](https://markup.example).\n\n"
        "- reviews\n- tests\n\n<script>window.pwned = 2</script>\n\n"
        "[click](javascript:window.pwned=3)"
    )
    post_job(employer, title=title, description=description)
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    body = page.locator(".job-page > .description")
    expect(body.get_by_role("heading", name="The role")).to_be_visible()
    expect(body.locator("strong")).to_have_text("fast")
    expect(body.get_by_role("listitem")).to_have_text(["reviews", "tests"])
    link = body.get_by_role("link", name="our site")
    expect(link).to_have_attribute("href", "https://markup.example")
    expect(link).to_have_attribute("rel", "nofollow ugc noopener")
    # Raw HTML is shown as the text it is; a javascript: link is no link.
    expect(body.get_by_text("<script>window.pwned = 2</script>")).to_be_visible()
    expect(body.get_by_role("link", name="click")).to_have_count(0)
    about = page.get_by_role("region", name="About the company")
    expect(about.get_by_role("heading", name="About Markup Works")).to_be_visible()
    expect(about.locator("strong")).to_have_text("build")
    expect(about.get_by_text("<img src=x onerror=window.pwned=1>")).to_be_visible()
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("() => window.pwned") is None
    assert employer.unexpected_errors() == []


def test_a_job_page_carries_its_job_posting(site: Site, new_tab: Callable[..., Tab]) -> None:
    employer = new_tab()
    email = unique("ld")
    sign_up(employer, site, name="Structured", email=email, role="employer")
    page = employer.page
    add_first_company(employer, "Schema Works")
    title = "Engineer </script><script>alert(1)</script>"
    post_job(employer, title=title, location="Berlin, Germany")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    job_id = int(page.url.rsplit("/", 1)[1])

    html = httpx.get(f"{site.url}/jobs/{job_id}").text
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL)
    assert len(scripts) == 1
    posting = json.loads(scripts[0])
    # What search engines require of a JobPosting, and what they recommend.
    assert posting["@context"] == "https://schema.org/"
    assert posting["@type"] == "JobPosting"
    assert posting["title"] == title
    assert posting["description"] == "<p>Build things people use.</p>\n"
    assert posting["datePosted"].startswith(time.strftime("%Y"))
    assert posting["hiringOrganization"] == {"@type": "Organization", "name": "Schema Works"}
    assert posting["jobLocation"]["address"]["addressLocality"] == "Berlin, Germany"
    assert posting["jobLocationType"] == "TELECOMMUTE"
    assert posting["applicantLocationRequirements"]["name"] == "Berlin, Germany"
    assert posting["employmentType"] == "FULL_TIME"
    assert posting["baseSalary"] == {
        "@type": "MonetaryAmount",
        "currency": "EUR",
        "value": {
            "@type": "QuantitativeValue",
            "unitText": "YEAR",
            "minValue": 60000,
            "maxValue": 80000,
        },
    }
    assert posting["url"] == f"{site.url}/jobs/{job_id}"
    assert "alert(1)</script>" not in html  # the title cannot close the script
    # Not visible: no posting, and 404.
    assert httpx.get(f"{site.url}/jobs/999999999").status_code == 404
    assert employer.unexpected_errors() == []


def test_a_late_answer_never_lands_on_the_page_moved_to(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Slow", email=unique("late"), role="employer")
    page = employer.page
    add_first_company(employer, "Late Answers")
    post_job(employer, title="Patient Engineer")
    page.get_by_role("link", name="Patient Engineer").click()
    expect(page.get_by_role("heading", name="Patient Engineer")).to_be_visible()
    job_path = urlparse(page.url).path

    reader = new_tab()
    reader.page.goto("/")
    job_link = reader.page.locator(f'a[href="{job_path}"]').first
    expect(job_link).to_be_visible()
    # The job's read waits on the table's lock, held here: its answer comes only after the
    # reader has moved on to another page.
    with psycopg.connect(admin.conninfo(site.database)) as holder:
        holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        job_link.click()
        expect(reader.page).to_have_url(re.compile(re.escape(job_path) + "$"))
        reader.page.get_by_role("link", name="Sign in").click()
        expect(reader.page.get_by_role("heading", name="Sign in")).to_be_visible()
        holder.rollback()
    # The job's answer is free to come now; the page stays the one the reader chose.
    reader.page.wait_for_timeout(1500)
    expect(reader.page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(reader.page.get_by_role("heading", name="Patient Engineer")).to_have_count(0)
    assert reader.unexpected_errors() == []


def test_an_employer_sees_an_expired_job_as_expired_and_extends_it(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Expiry", email=unique("expiry"), role="employer")
    page = employer.page
    add_first_company(employer, "Dated Co")
    title = f"Dated Role {uuid.uuid4().hex[:6]}"
    post_job(employer, title=title)
    row = page.get_by_role("row").filter(has_text=title)
    expect(row.get_by_role("cell", name="published", exact=True)).to_be_visible()
    row.get_by_role("link", name="Applicants and edit").click()
    job_id = int(urlparse(page.url).path.rsplit("/", 1)[1])
    public = f"{site.url}/api/v1/jobs/{job_id}"
    assert httpx.get(public).status_code == 200

    # Set to have ended yesterday: off the board, and the dashboard says expired.
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    form = page.get_by_role("form", name="Edit the job")
    form.get_by_label("Expires on").fill(yesterday)
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    assert httpx.get(public).status_code == 404
    page.goto("/dashboard")
    expect(row.get_by_role("cell", name="expired", exact=True)).to_be_visible()
    # Extended by a month: back on the board.
    row.get_by_role("link", name="Applicants and edit").click()
    expect(page.locator("#job-status")).to_contain_text("Status: expired")
    later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    form.get_by_label("Expires on").fill(later)
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    assert httpx.get(public).status_code == 200
    assert httpx.get(public).json()["expires_at"] == f"{later}T23:59:59Z"
    page.goto("/dashboard")
    expect(row.get_by_role("cell", name="published", exact=True)).to_be_visible()
    assert employer.unexpected_errors() == []


def test_a_failure_is_said_where_it_happened(site: Site, new_tab: Callable[..., Tab]) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Errors", email=unique("errors"), role="employer")
    page = employer.page
    # A job that is not there is "not found"; a request the API refuses says why instead.
    page.goto("/dashboard/jobs/999999999")
    expect(page.get_by_role("heading", name="Job not found")).to_be_visible()
    page.goto("/dashboard/jobs/99999999999999999999")
    expect(page.get_by_role("heading", name="The job could not be loaded")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="99999999999999999999")).to_have_count(0)
    expect(page.locator("main [role=alert]")).not_to_be_empty()


def test_a_saved_search_is_mailed_weekly_then_daily_again(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    candidate = new_tab()
    sign_up(candidate, site, name="Saver", email=unique("saver"), role="candidate")
    page = candidate.page
    page.goto("/?q=gardener")
    page.get_by_role("button", name="Save this search").click()
    expect(page.get_by_role("status").filter(has_text="Saved:")).to_be_visible()
    page.goto("/saved-searches")
    card = page.get_by_role("listitem").filter(has_text="gardener")
    expect(card).to_contain_text("mailed daily")
    card.get_by_role("button", name="Mail weekly").click()
    expect(
        page.get_by_role("status").filter(has_text='"gardener" is now mailed weekly.')
    ).to_be_visible()
    expect(card).to_contain_text("mailed weekly")
    expect(card.get_by_role("button", name="Mail daily")).to_be_visible()
    card.get_by_role("button", name="Mail daily").click()
    expect(card).to_contain_text("mailed daily")
    page.reload()
    expect(page.get_by_role("listitem").filter(has_text="gardener")).to_contain_text("mailed daily")
    assert candidate.unexpected_errors() == []


PAGES = {
    "home": "/",
    "signin": "/signin",
    "signup": "/signup",
    "forgot-password": "/forgot-password",
    "feeds": "/feeds",
    "not-found": "/no-such-page",
}


def test_the_footers_feed_link_opens_a_page_for_people(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    tab.page.goto("/")
    tab.page.get_by_role("link", name="Feed of new jobs").click()
    expect(tab.page.get_by_role("heading", name="Feeds of new jobs")).to_be_visible()
    feed = f"{site.url}/api/v1/jobs/feed"
    expect(tab.page.locator("#feed-address")).to_have_text(feed)
    expect(tab.page.get_by_role("link", name="The feed itself")).to_have_attribute("href", feed)
    # What a reader fetches says its charset.
    assert httpx.get(feed).headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert tab.unexpected_errors() == []


def test_every_page_is_accessible_and_quiet_at_both_widths(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    anonymous = {
        name: new_tab(viewport) for name, viewport in (("desktop", DESKTOP), ("phone", PHONE))
    }
    # The one error a page may show: the 404 of the page that does not exist.
    missing = "Failed to load resource: the server responded with a status of 404"
    for width, tab in anonymous.items():
        for name, path in PAGES.items():
            tab.errors.clear()
            tab.page.goto(path)
            expect(tab.page.locator("main h1")).to_be_visible()
            assert serious_violations(tab.page) == [], (width, path)
            screenshot(tab.page, f"{name}-{width}")
            expected = [missing] if name == "not-found" else []
            assert [error[: len(missing)] for error in tab.errors] == expected, (width, path)
    # Signed-in pages, as a candidate and as an employer.
    for role, pages in (
        (
            "candidate",
            ["/", "/account", "/applications", "/profile", "/saved-searches", "/saved-jobs"],
        ),
        ("employer", ["/dashboard", "/account"]),
    ):
        for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            tab = new_tab(viewport)
            sign_up(tab, site, name=role.title(), email=unique(role), role=role)
            for path in pages:
                tab.page.goto(path)
                expect(tab.page.locator("main h1")).to_be_visible()
                assert serious_violations(tab.page) == [], (role, width, path)
                screenshot(tab.page, f"{role}{path.replace('/', '-')}-{width}")
            assert tab.errors == [], (role, width)


def test_an_employer_runs_a_job_through_its_life_and_a_candidate_withdraws(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer, candidate = new_tab(), new_tab()
    sign_up(employer, site, name="Life Cycle", email=unique("cycle"), role="employer")
    page = employer.page
    page.goto("/dashboard")
    add = page.get_by_role("form", name="Add a company")
    add.get_by_label("Company name").fill("Cycle Co")
    add.get_by_role("button", name="Add company").click()
    expect(page.get_by_text("Added Cycle Co.")).to_be_visible()
    # The dashboard redraws itself once its first company exists: start from a fresh one.
    page.reload()
    # Edit the company.
    page.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_role("form", name="Edit Cycle Co")
    edit.get_by_label("Company name").fill("Cycle Company")
    edit.get_by_role("button", name="Save company").click()
    expect(page.get_by_role("heading", name="Cycle Company")).to_be_visible()
    title = f"Draft Role {uuid.uuid4().hex[:6]}"
    post_job(employer, title=title, status="draft")
    row = page.get_by_role("row").filter(has_text=title)
    expect(row.get_by_role("cell", name="draft", exact=True)).to_be_visible()
    row.get_by_role("button", name="Publish").click()
    expect(row.get_by_role("cell", name="published", exact=True)).to_be_visible()
    # Closing asks first: declined, nothing changes; confirmed, it says it is done.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Close").click()
    expect(row.get_by_role("cell", name="published", exact=True)).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Close").click()
    expect(row.get_by_role("cell", name="closed", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="is closed.")).to_be_visible()
    row.get_by_role("button", name="Publish").click()  # republish
    expect(row.get_by_role("cell", name="published", exact=True)).to_be_visible()
    # Edit it on its own page.
    row.get_by_role("link", name="Applicants and edit").click()
    form = page.get_by_role("form", name="Edit the job")
    form.get_by_label("Title").fill(f"{title} (remote)")
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    assert serious_violations(page) == []
    job_url = page.url

    sign_up(candidate, site, name="Changes Mind", email=unique("mind"), role="candidate")
    cpage = candidate.page
    cpage.goto(f"/jobs/{job_url.rsplit('/', 1)[1]}")
    expect(cpage.get_by_role("heading", name=f"{title} (remote)")).to_be_visible()
    cpage.get_by_role("button", name="Apply").click()
    expect(cpage.get_by_text("Your application is in.")).to_be_visible()
    cpage.get_by_role("navigation", name="Main").get_by_role("link", name="My applications").click()
    cpage.once("dialog", lambda dialog: dialog.dismiss())
    cpage.get_by_role("button", name="Withdraw").click()
    expect(cpage.get_by_role("button", name="Withdraw")).to_be_visible()
    cpage.once("dialog", lambda dialog: dialog.accept())
    cpage.get_by_role("button", name="Withdraw").click()
    expect(cpage.get_by_role("cell", name="withdrawn")).to_be_visible()
    expect(cpage.get_by_role("status").filter(has_text="is withdrawn.")).to_be_visible()
    expect(cpage.get_by_role("button", name="Withdraw")).to_have_count(0)

    # Delete, confirming the browser's question.
    page.goto("/dashboard")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text=title).get_by_role("button", name="Delete").click()
    expect(page.get_by_role("row").filter(has_text=title)).to_have_count(0)
    cpage.goto(job_url.replace("/dashboard", ""))
    expect(cpage.get_by_role("heading", name="Job not found")).to_be_visible()
    candidate.expected.add("404")
    assert employer.unexpected_errors() == []
    assert candidate.unexpected_errors() == []


def test_an_admin_finds_demotes_and_deactivates_an_account(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    admin_email = create_admin(site, unique("root"))
    target_tab = new_tab()
    target = unique("target")
    sign_up(target_tab, site, name="Target", email=target, role="employer")

    tab = new_tab()
    sign_in(tab, admin_email)
    page = tab.page
    page.get_by_role("link", name="Admin").click()
    search = page.get_by_role("search", name="Find accounts")
    search.get_by_label("Email contains").fill(target.split("@")[0])
    search.get_by_role("button", name="Find").click()
    row = page.get_by_role("row").filter(has_text=target)
    expect(row).to_have_count(1)
    assert serious_violations(page) == []
    screenshot(page, "admin-desktop")
    row.get_by_label(f"Role of {target}").select_option("candidate")
    row.get_by_role("button", name="Set role").click()
    expect(
        page.get_by_role("status").filter(has_text=f"{target} is now a candidate.")
    ).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deactivate").click()
    expect(row.get_by_role("cell", name="deactivated")).to_be_visible()
    # The deactivated account's open page finds itself signed out at its next request.
    target_tab.page.goto("/account")
    expect(target_tab.page.get_by_role("link", name="Sign in")).to_be_visible()
    answer = httpx.post(
        f"{site.url}/api/v1/auth/token", data={"username": target, "password": PASSWORD}
    )
    assert answer.status_code == 403
    target_tab.expected |= {"401", "403"}
    assert tab.unexpected_errors() == []
    assert target_tab.unexpected_errors() == []


def test_a_moderator_rejects_a_held_job_and_its_poster_reads_why(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    moderator_email = create_admin(site, unique("moderator"))
    poster = new_tab()
    poster_email = unique("held")
    sign_up(poster, site, name="Held Poster", email=poster_email, role="employer")
    add_first_company(poster, "Held Company")
    # The admin (a moderator too) sets the company to be reviewed always, through the API.
    token = httpx.post(
        f"{site.url}/api/v1/auth/token",
        data={"username": moderator_email, "password": PASSWORD},
    ).json()["access_token"]
    mine = httpx.post(
        f"{site.url}/api/v1/auth/token", data={"username": poster_email, "password": PASSWORD}
    ).json()["access_token"]
    (company,) = httpx.get(
        f"{site.url}/api/v1/users/me/companies", headers={"Authorization": f"Bearer {mine}"}
    ).json()["items"]
    policy = httpx.put(
        f"{site.url}/api/v1/moderation/companies/{company['id']}/review-policy",
        json={"review_policy": "always"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert policy.status_code == 200, policy.text
    title = f"Held Role {uuid.uuid4().hex[:6]}"
    post_job(poster, title=title)
    page = poster.page
    expect(page.get_by_role("status").filter(has_text="a moderator reviews it")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=title)
    expect(row.get_by_role("cell", name="in review", exact=True)).to_be_visible()

    tab = new_tab()
    sign_in(tab, moderator_email)
    moderation = tab.page
    moderation.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
    queued = moderation.get_by_role("row").filter(has_text=title)
    expect(queued).to_contain_text(poster_email)
    expect(queued).to_contain_text("0 approved, 0 rejected")
    queued.get_by_role("link", name=title).click()
    expect(moderation.get_by_role("heading", name=title)).to_be_visible()
    assert serious_violations(moderation) == []
    screenshot(moderation, "moderation-review-desktop")
    thread = moderation.get_by_role("form", name="Write a comment")
    thread.get_by_label("Comment").fill("Where is the <i>office</i>?")
    thread.get_by_role("button", name="Send").click()
    expect(moderation.get_by_role("status").filter(has_text="in the thread")).to_be_visible()
    decide = moderation.get_by_role("form", name="Decide")
    decide.get_by_label("Decision").select_option("rejected")
    decide.get_by_label("incomplete").check()
    note = "<b>Say</b> where the job is."
    decide.get_by_label("Note to the poster").fill(note)
    decide.get_by_role("button", name="Decide").click()
    expect(moderation.get_by_role("heading", name="Jobs waiting for review")).to_be_visible()
    expect(moderation.get_by_role("row").filter(has_text=title)).to_have_count(0)

    page.reload()
    row = page.get_by_role("row").filter(has_text=title)
    expect(row.get_by_role("cell", name="rejected", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="Publish")).to_have_count(0)
    row.get_by_role("link", name="Applicants and edit").click()
    decisions = page.get_by_role("region", name="Moderators' decisions")
    expect(decisions).to_contain_text("rejected")
    expect(decisions).to_contain_text("incomplete")
    # The note is text, as written.
    expect(decisions.get_by_text(note)).to_be_visible()
    expect(decisions.locator("b")).to_have_count(0)
    thread_section = page.get_by_role("region", name="The job's thread")
    expect(thread_section.get_by_text("Where is the <i>office</i>?")).to_be_visible()
    expect(thread_section).to_contain_text("A moderator")
    expect(thread_section.locator("i")).to_have_count(0)
    mail = site.wait_for(poster_email, f"{title} was not approved")
    assert "Reasons: incomplete" in mail.get_body(("plain",)).get_content()
    assert tab.unexpected_errors() == []
    assert poster.unexpected_errors() == []


def test_anyone_reports_a_job_from_its_page(site: Site, new_tab: Callable[..., Tab]) -> None:
    poster = new_tab()
    sign_up(poster, site, name="Reported", email=unique("reported"), role="employer")
    add_first_company(poster, "Reported Co")
    title = f"Reported Role {uuid.uuid4().hex[:6]}"
    post_job(poster, title=title)
    row = poster.page.get_by_role("row").filter(has_text=title)
    row.get_by_role("link", name=title).click()
    job_path = urlparse(poster.page.url).path

    visitor = new_tab()
    page = visitor.page
    page.goto(job_path)
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    page.get_by_text("Report this job").click()
    report = page.get_by_role("form", name="Report this job")
    report.get_by_label("Why").select_option("scam")
    report.get_by_label("What a moderator should know (optional)").fill("Asks for a <b>fee</b>.")
    assert serious_violations(page) == []
    report.get_by_role("button", name="Send the report").click()
    expect(
        page.get_by_role("status").filter(has_text="a moderator will look at it")
    ).to_be_visible()
    # Once per job: the same address again is told so.
    page.reload()
    page.get_by_text("Report this job").click()
    page.get_by_role("form", name="Report this job").get_by_role(
        "button", name="Send the report"
    ).click()
    expect(page.get_by_text("You have already reported this job")).to_be_visible()
    visitor.expected.add("409")
    assert visitor.unexpected_errors() == []
    assert poster.unexpected_errors() == []


def test_a_401_is_refreshed_once_and_the_request_retried(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    sign_up(tab, site, name="Expired Token", email=unique("expired"), role="candidate")
    page = tab.page
    page.goto("/")
    refreshes: list[str] = []
    page.on(
        "request",
        lambda request: (
            refreshes.append(request.url) if request.url.endswith("/auth/refresh") else None
        ),
    )
    answered_401: list[str] = []

    def expire_once(route: Any) -> None:
        # The access token expired: the server says 401 once.
        if not answered_401:
            answered_401.append(route.request.url)
            route.fulfill(
                status=401,
                content_type="application/problem+json",
                body=json.dumps(
                    {
                        "type": "about:blank",
                        "title": "Unauthorized",
                        "status": 401,
                        "detail": "Signature has expired.",
                    }
                ),
            )
        else:
            route.continue_()

    page.route("**/api/v1/users/me/notifications", expire_once)
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("group", name="Send me mail about")).to_be_visible()
    assert len(answered_401) == 1
    assert len(refreshes) == 1  # one refresh, then the retry succeeded
    tab.expected.add("401")
    assert tab.unexpected_errors() == []


def test_swagger_ui_authorizes_and_calls_a_protected_route(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    email = unique("docs")
    registered = httpx.post(
        f"{site.url}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "full_name": "Docs Reader"},
    )
    assert registered.status_code == 201
    tab = new_tab()
    page = tab.page
    page.goto("/docs")
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    page.locator("#oauth_username").fill(email)
    page.locator("#oauth_password").fill(PASSWORD)
    page.get_by_role("button", name="Apply given OAuth2 credentials").click()
    modal = page.locator(".modal-ux")
    expect(modal.locator("button", has_text="Logout")).to_be_visible()
    expect(modal).to_contain_text("Authorized")
    # One Close a scheme (the company API key's is left unused): either closes the dialog.
    modal.locator("button", has_text="Close").first.click()
    operation = page.locator("#operations-users-users-read-me")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    response = operation.locator(".live-responses-table tbody .response-col_status").first
    expect(response).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text(email)


def test_an_owner_invites_a_recruiter_who_joins_by_the_link_and_posts_for_the_company(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    owner = new_tab()
    sign_up(owner, site, name="Team Owner", email=unique("owner"), role="employer")
    company = f"Team Co {uuid.uuid4().hex[:6]}"
    add_first_company(owner, company)
    recruiter = new_tab()
    address = unique("recruiter")
    sign_up(recruiter, site, name="Rita Recruiter", email=address, role="employer")

    page = owner.page
    card = page.get_by_role("listitem").filter(has_text=company).first
    expect(card.get_by_text("you are owner")).to_be_visible()
    card.get_by_role("link", name="Team and activity").click()
    expect(page.get_by_role("heading", name=f"{company}: team")).to_be_visible()
    invite = page.get_by_role("form", name=f"Invite to {company}")
    invite.get_by_label("Their address").fill(address)
    invite.get_by_label("Role").select_option("recruiter")
    invite.get_by_role("button", name="Invite").click()
    expect(page.get_by_text(f"An invitation is on its way to {address}.")).to_be_visible()
    team = page.locator(".team-area")
    expect(team.get_by_text(address)).to_be_visible()

    mail = site.wait_for(address, f"Join {company} on Job board")
    joined = recruiter.page
    joined.goto(f"/invitations/accept?token={link_token(mail, '/invitations/accept')}")
    expect(joined.get_by_text("You joined the company")).to_be_visible()
    joined.goto("/dashboard")
    mine = joined.get_by_role("listitem").filter(has_text=company).first
    expect(mine.get_by_text("you are recruiter")).to_be_visible()
    # A recruiter posts for the company, and sees neither its integrations nor its editor.
    expect(mine.get_by_role("link", name="Team")).to_be_visible()
    expect(mine.get_by_text("Integrations")).to_have_count(0)
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0)
    title = f"Team Role {uuid.uuid4().hex[:6]}"
    post_job(recruiter, title=title)

    page.reload()
    expect(team.get_by_text("Rita Recruiter", exact=True)).to_be_visible()
    expect(team.get_by_text("Rita Recruiter: job created")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "dashboard-team")
    page.goto("/dashboard")
    expect(page.get_by_role("row").filter(has_text=title)).to_be_visible()


def test_an_owner_adds_a_webhook_sees_its_deliveries_and_sends_one_again(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    owner = new_tab()
    sign_up(owner, site, name="Hook Owner", email=unique("hooks"), role="employer")
    company = f"Hooked Co {uuid.uuid4().hex[:6]}"
    add_first_company(owner, company)
    page = owner.page
    card = page.get_by_role("listitem").filter(has_text=company).first
    card.get_by_role("link", name="Integrations: API keys and webhooks").click()
    expect(page.get_by_role("heading", name=f"{company}: integrations")).to_be_visible()
    card = page.locator(".hooks-area")
    with receiving() as receiver:
        maker = page.get_by_role("form", name=f"New webhook for {company}")
        maker.get_by_label("Endpoint address").fill(receiver.url)
        maker.get_by_label("a job is published").check()
        maker.get_by_role("button", name="Add the webhook").click()
        expect(card.get_by_text("Copy the signing secret now")).to_be_visible()
        secret = card.locator("code.secret").inner_text()
        assert secret.startswith("whsec_")
        expect(card.get_by_text(receiver.url)).to_be_visible()

        integrations = page.url
        title = f"Hooked Role {uuid.uuid4().hex[:6]}"
        page.goto("/dashboard")
        post_job(owner, title=title)
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        (posted,) = receiver.received
        assert posted.verified(secret)["data"]["title"] == title
        page.goto(integrations)
        card.get_by_text("Deliveries", exact=True).click()
        expect(card.get_by_text("job.published", exact=True)).to_be_visible()
        expect(card.get_by_text("delivered today (204")).to_be_visible()
        card.get_by_role(
            "button", name=re.compile(r"Send the job.published event \d+ again")
        ).click()
        expect(page.get_by_text("The job.published event goes out again.")).to_be_visible()
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [m.headers["webhook-id"] for m in receiver.received] == [
            posted.headers["webhook-id"]
        ] * 2
        assert serious_violations(page) == []
        screenshot(page, "dashboard-webhooks")


def test_an_employer_verifies_their_company_and_its_jobs_show_the_badge(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Verifier", email=unique("verifier"), role="employer")
    page = employer.page
    add_first_company(employer, "Proven Co")
    domain = f"proven-{uuid.uuid4().hex[:8]}.example"
    card = page.get_by_role("listitem").filter(has_text="Proven Co")
    expect(card.get_by_text("Give the company its website to verify it.")).to_be_visible()
    card.get_by_role("button", name="Edit").click()
    editor = page.get_by_role("form", name="Edit Proven Co")
    editor.get_by_label("Website").fill(f"https://www.{domain}")
    editor.get_by_role("button", name="Save company").click()
    expect(editor).to_be_hidden()
    page.reload()

    card.get_by_text("Verify this company").click()
    ask = page.get_by_role("form", name="Verify Proven Co")
    ask.get_by_label("An address at the website's domain").fill(f"jobs@{domain}")
    ask.get_by_role("button", name="Mail the link").click()
    expect(
        page.get_by_role("status").filter(has_text=f"on its way to jobs@{domain}")
    ).to_be_visible()
    (mail,) = site.mail_to(f"jobs@{domain}")
    # Whoever reads that mailbox opens the link, signed in or not.
    reader = new_tab()
    reader.page.goto(f"/verify-company?token={link_token(mail, '/verify-company')}")
    expect(reader.page.get_by_text(f"Proven Co is verified at {domain}.")).to_be_visible()

    page.reload()
    expect(card.get_by_text("Verified", exact=True)).to_be_visible()
    expect(card.get_by_text(f"Verified at {domain}.")).to_be_visible()
    title = f"Proven Role {uuid.uuid4().hex[:6]}"
    post_job(employer, title=title)
    reader.page.goto(f"/?q={title.replace(' ', '+')}")
    listed = reader.page.get_by_role("listitem").filter(has_text=title)
    expect(listed.get_by_text("Verified", exact=True)).to_be_visible()
    listed.get_by_role("link", name=title).click()
    expect(reader.page.get_by_role("heading", name=title)).to_be_visible()
    expect(reader.page.get_by_text("Verified", exact=True)).to_be_visible()
    # Its JobPosting names the proven website as the organisation's.
    html = httpx.get(reader.page.url).text
    (script,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL)
    assert json.loads(script)["hiringOrganization"] == {
        "@type": "Organization",
        "name": "Proven Co",
        "sameAs": f"https://www.{domain}",
    }
    assert employer.unexpected_errors() == []
    assert reader.unexpected_errors() == []


def test_an_employer_says_a_job_is_still_open_from_the_mail_and_the_dashboard(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    import subprocess
    import sys

    from tests.test_worker import worker_environment

    employer = new_tab()
    email = unique("still-open")
    sign_up(employer, site, name="Still Open", email=email, role="employer")
    page = employer.page
    add_first_company(employer, "Lasting Co")
    title = f"Lasting Role {uuid.uuid4().hex[:6]}"
    post_job(employer, title=title)
    row = page.get_by_role("row").filter(has_text=title)
    row.get_by_role("link", name="Applicants and edit").click()
    job_id = int(urlparse(page.url).path.rsplit("/", 1)[1])
    expect(page.locator("#open-check")).to_contain_text("Confirmed open today.")

    # Published 40 days ago and never confirmed since: the hourly run asks its owner.
    with psycopg.connect(admin.conninfo(site.database)) as db:
        db.execute(
            "UPDATE jobs SET published_at = published_at - interval '40 days', "
            "confirmed_open_at = confirmed_open_at - interval '40 days' WHERE id = %s",
            (job_id,),
        )
    queued = subprocess.run(
        [sys.executable, "-m", "backend", "tasks", "run", "open-checks"],
        cwd=ROOT,
        env=worker_environment(site.database, 25),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert queued.returncode == 0, queued.stderr
    page.reload()
    expect(page.locator("#open-check")).to_contain_text("Confirmed open 40 days ago.")
    mail = site.wait_for(email, f"Is {title} still open?")
    still_open = link_token(mail, "/open-check")  # the first link: "still open"

    # The mailed link answers in any browser, signed in or not.
    reader = new_tab()
    reader.page.goto(f"/open-check?token={still_open}")
    expect(reader.page.get_by_text(f'"{title}" is confirmed open. Thank you!')).to_be_visible()
    reader.page.goto(f"/jobs/{job_id}")
    expect(reader.page.get_by_text("confirmed open by the employer today")).to_be_visible()
    # Used once: a second time says so.
    reader.page.goto(f"/open-check?token={still_open}")
    used = reader.page.get_by_text("This link is invalid, expired or already answered.")
    expect(used).to_be_visible()

    # From the dashboard, any time.
    page.reload()
    page.get_by_role("button", name="Still open").click()
    confirmed = page.get_by_role("status").filter(has_text=f'"{title}" is confirmed open.')
    expect(confirmed).to_be_visible()
    assert employer.unexpected_errors() == []
    assert reader.unexpected_errors() == []


def test_an_edit_of_a_published_job_waits_for_a_moderator_while_the_job_stays(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    moderator_email = create_admin(site, unique("edit-moderator"))
    poster = new_tab()
    poster_email = unique("editor")
    sign_up(poster, site, name="Edit Poster", email=poster_email, role="employer")
    add_first_company(poster, "Edited Company")
    title = f"Edited Role {uuid.uuid4().hex[:6]}"
    post_job(poster, title=title)  # published at once on this board
    page = poster.page
    row = page.get_by_role("row").filter(has_text=title)
    row.get_by_role("link", name="Applicants and edit").click()
    job_id = int(urlparse(page.url).path.rsplit("/", 1)[1])
    # From now on the company's jobs and edits are reviewed (set by the admin, a moderator).
    token = httpx.post(
        f"{site.url}/api/v1/auth/token",
        data={"username": moderator_email, "password": PASSWORD},
    ).json()["access_token"]
    company_id = httpx.get(f"{site.url}/api/v1/jobs/{job_id}").json()["company_id"]
    policy = httpx.put(
        f"{site.url}/api/v1/moderation/companies/{company_id}/review-policy",
        json={"review_policy": "always"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert policy.status_code == 200, policy.text

    editor = page.get_by_role("form", name="Edit the job")
    editor.get_by_label("Title").fill(f"{title} (Senior)")
    editor.get_by_role("button", name="Save changes").click()
    expect(
        page.get_by_role("status").filter(has_text="wait for a moderator's review")
    ).to_be_visible()
    held = page.get_by_role("region", name="Changes held for review")
    expect(held).to_contain_text("Waiting for review")
    public = f"{site.url}/api/v1/jobs/{job_id}"
    assert httpx.get(public).json()["title"] == title  # the board shows it as it was

    tab = new_tab()
    sign_in(tab, moderator_email)
    moderation = tab.page
    moderation.goto("/moderation")
    edits = moderation.get_by_role("region", name="Edits held for review")
    edits.get_by_role("link", name=title).click()
    expect(moderation.get_by_role("heading", name=f"Edit of {title}")).to_be_visible()
    changed = moderation.get_by_role("row").filter(has_text="Title")
    expect(changed).to_contain_text(f"{title} (Senior)")
    assert serious_violations(moderation) == []
    decide = moderation.get_by_role("form", name="Decide on the edit")
    decide.get_by_label("Decision").select_option("approved")
    decide.get_by_role("button", name="Decide").click()
    expect(moderation.get_by_role("heading", name="Jobs waiting for review")).to_be_visible()
    expect(edits).to_contain_text("No edit is waiting for review.")

    assert httpx.get(public).json()["title"] == f"{title} (Senior)"
    page.reload()
    expect(page.get_by_role("region", name="Changes held for review")).to_contain_text("approved")
    site.wait_for(poster_email, f"Your changes to {title} (Senior) are published")
    assert tab.unexpected_errors() == []
    assert poster.unexpected_errors() == []


def test_a_moderator_bans_a_domain_and_lifts_the_ban(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    moderator_email = create_admin(site, unique("banner"))
    tab = new_tab()
    sign_in(tab, moderator_email)
    page = tab.page
    page.goto("/moderation")
    banned = page.get_by_role("region", name="Banned domains")
    domain = f"spam-{uuid.uuid4().hex[:8]}.example"
    ban = page.get_by_role("form", name="Ban a domain")
    ban.get_by_label("Domain").fill(f"JOBS.{domain.upper()}")
    ban.get_by_role("button", name="Ban").click()
    # A subdomain is no registrable domain: said next to the field, nothing banned.
    expect(ban).to_contain_text("registrable domain")
    ban.get_by_label("Domain").fill(domain.upper())
    ban.get_by_label("Reason").fill("<b>Fake</b> jobs")
    ban.get_by_role("button", name="Ban").click()
    expect(page.get_by_role("status").filter(has_text=f"{domain} is banned.")).to_be_visible()
    expect(banned.get_by_text("<b>Fake</b> jobs", exact=False)).to_be_visible()
    expect(banned.locator("li b")).to_have_count(0)
    assert serious_violations(page) == []
    page.reload()
    expect(banned.get_by_text(domain, exact=True)).to_be_visible()
    banned.get_by_role("button", name=f"Lift the ban on {domain}").click()
    expect(
        page.get_by_role("status").filter(has_text=f"{domain} is no longer banned.")
    ).to_be_visible()
    page.reload()
    expect(banned.get_by_text(domain, exact=True)).to_have_count(0)
    assert tab.unexpected_errors() == []


def test_a_candidate_sends_a_resume_and_the_employer_finds_and_reads_it(
    site: Site, new_tab: Callable[..., Tab], tmp_path: Path
) -> None:
    employer, candidate = new_tab(), new_tab()
    boss, seeker = unique("boss"), unique("seeker")
    sign_up(employer, site, name="Grace Hopper", email=boss, role="employer")
    add_first_company(employer, "Difference Engines")
    title = f"Loom Programmer {uuid.uuid4().hex[:6]}"
    post_job(employer, title=title)

    sign_up(candidate, site, name="Ada Lovelace", email=seeker, role="candidate")
    page = candidate.page
    page.get_by_role("link", name="Profile").click()
    profile = page.get_by_role("form", name="My profile")
    profile.get_by_label("Headline").fill("Poetical scientist")
    profile.get_by_label("Skills").fill("Mathematics, looms")
    profile.get_by_label("Open to remote work").check()
    profile.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    # A file that is no résumé is refused, and says why, where it was sent.
    uploader = page.get_by_role("form", name="Upload a résumé")
    picture = tmp_path / "photo.pdf"
    picture.write_bytes(documents.PNG)
    uploader.get_by_label("Résumé file").set_input_files(picture)
    uploader.get_by_role("button", name="Upload").click()
    expect(uploader.get_by_role("alert")).to_contain_text("PDF, DOCX, ODT, RTF or plain text")
    candidate.expected.add("422")
    resume = tmp_path / "Ada Lovelace.pdf"
    resume.write_bytes(documents.pdf("Analytical engine programmer, Bernoulli numbers"))
    uploader.get_by_label("Résumé file").set_input_files(resume)
    uploader.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="Ada Lovelace.pdf")).to_be_visible()
    screenshot(page, "profile-desktop")

    # The worker's daily figures of how the employer answers (written here as it would).
    with psycopg.connect(admin.conninfo(site.database), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO company_responsiveness (company_id, applications, answered,"
            " median_seconds, computed_at) SELECT id, 12, 9, 5.5 * 3600, now() FROM companies"
            " WHERE name = 'Difference Engines'"
        )
    page.goto("/")
    page.get_by_role("link", name=title).click()
    expect(
        page.get_by_text(
            "This employer answered 75% of 12 applications within 30 days, usually within 1 day."
        )
    ).to_be_visible()
    apply = page.get_by_role("form", name="Apply")
    expect(apply.get_by_label("Résumé", exact=True)).to_contain_text("Ada Lovelace.pdf")
    apply.get_by_label("Cover letter (optional)").fill("Here is my résumé.")
    apply.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Your application is in.")).to_be_visible()

    page = employer.page
    page.goto("/dashboard")
    # The dashboard counts each job's applicants, by status.
    expect(page.get_by_role("cell", name="1: 1 Applied", exact=True)).to_be_visible()
    page.get_by_role("link", name="Applicants and edit").first.click()
    # A blind first pass hides who applied, until revealed.
    page.get_by_label(re.compile("Blind first pass")).check()
    expect(page.get_by_text("Hidden by the blind first pass")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("^Ada Lovelace"))).to_have_count(0)
    page.get_by_role("button", name=re.compile("Reveal who made application")).click()
    expect(page.get_by_role("cell", name=re.compile("^Ada Lovelace seeker"))).to_be_visible()
    finder = page.get_by_role("search", name="Search the résumés")
    # The worker reads the résumé's text a moment after the upload: search until it has.
    deadline = time.monotonic() + 15
    while True:
        finder.get_by_label("Search the résumés").fill("bernoulli")
        finder.get_by_role("button", name="Search").click()
        if page.get_by_role("cell", name=re.compile("^Ada Lovelace seeker")).count():
            break
        assert time.monotonic() < deadline, "the résumé's text was never searchable"
        page.wait_for_timeout(300)
    finder.get_by_label("Search the résumés").fill("astronomy")
    finder.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No applications match.")).to_be_visible()
    finder.get_by_label("Search the résumés").fill("")
    finder.get_by_role("button", name="Search").click()
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Download Ada Lovelace's résumé").click()
    download = waiting.value
    assert download.suggested_filename == "Ada Lovelace.pdf"
    assert Path(download.path()).read_bytes() == resume.read_bytes()
    page.get_by_role("button", name="Ada Lovelace's profile").click()
    expect(page.get_by_text("Poetical scientist")).to_be_visible()
    expect(page.get_by_role("list", name="Skills")).to_contain_text("looms")
    # Moved with the selected ones (here, one), then a private note, then a rejection with
    # its reason; the export has the application.
    page.get_by_label("Select Ada Lovelace's application").check()
    page.get_by_label("New stage of the selected applications").select_option("interview")
    page.get_by_role("button", name="Move the selected").click()
    expect(page.get_by_text("1 application is now in Interview.")).to_be_visible()
    expect(page.get_by_role("cell", name="Interview (interviewing)", exact=True)).to_be_visible()
    page.get_by_text("Answers, timeline, notes and interviews").click()
    page.get_by_label("Private note").fill("Knows Bernoulli numbers by heart.")
    page.get_by_role("button", name="Add the note").click()
    expect(page.locator("details.timeline")).to_contain_text("Knows Bernoulli numbers by heart.")
    page.get_by_label("When").fill("2031-05-01T10:00")
    page.get_by_label("Where").fill("https://meet.example/loom")
    page.get_by_role("button", name="Propose the interview").click()
    expect(page.get_by_text("the candidate is mailed an invitation")).to_be_visible()
    invitation = site.wait_for(seeker, f"Interview for {title} at Difference Engines")
    assert any(part.get_content_type() == "text/calendar" for part in invitation.walk())
    page.get_by_label(re.compile("Stage of application")).select_option("rejected")
    page.get_by_label(re.compile("Reason for rejecting application")).select_option(
        "position_filled"
    )
    page.get_by_role("button", name="Move Ada Lovelace's application").click()
    expect(page.get_by_role("cell", name="Rejected (rejected)", exact=True)).to_be_visible()
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Download as CSV").click()
    exported = Path(waiting.value.path()).read_text()
    assert "Here is my résumé." in exported
    assert "Ada Lovelace.pdf" in exported
    assert serious_violations(page) == []
    screenshot(page, "applicants-desktop")

    # The candidate's timeline: opened, then rejected; never the note or the reason. The
    # interview proposed before the rejection went with it, and its cancellation was mailed.
    page = candidate.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications").click()
    page.get_by_text("Timeline", exact=True).click()
    interviews = page.get_by_role("list", name=re.compile("Interviews for application"))
    expect(interviews).to_contain_text("cancelled")
    expect(page.get_by_role("button", name="Accept")).to_have_count(0)
    site.wait_for(seeker, f"Cancelled: interview for {title} at Difference Engines")
    history = page.locator("details.timeline")
    expect(history).to_contain_text("moved: rejected")
    expect(history).to_contain_text("interview: cancelled")
    expect(history).to_contain_text("viewed")
    expect(history).not_to_contain_text("Bernoulli")
    expect(history).not_to_contain_text("position")
    assert employer.unexpected_errors() == []
    assert candidate.unexpected_errors() == []


def test_an_employer_shapes_the_pipeline_asks_questions_and_rejects_with_a_mail(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    boss = unique("boss")
    sign_up(employer, site, name="Grace Hopper", email=boss, role="employer")
    add_first_company(employer, "Compilers Ltd")
    title = f"Compiler Writer {uuid.uuid4().hex[:6]}"
    post_job(employer, title=title)
    page = employer.page
    page.get_by_role("link", name="Applicants and edit").first.click()
    # A stage of its own, put before Screening; and two questions, one that rules out.
    stages = page.get_by_role("form", name="Stages")
    stages.get_by_label("New stage").fill("Phone screen")
    stages.get_by_label("Of status").select_option("reviewing")
    stages.get_by_role("button", name="Add").click()
    for _ in range(5):
        stages.get_by_role("button", name="Move Phone screen up").press("Enter")
    stages.get_by_label("Name of stage 5").fill("Offer made")
    stages.get_by_role("button", name="Save the stages").click()
    expect(page.get_by_text("The stages are saved.")).to_be_visible()
    expect(stages.get_by_label("Name of stage 2")).to_have_value("Phone screen")
    expect(stages.get_by_label("Name of stage 5")).to_have_value("Offer made")
    questions = page.get_by_role("form", name="Add a question")
    questions.get_by_label("Question").fill("May you work in Portugal?")
    questions.get_by_label("Answered with").select_option("yes_no")
    questions.get_by_label("Required").check()
    questions.get_by_label("Rules out").fill("no")
    questions.get_by_role("button", name="Add the question").click()
    expect(page.get_by_text("The question is added.")).to_be_visible()
    questions.get_by_label("Question").fill("Favourite language?")
    questions.get_by_label("Answered with").select_option("choice")
    questions.get_by_label("Choices").fill("C, Lisp, COBOL")
    questions.get_by_role("button", name="Add the question").click()
    expect(page.get_by_text("Favourite language?")).to_be_visible()
    expect(page.get_by_text('Yes or no · required · "no" rules out')).to_be_visible()

    # Two candidates apply: one answers "no" and is ruled out at once.
    names = {"Jean Sammet": "true", "John Backus": "false"}
    emails = {name: unique("dev") for name in names}
    for name, allowed in names.items():
        candidate = new_tab()
        sign_up(candidate, site, name=name, email=emails[name], role="candidate")
        candidate.page.goto("/")
        candidate.page.get_by_role("link", name=title).click()
        apply = candidate.page.get_by_role("form", name="Apply")
        apply.get_by_label("May you work in Portugal?").select_option(allowed)
        apply.get_by_label("Favourite language? (optional)").select_option("Lisp")
        apply.get_by_role("button", name="Apply").click()
        expect(candidate.page.get_by_text("Your application is in.")).to_be_visible()
        assert candidate.unexpected_errors() == []

    page.reload()
    board = page.locator(".board")
    expect(board.locator('[data-stage="applied"]')).to_contain_text("Jean Sammet")
    expect(board.locator('[data-stage="rejected"]')).to_contain_text("John Backus")
    # By keyboard: the card's own control.
    card = board.locator(".card", has_text="Jean Sammet")
    card.get_by_label("Move Jean Sammet to").select_option("phone-screen")
    card.get_by_role("button", name="Move Jean Sammet").press("Enter")
    expect(page.get_by_text("Jean Sammet is now in Phone screen.")).to_be_visible()
    expect(board.locator('[data-stage="phone-screen"]')).to_contain_text("Jean Sammet")
    # By pointer: dragged by its name onto a column.
    board.locator(".card", has_text="Jean Sammet").drag_to(
        board.locator('[data-stage="interview"]'), source_position={"x": 12, "y": 10}
    )
    expect(page.get_by_text("Jean Sammet is now in Interview.")).to_be_visible()
    expect(board.locator('[data-stage="interview"]')).to_contain_text("Jean Sammet")
    expect(page.get_by_role("cell", name="Interview (interviewing)", exact=True)).to_be_visible()
    # The ruled-out answer shows with the application.
    page.get_by_text("Answers, timeline, notes and interviews").first.click()  # John's
    expect(page.locator(".answers").first).to_contain_text("No (ruled out)")
    # A rejection with a mail, previewed first.
    page.get_by_label(re.compile("Stage of application")).first.select_option("rejected")
    page.get_by_label("Mail to Jean Sammet if rejected").select_option("after_interview")
    page.get_by_label("Your words to Jean Sammet (optional)").fill(
        "Your Fortran tests were superb."
    )
    page.get_by_role("button", name="Preview the rejection mail to Jean Sammet").click()
    preview = page.locator(".preview").first
    expect(preview).to_contain_text(f"Your application for {title} at Compilers Ltd")
    expect(preview).to_contain_text("Your Fortran tests were superb.")
    assert serious_violations(page) == []
    screenshot(page, "pipeline-desktop")
    page.get_by_role("button", name="Move Jean Sammet's application").click()
    expect(board.locator('[data-stage="rejected"]')).to_contain_text("Jean Sammet")
    mail = site.wait_for(emails["Jean Sammet"], f"Your application for {title} at Compilers Ltd")
    assert "Your Fortran tests were superb." in text_of(mail)
    assert employer.unexpected_errors() == []


def test_an_employer_makes_an_api_key_its_ats_publishes_with_then_revokes_it(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Grace Hopper", email=unique("boss"), role="employer")
    add_first_company(employer, "Keyed Compilers")
    page = employer.page
    page.get_by_role("link", name="Integrations: API keys and webhooks").click()
    expect(page.get_by_role("heading", name="Keyed Compilers: integrations")).to_be_visible()
    expect(page.get_by_text("No keys yet.")).to_be_visible()
    maker = page.get_by_role("form", name="New API key for Keyed Compilers")
    maker.get_by_label("Key name").fill("Our ATS")
    maker.get_by_role("button", name="Make the key").click()
    expect(page.get_by_text("Copy the key now: it is shown this once.")).to_be_visible()
    secret = page.locator("code.secret").inner_text()
    assert secret.startswith("jbk_")
    expect(page.locator(".keys")).to_contain_text("never used")
    # The applicant-tracking system publishes with it.
    company_id = httpx.get(
        f"{site.url}/api/v1/companies", params={"q": "Keyed Compilers"}, timeout=10
    ).json()["items"][0]["id"]
    target = f"{site.url}/api/v1/companies/{company_id}/jobs/external/REQ-7"
    body = {
        "title": "Compiler Writer",
        "description": "From the ATS.",
        "location": "Porto",
        "workplace": "remote",
        "employment_type": "full_time",
    }
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.put(target, json=body, headers=headers, timeout=10).status_code == 201
    page.reload()
    expect(page.locator(".keys")).to_contain_text("last used")
    assert serious_violations(page) == []
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke the key Our ATS").click()
    expect(page.get_by_text("The key Our ATS is revoked: it stops working now.")).to_be_visible()
    assert httpx.get(target, headers=headers, timeout=10).status_code == 401
    assert employer.unexpected_errors() == []


def test_a_candidate_saves_a_job_finds_it_marked_and_sees_similar_ones(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Similar Co", email=unique("alike"), role="employer")
    add_first_company(employer, "Similar Co")
    word = f"Zq{uuid.uuid4().hex[:6]}"
    post_job(employer, title=f"{word} Platform Engineer")
    post_job(employer, title=f"{word} Senior Platform Engineer")
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        tab = new_tab(viewport)
        sign_up(tab, site, name="Saver", email=unique("saver"), role="candidate")
        page = tab.page
        page.goto(f"/?q={word}&sort=newest")
        results = page.get_by_role("list", name="Jobs").locator(":scope > li")
        expect(results).to_have_count(2)
        results.get_by_role("link", name=f"{word} Platform Engineer", exact=True).click()
        expect(page.locator("main h1")).to_have_text(f"{word} Platform Engineer")
        similar = page.get_by_role("list", name="Similar jobs").locator(":scope > li")
        expect(similar.get_by_role("link")).to_have_text([f"{word} Senior Platform Engineer"])
        save = page.get_by_role("button", name="Save this job")
        save.click()
        expect(page.get_by_role("button", name="Saved ✓ (remove)")).to_have_attribute(
            "aria-pressed", "true"
        )
        assert serious_violations(page) == [], width
        screenshot(page, f"job-saved-{width}")
        # Saved, it is marked in the search's list and listed among the saved jobs.
        page.goto(f"/?q={word}&sort=newest")
        marked = results.filter(has=page.locator(".badge.saved"))
        expect(marked.get_by_role("link")).to_have_text([f"{word} Platform Engineer"])
        page.get_by_role("link", name="Saved jobs").click()
        saved = page.get_by_role("list", name="Saved jobs").locator(":scope > li")
        expect(saved.get_by_role("link")).to_have_text([f"{word} Platform Engineer"])
        assert serious_violations(page) == [], width
        screenshot(page, f"saved-jobs-{width}")
        saved.get_by_role("button", name="Saved ✓ (remove)").click()
        expect(saved.get_by_role("button", name="Save this job")).to_be_visible()
        page.reload()
        expect(page.get_by_text("No saved jobs yet")).to_be_visible()
        assert tab.unexpected_errors() == [], width
    assert employer.unexpected_errors() == []


def test_on_a_phone_the_results_come_first_and_coming_back_finds_the_place(
    site: Site, new_tab: Callable[..., Tab]
) -> None:
    employer = new_tab()
    sign_up(employer, site, name="Place Keeper", email=unique("place"), role="employer")
    word = f"zp{uuid.uuid4().hex[:6]}"
    publish_through_the_api(
        site, employer, [f"Keeper {number} {word}" for number in range(30)], workplace="remote"
    )
    tab = new_tab(PHONE)
    page = tab.page
    page.goto("/")
    search = page.get_by_role("search", name="Search jobs")
    # The filters are folded behind one control; the words are there to type.
    expect(search.get_by_label("Workplace")).to_be_hidden()
    search.get_by_label("What").fill(word)
    search.get_by_role("button", name="Search").click()
    results = page.get_by_role("list", name="Jobs").locator(":scope > li")
    expect(results).to_have_count(20)
    # After a search the page shows its results, not the form.
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_in_viewport()
    search.locator("summary").click()
    expect(search.get_by_label("Workplace")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "search-filters-phone")
    page.get_by_role("button", name="Load more").click()
    expect(results).to_have_count(30)
    chosen = results.nth(25).get_by_role("link")
    title = chosen.inner_text()
    chosen.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    expect(results.nth(0)).not_to_be_in_viewport()
    chosen.click()
    expect(page.locator("main h1")).to_have_text(title)
    # The back button finds both pages and the place in the list.
    page.go_back()
    expect(results).to_have_count(30)
    expect(results.nth(25)).to_be_in_viewport()
    expect(results.nth(0)).not_to_be_in_viewport()
    # "← All jobs" returns to the same search, and its place.
    results.nth(25).get_by_role("link").click()
    expect(page.locator("main h1")).to_have_text(title)
    page.get_by_role("link", name="← All jobs").click()
    expect(page).to_have_url(re.compile(rf"\?q={word}$"))
    expect(results).to_have_count(30)
    expect(results.nth(25)).to_be_in_viewport()
    assert tab.unexpected_errors() == []
