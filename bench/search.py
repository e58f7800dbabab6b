"""The search beside a dedicated engine: `python -m bench.search [--jobs N] [--clients C]
[--seconds S] [--keep-index]`.

A fixed set of 60 search requests (one to three words from the seeded vocabulary, half of
them the words of a seeded title; every other one with one to three filters) runs in one
process on the seeded database `jobboard_bench_<jobs>` (`make bench BENCH_ARGS=--keep`
leaves it; seeded here when missing), two ways:

- **the API's search**: `backend.db.repository.job_search.search_by_relevance` on psycopg
  connections, as the hot path runs it (relevance order, page one of 20), with its search
  engine (`backend.search`, its index built here from the outbox's snapshot) naming the
  candidates and PostgreSQL reading them back;
- **PostgreSQL alone**: the same search without the engine (relevance over every match in
  SQL), what a deployment without SEARCH_INDEX_DIR runs; one timed pass;
- **the API itself over HTTP**: uvicorn serving the app on that database with the index
  built here, one client, the same requests interleaved with the API's search in process
  over twenty passes (p50 and p95 of each, and their ratios: what HTTP, validation and JSON
  add);
- **tantivy BM25** (the reference: a Lucene-class engine's own ranking, no PostgreSQL
  verification) over the same visible jobs (title, tags, company name and the
  description's text, the filters as fields), the top 20, then those 20 rows read from
  PostgreSQL by id.

For each: single-client p50, p95 and max over three timed passes after a warm one, and
requests a second with C clients (connections for the API's search, threads for tantivy)
for S seconds. Then the ranking's quality on the title-like requests: the share of the top
20 whose title holds every word, where at least 20 visible jobs (with the same filters)
have such a title. What it prints is a comparison, and the figures issue #26 sets.
`--minutes M` then runs the API's search on one connection for M minutes and compares the
p95 of the last minute with the first's (drift).
"""

import argparse
import asyncio
import http.client
import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import tantivy
from sqlalchemy.engine import make_url

from backend.core.config import load_settings
from backend.db import admin, hot
from backend.db.engine import create_engine
from backend.db.repository import job_search
from backend.db.repository.job_search import JobFilters
from backend.search import feed
from backend.search.engine import Filters, SearchIndex, compile_search
from backend.search.query import Lexeme
from backend.seed_vocabulary import CITIES, LEVELS, ROLES
from bench.run import build_search_index, env_for, log, prepare_database, search_index_dir, server

REQUESTS = 60
PASSES = 3
# The interleaved passes of the API over HTTP beside its search in process.
HTTP_PASSES = 20
PAGE = 20
WORD = re.compile(r"[a-z0-9+#]+")
WORKPLACES = ["remote", "hybrid", "onsite"]
TEXT_FIELDS = ("title", "tags", "company", "body", "location", "workplace")


@dataclass(frozen=True)
class Request:
    q: str
    title_like: bool
    workplace: str | None = None
    salary_min: int | None = None
    city: str | None = None

    def filters(self) -> JobFilters:
        return JobFilters(
            q=self.q, workplace=self.workplace, salary_min=self.salary_min, location=self.city
        )


def requests(rng: random.Random) -> list[Request]:
    """The fixed set: the same 60 requests for every engine and every run."""
    titles = sorted(
        {
            f"{level} {role}".strip().lower()
            for level in LEVELS
            for role in ROLES
            if len(f"{level} {role}".split()) <= 3
        }
    )
    words = sorted(
        {word.lower() for role in ROLES for word in role.split()}
        | {tag for tags in ROLES.values() for tag in tags if " " not in tag}
    )
    made = []
    for number in range(REQUESTS):
        title_like = number % 2 == 0
        q = rng.choice(titles) if title_like else " ".join(rng.sample(words, rng.randint(1, 3)))
        filtered: dict[str, Any] = {}
        if number % 4 in (1, 2):
            for name in rng.sample(["workplace", "salary_min", "city"], rng.randint(1, 3)):
                if name == "workplace":
                    filtered[name] = rng.choice(WORKPLACES)
                elif name == "salary_min":
                    filtered[name] = rng.randrange(30_000, 120_000, 10_000)
                else:
                    filtered[name] = rng.choice(CITIES)[0].split(",")[0]
        made.append(Request(q=q, title_like=title_like, **filtered))
    return made


# --- the API's search


async def _api_connection(url: str, reads: hot.HotConnections) -> psycopg.AsyncConnection[Any]:
    connection = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await reads.prepare(connection)
    return connection


