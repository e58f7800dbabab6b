"""The benchmark suite: `python -m bench.run [--quick] [--keep]` (or `make bench`).

For each data set it creates a throwaway database, seeds it with `python -m backend seed`,
starts the API as production runs it (uvicorn workers with uvloop and httptools) and the
bare ceiling app, drives both with wrk from this second process, and writes a Markdown
table, a chart, EXPLAIN plans and the raw figures under bench/results/<time>/. The full
run then times the search beside a dedicated engine on its largest data set
(`python -m bench.search`, its output in search.md) and résumés' uploads and search
(`python -m bench.hiring`, in hiring.md) and an applicant-tracking system's upserts
(`python -m bench.ats`, in ats.md). Every figure is the median of several runs, or a
ratio taken within one run.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from backend.core.config import load_settings
from backend.db import admin
from backend.db.engine import create_engine, create_sessionmaker
from backend.search import feed
from backend.search.engine import SearchIndex
from backend.seed import SEED_DOMAIN, SEED_PASSWORD
from backend.seed_vocabulary import ROLES
from bench import explain, replay, report
from bench.wrk import Scenario, run

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SECRET_KEY = "benchmark-secret-key-" + "x" * 40
API_PORT, CEILING_PORT = 8100, 8101


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    seconds: int
    repeats: int
    soak_seconds: int
    workers: int


FULL = Plan(sizes=(10_000, 1_000_000), seconds=10, repeats=3, soak_seconds=60, workers=2)
QUICK = Plan(sizes=(2_000, 20_000), seconds=3, repeats=1, soak_seconds=5, workers=2)


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "ENVIRONMENT": "production",
        # Production refuses the console mailer (it would log reset links).
        "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": str(Path(tempfile.gettempdir()) / "jobboard-bench-mail"),
        "LOG_LEVEL": "WARNING",
        # One client address drives all the load: per-address limits would only get in the way.
        "RATE_LIMITS_ENABLED": "false",
        "LOGIN_MAX_FAILURES": "1000000000",
        **extra,
    }


def search_index_dir(jobs: int) -> Path:
    return Path(tempfile.gettempdir()) / f"jobboard-bench-index-{jobs}"


async def build_search_index(sqlalchemy_url: str, jobs: int, *, reuse: bool) -> SearchIndex:
    """The API's own index of the bench database (in `search_index_dir`), built from
    PostgreSQL as a new machine would (`backend.search.feed`), or the one a previous run
    left, caught up."""
    index = SearchIndex(search_index_dir(jobs))
    assert index.try_to_write(), "another process writes the bench's index"
    engine = create_engine(
        load_settings(), make_url(sqlalchemy_url), role="bench-index", observed=False
    )
    sessions = create_sessionmaker(engine)
    if not reuse or index.view() is None:
        started = time.perf_counter()
        count = await feed.build(index, sessions)
        log(f"the API's index: {count} jobs in {time.perf_counter() - started:.0f}s")
    while await feed.catch_up(index, sessions):
        pass
    await engine.dispose()
    return index


def prepare_database(url: str, jobs: int, *, reuse: bool) -> None:
    database = load_settings(database_url=url, environment="development").database
    if reuse and not admin.create_database(database):
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            row = conn.execute("SELECT count(*) FROM jobs").fetchone()
        if row and row[0] >= jobs:
            log(f"reusing {database.database} ({row[0]} jobs)")
            # Migrated to this release (a kept database may be older).
            subprocess.run(
                [sys.executable, "-m", "backend", "migrate"], env=env_for(url), check=True
            )
            return
    admin.drop_database(database)
    admin.create_database(database)
    python = sys.executable
    subprocess.run([python, "-m", "backend", "migrate"], env=env_for(url), check=True)
    started = time.perf_counter()
    subprocess.run(
        [python, "-m", "backend", "seed", "--jobs", str(jobs)], env=env_for(url), check=True
    )
    log(f"seeded {jobs} jobs in {time.perf_counter() - started:.0f}s")


@contextmanager
def server(
    app: str, port: int, env: dict[str, str], workers: int, *, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        # As `python -m backend serve` runs the API: the app reads X-Forwarded-For itself.
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, cwd=cwd)
    try:
        for _ in range(100):
            try:
                if (
                    httpx.get(
                        f"http://127.0.0.1:{port}/health/live"
                        if "backend" in app
                        else f"http://127.0.0.1:{port}/users/me",
                        timeout=1,
                    ).status_code
                    < 500
                ):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{app} did not start")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def worker_rss_kib(master: subprocess.Popen[bytes]) -> list[int]:
    """Resident memory of each worker process (children of the uvicorn master)."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]))
    return sizes


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("rps", "p50_ms", "p95_ms", "p99_ms")
    merged = {key: statistics.median(run[key] for run in runs) for key in keys}
    merged["errors"] = sum(run["errors"] for run in runs)
    merged["requests"] = sum(run["requests"] for run in runs)
    merged["runs"] = len(runs)
    return merged


