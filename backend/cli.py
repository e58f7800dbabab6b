"""`python -m backend`: serve, worker, migrate, create-admin, purge, seed, tasks, mail."""

import argparse
import asyncio
import contextlib
import getpass
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError

from backend.core.config import Settings, SettingsError, load_settings
from backend.core.security import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    PasswordHasher,
    is_acceptable_password,
)
from backend.db import admin
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Role
from backend.db.repository import users as users_repo


class CommandError(Exception):
    """A command cannot go on; the message is shown to the operator."""


def own_address(settings: Settings, host: str, port: int) -> dict[str, str]:
    """FRONTEND_URL and API_URL for a server on `host:port`, for those of the two that were
    not set on purpose (in the environment or `.env`)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    address = f"http://{shown}:{port}"
    return {
        variable: address
        for field, variable in (("frontend_url", "FRONTEND_URL"), ("api_url", "API_URL"))
        if field not in settings.model_fields_set
    }


def serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    if args.workers > 1 and settings.metrics_enabled:
        # Each process counts its own requests, and a scrape reaches one of them.
        raise CommandError(
            "--workers above 1 serves /metrics from whichever process takes the scrape: run"
            " one process a container (more containers for more), or set METRICS_ENABLED=false"
        )

    from backend.core.logs import logging_config

    # The app (and a worker in this process) read them from the environment.
    os.environ.update(own_address(settings, args.host, args.port))
    uvicorn.run(
        "backend.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        # The app reads X-Forwarded-For from FORWARDED_ALLOW_IPS peers itself (main.py), however
        # it is served; the server's own pass over the headers would only repeat it.
        proxy_headers=False,
        log_level=settings.log_level.lower(),
        # JSON lines in production, with the request id on every line, access log included.
        log_config=logging_config(settings),
        # h11 bounds a request's head (request line and headers) to MAX_HEADER_BYTES and
        # answers 431 beyond it; httptools is faster but bounds nothing, so it is only for
        # running behind a proxy that does (HTTP_PARSER=httptools).
        http=settings.http_parser,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        # A worker answers the supervisor's health check from a thread; on a machine busy
        # enough, the answer can take seconds, and a worker killed for it drops the
        # requests it was serving.
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        # After the drain (backend.core.draining), what is in flight gets this long.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def on_embedded(
    settings: Settings, directory: Path
) -> tuple[Settings, AbstractContextManager[Any]]:
    """`settings` with DATABASE_URL's database on the built-in PostgreSQL in `directory`,
    started if it is not running (for this process and those it starts), and the server:
    leaving it stops the server unless another process still uses it."""
    from backend.embedded import EmbeddedUnavailable, start

    try:
        url, server = start(directory, str(settings.database.database))
    except EmbeddedUnavailable as exc:
        raise CommandError(str(exc)) from None
    os.environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    os.environ["POSTGRES_EMBEDDED_DIR"] = str(directory)
    # uvicorn ends by raising again the SIGTERM it caught, which would end the process
    # before the server is left: make it an exit that unwinds.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return load_settings(database_url=os.environ["DATABASE_URL"]), server
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def run(settings: Settings, args: argparse.Namespace) -> None:
    """Development in one command: the database (the built-in one when none was given and
    none answers), the migrations, then the server with a worker in its process."""
    from backend import embedded

    if settings.environment == "production":
        raise CommandError(
            "run is for development; production runs migrate, serve and worker apart"
            " (docs/operations.md)"
        )
    if settings.postgres_embedded_dir is None and not admin.answers(settings.database):
        given = settings.database_url != Settings.model_fields["database_url"].default
        where = f"{settings.database.host}:{settings.database.port or 5432}"
        if given:
            raise CommandError(
                f"no PostgreSQL answers at {where}: start it, or remove DATABASE_URL from"
                " .env to use the built-in one"
            )
        settings, server = on_embedded(settings, embedded.DEFAULT_DIR)
        remembered = _remember_in_env_file(f"POSTGRES_EMBEDDED_DIR={embedded.DEFAULT_DIR}")
        print(
            f"no PostgreSQL answers at {where}: using the built-in PostgreSQL (data in"
            f" {embedded.DEFAULT_DIR}/, stopped with the server{remembered}); for your own, set"
            " DATABASE_URL in .env and remove POSTGRES_EMBEDDED_DIR",
            flush=True,
        )
        with server:
            _migrate_and_serve(settings, args)
        return
    _migrate_and_serve(settings, args)


def _migrate_and_serve(settings: Settings, args: argparse.Namespace) -> None:
    migrate(settings, args)
    os.environ.setdefault("WORKER_IN_PROCESS", "true")
    serve(settings, args)


def _remember_in_env_file(line: str) -> str:
    """Add `line` to `.env` when there is one, so that the commands run later (`seed`,
    `create-admin`) use the same server; what to add to the message about it."""
    env_file = Path(".env")
    if not env_file.is_file():
        return ""
    text = env_file.read_text()
    if line not in text.splitlines():
        env_file.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line + "\n")
    return "; .env says so for the other commands"


def migrate(settings: Settings, args: argparse.Namespace) -> None:
    if admin.create_database(settings.database):
        print(f"created database {settings.database.database}")
    try:
        unknown = admin.applied_revisions(settings.database) - admin.known_revisions()
        if unknown:
            raise CommandError(
                f"the database is at revision {', '.join(sorted(unknown))}, which this release"
                " does not know: a newer release migrated it. Nothing was changed; run the"
                " newer release's migrate"
            )
        admin.upgrade(settings.database)
        admin.configure_database(
            settings.database, statement_timeout_ms=settings.db_statement_timeout_ms
        )
    except (DBAPIError, psycopg.Error) as exc:
        raise CommandError(f"migration failed: {database_failure(settings, exc)}") from None
    print("database is at the newest migration")


def backup(settings: Settings, args: argparse.Namespace) -> None:
    path = Path(args.file)
    try:
        admin.backup(settings.database, path)
        # Not in a plain dump: `restore` sets the app's own again; others are listed here.
        extra = [
            setting
            for setting in admin.database_settings(settings.database)
            if setting.split("=", 1)[0].lower() not in admin.APP_DATABASE_SETTINGS
        ]
    except admin.BackupError as exc:
        raise CommandError(f"backup failed: {exc}") from None
    except psycopg.Error as exc:
        raise CommandError(f"backup failed: {database_failure(settings, exc)}") from None
    print(f"backed up database {settings.database.database} to {path}")
    if extra:
        print(f"set these again after a restore (ALTER DATABASE ... SET): {', '.join(extra)}")


def restore(settings: Settings, args: argparse.Namespace) -> None:
    path = Path(args.file)
    try:
        admin.restore(settings.database, path)
        admin.configure_database(
            settings.database, statement_timeout_ms=settings.db_statement_timeout_ms
        )
        revisions = admin.applied_revisions(settings.database)
    except admin.BackupError as exc:
        raise CommandError(f"restore failed: {exc}") from None
    except psycopg.Error as exc:
        raise CommandError(f"restore failed: {database_failure(settings, exc)}") from None
    print(
        f"restored {path} into database {settings.database.database}"
        f" (at revision {', '.join(sorted(revisions)) or 'none'}); run migrate if this release"
        " is newer than the backup"
    )


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        confirmation = getpass.getpass("Repeat password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
        confirmation = sys.stdin.readline().rstrip("\r\n")
    if password != confirmation:
        raise CommandError("the passwords do not match")
    if not is_acceptable_password(password):
        raise CommandError(
            f"a password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters"
        )
    return password


async def _create_admin(settings: Settings, email: str, full_name: str, password: str) -> None:
    engine = create_engine(settings, role="cli")
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            if await users_repo.get_by_email(db, email=email) is not None:
                raise CommandError(f"{email} is already registered")
            if await users_repo.get_by_skeleton(db, email=email) is not None:
                raise CommandError(f"{email} looks too much like an address already registered")
            hasher = PasswordHasher(settings.bcrypt_rounds)
            await users_repo.create(
                db,
                email=email,
                hashed_password=await hasher.hash(password),
                full_name=full_name,
                role=Role.admin,
                # An operator typed the address: there is nothing for its owner to confirm.
                email_verified_at=datetime.now(UTC),
            )
    finally:
        await engine.dispose()


def create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from pydantic import TypeAdapter, ValidationError

    from backend.schemas.base import Email

    try:
        email = TypeAdapter(Email).validate_python(args.email)
    except ValidationError:
        raise CommandError(f"{args.email!r} is not a valid email address") from None
    password = _read_password()
    asyncio.run(_create_admin(settings, email, args.full_name, password))
    print(f"created admin {email}")


async def _purge(settings: Settings) -> dict[str, int]:
    from backend.services import housekeeping

    engine = create_engine(settings, role="cli")
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            return await housekeeping.purge(db, settings)
    finally:
        await engine.dispose()


def purge(settings: Settings, args: argparse.Namespace) -> None:
    removed = asyncio.run(_purge(settings))
    print(", ".join(f"{count} {what}" for what, count in removed.items()) + " removed")


def seed(settings: Settings, args: argparse.Namespace) -> None:
    from backend.seed import SEED_DOMAIN, SEED_PASSWORD
    from backend.seed import seed as load

    if args.jobs < 1:
        raise CommandError("--jobs must be at least 1")
    sizes = load(settings, jobs=args.jobs, random_seed=args.random_seed)
    print(
        f"seeded {sizes.jobs} jobs, {sizes.companies} companies, {sizes.employers} employers, "
        f"{sizes.candidates} candidates and up to {sizes.applications} applications; "
        f"sign in as employer1@{SEED_DOMAIN}, candidate1@{SEED_DOMAIN} or admin1@{SEED_DOMAIN} "
        f"with the password {SEED_PASSWORD!r}"
    )


async def _confirm_emails(settings: Settings, emails: list[str]) -> list[str]:
    engine = create_engine(settings, role="cli")
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            confirmed = []
            for email in emails:
                user = await users_repo.get_by_email(db, email=email)
                if user is None:
                    raise CommandError(f"{email} is not registered")
                if user.email_verified_at is None:
                    await users_repo.update(db, user=user, email_verified_at=datetime.now(UTC))
                confirmed.append(user.email)
            return confirmed
    finally:
        await engine.dispose()


def confirm_email(settings: Settings, args: argparse.Namespace) -> None:
    for email in asyncio.run(_confirm_emails(settings, args.emails)):
        print(f"confirmed {email}")


def worker(settings: Settings, args: argparse.Namespace) -> None:
    from backend.core.logs import configure_logging
    from backend.core.metrics import MetricsUnavailable
    from backend.tasks.worker import is_alive, run_worker

    if args.check:
        if not is_alive(settings):
            raise CommandError("no worker on this machine is alive (its heartbeat is stale)")
        print("a worker is alive")
        return
    configure_logging(settings)
    try:
        asyncio.run(run_worker(settings, concurrency=args.concurrency, wait=not args.until_empty))
    except MetricsUnavailable as exc:
        raise CommandError(str(exc)) from None


def tasks_failed(settings: Settings, args: argparse.Namespace) -> None:
    from backend.tasks.worker import failed_tasks

    failed = asyncio.run(failed_tasks(settings))
    if not failed:
        print("no failed tasks")
        return
    for task in failed:
        arguments = ", ".join(f"{key}={value!r}" for key, value in task.arguments.items())
        print(f"{task.id}\t{task.task}({arguments})\t{task.attempts} attempts")


def tasks_retry(settings: Settings, args: argparse.Namespace) -> None:
    from backend.tasks.worker import failed_tasks, retry_failed

    ids = [task.id for task in asyncio.run(failed_tasks(settings))] if args.all else args.task_ids
    if not ids:
        if args.all:
            print("no failed tasks")
            return
        raise CommandError("name the tasks to retry (their ids), or --all")
    retried = asyncio.run(retry_failed(settings, ids))
    missing = sorted(set(ids) - set(retried))
    print(f"{len(retried)} tasks queued again")
    if missing:
        raise CommandError(f"not failed tasks: {', '.join(map(str, missing))}")


def tasks_run(settings: Settings, args: argparse.Namespace) -> None:
    from backend.db.queue import PERIODIC
    from backend.tasks.worker import run_now

    if asyncio.run(run_now(settings, args.which)):
        print(f"{PERIODIC[args.which]} queued: the next free worker runs it")
    else:
        print(f"{PERIODIC[args.which]} already waits for a worker: nothing added")


def tasks_status(settings: Settings, args: argparse.Namespace) -> None:
    from backend.tasks.worker import queue_state

    counts = asyncio.run(queue_state(settings))
    print(f"{'task':<28}{'waiting':>9}{'running':>9}{'failed':>8}")
    for row in counts:
        print(f"{row.task:<28}{row.waiting:>9}{row.running:>9}{row.failed:>8}")
    if not counts:
        print("(no tasks)")


def mail_preview(settings: Settings, args: argparse.Namespace) -> None:
    from backend.core.mailtemplates import SAMPLES, names, render

    if args.name not in names():
        raise CommandError(f"no mail named {args.name!r}; there are: {', '.join(names())}")
    mail = render(args.name, SAMPLES[args.name])
    if args.html:
        print(mail.html)
    else:
        print(f"Subject: {mail.subject}\n\n{mail.text}", end="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="serve the API with uvicorn")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--workers", type=int, default=1)
    serve_cmd.add_argument("--reload", action="store_true", help="restart on code changes")
    serve_cmd.set_defaults(handler=serve)

    run_cmd = commands.add_parser(
        "run",
        help="development: migrate, then serve with a worker in the same process (on the"
        " built-in PostgreSQL when no DATABASE_URL was given and none answers)",
    )
    run_cmd.add_argument("--host", default="127.0.0.1")
    run_cmd.add_argument("--port", type=int, default=8000)
    run_cmd.set_defaults(handler=run, workers=1, reload=False)

    migrate_cmd = commands.add_parser(
        "migrate", help="create the database if missing and apply every migration"
    )
    migrate_cmd.set_defaults(handler=migrate)

    backup_cmd = commands.add_parser(
        "backup", help="copy the database to a file (pg_dump's custom format) while it serves"
    )
    backup_cmd.add_argument("file", metavar="FILE")
    backup_cmd.set_defaults(handler=backup)
    restore_cmd = commands.add_parser(
        "restore", help="load a backup into DATABASE_URL's database, which must be new or empty"
    )
    restore_cmd.add_argument("file", metavar="FILE")
    restore_cmd.set_defaults(handler=restore)

    admin_cmd = commands.add_parser(
        "create-admin",
        help="create an admin; the password is read from a prompt, or twice from stdin",
    )
    admin_cmd.add_argument("--email", required=True)
    admin_cmd.add_argument("--full-name", default="Administrator")
    admin_cmd.set_defaults(handler=create_admin)

    confirm_cmd = commands.add_parser(
        "confirm-email",
        help="confirm accounts' addresses without the mailed link (support, demos)",
    )
    confirm_cmd.add_argument("emails", nargs="+", metavar="EMAIL")
    confirm_cmd.set_defaults(handler=confirm_email)

    purge_cmd = commands.add_parser(
        "purge",
        help="delete ended sessions, spent reset tokens and old throttle counts (cron-safe)",
    )
    purge_cmd.set_defaults(handler=purge)

    worker_cmd = commands.add_parser(
        "worker", help="run background tasks (mail, alerts, periodic cleanup) until stopped"
    )
    worker_cmd.add_argument(
        "--concurrency", type=int, default=None, help="tasks at once (default WORKER_CONCURRENCY)"
    )
    worker_cmd.add_argument(
        "--until-empty", action="store_true", help="stop once no task is left to do"
    )
    worker_cmd.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if a worker on this machine is alive (for health checks), else 1",
    )
    worker_cmd.set_defaults(handler=worker)

    tasks_cmd = commands.add_parser(
        "tasks", help="the task queue: its state, periodic tasks run now, failed tasks"
    )
    tasks_commands = tasks_cmd.add_subparsers(dest="tasks_command", required=True)
    status_cmd = tasks_commands.add_parser(
        "status", help="tasks waiting, running and failed, by task"
    )
    status_cmd.set_defaults(handler=tasks_status)
    from backend.db.queue import PERIODIC

    run_cmd = tasks_commands.add_parser(
        "run", help="queue a periodic task to run now (a worker runs it)"
    )
    run_cmd.add_argument("which", choices=sorted(PERIODIC))
    run_cmd.set_defaults(handler=tasks_run)
    failed_cmd = tasks_commands.add_parser("failed", help="tasks that failed their last try")
    failed_cmd.set_defaults(handler=tasks_failed)
    retry_cmd = tasks_commands.add_parser("retry", help="queue failed tasks again, to run now")
    retry_cmd.add_argument("task_ids", type=int, nargs="*", metavar="ID")
    retry_cmd.add_argument("--all", action="store_true", help="every failed task")
    retry_cmd.set_defaults(handler=tasks_retry)

    mail_cmd = commands.add_parser("mail", help="the mail the service sends")
    mail_commands = mail_cmd.add_subparsers(dest="mail_command", required=True)
    preview_cmd = mail_commands.add_parser("preview", help="render a mail with sample data")
    preview_cmd.add_argument("name")
    preview_cmd.add_argument("--html", action="store_true", help="the HTML part, not the text")
    preview_cmd.set_defaults(handler=mail_preview)

    seed_cmd = commands.add_parser("seed", help="fill the database with demo data")
    seed_cmd.add_argument("--jobs", type=int, default=1000, help="how many jobs (default 1000)")
    seed_cmd.add_argument("--random-seed", type=int, default=0, help="for repeatable data")
    seed_cmd.set_defaults(handler=seed)
    return parser


def database_failure(settings: Settings, exc: BaseException) -> str:
    """One line for the operator: which server could not be reached, or what it refused."""
    from backend.core.problems import describe_database_error

    original = getattr(exc, "orig", None) or exc
    # psycopg reports a failed connection attempt without a SQLSTATE; 08xxx are connection
    # errors and 57P03 a server that is starting up or shutting down.
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(original, psycopg.OperationalError) and (
        sqlstate is None or sqlstate.startswith("08") or sqlstate == "57P03"
    ):
        where = f"{settings.database.host or 'localhost'}:{settings.database.port or 5432}"
        return f"cannot reach the database at {where} ({describe_database_error(exc)})"
    return describe_database_error(exc)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        with contextlib.ExitStack() as stack:
            if settings.postgres_embedded_dir is not None:
                settings, server = on_embedded(settings, settings.postgres_embedded_dir)
                stack.enter_context(server)
            args.handler(settings, args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (DBAPIError, psycopg.Error) as exc:
        print(f"error: {database_failure(settings, exc)}", file=sys.stderr)
        return 1
    return 0
