"""Alembic environment: async, with the URL from the app's settings.

A caller may hand over a URL in `config.attributes["url"]` (the test suite and
`python -m backend migrate` do); otherwise DATABASE_URL from the environment and `.env`.
"""

import asyncio
import logging.config
import time

from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context
from backend.core.config import load_settings
from backend.db.admin import MIGRATION_LOCK
from backend.db.engine import application_name
from backend.db.models import Base, belongs_to_queue

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url")
    if url is not None:
        return str(url)
    return load_settings().database.render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


# DDL that would wait longer than this for a table's lock fails instead of holding up every
# query queued behind it; run `migrate` again when the long query is gone.
LOCK_TIMEOUT = "5s"
# How often a `migrate` waiting for another's to finish tries the migration lock again.
LOCK_RETRY_SECONDS = 0.2


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """The task queue's tables come from procrastinate's SQL, not from the models."""
    return not (type_ == "table" and belongs_to_queue(name))


def _take_the_migration_lock(connection: Connection) -> None:
    """The migration lock, for the session: tried, and tried again every LOCK_RETRY_SECONDS
    while another `migrate` holds it, with no transaction open in between. A session
    waiting inside `pg_advisory_lock` holds a snapshot, and the holder's `CREATE INDEX
    CONCURRENTLY` waits for every older snapshot to end: each would wait for the other."""
    while True:
        taken = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK}
        ).scalar_one()
        connection.commit()
        if taken:
            return
        time.sleep(LOCK_RETRY_SECONDS)


def _run(connection: Connection) -> None:
    # For the whole run, on this connection (straight to PostgreSQL, never through a
    # transaction-mode pool): the migration lock, and the timeouts every statement gets,
    # those of the steps that run outside a migration's transaction included
    # (backend.db.online_ddl).
    _take_the_migration_lock(connection)
    connection.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
    # Backfills may take longer than the app's statements are allowed to.
    connection.execute(text("SET statement_timeout = 0"))
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        # Each migration commits on its own: what one changes is released before the next
        # starts, and a failed run keeps the migrations that finished.
        transaction_per_migration=True,
    )
    # The lock ends with the connection (run_migrations_online closes it).
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(
        _url(),
        poolclass=pool.NullPool,
        connect_args={"application_name": application_name("migrate")},
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
