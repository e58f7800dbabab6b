"""The Atom feed of new jobs and the sitemaps of job pages: what search engines and feed
readers fetch."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, JobStatus, Workplace
from backend.services.jobs import FEED_SIZE, SITEMAP_IDS
from tests.factories import assert_problem, create_job

API = "/api/v1"
A = "{http://www.w3.org/2005/Atom}"
S = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
FRONTEND = "http://127.0.0.1:8000"


def parse(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 (this server's own output, in a test)


def atom(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = parse(response.content)
    assert feed.tag == f"{A}feed"
    # RFC 4287's required elements, on the feed and on every entry.
    for element in (feed, *feed.findall(f"{A}entry")):
        for required in ("id", "title", "updated"):
            assert (element.findtext(f"{A}{required}") or "").strip(), (element.tag, required)
    assert feed.find(f"{A}author/{A}name") is not None
    return feed


def entry_ids(feed: ET.Element) -> list[int]:
    ids = []
    for entry in feed.findall(f"{A}entry"):
        link = entry.find(f"{A}link[@rel='alternate']")
        assert link is not None
        assert link.get("href") == entry.findtext(f"{A}id")
        ids.append(int(link.get("href", "").rsplit("/", 1)[1]))
    return ids


async def test_the_feed_lists_visible_jobs_newest_first_linking_to_their_pages(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    now = datetime.now(UTC)
    older = await create_job(db, company=company, title="Older", published_at=now - timedelta(1))
    newer = await create_job(db, company=company, title="Newer", tags=["python"])
    await create_job(db, company=company, title="Draft", status=JobStatus.draft)
    await create_job(db, company=company, title="Closed", status=JobStatus.closed)
    await create_job(db, company=company, title="Gone", expires_at=now - timedelta(seconds=1))
    feed = atom(await client.get(f"{API}/jobs/feed"))
    assert entry_ids(feed) == [newer.id, older.id]
    first = feed.findall(f"{A}entry")[0]
    assert first.findtext(f"{A}id") == f"{FRONTEND}/jobs/{newer.id}"
    assert first.findtext(f"{A}title") == "Newer"
    assert first.findtext(f"{A}author/{A}name") == company.name
    assert [c.get("term") for c in first.findall(f"{A}category")] == ["python"]
    content = first.find(f"{A}content")
    assert content is not None
    assert content.get("type") == "html"
    assert content.text == "<p>Build and run our APIs.</p>\n"
    assert feed.find(f"{A}link[@rel='self']") is not None


async def test_a_feed_reader_reads_the_feed_whole_and_unmangled(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    """feedparser (what many readers are built on) finds nothing wrong in the feed and reads
    non-ASCII text as written, from the bytes and the header the server sends."""
    import feedparser

    job = await create_job(
        db, company=company, title="Café · Bäckerin (m/w/d) — 東京", tags=["crème-brûlée"]
    )
    response = await client.get(f"{API}/jobs/feed")
    parsed = feedparser.parse(
        response.content, response_headers={"content-type": response.headers["content-type"]}
    )
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.encoding == "utf-8"
    (entry,) = [e for e in parsed.entries if e.link == f"{FRONTEND}/jobs/{job.id}"]
    assert entry.title == "Café · Bäckerin (m/w/d) — 東京"
    assert [tag.term for tag in entry.tags] == ["crème-brûlée"]
    assert entry.author == company.name
    assert parsed.feed.links[0].href.endswith("/api/v1/jobs/feed")


async def test_the_feed_takes_the_lists_filters(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    remote = await create_job(
        db, company=company, title="Rust Engineer", workplace=Workplace.remote
    )
    await create_job(db, company=company, title="Rust Engineer", workplace=Workplace.onsite)
    await create_job(db, company=company, title="Gardener", workplace=Workplace.remote)
    feed = atom(await client.get(f"{API}/jobs/feed", params={"q": "rust", "workplace": "remote"}))
    assert entry_ids(feed) == [remote.id]
    assert feed.findtext(f"{A}title") == "New jobs: rust"
    # The same validation as the list: a bad filter is a 422, never a feed.
    assert_problem(await client.get(f"{API}/jobs/feed", params={"workplace": "moon"}), 422)
    assert_problem(await client.get(f"{API}/jobs/feed", params={"salary_min": "-1"}), 422)


async def test_the_feed_is_bounded(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    for number in range(FEED_SIZE + 3):
        await create_job(db, company=company, title=f"Job {number}")
    assert len(entry_ids(atom(await client.get(f"{API}/jobs/feed")))) == FEED_SIZE


async def test_characters_xml_cannot_carry_break_no_feed_or_sitemap(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    job = await create_job(db, company=company, title="Fine")
    # Stored by hand, as an older version or a script might have: \x0b is not XML 1.0.
    await db.execute(
        text("UPDATE jobs SET title = 'Tab\x0bbed <b>&', description = 'a\x01b' WHERE id = :id"),
        {"id": job.id},
    )
    feed = atom(await client.get(f"{API}/jobs/feed"))
    assert feed.findall(f"{A}entry")[0].findtext(f"{A}title") == "Tabbed <b>&"
    response = await client.get("/sitemaps/jobs-1.xml")
    assert response.status_code == 200
    parse(response.content)


async def test_the_sitemaps_list_every_visible_job_page_by_id_range(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    visible = [await create_job(db, company=company, title=f"Job {n}") for n in range(3)]
    hidden = await create_job(db, company=company, title="Draft", status=JobStatus.draft)
    index = await client.get("/sitemap.xml")
    assert index.status_code == 200, index.text
    assert index.headers["content-type"].startswith("application/xml")
    files = [loc.text for loc in parse(index.content).iter(f"{S}loc")]
    last = max(job.id for job in [*visible, hidden])
    assert len(files) == -(-last // SITEMAP_IDS)
    api = client.app.state.settings.api_url.rstrip("/")  # type: ignore[attr-defined]
    assert files[0] == f"{api}/sitemaps/jobs-1.xml"
    listed: dict[int, str] = {}
    for url in files:
        assert url is not None
        response = await client.get(url.removeprefix(api))
        assert response.status_code == 200, response.text
        for entry in parse(response.content).iter(f"{S}url"):
            loc = entry.findtext(f"{S}loc") or ""
            assert loc.startswith(f"{FRONTEND}/jobs/")
            listed[int(loc.rsplit("/", 1)[1])] = entry.findtext(f"{S}lastmod") or ""
    for job in visible:
        assert job.id in listed
        assert datetime.fromisoformat(listed[job.id]) == job.updated_at
    assert hidden.id not in listed
    # Past the last file: 404; not a file number: 422.
    assert_problem(await client.get(f"/sitemaps/jobs-{len(files) + 1}.xml"), 404)
    assert_problem(await client.get("/sitemaps/jobs-0.xml"), 422)


async def test_no_host_header_reaches_a_cached_document(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    await create_job(db, company=company, status=JobStatus.published)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    index = await client.get("/sitemap.xml", headers=evil)
    assert index.status_code == 200
    assert b"evil.example" not in index.content
    (loc,) = [element.text for element in parse(index.content).iter(f"{S}loc")]
    assert loc == f"{settings.api_url.rstrip('/')}/sitemaps/jobs-1.xml"

    feed = atom(await client.get(f"{API}/jobs/feed", params={"q": "engineer"}, headers=evil))
    assert b"evil.example" not in ET.tostring(feed)
    self_link = feed.find(f"{A}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == f"{settings.api_url.rstrip('/')}{API}/jobs/feed?q=engineer"
    assert feed.findtext(f"{A}id") == self_link.get("href")
