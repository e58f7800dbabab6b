"""Résumés kept in an S3-compatible object store (FILE_STORE=s3), against moto's local S3
server: sent before their rows commit, read without a held connection, deleted once their
rows are gone, and swept when their rows never came."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import SettingsError, load_settings
from backend.db.models import PendingUpload, Resume, StoredFile
from backend.services import file_store
from tests import documents
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem
from tests.tasks import run_queued
from tests.test_resumes import upload

KEYS = {"s3_access_key_id": "test-key", "s3_secret_access_key": "test-secret"}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass(frozen=True)
class Bucket:
    client: Any
    name: str


@pytest.fixture
def bucket(s3_server: str) -> Bucket:
    """A bucket of its own for the test, and a client to look into it."""
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id=KEYS["s3_access_key_id"],
        aws_secret_access_key=KEYS["s3_secret_access_key"],
    )
    name = f"resumes-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return Bucket(s3, name)


def objects(bucket: Bucket) -> dict[str, bytes]:
    s3 = bucket.client
    listed = s3.list_objects_v2(Bucket=bucket.name).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=bucket.name, Key=item["Key"])["Body"].read()
        for item in listed
    }


@pytest.fixture
async def s3_client(
    make_client: ClientFactory, s3_server: str, bucket: Bucket
) -> httpx.AsyncClient:
    return await make_client(
        file_store="s3", s3_endpoint_url=s3_server, s3_bucket=bucket.name, **KEYS
    )


async def count(db: AsyncSession, model: Any) -> int:
    return (await db.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_resume_lives_in_the_bucket_and_is_read_from_it(
    s3_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, bucket: Bucket
) -> None:
    content = documents.pdf("Compiler writer, COBOL and FLOW-MATIC")
    response = await upload(s3_client, actors.candidate.headers, content)
    assert response.status_code == 201, response.text
    resume = response.json()
    kept = objects(bucket)
    assert list(kept.values()) == [content]
    (key,) = kept
    assert key.startswith("resumes/")
    stored = select(Resume.file_key).where(Resume.id == resume["id"])
    assert (await db.execute(stored)).scalar_one() == key
    assert await count(db, StoredFile) == 0  # nothing of it in the database
    assert await count(db, PendingUpload) == 0  # kept: no longer pending
    download = await s3_client.get(
        f"/api/v1/resumes/{resume['id']}/file", headers=actors.candidate.headers
    )
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-disposition"].startswith("attachment;")
    # The worker reads its text from the bucket too.
    await run_queued(s3_client, db)
    read = await s3_client.get(f"/api/v1/resumes/{resume['id']}", headers=actors.candidate.headers)
    assert read.json()["text_state"] == "ready"
    assert_problem(
        await s3_client.get(
            f"/api/v1/resumes/{resume['id']}/file", headers=actors.other_candidate.headers
        ),
        404,
    )


async def test_a_removed_resume_leaves_the_bucket_once_its_row_is_gone(
    s3_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, bucket: Bucket
) -> None:
    response = await upload(s3_client, actors.candidate.headers, documents.pdf("Short"))
    resume_id = response.json()["id"]
    await run_queued(s3_client, db)  # its text read
    removed = await s3_client.delete(
        f"/api/v1/users/me/resumes/{resume_id}", headers=actors.candidate.headers
    )
    assert removed.status_code == 204
    # Deleted by a task of the same transaction: only once the row's removal commits.
    assert len(objects(bucket)) == 1
    await run_queued(s3_client, db)
    assert objects(bucket) == {}


async def test_a_file_whose_row_never_came_is_swept(
    s3_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, bucket: Bucket
) -> None:
    for number in range(10):
        response = await upload(s3_client, actors.candidate.headers, documents.pdf(f"CV {number}"))
        assert response.status_code == 201
    # The eleventh is refused after its file was sent: the file is pending, held by no row.
    refused = await upload(s3_client, actors.candidate.headers, documents.pdf("One too many"))
    assert_problem(refused, 409)
    assert len(objects(bucket)) == 11
    (pending,) = (await db.execute(select(PendingUpload.key))).scalars()
    assert pending not in set((await db.execute(select(Resume.file_key))).scalars())
    app = s3_client.app  # type: ignore[attr-defined]
    store = file_store.store_for(app.state.settings)
    # Within the hour it may still be on its way: left alone.
    assert await store.sweep(app.state.sessionmaker) == 0
    await db.execute(
        update(PendingUpload).values(created_at=func.now() - file_store.PENDING_FOR * 2)
    )
    assert await store.sweep(app.state.sessionmaker) == 1
    assert pending not in objects(bucket)
    assert len(objects(bucket)) == 10
    assert await count(db, PendingUpload) == 0


async def test_a_store_that_does_not_answer_is_a_503_and_keeps_nothing(
    make_client: ClientFactory, db: AsyncSession, actors: Actors
) -> None:
    from tests.test_server import free_port

    client = await make_client(
        file_store="s3",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_bucket="nowhere",
        **KEYS,
    )
    response = await upload(client, actors.candidate.headers, documents.pdf("Lost"))
    assert_problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert await count(db, Resume) == 0


def test_the_s3_store_needs_a_bucket() -> None:
    with pytest.raises(SettingsError, match="S3_BUCKET"):
        load_settings(file_store="s3", s3_bucket=None)