def measure(scenario: Scenario, base: str, plan: Plan, scripts: Path) -> dict[str, Any]:
    runs = []
    for repeat in range(plan.repeats):
        scenario.start = repeat  # a fresh part of any rotation
        runs.append(run(scenario, base, plan.seconds, scripts))
    result = median_of(runs)
    log(
        f"  {scenario.name:<22} {result['rps']:8.0f} req/s  p95 {result['p95_ms']:7.1f} ms"
        f"  errors {result['errors']}"
    )
    return result


def sign_in(base: str, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": email, "password": SEED_PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def confirmed_account(base: str, url: str, *, role: str, name: str) -> dict[str, str]:
    """A new account of `role` with a confirmed address (as the README's command confirms
    one), signed in: its headers."""
    email = f"bench-{role}-{uuid.uuid4().hex[:8]}@{SEED_DOMAIN}"
    httpx.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": SEED_PASSWORD, "full_name": name, "role": role},
        timeout=30,
    ).raise_for_status()
    subprocess.run(
        [sys.executable, "-m", "backend", "confirm-email", email],
        env=env_for(url),
        check=True,
        capture_output=True,
    )
    return sign_in(base, email)


def cursor_of_page(base: str, page: int) -> str:
    """The cursor that opens page `page` of the default job list, walked for real."""
    cursor = ""
    for _ in range(page - 1):
        params = {"cursor": cursor} if cursor else {}
        cursor = httpx.get(f"{base}/api/v1/jobs", params=params, timeout=30).json()["next_cursor"]
    return cursor


def search_terms(rng: random.Random) -> list[str]:
    """One- and two-word queries drawn from the seeded vocabulary."""
    words = sorted(
        {word.lower() for role in ROLES for word in role.split()}
        | {tag for tags in ROLES.values() for tag in tags if " " not in tag}
        | {"senior", "junior", "berlin", "london", "remote", "lead"}
    )
    one = rng.sample(words, 20)
    two = [" ".join(rng.sample(words, 2)) for _ in range(20)]
    return one + two


def hash_throughput(rounds: int, seconds: float = 5.0) -> tuple[float, float]:
    """What this machine verifies in one process with every CPU busy: (verifications a
    second, the median time of one), with as many threads as CPUs, as the API's hasher runs
    them (bcrypt leaves the GIL while it works)."""
    from concurrent.futures import ThreadPoolExecutor

    from passlib.context import CryptContext

    from backend.core.security import available_cpus

    context = CryptContext(schemes=["bcrypt_sha256"], bcrypt_sha256__rounds=rounds)
    hashed = context.hash(SEED_PASSWORD)
    threads = available_cpus()
    deadline = time.perf_counter() + seconds

    def verify_until_deadline() -> list[float]:
        timings = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            context.verify(SEED_PASSWORD, hashed)
            timings.append(time.perf_counter() - started)
        return timings

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        timings = [
            t for done in pool.map(lambda _: verify_until_deadline(), range(threads)) for t in done
        ]
    elapsed = time.perf_counter() - started
    return len(timings) / elapsed, statistics.median(timings)


