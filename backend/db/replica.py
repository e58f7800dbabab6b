"""A read replica: a streaming standby that serves public reads while it keeps up.

`watch` asks the standby how far behind it is every DB_READ_CHECK_SECONDS. While it answers
within the bound, `usable` is true and public reads go to it; when it stops answering, lags
past DB_READ_MAX_LAG_SECONDS, or a request finds it gone (`mark_down`), they go to the
primary until a check finds it well again.
"""

import asyncio
import logging

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.engine import create_read_sessionmaker
from backend.db.hot import HotConnections
from backend.db.repository import replication as replication_repo

logger = logging.getLogger(__name__)


class ReadReplica:
    def __init__(
        self,
        engine: AsyncEngine,
        hot: HotConnections,
        *,
        max_lag_seconds: float,
        check_seconds: float,
    ):
        self.engine = engine
        self.sessionmaker: async_sessionmaker[AsyncSession] = create_read_sessionmaker(engine)
        self.hot = hot
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.usable = False
        self.lag_seconds: float | None = None

    async def check(self) -> None:
        """Ask the standby how far behind it is, within a bounded time."""
        try:
            with anyio.fail_after(max(2 * self.check_seconds, 2.0)):
                async with self.engine.connect() as connection:
                    lag = await replication_repo.lag_seconds(connection)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            self.lag_seconds = None
            self._set(False, f"does not answer ({type(exc).__name__})")
            return
        self.lag_seconds = lag
        if lag is None:
            self._set(False, "cannot tell how far behind it is")
        elif lag > self.max_lag_seconds:
            self._set(False, f"is {lag:.1f} s behind")
        else:
            self._set(True, "keeps up")

    def mark_down(self, exc: BaseException) -> None:
        """A request found the standby gone: reads go to the primary until it is back."""
        self._set(False, f"failed a request ({type(exc).__name__})")

    async def watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.check_seconds)

    def _set(self, usable: bool, why: str) -> None:
        if usable != self.usable:
            if usable:
                logger.info("read replica %s: public reads go to it", why)
            else:
                logger.warning("read replica %s: public reads go to the primary", why)
        self.usable = usable
