"""Prometheus metrics (prometheus_client): requests by route template and status, the
database pools, the password-hash queue, throttled requests and the read replica (the API,
at `/metrics`); the task queue, task runs and mail (a worker, on WORKER_METRICS_PORT); the
process itself (both).

Each process answers for itself, so every server runs one process (one per container;
`serve --workers` above 1 refuses to start with metrics on) and each is scraped.
"""

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Process-wide: requests pass through every app of the process, throttles are decided in
# services that know no app.
PROCESS = CollectorRegistry()
REQUESTS = Counter(
    "jobboard_http_requests",
    "Requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=PROCESS,
)
LATENCY = Histogram(
    "jobboard_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PROCESS,
)
THROTTLED = Counter(
    "jobboard_throttled_requests",
    "Requests refused with 429, by the limit that refused them.",
    ["limit"],
    registry=PROCESS,
)

# The process: CPU seconds, resident memory, open files, start time (process_*), and the
# Python it runs (python_info).
ProcessCollector(registry=PROCESS)
PlatformCollector(registry=PROCESS)

# A worker's: what its tasks did, and the mail it sent.
TASK_RUNS = Counter(
    "jobboard_task_runs",
    "Task runs finished, by task and outcome (succeeded, failed: retried later or left failed).",
    ["task", "outcome"],
    registry=PROCESS,
)
TASK_DURATION = Histogram(
    "jobboard_task_duration_seconds",
    "How long a task's run took, by task.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=PROCESS,
)
MAILS = Counter(
    "jobboard_mails",
    "Mails handed to the mail server, by outcome (sent: accepted; failed: refused or "
    "unreachable, the task retried).",
    ["outcome"],
    registry=PROCESS,
)

