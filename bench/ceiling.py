"""The ceiling: a bare ASGI app answering each read route with the very SQL the API sends
for it (recorded by bench/replay.py), and nothing else.

No framework, validation, ORM or auth: a psycopg pool, the recorded statements in order on
one connection, the last one's rows as JSON. A search where the API has a search engine
(SEARCH_INDEX_DIR) first asks the same index for the same number of candidates, as the API
does before its statement (the search's parse made once, at startup). What the API
achieves as a fraction of this, for the same path, is the headline figure of the
benchmarks. Configured by BENCH_DATABASE_URL and BENCH_CEILING_QUERIES (the file
`replay.record` wrote).
"""

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from backend.core.config import load_settings
from backend.core.pagination import DEFAULT_LIMIT
from backend.db.repository.job_search import SLACK
from backend.db.repository.jobs import SEARCH_CONFIG
from backend.search import engine, query
from bench.replay import load


def _json(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


conninfo = os.environ["BENCH_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
# Autocommit, as the API runs its reads: the same statements and round trips, on as many
# connections a worker as the API's pool allows (DB_POOL_SIZE + DB_MAX_OVERFLOW).
_api = load_settings(_env_file=None, database_url=os.environ["BENCH_DATABASE_URL"])
connections = _api.db_pool_size + _api.db_max_overflow
pool = AsyncConnectionPool(
    conninfo,
    min_size=min(2, connections),
    max_size=connections,
    open=False,
    kwargs={"autocommit": True},
)
QUERIES = load(Path(os.environ["BENCH_CEILING_QUERIES"]))
_index_dir = os.environ.get("SEARCH_INDEX_DIR")
INDEX = engine.SearchIndex(Path(_index_dir)) if _index_dir else None
# Each recorded search's engine queries and how many candidates the API asks for.
SEARCHES: dict[str, tuple[engine.Compiled, int]] = {}


async def _compile_searches(connection: AsyncConnection[Any]) -> None:
    for path in QUERIES:
        split = urlsplit(path)
        values = {name: found[0] for name, found in parse_qs(split.query).items()}
        if split.path != "/api/v1/jobs" or "q" not in values:
            continue
        cursor = await connection.execute(
            f"SELECT websearch_to_tsquery('{SEARCH_CONFIG}', %(q)s)::text,"
            f" phraseto_tsquery('{SEARCH_CONFIG}', %(q)s)::text",
            {"q": values["q"]},
        )
        row = await cursor.fetchone()
        assert row is not None
        words = query.parse(row[0])
        if words is None:
            continue
        filters = engine.Filters(
            workplace=values.get("workplace"),
            salary_min=int(values["salary_min"]) if "salary_min" in values else None,
            location=values.get("location"),
        )
        wanted = int(values.get("limit", DEFAULT_LIMIT)) + 1 + SLACK
        SEARCHES[path] = (engine.compile_search(words, query.parse(row[1]), filters), wanted)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await pool.open()
                if INDEX is not None:
                    async with pool.connection() as connection:
                        await _compile_searches(connection)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    query_string = scope["query_string"].decode("latin-1")
    statements = QUERIES.get(scope["path"] + (f"?{query_string}" if query_string else ""))
    if statements is None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    search = SEARCHES.get(scope["path"] + f"?{query_string}") if INDEX is not None else None
    if search is not None and INDEX is not None:
        view = INDEX.view()
        if view is not None:
            await asyncio.to_thread(view.ranked, search[0], after=None, limit=search[1])
    rows: list[dict[str, Any]] = []
    async with pool.connection() as conn:
        for sql, params in statements:
            cursor = await conn.execute(sql, params)
            if cursor.description:
                columns = [column.name for column in cursor.description]
                rows = [dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()]
    body = json.dumps(rows, default=_json).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