async def api_search(
    connection: psycopg.AsyncConnection[Any], request: Request, index: SearchIndex | None
) -> list[Any]:
    found = await job_search.search_by_relevance(
        connection, filters=request.filters(), limit=PAGE, after=None, index=index
    )
    return list(found.items[:PAGE])


def _params(request: Request) -> dict[str, str | int]:
    params: dict[str, str | int] = {"q": request.q, "limit": PAGE}
    if request.workplace:
        params["workplace"] = request.workplace
    if request.salary_min is not None:
        params["salary_min"] = request.salary_min
    if request.city:
        params["location"] = request.city
    return params


@dataclass
class Paired:
    """One interleaved run: each request's seconds in process and over HTTP."""

    in_process: list[float]
    over_http: list[float]


async def api_beside_http(
    sqlalchemy_url: str,
    url: str,
    reads: hot.HotConnections,
    jobs: int,
    made: list[Request],
    index: SearchIndex,
    passes: int,
) -> Paired:
    """The API's search in this process and the API itself over HTTP (uvicorn as `make
    bench` starts it, one process, the index built here in its SEARCH_INDEX_DIR, one client
    on one kept-alive HTTP/1.1 connection), interleaved: each request in process then over HTTP,
    the other way round every other pass, so that both see the same machine. HTTP's
    seconds run from sending the request to the last byte of its JSON."""
    port = 8102
    environment = env_for(sqlalchemy_url, SEARCH_INDEX_DIR=str(search_index_dir(jobs)))
    paired = Paired([], [])
    async with kept(sqlalchemy_url, index):
        with server("backend.main:app", port, environment, 1):
            connection = await _api_connection(url, reads)
            # The standard library's client, blocking this loop while it waits (nothing else
            # runs on it): a few tenths of a millisecond a request where httpx's takes most
            # of one, so that what is timed is the API's.
            client = http.client.HTTPConnection("127.0.0.1", port)

            async def in_process(request: Request) -> float:
                started = time.perf_counter()
                await api_search(connection, request, index)
                return time.perf_counter() - started

            def over_http(request: Request) -> float:
                started = time.perf_counter()
                client.request("GET", "/api/v1/jobs?" + urlencode(_params(request)))
                response = client.getresponse()
                response.read()
                if response.status != HTTPStatus.OK:
                    raise RuntimeError(f"{request}: {response.status}")
                return time.perf_counter() - started

            for request in made:  # warm, and every answer a page
                await in_process(request)
                over_http(request)
            for number in range(passes):
                for request in made:
                    if number % 2:
                        paired.over_http.append(over_http(request))
                        paired.in_process.append(await in_process(request))
                    else:
                        paired.in_process.append(await in_process(request))
                        paired.over_http.append(over_http(request))
            client.close()
            await connection.close()
    return paired


# --- tantivy


@dataclass
class Engine:
    index: tantivy.Index
    searcher: tantivy.Searcher
    schema: tantivy.Schema
    url: str
    local: threading.local = field(default_factory=threading.local)

    def connection(self) -> psycopg.Connection[Any]:
        if not hasattr(self.local, "connection"):
            self.local.connection = psycopg.connect(self.url, autocommit=True)
        return self.local.connection  # type: ignore[no-any-return]

    def query(self, request: Request) -> tantivy.Query:
        words = " ".join(WORD.findall(request.q.lower()))
        text = self.index.parse_query(
            words,
            ["title", "tags", "company", "body"],
            field_boosts={"title": 3.0, "tags": 2.0, "company": 1.5, "body": 1.0},
            conjunction_by_default=True,
        )
        parts = [(tantivy.Occur.Must, text)]
        if request.workplace:
            term = tantivy.Query.term_query(self.schema, "workplace", request.workplace)
            parts.append((tantivy.Occur.Must, term))
        if request.salary_min is not None:
            salary = tantivy.Query.range_query(
                self.schema, "salary", tantivy.FieldType.Integer, request.salary_min, None
            )
            parts.append((tantivy.Occur.Must, salary))
        if request.city:
            city = self.index.parse_query(
                " ".join(WORD.findall(request.city.lower())),
                ["location"],
                conjunction_by_default=True,
            )
            parts.append((tantivy.Occur.Must, city))
        return tantivy.Query.boolean_query(parts)

    def search(self, request: Request) -> list[tuple[int, str]]:
        hits = self.searcher.search(self.query(request), PAGE).hits
        ids = [self.searcher.doc(address)["id"][0] for _, address in hits]
        rows = (
            self.connection()
            .execute(
                "SELECT j.id, j.title, j.description_html, c.name FROM jobs j "
                "JOIN companies c ON c.id = j.company_id WHERE j.id = ANY(%s)",
                (ids,),
            )
            .fetchall()
        )
        by_id = {row[0]: row for row in rows}
        return [(job_id, by_id[job_id][1]) for job_id in ids if job_id in by_id]

    def a_page_of_titles(self, request: Request) -> bool:
        """Whether at least a page of visible jobs with the filters has a title holding
        every word of the request."""
        words = WORD.findall(request.q.lower())
        title = self.index.parse_query(" ".join(words), ["title"], conjunction_by_default=True)
        both = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, title), (tantivy.Occur.Must, self.query(request))]
        )
        return len(self.searcher.search(both, PAGE).hits) >= PAGE


