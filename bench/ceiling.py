"""The ceiling: a bare ASGI app answering each read route with the very SQL the API sends
for it (recorded by bench/replay.py), and nothing else.

No framework, validation, ORM or auth: a psycopg pool, the recorded statements in order on
one connection, the last one's rows as JSON. What the API achieves as a fraction of this, for
the same path, is the headline figure of the benchmarks. Configured by BENCH_DATABASE_URL
and BENCH_CEILING_QUERIES (the file `replay.record` wrote).
"""

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from backend.core.config import load_settings
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


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await pool.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    query = scope["query_string"].decode("latin-1")
    statements = QUERIES.get(scope["path"] + (f"?{query}" if query else ""))
    if statements is None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
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
