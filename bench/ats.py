"""Publishing from an applicant-tracking system: `python -m bench.ats [--jobs N] [--keep]`.

Against the API as production runs it (uvicorn, two workers, uvloop, httptools), on a
database of its own (`jobboard_bench_ats`), one employer's company:

- single upserts (`PUT /companies/{id}/jobs/external/{external_id}`) by 4 clients at once
  (an ATS's few workers), each on a kept-alive connection: N new jobs (created), the
  same N again unchanged (the idempotent case: nothing written), and the same N with a
  changed title (replaced, as a draft: an edit of a published job may wait for review);
  upserts a second, p50 and p95;
- batches of 500 (`POST /companies/{id}/jobs/external`) sent one after another: new
  drafts (created, in one statement a batch), the same batches again (unchanged), and
  new jobs asked to be published (created in one statement after moderation's checks,
  a statement each for the batch); jobs a second.

Prints a Markdown table; the figures also go to bench/results/<time>-ats/.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from backend.core.config import load_settings
from backend.db import admin
from bench.run import API_PORT, RESULTS, confirmed_account, env_for, log, server

CLIENTS = 4
BATCH = 500


def body(number: int, *, title: str = "Compiler Engineer", status: str = "draft") -> dict[str, Any]:
    return {
        "title": f"{title} {number}",
        "description": "Write **compilers** for the platform team.",
        "location": "Porto",
        "workplace": "remote",
        "employment_type": "full_time",
        "salary_min": 50000,
        "salary_max": 70000,
        "salary_currency": "EUR",
        "tags": ["rust", "llvm"],
        "status": status,
    }


def summary(
    timings: list[float], seconds: float, count: int, statuses: list[int]
) -> dict[str, Any]:
    timings = sorted(timings)
    return {
        "count": count,
        "seconds": seconds,
        "per_second": count / seconds,
        "p50_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[int(len(timings) * 0.95) - 1] * 1000,
        "statuses": sorted(set(statuses)),
    }


async def singles(
    base: str, headers: dict[str, str], company_id: int, count: int, **fields: str
) -> dict[str, Any]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(count):
        queue.put_nowait(number)
    timings: list[float] = []
    statuses: list[int] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as http:
            while not queue.empty():
                number = queue.get_nowait()
                path = f"/api/v1/companies/{company_id}/jobs/external/REQ-{number}"
                started = time.perf_counter()
                response = await http.put(path, json=body(number, **fields))
                timings.append(time.perf_counter() - started)
                statuses.append(response.status_code)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return summary(timings, time.perf_counter() - started, count, statuses)


def batches(
    base: str,
    headers: dict[str, str],
    company_id: int,
    count: int,
    *,
    status: str = "draft",
    prefix: str = "BATCH",
) -> dict[str, Any]:
    timings: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120, headers=headers) as http:
        for first in range(0, count, BATCH):
            jobs = [
                {
                    **body(number, title="Platform Engineer", status=status),
                    "external_id": f"{prefix}-{number}",
                }
                for number in range(first, min(first + BATCH, count))
            ]
            sent = time.perf_counter()
            response = http.post(
                f"/api/v1/companies/{company_id}/jobs/external", json={"jobs": jobs}
            )
            timings.append(time.perf_counter() - sent)
            statuses.append(response.status_code)
    return summary(timings, time.perf_counter() - started, count, statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    out = RESULTS / (datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ") + "-ats")
    out.mkdir(parents=True)
    database = load_settings(environment="development").database.set(database="jobboard_bench_ats")
    url = database.render_as_string(hide_password=False)
    admin.drop_database(database)
    admin.create_database(database)
    subprocess.run([sys.executable, "-m", "backend", "migrate"], env=env_for(url), check=True)
    base = f"http://127.0.0.1:{API_PORT}"
    results: dict[str, Any] = {}
    try:
        env = env_for(
            url,
            JOBS_PER_DAY="100000",
            JOBS_PER_DAY_PER_DOMAIN="1000000",
            MODERATION_FIRST_JOBS="0",
        )
        with server("backend.main:app", API_PORT, env, 2):
            employer = confirmed_account(base, url, role="employer", name="Bench ATS")
            made = httpx.post(
                f"{base}/api/v1/companies", json={"name": "Bench ATS"}, headers=employer, timeout=30
            )
            made.raise_for_status()
            company_id = made.json()["id"]
            for key, fields in (
                ("created", {}),
                ("unchanged", {}),
                ("replaced", {"title": "Senior Compiler Engineer"}),
            ):
                log(f"single upserts, {key}: {args.jobs} by {CLIENTS} clients")
                results[f"single_{key}"] = asyncio.run(
                    singles(base, employer, company_id, args.jobs, **fields)
                )
                log(f"  {results[f'single_{key}']}")
            for key in ("batch_created", "batch_unchanged"):
                log(f"batches of {BATCH}, {key}: {args.jobs} jobs")
                results[key] = batches(base, employer, company_id, args.jobs)
                log(f"  {results[key]}")
            log(f"batches of {BATCH}, published: {args.jobs} jobs")
            results["batch_published"] = batches(
                base, employer, company_id, args.jobs, status="published", prefix="PUBLISHED"
            )
            log(f"  {results['batch_published']}")
    finally:
        if not args.keep:
            admin.drop_database(database)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    rows = ["| measurement | figure | target |", "|---|---|---|"]
    for key in ("created", "unchanged", "replaced"):
        single = results[f"single_{key}"]
        rows.append(
            f"| single upserts, {key} ({single['count']}, {CLIENTS} clients)"
            f" | {single['per_second']:.0f} a second, p50 {single['p50_ms']:.1f} ms,"
            f" p95 {single['p95_ms']:.1f} ms (statuses {single['statuses']})"
            " | ≥ 100 a second, p95 ≤ 50 ms |"
        )
    for key in ("batch_created", "batch_unchanged", "batch_published"):
        batch = results[key]
        rows.append(
            f"| batches of {BATCH}, {key.removeprefix('batch_')} ({batch['count']} jobs)"
            f" | {batch['per_second']:.0f} jobs a second, p50 {batch['p50_ms']:.0f} ms a batch"
            f" (statuses {batch['statuses']}) | ≥ 250 jobs a second |"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
