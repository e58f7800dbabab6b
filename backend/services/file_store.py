"""Where uploaded files live: one interface, two stores, chosen by FILE_STORE.

- `database` (the default) keeps each file in PostgreSQL, in the transaction of the use
  case that keeps or drops it: a file exists if and only if the row that names it does,
  every replica of the app sees it, and backups and read replicas hold it.
- `s3` keeps files in an S3-compatible object store (boto3, through its documented client
  API, run in a thread), for deployments whose files outgrow the database. An object store
  takes no part in PostgreSQL's transactions, so the order is what keeps them together: a
  file is sent *before* the transaction that keeps its row, under a key first recorded as
  pending in a committed transaction of its own; the keeping transaction removes the
  pending record. A file is deleted by a task that transaction asks for, so it goes only
  once the row is gone for good. A pending record left behind (the keeping transaction
  rolled back, or its process killed between the two) names a file no row holds: the
  hourly purge deletes the file and the record (`sweep`).

Either way no database connection is held while a file travels: `send` and `read` take
their own short transactions, and the use cases call them while the request holds none.
"""

import asyncio
import uuid
from datetime import timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import ServiceUnavailable
from backend.db.queue import DELETE_STORED_FILE, enqueue
from backend.db.repository import stored_files
from backend.db.transactions import Transactions, own_transaction

# A pending upload older than this is taken for one whose keeping transaction is gone.
PENDING_FOR = timedelta(hours=1)
SWEEP_BATCH = 500


class FileStore(Protocol):
    async def send(self, transactions: Transactions, content: bytes) -> str | None:
        """Before the transaction that keeps the file: send it where it lives, if that is
        outside the database; the key it then goes by (None: `keep` stores it)."""
        ...

    async def keep(self, db: AsyncSession, content: bytes, sent: str | None) -> str:
        """In the transaction that keeps the file's row: the key to find it by."""
        ...

    async def read(self, transactions: Transactions, key: str) -> bytes | None:
        """The content kept under `key`; None when there is none."""
        ...

    async def drop(self, db: AsyncSession, key: str) -> None:
        """In the transaction that drops the file's row: the file goes once it commits."""
        ...

    async def sweep(self, transactions: Transactions) -> int:
        """Delete the files of uploads whose rows never committed; how many."""
        ...


class DatabaseStore:
    """Files as rows of `stored_files`, written and removed in the caller's transaction."""

    async def send(self, transactions: Transactions, content: bytes) -> str | None:
        return None

    async def keep(self, db: AsyncSession, content: bytes, sent: str | None) -> str:
        return str(await stored_files.create(db, content=content))

    async def read(self, transactions: Transactions, key: str) -> bytes | None:
        async with own_transaction(transactions) as db:
            return await stored_files.content(db, file_id=int(key))

    async def drop(self, db: AsyncSession, key: str) -> None:
        await stored_files.delete_file(db, file_id=int(key))

    async def sweep(self, transactions: Transactions) -> int:
        return 0  # nothing is ever sent ahead of its transaction


class S3Store:
    """Files as objects of one bucket of an S3-compatible store, under `resumes/`."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def _call(self, operation: str, **arguments: Any) -> Any:
        """One call of the client's API, in a thread; an unreachable or failing store is a
        503 (nothing is kept)."""
        import botocore.exceptions

        method = getattr(self.client, operation)
        try:
            return await asyncio.to_thread(method, Bucket=self.bucket, **arguments)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise ServiceUnavailable("The file store is unavailable; try again shortly.") from error
        except botocore.exceptions.BotoCoreError as error:
            raise ServiceUnavailable("The file store is unavailable; try again shortly.") from error

    async def send(self, transactions: Transactions, content: bytes) -> str | None:
        key = f"resumes/{uuid.uuid4().hex}"
        async with own_transaction(transactions) as db:
            await stored_files.add_pending(db, key=key)
        await self._call("put_object", Key=key, Body=content)
        return key

    async def keep(self, db: AsyncSession, content: bytes, sent: str | None) -> str:
        if sent is None:
            raise ValueError("an object store keeps only what was sent first")
        await stored_files.remove_pending(db, key=sent)
        return sent

    async def read(self, transactions: Transactions, key: str) -> bytes | None:
        def fetch() -> bytes | None:
            import botocore.exceptions

            try:
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            except self.client.exceptions.NoSuchKey:
                return None
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
                raise ServiceUnavailable(
                    "The file store is unavailable; try again shortly."
                ) from error
            with body:
                content: bytes = body.read()
            return content

        return await asyncio.to_thread(fetch)

    async def drop(self, db: AsyncSession, key: str) -> None:
        await enqueue(db, DELETE_STORED_FILE, key=key)

    async def delete_now(self, key: str) -> None:
        """Delete an object (deleting one that is gone already is no error in S3)."""
        await self._call("delete_object", Key=key)

    async def sweep(self, transactions: Transactions) -> int:
        swept = 0
        while True:
            async with own_transaction(transactions) as db:
                keys = await stored_files.stale_pending(
                    db, older_than=PENDING_FOR, limit=SWEEP_BATCH
                )
            for key in keys:
                await self.delete_now(key)
            async with own_transaction(transactions) as db:
                for key in keys:
                    await stored_files.remove_pending(db, key=key)
            swept += len(keys)
            if len(keys) < SWEEP_BATCH:
                return swept


@cache
def _s3(
    endpoint_url: str | None,
    region: str,
    bucket: str,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> S3Store:
    # Imported here: boto3 takes a moment to load, which a process on the database store
    # need not spend.
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        # A store that does not answer is a 503 within seconds, not a request that hangs.
        config=Config(
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
        ),
    )
    return S3Store(client, bucket)


DATABASE = DatabaseStore()


def store_for(settings: Settings) -> DatabaseStore | S3Store:
    """The store FILE_STORE names (one client per process and configuration)."""
    if settings.file_store == "database":
        return DATABASE
    assert settings.s3_bucket is not None  # checked with the settings
    secret = settings.s3_secret_access_key
    return _s3(
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_bucket,
        settings.s3_access_key_id,
        None if secret is None else secret.get_secret_value(),
    )