def build_engine(url: str, directory: Path, *, reuse: bool) -> Engine:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    for name in ("title", "tags", "company", "body", "location"):
        builder.add_text_field(name, tokenizer_name="en_stem")
    builder.add_text_field("workplace", tokenizer_name="raw")
    builder.add_integer_field("salary", indexed=True, fast=True)
    schema = builder.build()
    existing = reuse and (directory / "meta.json").exists()
    index = tantivy.Index(schema, path=str(directory), reuse=existing)
    if not existing:
        started = time.perf_counter()
        writer = index.writer(heap_size=400_000_000)
        with psycopg.connect(url) as connection, connection.cursor(name="all_jobs") as cursor:
            cursor.itersize = 5_000
            cursor.execute(
                "SELECT j.id, j.title, array_to_string(j.tags, ' '), c.name, "
                "coalesce(j.description_text, j.description), j.location, j.workplace::text, "
                "coalesce(j.salary_max, j.salary_min) "
                "FROM jobs j JOIN companies c ON c.id = j.company_id "
                "WHERE j.status = 'published' AND (j.expires_at IS NULL OR j.expires_at > now())"
            )
            count = 0
            for row in cursor:
                document = tantivy.Document()
                document.add_unsigned("id", row[0])
                for name, value in zip(TEXT_FIELDS, row[1:7], strict=True):
                    document.add_text(name, value or "")
                if row[7] is not None:
                    document.add_integer("salary", row[7])
                writer.add_document(document)
                count += 1
        writer.commit()
        writer.wait_merging_threads()
        log(f"tantivy indexed {count} visible jobs in {time.perf_counter() - started:.0f}s")
    index.reload()
    return Engine(index=index, searcher=index.searcher(), schema=schema, url=url)


# --- measuring


@dataclass
class Timings:
    name: str
    seconds: list[float]
    throughput: float = 0.0

    def row(self) -> str:
        ordered = sorted(self.seconds)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        return (
            f"| {self.name} | {statistics.median(ordered) * 1000:.1f} | {p95 * 1000:.1f} | "
            f"{ordered[-1] * 1000:.1f} | {self.throughput:.0f} |"
        )


def time_sync(search: Callable[[Request], Any], made: list[Request]) -> list[float]:
    for request in made:  # warm
        search(request)
    seconds = []
    for _ in range(PASSES):
        for request in made:
            started = time.perf_counter()
            search(request)
            seconds.append(time.perf_counter() - started)
    return seconds


def threads_throughput(
    search: Callable[[Request], Any], made: list[Request], clients: int, duration: float
) -> float:
    done = [0] * clients
    deadline = time.perf_counter() + duration

    def client(number: int) -> None:
        position = number
        while time.perf_counter() < deadline:
            search(made[position % len(made)])
            position += 1
            done[number] += 1

    workers = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / duration


@asynccontextmanager
async def kept(sqlalchemy_url: str, index: SearchIndex | None) -> AsyncIterator[None]:
    """The index kept up to date meanwhile, as the API's process holding it does
    (`backend.search.feed.Keeper`): its readers take an index whose writer has stopped for
    stale, and search PostgreSQL alone."""
    if index is None:
        yield
        return
    keeper = feed.Keeper(
        index,
        create_engine(
            load_settings(), make_url(sqlalchemy_url), role="bench-index", observed=False
        ),
        interval=0.2,
    )
    keeper.start()
    try:
        yield
    finally:
        await asyncio.to_thread(keeper.stop)


