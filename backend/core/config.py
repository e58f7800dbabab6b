"""Settings, read from the environment and `.env` when an app or command is built."""

import logging
import secrets
import tempfile
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)

# The value `.env.template` ships with; refused outside development.
PLACEHOLDER_SECRET_KEY = "change-me-to-a-long-random-string"  # noqa: S105
MIN_SECRET_KEY_BYTES = 32


class SettingsError(Exception):
    """The configuration cannot be used; the message says why in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    # json: one JSON object a line (the default in production); text: readable lines.
    log_format: Literal["text", "json"] | None = None
    # GET /metrics in Prometheus' format: on the app's own port (deny it at the proxy:
    # deploy/haproxy/haproxy.cfg), or with METRICS_PORT set, on that port of
    # METRICS_ADDRESS only (Kubernetes: a NetworkPolicy lets only the monitoring in).
    metrics_enabled: bool = True
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_address: str = "127.0.0.1"
    # FastAPI's OpenTelemetry traces, metrics and logs, for a deployment that configures an
    # OpenTelemetry SDK (`opentelemetry-instrument`, say). Off, a request skips FastAPI's check
    # for a configured one (see BENCHMARKS.md).
    opentelemetry_enabled: bool = False

    # Tokens
    secret_key: SecretStr = SecretStr("")
    algorithm: Literal["HS256"] = "HS256"
    access_token_expire_minutes: int = Field(default=30, ge=1, le=24 * 60)
    jwt_issuer: str = Field(default="jobboard", min_length=1)
    jwt_audience: str = Field(default="jobboard-api", min_length=1)
    # A sign-in session lasts this long at most; refresh tokens cannot outlive it.
    session_expire_days: int = Field(default=30, ge=1, le=365)

    # Passwords
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    # Hashes waiting or running at once before a sign-in is refused with 503 (0: 8 a thread).
    password_hash_queue_limit: int = Field(default=0, ge=0)

    # Database
    database_url: str = "postgresql+psycopg://postgres:postgres@localhost:5432/jobboard"
    # Development: the built-in PostgreSQL (backend/embedded.py) with its data here; every
    # command then uses DATABASE_URL's database on it. Refused in production.
    postgres_embedded_dir: Path | None = None
    # Connections one process keeps (and may add): 14 API processes x 5 = 70, with two
    # background workers' 2 x (5 + 3), fit in PostgreSQL's default max_connections (100)
    # with room for migrate, purge and psql (see docs/deployment.md, "The connection
    # budget"). A request holds one only while it talks to the database; more at once wait
    # up to DB_POOL_TIMEOUT_SECONDS.
    db_pool_size: int = Field(default=5, ge=1)
    # Of an API process's DB_POOL_SIZE, how many serve the hot reads from psycopg's own pool
    # (see backend.db.hot); the engine keeps the rest, at least one. 0: the hot reads take
    # the engine's connections.
    db_hot_pool_size: int = Field(default=2, ge=0)
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    # Optional streaming standby for public reads that tolerate a little lag; used only while
    # it answers and its replay is at most DB_READ_MAX_LAG_SECONDS behind (checked every
    # DB_READ_CHECK_SECONDS), else those reads go to the primary.
    database_read_url: str | None = None
    db_read_max_lag_seconds: float = Field(default=5.0, gt=0)
    db_read_check_seconds: float = Field(default=1.0, gt=0)
    # psycopg prepares statements it runs often; PgBouncer in transaction mode (before
    # 1.21) cannot keep them, so set this to false behind it.
    db_prepared_statements: bool = True

    # The search engine (backend/search): a tantivy index of the published jobs in this
    # directory, kept from PostgreSQL's outbox by one API process per directory (the others
    # read it). Unset: relevance is ranked by PostgreSQL alone, over every match (slower
    # at scale; see docs/deployment.md). How often the outbox is read, in seconds.
    search_index_dir: Path | None = None
    search_index_interval_seconds: float = Field(default=0.2, gt=0, le=60)

    # Moderation (backend.services.moderation): a poster's jobs are held for a moderator's
    # review until this many of theirs were approved with none rejected; 0 publishes new
    # posters' jobs at once (companies a moderator set to "always review" are still held).
    moderation_first_jobs: int = Field(default=3, ge=0, le=1000)
    # Whether a scam or spam signal (backend.services.signals) holds a job by itself; off,
    # signals are only shown to moderators.
    moderation_signals_hold: bool = True
    # Jobs an account, and the registrable domain of its address (free mail services
    # excepted), may ask to publish a day.
    jobs_per_day: int = Field(default=20, ge=1, le=100_000)
    jobs_per_day_per_domain: int = Field(default=100, ge=1, le=1_000_000)
    # Comments an account may write an hour in jobs' threads with the moderators.
    comments_per_hour: int = Field(default=30, ge=1, le=10_000)
    # A public job is held for review once this many people have an open report of it
    # (reports that it is filled excepted); each account, and each address signed out, may
    # report this many jobs an hour.
    reports_to_hold: int = Field(default=3, ge=1, le=1000)
    reports_per_hour: int = Field(default=10, ge=1, le=10_000)
    # Jobs that are really open (backend.services.open_checks): this many days after its
    # employer last confirmed a published job open (or published it), they are asked to
    # confirm it again, as they are at once when this many people report it filled;
    # unanswered this many days later, it closes.
    open_check_days: int = Field(default=30, ge=1, le=3650)
    filled_reports_to_ask: int = Field(default=3, ge=1, le=1000)
    open_check_grace_days: int = Field(default=7, ge=1, le=365)
    # Jobs an hourly run asks about at most (a backlog is asked over several runs).
    open_checks_per_run: int = Field(default=2000, ge=1, le=1_000_000)

    # HTTP
    # `python -m backend serve`: the request parser, how large a request's head may be, and
    # how long a busy worker may take to answer its supervisor before it is replaced.
    http_parser: Literal["h11", "httptools"] = "h11"
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    worker_healthcheck_timeout_seconds: int = Field(default=60, ge=1)
    # On SIGTERM: readiness 503 while still serving for DRAIN_SECONDS, then at most
    # SHUTDOWN_GRACE_SECONDS to finish what is in flight (see backend.core.draining).
    drain_seconds: float = Field(default=5.0, ge=0)
    shutdown_grace_seconds: int = Field(default=20, ge=1)
    # One deadline for a whole request, pool wait and statements included (0: none).
    request_timeout_seconds: float = Field(default=10.0, ge=0)
    cors_origins: Annotated[list[str], NoDecode] = []
    # The web app at / (backend/web): off for deployments that serve the API alone.
    web_app_enabled: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Where the web app is (links in mail and feeds open it) and where the API is reached
    # from outside (links in mail that mail clients POST to). Unset, `serve` makes both the
    # address it listens on (`--host`, `--port`), so `make run PORT=...` moves every link.
    frontend_url: str = "http://127.0.0.1:8000"
    api_url: str = "http://127.0.0.1:8000"
    # Client addresses are read from X-Forwarded-For only when the peer is one of these.
    forwarded_allow_ips: str = "127.0.0.1"

    # Résumés: the largest file a candidate may upload, the most pages a PDF may have, and
    # what reading one may take (a child process is killed past these: see core.sandbox).
    resume_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    resume_max_pages: int = Field(default=50, ge=1, le=10_000)
    resume_parse_seconds: float = Field(default=10.0, gt=0, le=300)
    resume_parse_memory_mb: int = Field(default=768, ge=128)
    # Where uploaded files live: the database (the default), or an S3-compatible object
    # store (see backend.services.file_store): its address (None: AWS itself), bucket,
    # region and keys (None: boto3's own lookup, such as an instance's role).
    file_store: Literal["database", "s3"] = "database"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    # Sessions and password reset
    reset_token_expire_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # A refresh token presented again this soon after it was spent is taken for a race
    # between two tabs (401, nothing revoked), not for a replay (which ends the session).
    refresh_reuse_leeway_seconds: int = Field(default=10, ge=0, le=300)

    # Throttling: per email always; per client address unless RATE_LIMITS_ENABLED=false.
    rate_limits_enabled: bool = True
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    address_max_failures: int = Field(default=50, ge=1)
    address_rate_limit_per_minute: int = Field(default=20, ge=1)
    # Requests one API key may make a minute (whatever RATE_LIMITS_ENABLED says).
    api_key_requests_per_minute: int = Field(default=600, ge=1)

    # Webhooks: how long a receiver has to answer, after how many days of failing an
    # endpoint is disabled, and whether endpoints may be plain http or private addresses
    # (loopback, private networks: for development and tests only, never in production).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_disable_after_days: float = Field(default=3.0, gt=0, le=30)
    webhook_allow_private: bool = False

    # Mail: console (logged) by default in development, smtp in production.
    mail_backend: Literal["console", "file", "smtp"] | None = None
    mail_from: str = "Job board <no-reply@localhost>"
    mail_file_dir: Path = Path("mail")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    # Background work (backend.tasks): how many tasks a worker runs at once, how often a
    # failing task is tried (waiting TASK_RETRY_BASE_SECONDS ** attempt between tries)
    # before it is left failed for an operator, and whether `serve` runs a worker in its own
    # process (development; production runs `python -m backend worker` beside it).
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    worker_in_process: bool = False
    # Workers hear of new tasks at once through LISTEN/NOTIFY, else by polling every
    # WORKER_POLL_SECONDS; PgBouncer in transaction mode cannot LISTEN: set it to false there.
    worker_listen_notify: bool = True
    worker_poll_seconds: float = Field(default=5.0, gt=0)
    # A worker sends a heartbeat every sixth of this; one silent for this long is taken for
    # dead, and its tasks run again elsewhere.
    worker_stalled_seconds: float = Field(default=60.0, ge=1)
    # A running worker touches this file; `python -m backend worker --check` reads it.
    worker_heartbeat_file: Path = Path(tempfile.gettempdir()) / "jobboard-worker-alive"
    # A worker serves its metrics (the queue, tasks, mail; Prometheus' text format) on this
    # port of WORKER_METRICS_ADDRESS; 0: not at all.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_address: str = "127.0.0.1"
    # How often a worker with metrics on counts the queue (one query over its table).
    worker_queue_check_seconds: float = Field(default=15.0, ge=1)
    task_max_attempts: int = Field(default=10, ge=1, le=50)
    task_retry_base_seconds: int = Field(default=3, ge=1, le=60)

    # Notifications: at most one "new applicants" mail per job in this many minutes.
    notify_batch_minutes: int = Field(default=10, ge=0, le=24 * 60)
    # Links in mail: email verification, and one-click unsubscribe.
    verification_token_expire_hours: int = Field(default=48, ge=1, le=24 * 30)
    unsubscribe_token_expire_days: int = Field(default=365, ge=1, le=3650)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = make_url(value)
        if url.drivername != "postgresql+psycopg":
            raise ValueError("a database URL must start with postgresql+psycopg://")
        if not url.database:
            raise ValueError("a database URL must name a database")
        return value

    @model_validator(mode="after")
    def _check_secret_key(self) -> "Settings":
        key = self.secret_key.get_secret_value()
        problem = None
        if not key:
            problem = "SECRET_KEY is not set"
        elif key == PLACEHOLDER_SECRET_KEY:
            problem = "SECRET_KEY is still the placeholder from .env.template"
        elif len(key.encode()) < MIN_SECRET_KEY_BYTES:
            problem = f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes"
        if problem is None:
            return self
        if self.environment == "production":
            raise ValueError(f"{problem}; refusing to start with ENVIRONMENT=production")
        # Development only: a throwaway key, so tokens die with the process.
        logger.warning("%s; using a random key for this process (development only)", problem)
        object.__setattr__(self, "secret_key", SecretStr(secrets.token_urlsafe(48)))
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> "Settings":
        if self.file_store == "s3" and not self.s3_bucket:
            raise ValueError("FILE_STORE=s3 needs S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _no_embedded_server_in_production(self) -> "Settings":
        if self.postgres_embedded_dir is not None and self.environment == "production":
            raise ValueError(
                "POSTGRES_EMBEDDED_DIR is for development (a built-in PostgreSQL); "
                "refusing to start with ENVIRONMENT=production"
            )
        return self

    @model_validator(mode="after")
    def _no_private_webhooks_in_production(self) -> "Settings":
        if self.webhook_allow_private and self.environment == "production":
            raise ValueError(
                "WEBHOOK_ALLOW_PRIVATE would let webhooks reach the board's own network; "
                "refusing to start with ENVIRONMENT=production"
            )
        return self

    @model_validator(mode="after")
    def _default_mail_backend(self) -> "Settings":
        if self.mail_backend == "console" and self.environment == "production":
            raise ValueError(
                "MAIL_BACKEND=console would write password reset links into the logs; "
                "refusing to start with ENVIRONMENT=production"
            )
        if self.mail_backend is None:
            backend = "console" if self.environment == "development" else "smtp"
            object.__setattr__(self, "mail_backend", backend)
        if self.smtp_ssl and self.smtp_starttls:
            object.__setattr__(self, "smtp_starttls", False)  # implicit TLS already
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # The database password never reaches a log through repr() or str() of the settings.
        for name, value in super().__repr_args__():
            if name == "database_url":
                value = make_url(value).render_as_string(hide_password=True)
            yield name, value

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @cached_property
    def database(self) -> URL:
        return make_url(self.database_url)

    @cached_property
    def read_database(self) -> URL | None:
        return make_url(self.database_read_url) if self.database_read_url else None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment and `.env`, or raise SettingsError in one line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        reasons = "; ".join(_describe(err["loc"], err["msg"]) for err in exc.errors())
        raise SettingsError(f"invalid configuration: {reasons}") from None


def _describe(loc: tuple[int | str, ...], msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    field = ".".join(str(part) for part in loc).upper()
    return f"{field}: {msg}" if field else msg
