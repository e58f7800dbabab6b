"""Résumés: uploads judged by their content, kept behind the file store, read by the worker
in a limited child process, downloaded by those allowed only, searched by employers."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import sandbox
from backend.core.documents import DocumentType, UnreadableDocument
from backend.db.models import Application, Job, Resume, Role, StoredFile
from backend.db.repository.applications import SEARCH_WINDOW
from backend.services.resumes import file_name
from tests import documents, hostile
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem, create_job, create_user, session_headers
from tests.tasks import run_queued

API = "/api/v1"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    name: str = "cv.pdf",
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    return await client.post(
        f"{API}/users/me/resumes",
        params={"file_name": name},
        content=content,
        headers={**headers, "Content-Type": content_type},
    )


async def stored(db: AsyncSession) -> tuple[int, int]:
    resumes = (await db.execute(select(func.count()).select_from(Resume))).scalar_one()
    files = (await db.execute(select(func.count()).select_from(StoredFile))).scalar_one()
    return resumes, files


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company)


# --- kinds, judged by content


@pytest.mark.parametrize(
    ("content", "name", "media_type", "kept_as", "pages"),
    [
        (documents.pdf("Ada Lovelace"), "My CV.pdf", PDF, "My CV.pdf", 1),
        (documents.pdf("Ada", pages=3), "cv", PDF, "cv.pdf", 3),
        (documents.word("Ada Lovelace"), "cv.docx", DOCX, "cv.docx", None),
        (documents.odt("Ada Lovelace"), "cv.odt", ODT, "cv.odt", None),
        (documents.rtf("Ada Lovelace"), "cv.rtf", "application/rtf", "cv.rtf", None),
        (b"Ada Lovelace\nPython\n", "cv.txt", "text/plain", "cv.txt", None),
        # The name says PDF, the content says Word: the content wins, and names the file.
        (documents.word("Ada"), "cv.pdf", DOCX, "cv.pdf.docx", None),
    ],
)
async def test_a_resume_is_kept_as_the_kind_its_content_is(
    client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    content: bytes,
    name: str,
    media_type: str,
    kept_as: str,
    pages: int | None,
) -> None:
    response = await upload(client, actors.candidate.headers, content, name, content_type=PDF)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id", "file_name", "media_type", "size", "pages", "text_state", "created_at",
    }  # fmt: skip
    assert (body["media_type"], body["file_name"], body["pages"]) == (media_type, kept_as, pages)
    assert body["size"] == len(content)
    assert body["text_state"] == "pending"
    listed = await client.get(f"{API}/users/me/resumes", headers=actors.candidate.headers)
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    assert await stored(db) == (1, 1)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "empty"),
        (documents.PNG, "PDF, DOCX, ODT, RTF or plain text"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)), "PDF, DOCX, ODT, RTF or plain text"),
        (b"Ada\x00Lovelace", "control characters"),
        (documents.pdf("Ada", password="secret"), "encrypted"),
        (documents.pdf("Ada")[:200], "cannot be read"),
        (documents.pdf("Ada", pages=51), "more than 50 pages"),
        (documents.zip_of({"notes.txt": b"hello"}), "not a DOCX or ODT"),
        (documents.spreadsheet(), "not a text document"),
        (documents.docx_bomb(), "unpacks to more than 64 MB"),
        (documents.zip_of({f"part{n}.xml": b"x" for n in range(1001)}), "more than 1000 parts"),
        (documents.damaged(documents.word("Ada")), "ZIP archive"),
        (b"   \n\t  ", "no text"),
    ],
)
async def test_anything_else_is_a_422_and_nothing_is_kept(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, content: bytes, says: str
) -> None:
    response = await upload(client, actors.candidate.headers, content, content_type=PDF)
    problem = assert_problem(response, 422)
    assert says in str(problem["detail"]), problem
    assert await stored(db) == (0, 0)


async def test_a_body_over_the_limit_is_413_by_its_declared_length(
    make_client: ClientFactory, db: AsyncSession, actors: Actors
) -> None:
    client = await make_client(resume_max_bytes=4096)
    response = await upload(client, actors.candidate.headers, b"a" * 4097)
    assert_problem(response, 413)
    assert await stored(db) == (0, 0)
    # The limit itself is fine.
    assert (await upload(client, actors.candidate.headers, b"a" * 4096)).status_code == 201


async def test_a_streamed_body_is_cut_off_at_the_limit_without_reading_the_rest(
    make_client: ClientFactory, db: AsyncSession, actors: Actors
) -> None:
    limit, chunk = 64 * 1024, 16 * 1024
    client = await make_client(resume_max_bytes=limit)
    sent = 0

    async def gigabyte() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(2**30 // chunk):
            sent += chunk
            yield b"a" * chunk

    response = await client.post(
        f"{API}/users/me/resumes",
        params={"file_name": "big.txt"},
        content=gigabyte(),
        headers=actors.candidate.headers,
    )
    assert_problem(response, 413)
    assert sent <= limit + 2 * chunk
    assert await stored(db) == (0, 0)


async def test_other_bodies_keep_the_small_limit(client: httpx.AsyncClient, actors: Actors) -> None:
    big = {"full_name": "x" * (2 * 1024 * 1024)}
    response = await client.patch(f"{API}/users/me", json=big, headers=actors.candidate.headers)
    assert_problem(response, 413)


@pytest.mark.parametrize(
    ("given", "kind", "kept"),
    [
        ("../../etc/passwd", DocumentType.text, "passwd.txt"),
        ("C:\\Users\\ada\\cv.PDF", DocumentType.pdf, "cv.pdf"),
        ('a"b\r\nc\x00.pdf', DocumentType.pdf, "abc.pdf"),
        ("...", DocumentType.pdf, "resume.pdf"),
        ("cv\u202efdp.exe", DocumentType.pdf, "cvfdp.exe.pdf"),
        ("a\u200bb\ufeff.txt", DocumentType.text, "ab.txt"),
        ("Lebenslauf Müller.docx", DocumentType.docx, "Lebenslauf Müller.docx"),
        ("x" * 400 + ".odt", DocumentType.odt, "x" * 251 + ".odt"),
    ],
)
def test_file_names_are_sanitised(given: str, kind: DocumentType, kept: str) -> None:
    assert file_name(given, kind) == kept


async def test_only_confirmed_candidates_upload(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors
) -> None:
    for who in ("employer", "admin"):
        response = await upload(client, getattr(actors, who).headers, documents.pdf("x"))
        assert_problem(response, 403)
    unconfirmed = await create_user(db, app, verified=False)
    headers = await session_headers(db, app, unconfirmed)
    assert_problem(await upload(client, headers, documents.pdf("x")), 403)
    assert_problem(await upload(client, {}, documents.pdf("x")), 401)
    assert await stored(db) == (0, 0)


async def test_a_candidate_keeps_at_most_ten(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    for n in range(10):
        response = await upload(client, actors.candidate.headers, f"cv {n}".encode(), "cv.txt")
        assert response.status_code == 201
    assert_problem(await upload(client, actors.candidate.headers, b"eleven", "cv.txt"), 409)
    assert await stored(db) == (10, 10)


# --- the sandbox


@pytest.mark.parametrize(
    ("function", "says"),
    [
        (hostile.spin, "takes too long"),
        (hostile.hog, "too much memory"),
        (hostile.crash, "cannot be read"),
    ],
)
async def test_a_parser_that_hangs_hogs_or_dies_is_a_refusal(function: Any, says: str) -> None:
    limits = sandbox.SandboxLimits(seconds=1.0, memory_bytes=512 * 2**20)
    started = time.monotonic()
    with pytest.raises(UnreadableDocument, match=says):
        await sandbox.run(limits, function)
    assert time.monotonic() - started < 5


# --- text, read by the worker, searched by employers


async def apply_with(
    client: httpx.AsyncClient, headers: dict[str, str], job_id: int, resume_id: int
) -> httpx.Response:
    return await client.post(
        f"{API}/jobs/{job_id}/applications",
        json={"resume_id": resume_id, "cover_letter": "Hello"},
        headers=headers,
    )


@pytest.mark.parametrize(
    "content",
    [
        documents.pdf("Senior Kubernetes engineer"),
        documents.word("Senior", table=[["Kubernetes", "engineer"]]),
        documents.odt("Senior Kubernetes engineer"),
        documents.rtf("Senior Kubernetes engineer"),
        b"Senior Kubernetes engineer",
    ],
)
async def test_the_worker_reads_the_text_and_employers_search_it(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job, content: bytes
) -> None:
    resume = (await upload(client, actors.candidate.headers, content, "cv")).json()
    other = (await upload(client, actors.other_candidate.headers, b"Gardener", "cv")).json()
    assert (
        await apply_with(client, actors.candidate.headers, job.id, resume["id"])
    ).status_code == 201
    assert (
        await apply_with(client, actors.other_candidate.headers, job.id, other["id"])
    ).status_code == 201
    await run_queued(client, db)
    read = await client.get(f"{API}/resumes/{resume['id']}", headers=actors.candidate.headers)
    assert read.json()["text_state"] == "ready"
    text = (await db.execute(select(Resume.text).where(Resume.id == resume["id"]))).scalar_one()
    assert "Kubernetes" in (text or "")

    for url in (f"{API}/jobs/{job.id}/applications", f"{API}/users/me/applicants"):
        found = await client.get(url, params={"q": "kubernetes"}, headers=actors.employer.headers)
        assert found.status_code == 200, found.text
        assert [item["resume_id"] for item in found.json()["items"]] == [resume["id"]]
        everyone = await client.get(url, headers=actors.employer.headers)
        assert len(everyone.json()["items"]) == 2
        nobody = await client.get(url, params={"q": "astronaut"}, headers=actors.employer.headers)
        assert nobody.json()["items"] == []
    listed = await client.get(f"{API}/users/me/applicants", headers=actors.employer.headers)
    assert {item["job_title"] for item in listed.json()["items"]} == {job.title}
    # Another employer's applicants are not this one's.
    theirs = await client.get(
        f"{API}/users/me/applicants",
        params={"q": "kubernetes"},
        headers=actors.other_employer.headers,
    )
    assert theirs.json()["items"] == []


async def test_a_file_the_worker_cannot_read_is_kept_but_not_searchable(
    make_client: ClientFactory, db: AsyncSession, actors: Actors, job: Job
) -> None:
    client = await make_client()
    resume = (await upload(client, actors.candidate.headers, documents.pdf("Kubernetes"))).json()
    await apply_with(client, actors.candidate.headers, job.id, resume["id"])
    # The worker reads with less time than a child process needs to start: it fails, for good.
    worker = await make_client(resume_parse_seconds=0.000001)
    await run_queued(worker, db)
    read = await client.get(f"{API}/resumes/{resume['id']}", headers=actors.candidate.headers)
    assert read.json()["text_state"] == "failed"
    found = await client.get(
        f"{API}/users/me/applicants", params={"q": "kubernetes"}, headers=actors.employer.headers
    )
    assert found.json()["items"] == []
    file = await client.get(f"{API}/resumes/{resume['id']}/file", headers=actors.employer.headers)
    assert file.status_code == 200


async def test_the_applicant_search_pages_like_one_big_page(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    for n in range(7):
        candidate = await create_user(db, app)
        headers = await session_headers(db, app, candidate)
        words = "kubernetes" if n % 3 else "gardening"
        resume = (await upload(client, headers, f"{words} {n}".encode(), "cv.txt")).json()
        assert (await apply_with(client, headers, job.id, resume["id"])).status_code == 201
    await run_queued(client, db)
    whole = await client.get(
        f"{API}/users/me/applicants",
        params={"q": "kubernetes", "limit": 100},
        headers=actors.employer.headers,
    )
    expected = [item["id"] for item in whole.json()["items"]]
    assert len(expected) == 4
    walked: list[int] = []
    params: dict[str, Any] = {"q": "kubernetes", "limit": 1}
    while True:
        page = await client.get(
            f"{API}/users/me/applicants", params=params, headers=actors.employer.headers
        )
        walked += [item["id"] for item in page.json()["items"]]
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert walked == expected
    # A cursor belongs to its query.
    foreign = await client.get(
        f"{API}/users/me/applicants",
        params={"q": "gardening", "cursor": page.json()["next_cursor"] or params["cursor"]},
        headers=actors.employer.headers,
    )
    assert_problem(foreign, 422)


@pytest.mark.parametrize("q", ['"unclosed', "a & | ! ( )", "-", "🙂" * 50, "' OR 1=1 --"])
async def test_any_search_words_are_an_answer(
    client: httpx.AsyncClient, actors: Actors, job: Job, q: str
) -> None:
    for url in (f"{API}/jobs/{job.id}/applications", f"{API}/users/me/applicants"):
        response = await client.get(url, params={"q": q}, headers=actors.employer.headers)
        assert response.status_code == 200, response.text


async def test_candidates_may_not_list_applicants(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    response = await client.get(f"{API}/users/me/applicants", headers=actors.candidate.headers)
    assert_problem(response, 403)


# --- who may read a résumé


async def test_a_resume_is_downloaded_by_its_candidate_and_the_employers_it_was_sent_to(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    content = documents.pdf("Ada")
    resume = (await upload(client, actors.candidate.headers, content, "Ada Müller.pdf")).json()
    file_url, meta_url = f"{API}/resumes/{resume['id']}/file", f"{API}/resumes/{resume['id']}"

    async def status_for(headers: dict[str, str]) -> tuple[int, int]:
        file = await client.get(file_url, headers=headers)
        meta = await client.get(meta_url, headers=headers)
        return file.status_code, meta.status_code

    # Before it is sent anywhere: its candidate alone.
    assert await status_for(actors.candidate.headers) == (200, 200)
    for who in ("employer", "other_employer", "other_candidate", "admin"):
        assert await status_for(getattr(actors, who).headers) == (404, 404), who
    assert await status_for({}) == (401, 401)

    assert (
        await apply_with(client, actors.candidate.headers, job.id, resume["id"])
    ).status_code == 201
    for who in ("candidate", "employer", "admin"):
        assert await status_for(getattr(actors, who).headers) == (200, 200), who
    for who in ("other_employer", "other_candidate"):
        assert await status_for(getattr(actors, who).headers) == (404, 404), who

    file = await client.get(file_url, headers=actors.employer.headers)
    assert file.content == content
    assert file.headers["content-type"] == PDF
    assert file.headers["content-disposition"] == (
        "attachment; filename=\"Ada M_ller.pdf\"; filename*=UTF-8''Ada%20M%C3%BCller.pdf"
    )
    assert file.headers["x-content-type-options"] == "nosniff"
    assert file.headers["cache-control"] == "private, no-store"
    text = (await upload(client, actors.candidate.headers, b"<script>x</script>", "a.html")).json()
    served = await client.get(f"{API}/resumes/{text['id']}/file", headers=actors.candidate.headers)
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["content-disposition"].startswith("attachment;")


async def test_sending_someone_elses_resume_is_404_and_applies_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    theirs = (await upload(client, actors.other_candidate.headers, b"Theirs", "cv.txt")).json()
    response = await apply_with(client, actors.candidate.headers, job.id, theirs["id"])
    assert_problem(response, 404)
    response = await apply_with(client, actors.candidate.headers, job.id, 999_999)
    assert_problem(response, 404)
    assert (await db.execute(select(func.count()).select_from(Application))).scalar_one() == 0


async def test_removing_a_resume_sent_with_an_application_keeps_it_for_the_employer(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    sent = (await upload(client, actors.candidate.headers, b"Sent", "sent.txt")).json()
    kept = (await upload(client, actors.candidate.headers, b"Never sent", "kept.txt")).json()
    await apply_with(client, actors.candidate.headers, job.id, sent["id"])
    for resume in (sent, kept):
        response = await client.delete(
            f"{API}/users/me/resumes/{resume['id']}", headers=actors.candidate.headers
        )
        assert response.status_code == 204
    listed = await client.get(f"{API}/users/me/resumes", headers=actors.candidate.headers)
    assert listed.json()["items"] == []
    # The one never sent is gone with its file; the employer still reads the one they got.
    assert await stored(db) == (1, 1)
    file = await client.get(f"{API}/resumes/{sent['id']}/file", headers=actors.employer.headers)
    assert file.content == b"Sent"
    # Removed is removed: not again, not to send.
    again = await client.delete(
        f"{API}/users/me/resumes/{sent['id']}", headers=actors.candidate.headers
    )
    assert_problem(again, 404)
    other_job = await create_job(db, company=job_company(actors))
    assert_problem(
        await apply_with(client, actors.candidate.headers, other_job.id, sent["id"]), 404
    )
    # Someone else's résumé is not theirs to remove.
    mine = (await upload(client, actors.candidate.headers, b"Mine", "cv.txt")).json()
    response = await client.delete(
        f"{API}/users/me/resumes/{mine['id']}", headers=actors.other_candidate.headers
    )
    assert_problem(response, 404)


def job_company(actors: Actors) -> Any:
    assert actors.employer.company is not None
    return actors.employer.company


# --- races


async def test_sending_and_removing_a_resume_at_once(make_live_client: ClientFactory) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    outcomes = set()
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        _, candidate = await live_user(client, Role.candidate)
        resume = (await upload(client, candidate, b"Racing", "cv.txt")).json()
        applied, removed = await asyncio.gather(
            apply_with(client, candidate, job_id, resume["id"]),
            client.delete(f"{API}/users/me/resumes/{resume['id']}", headers=candidate),
        )
        assert removed.status_code == 204
        file = await client.get(f"{API}/resumes/{resume['id']}/file", headers=employer)
        if applied.status_code == 201:
            # Sent first: the employer keeps the file.
            assert applied.json()["resume_id"] == resume["id"]
            assert file.status_code == 200
        else:
            # Removed first: nothing was sent, and the file is gone.
            assert applied.status_code == 404
            assert file.status_code == 404
        outcomes.add(applied.status_code)
    assert outcomes <= {201, 404}


async def test_parallel_uploads_keep_at_most_ten(make_live_client: ClientFactory) -> None:
    from tests.test_races import live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, candidate = await live_user(client, Role.candidate)
    responses = await asyncio.gather(
        *(upload(client, candidate, f"cv {n}".encode(), "cv.txt") for n in range(16))
    )
    assert sorted(response.status_code for response in responses) == [201] * 10 + [409] * 6
    listed = await client.get(f"{API}/users/me/resumes", headers=candidate)
    assert len(listed.json()["items"]) == 10


async def test_a_search_past_the_newest_applications_asks_the_index(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    """More applications than the first step reads: the rare word is found by the index,
    the common one among the newest; both page exactly like one unpaged query."""
    count = SEARCH_WINDOW + 40
    await db.execute(
        text(
            """
            WITH people AS (
                INSERT INTO users (email, hashed_password, full_name, role)
                SELECT 'window-' || n || '@example.com', 'x', 'W ' || n, 'candidate'
                FROM generate_series(1, :count) AS n
                RETURNING id
            ), numbered AS (
                SELECT id, row_number() OVER (ORDER BY id) AS n FROM people
            ), kept AS (
                INSERT INTO resumes (candidate_id, file_name, media_type, size, file_key,
                                     text_state, text, search)
                SELECT id, 'cv.txt', 'text/plain', 1, '0', 'ready', body,
                       to_tsvector('english'::regconfig, body)
                FROM (
                    SELECT id, CASE WHEN n <= 30 AND n % 6 = 1 THEN 'zyzzyva gardening'
                                    ELSE 'gardening' END AS body
                    FROM numbered
                ) AS written
                RETURNING id, candidate_id
            )
            INSERT INTO applications (job_id, candidate_id, resume_id)
            SELECT :job_id, candidate_id, id FROM kept
            """
        ),
        {"count": count, "job_id": job.id},
    )
    rare = (
        (
            await db.execute(
                select(Application.id)
                .join(Resume, Resume.id == Application.resume_id)
                .where(Resume.text.contains("zyzzyva"))
                .order_by(Application.id.desc())
            )
        )
        .scalars()
        .all()
    )
    # Only among the oldest: the newest SEARCH_WINDOW hold none of them.
    assert len(rare) == 5
    for url in (f"{API}/jobs/{job.id}/applications", f"{API}/users/me/applicants"):
        for q, expected_count in (("zyzzyva", 5), ("gardening", count)):
            walked: list[int] = []
            params: dict[str, Any] = {"q": q, "limit": 100 if q == "gardening" else 2}
            while True:
                page = await client.get(url, params=params, headers=actors.employer.headers)
                assert page.status_code == 200, page.text
                walked += [item["id"] for item in page.json()["items"]]
                if page.json()["next_cursor"] is None:
                    break
                params["cursor"] = page.json()["next_cursor"]
            assert len(walked) == expected_count
            assert walked == sorted(walked, reverse=True)
            if q == "zyzzyva":
                assert walked == list(rare)
