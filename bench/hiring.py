"""Résumés at scale: `python -m bench.hiring [--uploads N] [--applications M] [--keep]`.

Two measurements against the API as production runs it (uvicorn, two workers, uvloop,
httptools), on a database of its own (`jobboard_bench_hiring`):

- uploads: N résumés of 5 MB each (a PDF, a Word document and a text file in turn) POSTed
  by 8 clients at once, spread over enough candidates; résumés accepted a second, and the
  API workers' resident memory after each quarter of the run (flat: nothing of a file
  stays once its request is answered);
- an employer's search of their applicants' résumés: one employer's M applications over
  200 jobs, each with a résumé whose text the worker has read (written as the worker
  writes it: the text and its tsvector), then `GET /users/me/applicants?q=` with wrk,
  median of three runs, over one- and two-word queries of the seeded vocabulary (which
  nearly every résumé holds), words of one résumé in fifty and rare words (one in a
  thousand), at 4 connections
  (the target) and at 32 (what the machine serves at most).

Prints a Markdown table; the figures also go to bench/results/<time>-hiring/.
"""

import argparse
import asyncio
import io
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import docx
import httpx
import psycopg
from pypdf import PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject

from backend.core.config import load_settings
from backend.db import admin
from backend.seed import SEED_DOMAIN, SEED_PASSWORD
from backend.seed_vocabulary import ROLES
from bench.run import (
    API_PORT,
    RESULTS,
    confirmed_account,
    env_for,
    log,
    median_of,
    server,
    sign_in,
    worker_rss_kib,
)
from bench.wrk import Scenario, run

MB = 2**20
CLIENTS = 8
WORDS = sorted(
    {word.lower() for role in ROLES for word in role.split()}
    | {tag for tags in ROLES.values() for tag in tags if " " not in tag}
)


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def pdf_of(size: int, rng: random.Random) -> bytes:
    """A PDF of about `size` bytes: 40 pages of text lines, uncompressed."""
    writer = PdfWriter()
    per_page = size // 40
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for _ in range(40):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        lines, length = [], 0
        while length < per_page:
            lines.append(f"BT /F1 9 Tf 40 700 Td ({words(rng, 8)}) Tj ET")
            length += len(lines[-1]) + 1
        stream = ContentStream(None, writer)
        stream.set_data("\n".join(lines).encode())
        page.replace_contents(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_of(size: int, rng: random.Random) -> bytes:
    """A Word document of about `size` bytes: paragraphs of random letters (which compress
    less than twofold, where the vocabulary's words would compress tenfold)."""
    document = docx.Document()
    letters = "abcdefghijklmnopqrstuvwxyz      "
    while True:
        for _ in range(500):
            document.add_paragraph("".join(rng.choice(letters) for _ in range(2000)))
        out = io.BytesIO()
        document.save(out)
        if out.tell() >= size * 0.9:
            return out.getvalue()


def text_of(size: int, rng: random.Random) -> bytes:
    lines, length = [], 0
    while length < size:
        lines.append(words(rng, 10))
        length += len(lines[-1]) + 1
    return "\n".join(lines).encode()[:size]


def files(size: int) -> list[tuple[str, bytes]]:
    rng = random.Random(size)  # noqa: S311
    made = [
        ("resume.pdf", pdf_of(int(size * 0.97), rng)),
        ("resume.docx", docx_of(size, rng)),
        ("resume.txt", text_of(size, rng)),
    ]
    for name, content in made:
        assert len(content) <= 5 * MB, (name, len(content))
    return made


def candidates(base: str, url: str, count: int) -> list[dict[str, str]]:
    """`count` new candidates with confirmed addresses, signed in."""
    emails = []
    for number in range(count):
        email = f"bench-{uuid.uuid4().hex[:10]}-{number}@{SEED_DOMAIN}"
        httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": email, "password": SEED_PASSWORD, "full_name": "Bench"},
            timeout=30,
        ).raise_for_status()
        emails.append(email)
    subprocess.run(
        [sys.executable, "-m", "backend", "confirm-email", *emails],
        env=env_for(url),
        check=True,
        capture_output=True,
    )
    return [sign_in(base, email) for email in emails]