def bench_size(jobs: int, plan: Plan, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    server_url = load_settings(environment="development").database
    url = server_url.set(database=f"jobboard_bench_{jobs}").render_as_string(hide_password=False)
    prepare_database(url, jobs, reuse=args.keep)
    # The API's search engine index, built before the API starts (as a machine that has run
    # a while has it); the API's processes then keep it.
    asyncio.run(build_search_index(url, jobs, reuse=args.keep)).close()
    index_dir = str(search_index_dir(jobs))
    rng = random.Random(jobs)  # noqa: S311
    scripts = out / "lua"
    scripts.mkdir(exist_ok=True)
    base = f"http://127.0.0.1:{API_PORT}"
    results: dict[str, Any] = {"jobs": jobs, "scenarios": {}}
    rounds = int(
        os.environ.get("BCRYPT_ROUNDS", load_settings(environment="development").bcrypt_rounds)
    )
    with server(
        "backend.main:app",
        API_PORT,
        env_for(url, BCRYPT_ROUNDS=str(rounds), SEARCH_INDEX_DIR=index_dir),
        plan.workers,
    ) as api:
        me = sign_in(base, f"candidate1@{SEED_DOMAIN}")
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            visible = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM jobs WHERE status = 'published'"
                    " AND (expires_at IS NULL OR expires_at > now() + interval '1 day')"
                    " ORDER BY random() LIMIT 2000"
                )
            ]
        terms = search_terms(rng)
        prefixes = sorted({term[: rng.randint(2, 5)] for term in terms})
        page_500 = cursor_of_page(base, 500)
        # Fresh candidates: their applications are all new, so every POST can succeed.
        emails = []
        for number in range(20):
            email = f"bench-{uuid.uuid4().hex[:10]}-{number}@{SEED_DOMAIN}"
            httpx.post(
                f"{base}/api/v1/auth/register",
                json={"email": email, "password": SEED_PASSWORD, "full_name": "Bench"},
                timeout=30,
            ).raise_for_status()
            emails.append(email)
        # Only confirmed candidates may apply: confirmed as support would do it.
        subprocess.run(
            [sys.executable, "-m", "backend", "confirm-email", *emails],
            env=env_for(url),
            check=True,
        )
        applicants = [sign_in(base, email) for email in emails]
        json_header = {"Content-Type": "application/json"}
        from urllib.parse import quote

        read_scenarios = [
            Scenario("health_live", "/health/live"),
            Scenario("users_me", "/api/v1/users/me", headers=me),
            Scenario("jobs_first_page", "/api/v1/jobs"),
            Scenario("jobs_page_500", f"/api/v1/jobs?cursor={quote(page_500)}"),
            Scenario("jobs_search", paths=[f"/api/v1/jobs?q={quote(t)}" for t in terms]),
            Scenario(
                "jobs_search_filters",
                paths=[
                    f"/api/v1/jobs?q={quote(t)}"
                    f"&workplace={rng.choice(['remote', 'hybrid', 'onsite'])}"
                    f"&salary_min={rng.randrange(30_000, 120_000, 10_000)}"
                    for t in terms
                ],
            ),
            Scenario("job_detail", paths=[f"/api/v1/jobs/{job_id}" for job_id in visible[:500]]),
            Scenario(
                "autocomplete", paths=[f"/api/v1/jobs/autocomplete?q={quote(p)}" for p in prefixes]
            ),
            Scenario("my_applications", "/api/v1/users/me/applications", headers=me),
        ]
        # The very SQL of every read request, for the ceiling to replay (bench/replay.py).
        recorded = Path(tempfile.mkdtemp(prefix="jobboard-bench-")) / "queries.pickle"
        replay.record(
            env_for(url, SEARCH_INDEX_DIR=index_dir),
            [
                (path, scenario.headers)
                for scenario in read_scenarios[1:]
                for path in (scenario.paths or [scenario.path])
            ],
            recorded,
        )
        ceiling_env = env_for(
            url,
            BENCH_DATABASE_URL=url,
            BENCH_CEILING_QUERIES=str(recorded),
            SEARCH_INDEX_DIR=index_dir,
        )
        ceiling_base = f"http://127.0.0.1:{CEILING_PORT}"
        results["ceilings"] = {}
        with server("bench.ceiling:app", CEILING_PORT, ceiling_env, plan.workers):
            for scenario in read_scenarios:
                api_runs, ceiling_runs = [], []
                twin = replace(scenario, name=f"ceiling_{scenario.name}")
                # Interleaved: each round runs the API, then its ceiling, on the same paths.
                for repeat in range(plan.repeats):
                    scenario.start = twin.start = repeat
                    api_runs.append(run(scenario, base, plan.seconds, scripts))
                    if scenario is not read_scenarios[0]:
                        ceiling_runs.append(run(twin, ceiling_base, plan.seconds, scripts))
                results["scenarios"][scenario.name] = figures = median_of(api_runs)
                line = (
                    f"  {scenario.name:<22} {figures['rps']:8.0f} req/s"
                    f"  p95 {figures['p95_ms']:7.1f} ms  errors {figures['errors']}"
                )
                if ceiling_runs:
                    ratios = [
                        a["rps"] / c["rps"] for a, c in zip(api_runs, ceiling_runs, strict=True)
                    ]
                    results["ceilings"][scenario.name] = {
                        **median_of(ceiling_runs),
                        "ratios": ratios,
                        "ratio": statistics.median(ratios),
                    }
                    ceiling = results["ceilings"][scenario.name]
                    line += f"  ceiling {ceiling['rps']:.0f} req/s, {ceiling['ratio']:.0%}"
                log(line)
        shutil.rmtree(recorded.parent, ignore_errors=True)

        writes = Scenario(
            "apply",
            method="POST",
            body="{}",
            headers=json_header,
            read=False,
            paths=[f"/api/v1/jobs/{job_id}/applications" for job_id in visible],
            header_rotation=applicants,
        )
        results["scenarios"]["apply"] = measure(writes, base, plan, scripts)

        # Sign-in: bounded by bcrypt. The event loop must stay free meanwhile.
        form = f"username={quote(f'candidate1@{SEED_DOMAIN}')}&password={quote(SEED_PASSWORD)}"
        sign_ins = Scenario(
            "sign_in",
            "/api/v1/auth/token",
            method="POST",
            body=form,
            connections=8,
            read=False,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        probe = Scenario("health_probe", "/health/live", connections=1, threads=1, delay_ms=20)
        idle_probe = [run(probe, base, plan.seconds, scripts) for _ in range(plan.repeats)]
        storm, busy_probe = [], []
        for _ in range(plan.repeats):
            with subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import json,sys; from bench.wrk import run, Scenario; "
                    "from pathlib import Path; s=Scenario(**json.loads(sys.argv[1])); "
                    "print(json.dumps(run(s, sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))",
                    json.dumps(probe.__dict__),
                    base,
                    str(plan.seconds),
                    str(scripts),
                ],
                stdout=subprocess.PIPE,
                cwd=ROOT,
            ) as probing:
                storm.append(run(sign_ins, base, plan.seconds, scripts))
                out_text = probing.communicate(timeout=plan.seconds + 120)[0]
            busy_probe.append(json.loads(out_text))
        limit, hash_time = hash_throughput(rounds)
        results["scenarios"]["sign_in"] = median_of(storm)
        results["sign_in"] = {
            "hash_ms": hash_time * 1000,
            "rounds": rounds,
            "limit_rps": limit,
            "fraction_of_limit": results["scenarios"]["sign_in"]["rps"] / limit,
            "health_p99_idle_ms": statistics.median(r["p99_ms"] for r in idle_probe),
            "health_p99_storm_ms": statistics.median(r["p99_ms"] for r in busy_probe),
        }
        log(
            f"  sign-in at {results['sign_in']['fraction_of_limit']:.0%} of the in-process"
            f" hash throughput ({limit:.1f}/s)"
        )

        # Memory over a longer run of the heaviest read.
        rss_start = worker_rss_kib(api)
        soak = Scenario("soak_search", paths=[f"/api/v1/jobs?q={quote(t)}" for t in terms])
        results["soak"] = run(soak, base, plan.soak_seconds, scripts)
        results["soak"]["rss_start_kib"], results["soak"]["rss_end_kib"] = (
            rss_start,
            worker_rss_kib(api),
        )

    if jobs == max(plan.sizes):
        explain.write(url, out / f"explain-{jobs}.txt", terms=terms[:3] + terms[-2:])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data, short runs (smoke test)")
    parser.add_argument("--keep", action="store_true", help="keep and reuse the seeded databases")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    out = RESULTS / datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out.mkdir(parents=True)
    log(f"results go to {out.relative_to(ROOT)}")
    runs = []
    searched = ""
    try:
        for jobs in plan.sizes:
            log(f"data set of {jobs} jobs")
            runs.append(bench_size(jobs, plan, args, out))
        if not args.quick:
            # The search beside a dedicated engine on the largest data set, its index the one
            # the API used: issue #26's targets, printed after the tables.
            log("the search beside a dedicated engine (python -m bench.search)")
            command = [sys.executable, "-m", "bench.search", "--jobs", str(plan.sizes[-1])]
            searched = subprocess.run(
                [*command, "--keep-index", "--seconds", "20", "--minutes", "3"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            (out / "search.md").write_text(searched)
            # Résumés: uploads, and an employer's search of 100 000 applicants (issue #28's
            # targets), on a database of their own.
            log("résumés (python -m bench.hiring)")
            hiring = subprocess.run(
                [sys.executable, "-m", "bench.hiring"], check=True, capture_output=True, text=True
            ).stdout
            (out / "hiring.md").write_text(hiring)
            searched += "\n" + hiring
            # Publishing from an applicant-tracking system: single upserts and batches
            # (issue #29's targets), on a database of their own.
            log("upserts from an applicant-tracking system (python -m bench.ats)")
            ats = subprocess.run(
                [sys.executable, "-m", "bench.ats"], check=True, capture_output=True, text=True
            ).stdout
            (out / "ats.md").write_text(ats)
            searched += "\n" + ats
    finally:
        if not args.keep:
            server_url = load_settings(environment="development").database
            for jobs in plan.sizes:
                admin.drop_database(server_url.set(database=f"jobboard_bench_{jobs}"))
    summary = {
        "plan": plan.__dict__,
        "quick": args.quick,
        "machine": report.machine(),
        "runs": runs,
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    markdown = report.write(summary, out)
    print(markdown)
    print(searched)


if __name__ == "__main__":
    main()