async def api_timings(
    url: str,
    reads: hot.HotConnections,
    made: list[Request],
    clients: int,
    duration: float,
    *,
    index: SearchIndex | None,
    name: str,
    passes: int = PASSES,
    sqlalchemy_url: str,
) -> tuple[Timings, dict[Request, list[Any]]]:
    async with kept(sqlalchemy_url, index):
        connection = await _api_connection(url, reads)
        results = {}
        for request in made:  # warm, and the results whose quality is judged
            results[request] = await api_search(connection, request, index)
        seconds = []
        for _ in range(passes):
            for request in made:
                started = time.perf_counter()
                await api_search(connection, request, index)
                seconds.append(time.perf_counter() - started)
        await connection.close()
        connections = [await _api_connection(url, reads) for _ in range(clients)]
        done = [0] * clients
        deadline = time.perf_counter() + duration

        async def client(number: int) -> None:
            position = number
            while time.perf_counter() < deadline:
                await api_search(connections[number], made[position % len(made)], index)
                position += 1
                done[number] += 1

        await asyncio.gather(*(client(n) for n in range(clients)))
        for each in connections:
            await each.close()
        return Timings(name, seconds, sum(done) / duration), results


async def drift(
    url: str,
    reads: hot.HotConnections,
    made: list[Request],
    index: SearchIndex,
    minutes: float,
    sqlalchemy_url: str,
) -> tuple[float, float]:
    async with kept(sqlalchemy_url, index):
        return await _drift(url, reads, made, index, minutes)


async def _drift(
    url: str, reads: hot.HotConnections, made: list[Request], index: SearchIndex, minutes: float
) -> tuple[float, float]:
    """p95 of the first and of the last minute of `minutes` of the fixed set on one
    connection, kept throughout."""
    connection = await _api_connection(url, reads)
    started = time.perf_counter()
    timed: list[tuple[float, float]] = []
    position = 0
    while (elapsed := time.perf_counter() - started) < minutes * 60:
        begun = time.perf_counter()
        await api_search(connection, made[position % len(made)], index)
        timed.append((elapsed, time.perf_counter() - begun))
        position += 1
    await connection.close()
    end = minutes * 60

    def p95(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)]

    first = p95([seconds for at, seconds in timed if at < 60])
    last = p95([seconds for at, seconds in timed if at >= end - 60])
    return first, last


def holds_every_word(title: str, q: str) -> bool:
    return set(WORD.findall(q.lower())) <= set(WORD.findall(title.lower()))


def quality(
    made: list[Request], engine: Engine, titles: Callable[[Request], list[str]]
) -> tuple[float, int]:
    """The share of top-20 titles holding every word, over title-like requests with at
    least 20 such jobs; and how many requests that was."""
    shares = []
    for request in made:
        if not request.title_like or not engine.a_page_of_titles(request):
            continue
        found = titles(request)
        shares.append(sum(holds_every_word(title, request.q) for title in found) / PAGE)
    return (statistics.mean(shares) if shares else 0.0), len(shares)