async def upload_all(
    base: str, people: list[dict[str, str]], made: list[tuple[str, bytes]], count: int, api: Any
) -> dict[str, Any]:
    """`count` uploads by CLIENTS clients at once, each candidate at most 10 (their limit)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(count):
        queue.put_nowait(number)
    statuses: list[int] = []
    timings: list[float] = []
    memory: list[list[int]] = [worker_rss_kib(api)]
    quarter = max(1, count // 4)

    async def client() -> None:
        # A connection per upload, as browsers' uploads come: spread over the workers.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
            while not queue.empty():
                number = queue.get_nowait()
                name, content = made[number % len(made)]
                started = time.perf_counter()
                response = await http.post(
                    "/api/v1/users/me/resumes",
                    params={"file_name": name},
                    content=content,
                    headers={**people[number // 10], "Content-Type": "application/octet-stream"},
                )
                timings.append(time.perf_counter() - started)
                statuses.append(response.status_code)
                if len(statuses) % quarter == 0:
                    memory.append(worker_rss_kib(api))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    accepted = statuses.count(201)
    timings.sort()
    return {
        "uploads": count,
        "accepted": accepted,
        "other_statuses": sorted(set(statuses) - {201}),
        "seconds": elapsed,
        "accepted_per_second": accepted / elapsed,
        "p50_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000,
        "bytes": [len(content) for _, content in made],
        "rss_kib": memory,
    }


SEED_APPLICATIONS = """
WITH new_candidates AS (
    INSERT INTO users (email, hashed_password, full_name, role, email_verified_at)
    SELECT 'applicant-' || n || '@{domain}', 'x', 'Applicant ' || n, 'candidate', now()
    FROM generate_series(1, %(count)s) AS n
    RETURNING id
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM new_candidates
), new_resumes AS (
    INSERT INTO resumes (candidate_id, file_name, media_type, size, file_key, text_state,
                         text, search)
    SELECT id, 'resume.txt', 'text/plain', 3000, '0', 'ready', body,
           to_tsvector('english'::regconfig, body)
    FROM (
        SELECT id, 'cert' || (numbered.n %% 1000) || ' tool' || (numbered.n %% 50) || ' ' || (
            SELECT string_agg(word, ' ')
            FROM (
                SELECT (%(words)s::text[])[1 + floor(random() * %(word_count)s)::int] AS word
                FROM generate_series(1, 400 + (numbered.n %% 2))
            ) AS picked
        ) AS body
        FROM numbered
    ) AS written
    RETURNING id, candidate_id
)
INSERT INTO applications (job_id, candidate_id, resume_id, cover_letter)
SELECT (%(jobs)s::bigint[])[1 + (new_resumes.id %% %(job_count)s)], candidate_id, id, 'Hello'
FROM new_resumes
"""


def seed_applications(url: str, employer: dict[str, str], base: str, count: int) -> None:
    """One employer's 200 jobs and `count` applications to them, each with a read résumé."""
    company = httpx.post(
        f"{base}/api/v1/companies", json={"name": "Bench Hiring"}, headers=employer, timeout=30
    )
    company.raise_for_status()
    jobs = []
    for number in range(200):
        body = {
            "company_id": company.json()["id"],
            "title": f"{random.choice(sorted(ROLES))} {number}",  # noqa: S311
            "description": "Build things.",
            "location": "Berlin",
            "workplace": "remote",
            "employment_type": "full_time",
            "status": "published",
        }
        response = httpx.post(f"{base}/api/v1/jobs", json=body, headers=employer, timeout=30)
        response.raise_for_status()
        jobs.append(response.json()["id"])
    started = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        for offset in range(0, count, 20_000):
            conn.execute(
                SEED_APPLICATIONS.replace("applicant-' || n", f"applicant-{offset}-' || n").replace(
                    "{domain}", SEED_DOMAIN
                ),
                {
                    "count": min(20_000, count - offset),
                    "words": WORDS,
                    "word_count": len(WORDS),
                    "jobs": jobs,
                    "job_count": len(jobs),
                },
            )
        conn.execute("ANALYZE users, resumes, applications, jobs, companies")
    log(f"seeded {count} applications with read résumés in {time.perf_counter() - started:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    out = RESULTS / (datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ") + "-hiring")
    out.mkdir(parents=True)
    database = load_settings(environment="development").database.set(
        database="jobboard_bench_hiring"
    )
    url = database.render_as_string(hide_password=False)
    admin.drop_database(database)
    admin.create_database(database)
    subprocess.run([sys.executable, "-m", "backend", "migrate"], env=env_for(url), check=True)
    base = f"http://127.0.0.1:{API_PORT}"
    results: dict[str, Any] = {}
    try:
        # One employer posts the 200 jobs: no daily limit, no review of a new poster.
        env = env_for(
            url, JOBS_PER_DAY="100000", JOBS_PER_DAY_PER_DOMAIN="1000000", MODERATION_FIRST_JOBS="0"
        )
        with server("backend.main:app", API_PORT, env, 2) as api:
            made = files(5 * MB)
            people = candidates(base, url, (args.uploads + 9) // 10)
            log(f"uploading {args.uploads} résumés of 5 MB ({CLIENTS} clients at once)")
            results["uploads"] = asyncio.run(upload_all(base, people, made, args.uploads, api))
            log(
                f"  {results['uploads']['accepted_per_second']:.1f} accepted a second;"
                f" workers' memory {results['uploads']['rss_kib']} KiB"
            )

            employer = confirmed_account(base, url, role="employer", name="Bench Employer")
            seed_applications(url, employer, base, args.applications)
            rng = random.Random(7)  # noqa: S311
            # Words of the vocabulary (in nearly every résumé), words in one résumé in
            # fifty, and rare ones (one in a thousand).
            terms = [
                *rng.sample(WORDS, 12),
                *(" ".join(rng.sample(WORDS, 2)) for _ in range(12)),
                *(f"tool{rng.randrange(50)}" for _ in range(8)),
                *(f"cert{rng.randrange(1000)}" for _ in range(8)),
            ]
            scripts = out / "lua"
            scripts.mkdir()
            paths = [f"/api/v1/users/me/applicants?q={quote(term)}" for term in terms]
            # A few employers searching at the same moment (the target), then as many
            # connections as the other scenarios use (what the machine serves at most).
            for key, connections in (("applicant_search", 4), ("applicant_search_32", 32)):
                scenario = Scenario(key, paths=paths, headers=employer, connections=connections)
                runs = []
                for repeat in range(3):
                    scenario.start = repeat
                    runs.append(run(scenario, base, args.seconds, scripts))
                results[key] = {
                    **median_of(runs),
                    "applications": args.applications,
                    "connections": connections,
                }
                log(
                    f"  applicant search, {connections} connections:"
                    f" {results[key]['rps']:.0f} req/s, p50 {results[key]['p50_ms']:.1f} ms,"
                    f" p95 {results[key]['p95_ms']:.1f} ms"
                )
    finally:
        if not args.keep:
            admin.drop_database(database)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    uploads = results["uploads"]
    memory = [sum(sample) // 1024 for sample in uploads["rss_kib"]]
    rows = [
        "| measurement | figure | target |",
        "|---|---|---|",
        f"| résumés of 5 MB accepted a second ({CLIENTS} clients, {uploads['uploads']} uploads)"
        f" | {uploads['accepted_per_second']:.1f} (p50 {uploads['p50_ms']:.0f} ms,"
        f" p95 {uploads['p95_ms']:.0f} ms) | ≥ 10 |",
        "| the API processes' resident memory, MiB, at the start and after each quarter"
        f" | {' → '.join(map(str, memory))} | flat |",
    ]
    for key, target in (("applicant_search", "p95 ≤ 50 ms"), ("applicant_search_32", "")):
        search = results[key]
        rows.append(
            f"| an employer's search of {search['applications']} applicants' résumés,"
            f" {search['connections']} connections"
            f" | p50 {search['p50_ms']:.1f} ms, p95 {search['p95_ms']:.1f} ms"
            f" ({search['rps']:.0f} req/s, {search['errors']} errors) | {target} |"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
