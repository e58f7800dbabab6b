"""The ceiling: a bare ASGI app running the very SQL of `GET /jobs` and `GET /users/me`.

No framework, validation, ORM or auth: a psycopg pool, the statement, rows as JSON. What
the API achieves as a fraction of this is the headline figure of the benchmarks.
Configured by BENCH_DATABASE_URL, BENCH_USER_ID and BENCH_SESSION_ID.
"""

import json
import os
import uuid
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from backend.db.repository.jobs import JobFilters, newest_statement
from backend.db.repository.sessions import active_user_statement
from bench.sql import compiled


def _json(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


conninfo = os.environ["BENCH_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
# Autocommit, as the API runs its reads: the same statements and round trips.
pool = AsyncConnectionPool(
    conninfo, min_size=2, max_size=20, open=False, kwargs={"autocommit": True}
)
QUERIES = {
    "/jobs": compiled(newest_statement(JobFilters(), limit=20)),
    "/users/me": compiled(
        active_user_statement(
            user_id=int(os.environ.get("BENCH_USER_ID", "1")),
            session_id=uuid.UUID(os.environ.get("BENCH_SESSION_ID", str(uuid.UUID(int=0)))),
        )
    ),
}


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
    query = QUERIES.get(scope["path"])
    if query is None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    async with pool.connection() as conn:
        cursor = await conn.execute(query[0], query[1])
        columns = [column.name for column in cursor.description or ()]
        rows = [dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()]
    body = json.dumps(rows[:20] if scope["path"] == "/jobs" else rows[0], default=_json).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
