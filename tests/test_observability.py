"""/metrics in Prometheus' format, logs (JSON lines with the request id on each), and
FastAPI's OpenTelemetry traces where they are turned on."""

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import URL

from backend.core.config import Settings
from backend.core.logs import TaskArgumentsFilter, configure_logging, log_format
from tests.conftest import TEST_SECRET_KEY, ClientFactory, empty_every_table
from tests.factories import DEFAULT_PASSWORD, unique_email
from tests.test_server import start_server, stop_server

API = "/api/v1"


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_of(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], **labels: str
) -> float:
    return samples.get(("jobboard_http_requests_total", frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    job = {"method": "GET", "route": f"{API}/jobs/{{job_id}}", "status": "404"}
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    made_up = {"method": "other", "route": "/health/live", "status": "405"}
    before = await scrape(client)
    for job_id in (991, 992, 993):
        assert (await client.get(f"{API}/jobs/{job_id}")).status_code == 404
    assert (await client.get("/no/such/path/1")).status_code == 404
    assert (await client.get("/no/such/path/2")).status_code == 404
    assert (await client.request("BREW", "/health/live")).status_code == 405
    after = await scrape(client)
    assert requests_of(after, **job) - requests_of(before, **job) == 3
    assert requests_of(after, **unmatched) - requests_of(before, **unmatched) == 2
    assert requests_of(after, **made_up) - requests_of(before, **made_up) == 1
    # Made-up paths never become labels.
    assert not any("/no/such" in str(labels) for _, labels in after)
    timed = (
        "jobboard_http_request_duration_seconds_count",
        frozenset({("method", "GET"), ("route", f"{API}/jobs/{{job_id}}")}),
    )
    assert after[timed] - before.get(timed, 0) == 3


async def test_pool_gauges_show_a_request_waiting_for_a_connection(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client(db_pool_size=1, db_max_overflow=0)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    in_use = (
        "jobboard_db_pool_connections",
        frozenset({("database", "primary"), ("state", "in_use")}),
    )
    waiting = (
        "jobboard_db_pool_connections",
        frozenset({("database", "primary"), ("state", "waiting")}),
    )
    async with engine.connect() as held:
        await held.exec_driver_sql("SELECT 1")
        blocked = asyncio.create_task(client.get(f"{API}/companies"))
        for _ in range(100):
            samples = await scrape(client)
            if samples[waiting] == 1:
                break
            await asyncio.sleep(0.02)
        assert samples[waiting] == 1
        assert samples[in_use] == 1
    assert (await blocked).status_code == 200
    samples = await scrape(client)
    assert samples[waiting] == 0
    assert samples[in_use] == 0
    limit = ("jobboard_password_hash_queue", frozenset({("state", "limit")}))
    assert samples[limit] == client.app.state.hasher.queue_limit  # type: ignore[attr-defined]
    assert samples[("jobboard_password_hash_queue", frozenset({("state", "pending")}))] == 0
    # The process itself.
    assert samples[("process_resident_memory_bytes", frozenset())] > 10_000_000
    assert samples[("process_cpu_seconds_total", frozenset())] > 0


async def test_throttled_sign_ins_are_counted_by_limit(client: httpx.AsyncClient) -> None:
    email = unique_email("throttled")
    key = ("jobboard_throttled_requests_total", frozenset({("limit", "login_email")}))
    before = (await scrape(client)).get(key, 0.0)
    statuses = [
        (
            await client.post(
                f"{API}/auth/token", data={"username": email, "password": "wrong-password-1"}
            )
        ).status_code
        for _ in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    assert (await scrape(client))[key] - before == 2


def test_production_logs_are_json_and_development_logs_are_text() -> None:
    common = {"secret_key": TEST_SECRET_KEY, "_env_file": None}
    production = Settings(environment="production", mail_backend="smtp", **common)  # type: ignore[arg-type]
    assert log_format(production) == "json"
    assert log_format(Settings(environment="development", **common)) == "text"  # type: ignore[arg-type]
    assert log_format(Settings(log_format="json", **common)) == "json"  # type: ignore[arg-type]


@pytest.fixture
def logging_restored() -> Iterator[None]:
    yield
    configure_logging(Settings(secret_key=TEST_SECRET_KEY, _env_file=None))


def test_the_access_log_is_written_only_where_its_level_is(logging_restored: None) -> None:
    # Above INFO, uvicorn finds nowhere to write access lines and skips building them.
    common = {"secret_key": TEST_SECRET_KEY, "_env_file": None}
    access = logging.getLogger("uvicorn.access")
    for level, written in (("WARNING", False), ("INFO", True), ("DEBUG", True), ("ERROR", False)):
        configure_logging(Settings(log_level=level, **common))  # type: ignore[arg-type]
        assert access.hasHandlers() is written, level


def test_every_json_log_line_carries_its_request_id_and_no_secret(
    migrated_url: URL, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    mail = tmp_path / "mail"
    server = start_server(
        migrated_url,
        log=log,
        LOG_FORMAT="json",
        LOG_LEVEL="info",
        # The confirmation mail's task runs in the server, so its logs are here too.
        WORKER_IN_PROCESS="true",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(mail),
    )
    password = "a-secret-password-1234"
    try:
        body = {"email": unique_email("logged"), "password": password, "full_name": "L"}
        registered = httpx.post(
            f"{server.url}{API}/auth/register", json=body, headers={"X-Request-ID": "trace-42"}
        )
        assert registered.status_code == 201
        deadline = time.monotonic() + 20
        while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        token = httpx.post(
            f"{server.url}{API}/auth/token",
            data={"username": body["email"], "password": password},
            headers={"X-Request-ID": "trace-43"},
        ).json()["access_token"]
        me = httpx.get(
            f"{server.url}{API}/users/me",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-44"},
        )
        assert me.status_code == 200
    finally:
        stop_server(server)
        empty_every_table(migrated_url)
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    access = {
        line["request_id"]: line["message"] for line in lines if line["logger"] == "uvicorn.access"
    }
    assert '"POST /api/v1/auth/register HTTP/1.1" 201' in access["trace-42"]
    assert '"GET /api/v1/users/me HTTP/1.1" 200' in access["trace-44"]
    # Each access line's figures as fields of their own, for searching and summing.
    me = next(
        line
        for line in lines
        if line["logger"] == "uvicorn.access" and line["request_id"] == "trace-44"
    )
    assert (me["method"], me["path"], me["status"]) == ("GET", "/api/v1/users/me", 200)
    assert 0 < me["duration_ms"] < 10_000
    for secret in (password, token, DEFAULT_PASSWORD, TEST_SECRET_KEY):
        assert secret not in text
    # The queue names each task it runs, but not its arguments (here, an address).
    assert len(list(mail.glob("*.eml"))) == 1
    tasks = [line for line in lines if line["logger"].startswith("procrastinate")]
    assert any("send_email_verification[" in line["message"] for line in tasks)
    assert body["email"] not in text


async def test_fastapis_opentelemetry_traces_requests_only_when_turned_on(
    make_client: ClientFactory,
) -> None:
    # A deployment's OpenTelemetry SDK, as `opentelemetry-instrument` would configure it.
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # set once a process
        trace.set_tracer_provider(TracerProvider())
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    default = await make_client()
    assert (await default.get("/health/live")).status_code == 200
    assert exporter.get_finished_spans() == ()

    traced = await make_client(opentelemetry_enabled=True)
    assert (await traced.get("/health/live")).status_code == 200
    names = [span.name for span in exporter.get_finished_spans()]
    assert "GET /health/live" in names, names


@pytest.mark.parametrize(
    ("message", "written"),
    [
        (
            "Waiting for job to finish: worker: send_email_verification[7]"
            "(user_id=3, to='eve)@example.com') (started 1.250 s ago)",
            "Waiting for job to finish: worker: send_email_verification[7] (started 1.250 s ago)",
        ),
        (
            "Job send_job_alert[None](saved_search_id=4, words=['a', \"b(\"]) ended",
            "Job send_job_alert[None] ended",
        ),
        ("cut short: purge[9](timestamp=1, note='(", "cut short: purge[9]"),
        ("Stop requested (no task here)", "Stop requested (no task here)"),
    ],
)
def test_a_task_in_a_queue_message_is_named_without_its_arguments(
    message: str, written: str
) -> None:
    # procrastinate writes the tasks in hand at shutdown into the message alone, with no
    # task in the record.
    record = logging.LogRecord(
        "procrastinate.worker", logging.INFO, __file__, 1, message, None, None
    )
    assert TaskArgumentsFilter().filter(record)
    assert record.getMessage() == written


def test_a_task_in_a_queue_record_keeps_no_arguments() -> None:
    job = {"id": 5, "task_name": "send_password_reset", "task_kwargs": {"user_id": 8}}
    call = "send_password_reset[5](user_id=8)"
    record = logging.LogRecord(
        "procrastinate.worker", logging.INFO, __file__, 1, f"Starting job {call}", None, None
    )
    record.__dict__["job"] = {**job, "call_string": call}  # as `extra=` puts it
    assert TaskArgumentsFilter().filter(record)
    assert record.getMessage() == "Starting job send_password_reset[5]"
    assert record.__dict__["job"] == {
        "id": 5,
        "task_name": "send_password_reset",
        "call_string": "send_password_reset[5]",
    }


async def test_every_connection_of_the_api_is_named_for_what_opened_it(
    make_live_client: ClientFactory,
) -> None:
    # pg_stat_activity and the server's log tell the engine's connections from the hot
    # reads' own (and, elsewhere, from the worker, its queue and `migrate`).
    client = await make_live_client(rate_limits_enabled=False, db_pool_size=3, db_hot_pool_size=1)
    app: Any = client.app  # type: ignore[attr-defined]
    await app.state.hot.pool.wait()
    async with app.state.hot.connection() as raw:
        hot = await (await raw.execute("SELECT current_setting('application_name')")).fetchone()
    async with app.state.engine.connect() as connection:
        engine = (
            await connection.execute(text("SELECT current_setting('application_name')"))
        ).scalar()
    assert hot == ("jobboard-api-hot",)
    assert engine == "jobboard-api"


def test_routine_runs_of_the_ten_second_housekeeping_are_not_logged_at_info() -> None:
    from backend.core.logs import RoutineTasksFilter

    def record(name: str, level: int, message: str) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, message, None, None)

    routine = RoutineTasksFilter()
    assert not routine.filter(
        record("procrastinate.worker", logging.INFO, "Starting job retry_stalled_tasks[7]")
    )
    # Other tasks, its warnings, and other loggers pass.
    assert routine.filter(
        record("procrastinate.worker", logging.INFO, "Starting job send_job_alert[8]")
    )
    assert routine.filter(
        record("procrastinate.worker", logging.WARNING, "Job retry_stalled_tasks[7] failed")
    )
    assert routine.filter(record("backend.x", logging.INFO, "retry_stalled_tasks[7]"))