# What no route matched is counted as one route, any other method as one method: what a
# client makes up never becomes a label.
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (`/api/v1/jobs/{job_id}`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None
        # The counter and histogram of each (method, template, status), looked up once:
        # `labels()` checks and locks on every call. Bounded: every part comes from a fixed
        # set (methods, the routes' templates, HTTP statuses).
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def template(self, scope: Scope) -> str:
        """The whole path template of the route that served the request. The route in the
        scope is the one its router declared (`/jobs/{job_id}`); the prefixes it was included
        under are in the app's route contexts, read once."""
        if self._templates is None:
            self._templates = {}
            for context in iter_route_contexts(scope["app"].routes):
                path_format = getattr(context, "path_format", None)
                if path_format:
                    self._templates[id(getattr(context, "original_route", context))] = path_format
        route = scope.get("route")
        return self._templates.get(id(route), UNMATCHED) if route is not None else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            template = self.template(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            key = (method, template, status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = (
                    REQUESTS.labels(method, template, str(status)),
                    LATENCY.labels(method, template),
                )
            series[0].inc()
            series[1].observe(time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class Gauge:
    """A gauge family a collector builds at each scrape, declared once."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()

    def family(self, value: float | None = None) -> GaugeMetricFamily:
        if self.labels:
            return GaugeMetricFamily(self.name, self.documentation, labels=list(self.labels))
        return GaugeMetricFamily(self.name, self.documentation, value=value)


POOL_CONNECTIONS = Gauge(
    "jobboard_db_pool_connections",
    "Pooled database connections by state: in_use, idle, overflow (beyond the pool's "
    "size) and waiting (requests waiting for one).",
    ("database", "state"),
)
HASH_QUEUE = Gauge(
    "jobboard_password_hash_queue",
    "Password hashes waiting or running, and the most allowed at once.",
    ("state",),
)
REPLICA_USABLE = Gauge(
    "jobboard_read_replica_usable", "1 while public reads go to the read replica, else 0."
)
REPLICA_LAG = Gauge(
    "jobboard_read_replica_lag_seconds",
    "How far the read replica's replay was behind at the last check.",
)
QUEUE_TASKS = Gauge(
    "jobboard_queue_tasks",
    "Tasks in the queue by task and state (waiting, scheduled, running, retrying, failed).",
    ("task", "state"),
)
QUEUE_OLDEST = Gauge(
    "jobboard_queue_oldest_waiting_seconds",
    "How long the longest-waiting task that is due has waited, by task.",
    ("task",),
)
QUEUE_CHECKED = Gauge(
    "jobboard_queue_checked_timestamp_seconds", "When the queue was last counted (Unix time)."
)


class AppCollector(Collector):
    """Read at each scrape from the app's state: pools, hash queue, replica."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def describe(self) -> Iterator[Metric]:
        """Every family this collector may yield (some only with a read replica)."""
        for gauge in (POOL_CONNECTIONS, HASH_QUEUE, REPLICA_USABLE, REPLICA_LAG):
            yield gauge.family(0)

    def collect(self) -> Iterator[Metric]:
        connections = POOL_CONNECTIONS.family()
        engines = [("primary", getattr(self.state, "engine", None))]
        replica = getattr(self.state, "replica", None)
        if replica is not None:
            engines.append(("replica", replica.engine))
        for name, engine in engines:
            if engine is None:
                continue
            pool = engine.pool
            connections.add_metric([name, "in_use"], pool.checkedout())
            connections.add_metric([name, "idle"], pool.checkedin())
            connections.add_metric([name, "overflow"], max(pool.overflow(), 0))
            connections.add_metric([name, "waiting"], getattr(pool, "waiting", 0))
        hot_pools = [("primary", getattr(getattr(self.state, "hot", None), "pool", None))]
        if replica is not None:
            hot_pools.append(("replica", getattr(replica.hot, "pool", None)))
        for name, hot in hot_pools:
            if hot is None:
                continue
            # The hot reads' own pool (psycopg_pool's public statistics).
            stats = hot.get_stats()
            size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
            connections.add_metric([f"{name}_hot", "in_use"], size - idle)
            connections.add_metric([f"{name}_hot", "idle"], idle)
        yield connections
        hasher = getattr(self.state, "hasher", None)
        if hasher is not None:
            queue = HASH_QUEUE.family()
            queue.add_metric(["pending"], hasher.pending)
            queue.add_metric(["limit"], hasher.queue_limit)
            yield queue
        if replica is not None:
            yield REPLICA_USABLE.family(1 if replica.usable else 0)
            if replica.lag_seconds is not None:
                yield REPLICA_LAG.family(replica.lag_seconds)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """The task queue at one moment (`backend.db.repository.task_queue.snapshot`)."""

    at: float
    # (task, state) -> tasks; states: waiting (due now), scheduled (later), running,
    # retrying (waiting again after a failed try), failed (for good, for an operator).
    tasks: dict[tuple[str, str], int] = field(default_factory=dict)
    # task -> seconds the longest-waiting due task of that name has waited.
    oldest_waiting: dict[str, float] = field(default_factory=dict)


class QueueCollector(Collector):
    """The last queue count a worker took (it counts every WORKER_QUEUE_CHECK_SECONDS; a
    scrape never waits on the database). Every worker reports the same queue: aggregate
    with max, not sum."""

    def __init__(self) -> None:
        self.counts: QueueCounts | None = None

    def describe(self) -> Iterator[Metric]:
        for gauge in (QUEUE_TASKS, QUEUE_OLDEST, QUEUE_CHECKED):
            yield gauge.family(0)

    def collect(self) -> Iterator[Metric]:
        counts = self.counts
        if counts is None:
            return
        tasks = QUEUE_TASKS.family()
        for (task, state), number in sorted(counts.tasks.items()):
            tasks.add_metric([task, state], number)
        yield tasks
        oldest = QUEUE_OLDEST.family()
        for task, seconds in sorted(counts.oldest_waiting.items()):
            oldest.add_metric([task], seconds)
        yield oldest
        yield QUEUE_CHECKED.family(counts.at)


def app_registry(state: Any) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(state))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The process's metrics and the app's, in Prometheus' text format."""
    return generate_latest(PROCESS) + generate_latest(registry)


class MetricsUnavailable(Exception):
    """Metrics cannot be served where they were asked for (the port is taken, say)."""


@contextlib.contextmanager
def serving(registry: CollectorRegistry, address: str, port: int) -> Iterator[None]:
    """`registry` served on `address:port` (prometheus_client's own server, in a thread)
    until the block ends."""
    try:
        server, thread = start_http_server(port, addr=address, registry=registry)
    except OSError as exc:
        raise MetricsUnavailable(
            f"cannot serve metrics on {address}:{port}: {exc.strerror or exc}"
        ) from None
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def separate_registry(state: Any) -> CollectorRegistry:
    """The process's metrics and the app's in one registry, for a port of their own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PROCESS)  # a registry is a collector of everything in it
    registry.register(AppCollector(state))
    return registry
