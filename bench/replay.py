"""The SQL of each read request, recorded for the ceiling to replay.

`record` serves each path through the API in this process (same settings as the
benchmark's server, its search engine's index included) and keeps every statement the
second request sent to PostgreSQL (what the API sends once warm: a search's parse is kept
per process), with its parameters, as the driver received them. The ceiling
(bench/ceiling.py) then answers the same path by sending the same statements on a bare
psycopg pool and writing the last one's rows as JSON: a ceiling for every read route,
running the very SQL of the route.
"""

import asyncio
import pickle
from pathlib import Path
from typing import Any

import httpx

from backend.core.config import load_settings
from backend.db import observe
from backend.main import create_app

Recorded = dict[str, list[tuple[str, Any]]]


async def _record(env: dict[str, str], requests: list[tuple[str, dict[str, str]]]) -> Recorded:
    settings = load_settings(
        _env_file=None,
        database_url=env["DATABASE_URL"],
        secret_key=env["SECRET_KEY"],
        environment="development",
        rate_limits_enabled=False,
        db_pool_size=2,
        search_index_dir=env.get("SEARCH_INDEX_DIR"),
    )
    app = create_app(settings)
    recorded: Recorded = {}
    async with app.router.lifespan_context(app):
        statements: list[tuple[str, Any]] = []

        def keep(statement: str, parameters: Any) -> None:
            statements.append((statement, parameters))

        # Every statement, whether a session or the raw path of the hot reads sent it.
        with observe.watching(keep):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for path, headers in requests:
                    (await client.get(path, headers=headers)).raise_for_status()
                    statements.clear()
                    response = await client.get(path, headers=headers)
                    response.raise_for_status()
                    recorded[path] = [
                        (sql, params)
                        for sql, params in statements
                        if not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))
                    ]
    return recorded


def record(env: dict[str, str], requests: list[tuple[str, dict[str, str]]], path: Path) -> Path:
    """Record the statements of each (path, headers) and pickle them to `path`."""
    recorded = asyncio.run(_record(env, requests))
    path.write_bytes(pickle.dumps(recorded))
    return path


def load(path: Path) -> Recorded:
    loaded: Recorded = pickle.loads(path.read_bytes())  # noqa: S301 (written by record above)
    return loaded
