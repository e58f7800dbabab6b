"""The async engine and session factory, built by the app (never at import)."""

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.core.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine over psycopg 3 with pre-pinged pooled connections and a statement timeout."""
    return create_async_engine(
        settings.database,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # A connection that died with a restarted server is replaced, not handed out.
        pool_pre_ping=True,
        connect_args={
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "connect_timeout": 5,
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after the commit, which happens before the response is built.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
