"""Webhooks delivered by real worker processes: a worker killed while a receiver holds the
request loses nothing, and the copy the next worker sends carries the same `webhook-id`."""

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from backend.db.engine import create_engine, create_sessionmaker
from backend.services import webhooks
from tests.conftest import make_settings
from tests.receiver import receiving
from tests.test_worker import (
    SmtpServer,
    add_user,
    database,
    smtp,
    sql,
    start_worker,
    stop,
    wait_for,
)

__all__ = ["database", "smtp"]  # fixtures this module's tests use


async def an_application_event(url: URL, company_id: int) -> None:
    """What a request that applied commits: its event, and the run it asks for."""
    settings = make_settings(url, direct=True)
    engine = create_engine(settings, role="tests")

    async def items() -> list[dict[str, Any]]:
        return [{"application_id": 1, "job_id": 1, "status": "submitted", "stage": "applied"}]

    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            await webhooks.emit(
                db,
                company_id=company_id,
                event_type=webhooks.EventType.application_created,
                items=items,
            )
    finally:
        await engine.dispose()


async def the_sweep(url: URL) -> int:
    """What the periodic sweep does: ask for a run of each endpoint with a due delivery."""
    settings = make_settings(url, direct=True)
    engine = create_engine(settings, role="tests")
    try:
        return await webhooks.schedule_due(create_sessionmaker(engine))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("swept", [False, True], ids=["alone", "with-a-run-waiting"])
def test_a_worker_killed_mid_delivery_loses_nothing_and_the_copy_keeps_its_id(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path, swept: bool
) -> None:
    """With a run asked for meanwhile (the sweep's, under the same queueing lock), the
    dead worker's run cannot be queued again: it ends, and the waiting one delivers."""
    _, smtp_port = smtp
    employer = add_user(database, "hooks@example.com", role="employer")
    ((company_id,),) = sql(
        database,
        "INSERT INTO companies (name, owner_id) VALUES ('Hooked', %s) RETURNING id",
        employer,
    )
    released = threading.Event()
    with receiving() as receiver:
        ((endpoint_id,),) = sql(
            database,
            "INSERT INTO webhook_endpoints (company_id, url, events, secret) "
            "VALUES (%s, %s, ARRAY['application.created'], %s) RETURNING id",
            company_id,
            receiver.url,
            webhooks.new_secret(),
        )
        receiver.hold = released  # the first request waits until the worker is dead
        asyncio.run(an_application_event(database, company_id))
        quick = {
            "WORKER_STALLED_SECONDS": "2",
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "WEBHOOK_TIMEOUT_SECONDS": "30",
        }
        first = start_worker(database, smtp_port, tmp_path / "first.log", **quick)
        try:
            wait_for(lambda: len(receiver.received) == 1, what="the first worker's request")
        finally:
            first.kill()
            first.wait()
        released.set()
        receiver.hold = None
        state = sql(database, "SELECT state, attempts FROM webhook_deliveries")
        assert state == [("pending", 1)]
        if swept:
            assert asyncio.run(the_sweep(database)) == 1
        second = start_worker(database, smtp_port, tmp_path / "second.log", **quick)
        try:
            wait_for(
                lambda: sql(database, "SELECT state FROM webhook_deliveries") == [("succeeded",)],
                seconds=60,
                what="the second worker's delivery",
            )
        finally:
            stop(second)
        first_copy, second_copy = receiver.received
        assert first_copy.headers["webhook-id"] == second_copy.headers["webhook-id"]
        assert first_copy.body == second_copy.body
        assert sql(
            database,
            "SELECT attempts, response_status FROM webhook_deliveries WHERE endpoint_id = %s",
            endpoint_id,
        ) == [(2, 204)]