async def lag(sqlalchemy_url: str, url: str, index: SearchIndex, samples: int) -> list[float]:
    """Seconds from the commit of a job's new title to the index holding it, with the index
    kept as an API process keeps it (`feed.Keeper`, every 0.2 s), `samples` times."""
    seen = []
    async with (
        kept(sqlalchemy_url, index),
        await psycopg.AsyncConnection.connect(url, autocommit=True) as connection,
    ):
        row = await (
            await connection.execute(
                "SELECT id, title FROM jobs WHERE status = 'published' "
                "AND expires_at > now() + interval '1 day' ORDER BY id LIMIT 1"
            )
        ).fetchone()
        assert row is not None
        job_id, title = row
        unfiltered = Filters()
        for sample in range(samples):
            word = f"zz{sample}lag{random.randrange(10**6)}"  # noqa: S311
            await connection.execute(
                "UPDATE jobs SET title = %s WHERE id = %s", (f"{title} {word}", job_id)
            )
            committed = time.perf_counter()
            compiled = compile_search(Lexeme(word), None, unfiltered)
            while True:
                view = index.view()
                if view is not None and view.ranked(compiled, after=None, limit=1):
                    break
                if time.perf_counter() - committed > 60:
                    raise RuntimeError("a change was not indexed within 60 s")
                await asyncio.sleep(0.005)
            seen.append(time.perf_counter() - committed)
        await connection.execute("UPDATE jobs SET title = %s WHERE id = %s", (title, job_id))
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep-index", action="store_true", help="reuse the built indexes")
    parser.add_argument("--minutes", type=float, default=0, help="then a drift run this long")
    parser.add_argument(
        "--skip-alone", action="store_true", help="without the PostgreSQL-alone timings"
    )
    args = parser.parse_args()

    server = load_settings().database
    database = server.set(database=f"jobboard_bench_{args.jobs}")
    sqlalchemy_url = database.render_as_string(hide_password=False)
    prepare_database(sqlalchemy_url, args.jobs, reuse=True)
    url = admin.conninfo(database)
    made = requests(random.Random(26))  # noqa: S311 (a fixed set of requests, not secrets)

    directory = Path(tempfile.gettempdir()) / f"jobboard-bench-tantivy-{args.jobs}"
    directory.mkdir(exist_ok=True)
    engine = build_engine(url, directory, reuse=args.keep_index)

    index = asyncio.run(build_search_index(sqlalchemy_url, args.jobs, reuse=args.keep_index))
    reads = hot.HotConnections(create_engine(load_settings(), database, role="bench"))
    api, results = asyncio.run(
        api_timings(
            url,
            reads,
            made,
            args.clients,
            args.seconds,
            index=index,
            name="the API's search",
            sqlalchemy_url=sqlalchemy_url,
        )
    )
    alone, alone_results = None, results
    if not args.skip_alone:
        alone, alone_results = asyncio.run(
            api_timings(
                url,
                reads,
                made,
                args.clients,
                args.seconds,
                index=None,
                name="PostgreSQL alone",
                passes=1,
                sqlalchemy_url=sqlalchemy_url,
            )
        )
    same = sum(
        [row.id for row in results[request]] == [row.id for row in alone_results[request]]
        for request in made
    )
    engine_seconds = time_sync(engine.search, made)
    reference = Timings(
        "tantivy BM25, top 20, then the rows from PostgreSQL",
        engine_seconds,
        threads_throughput(engine.search, made, args.clients, args.seconds),
    )

    paired = asyncio.run(
        api_beside_http(sqlalchemy_url, url, reads, args.jobs, made, index, HTTP_PASSES)
    )

    api_quality, judged = quality(
        made, engine, lambda request: [row.title for row in results[request]]
    )
    engine_quality, _ = quality(
        made, engine, lambda request: [title for _, title in engine.search(request)]
    )
    print(f"\n{len(made)} requests, {args.jobs} jobs, {PASSES} timed passes, warm\n")
    print(f"| engine | p50 ms | p95 ms | max ms | req/s, {args.clients} clients |")
    print("|---|---:|---:|---:|---:|")
    print(api.row())
    if alone is not None:
        print(alone.row())
    print(reference.row())
    ordered = sorted(api.seconds)
    api_p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"\nThe API's search: p95 {api_p95 * 1000:.1f} ms (target <= 20), max "
        f"{ordered[-1] * 1000:.1f} ms (<= 60), {api.throughput:.0f} req/s with "
        f"{args.clients} clients (>= 400)."
        + ("" if alone is None else f" Pages equal to PostgreSQL alone's: {same} of {len(made)}.")
    )
    near, far = sorted(paired.in_process), sorted(paired.over_http)
    near_p95, far_p95 = (each[max(0, round(0.95 * len(each)) - 1)] for each in (near, far))
    print(
        f"\nThe API itself over HTTP beside its search in process, one client, "
        f"{HTTP_PASSES} interleaved passes: p50 {statistics.median(far) * 1000:.1f} ms "
        f"against {statistics.median(near) * 1000:.1f} ms "
        f"({statistics.median(far) / statistics.median(near):.2f}x), p95 "
        f"{far_p95 * 1000:.1f} ms against {near_p95 * 1000:.1f} ms "
        f"({far_p95 / near_p95:.2f}x; target <= 1.3x)."
    )
    print(
        f"\nTitle-like requests with at least {PAGE} jobs whose title holds every word: "
        f"{judged}. Share of the top {PAGE} holding every word in the title: "
        f"the API {api_quality:.0%} (target >= 95%), tantivy BM25 {engine_quality:.0%}."
    )
    delays = sorted(asyncio.run(lag(sqlalchemy_url, url, index, 20)))
    print(
        f"\nLag, a committed change to the index holding it (20 title changes, the index kept "
        f"every 0.2 s): median {statistics.median(delays) * 1000:.0f} ms, max "
        f"{delays[-1] * 1000:.0f} ms."
    )
    if args.minutes:
        first, last = asyncio.run(drift(url, reads, made, index, args.minutes, sqlalchemy_url))
        print(
            f"\nDrift over {args.minutes:g} minutes on one connection: p95 {first * 1000:.1f} ms "
            f"in the first minute, {last * 1000:.1f} ms in the last ({last / first:.2f}x; "
            "target <= 1.2x)."
        )
    index.close()


if __name__ == "__main__":
    main()
