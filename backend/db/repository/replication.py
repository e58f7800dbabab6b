"""What a streaming standby says of itself."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Seconds the standby's replay is behind: 0 when it has replayed all it received (an idle
# primary sends nothing, so the age of the last replayed transaction says nothing then; after
# a restart the receiver starts again at its segment's start, before the replay point), else
# the age of the last transaction it replayed; NULL when it cannot tell. A primary is 0.
_LAG = text(
    """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
        ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
    END
    """
)


async def lag_seconds(connection: AsyncConnection) -> float | None:
    lag = (await connection.execute(_LAG)).scalar_one()
    return None if lag is None else float(lag)
