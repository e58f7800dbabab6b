"""The migrations build the schema the models describe, and undo it cleanly."""

import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DefaultClause, MetaData, create_engine, inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SAWarning

from backend.db import admin
from backend.db.models import Base, belongs_to_queue


@pytest.fixture
def empty_database(database_url: URL) -> Iterator[URL]:
    url = database_url.set(database=f"jobboard_migrations_{uuid.uuid4().hex[:12]}")
    admin.create_database(url)
    try:
        yield url
    finally:
        admin.drop_database(url)


def _tables(url: URL) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _compare(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            # The task queue's tables come from procrastinate's SQL, not the models.
            "include_name": lambda name, type_, _: (
                not (type_ == "table" and belongs_to_queue(name))
            ),
        },
    )
    with warnings.catch_warnings():
        # SQLAlchemy reflects no type for xid8 (search_outbox.xid); the column's presence,
        # nullability and default are still compared.
        warnings.filterwarnings("ignore", "Did not recognize type 'xid8'", SAWarning)
        return list(compare_metadata(context, metadata))


def _differences(url: URL) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return _compare(connection, Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database: URL) -> None:
    admin.upgrade(empty_database)
    assert set(Base.metadata.tables) <= _tables(empty_database)
    admin.downgrade(empty_database, "base")
    assert _tables(empty_database) == {"alembic_version"}
    admin.upgrade(empty_database)
    assert set(Base.metadata.tables) <= _tables(empty_database)


def test_each_migration_steps_down_and_up(empty_database: URL) -> None:
    config = admin.alembic_config(empty_database)
    from alembic.script import ScriptDirectory

    revisions = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
    for revision in revisions:
        admin.upgrade(empty_database, revision.revision)
        admin.downgrade(empty_database, "-1")
        admin.upgrade(empty_database, revision.revision)


def test_models_and_migrations_agree(migrated_url: URL) -> None:
    assert _differences(migrated_url) == []


# What autogenerate does not compare: index definitions (partial-index conditions,
# expressions, operator classes), server defaults, nullability and check constraints. Read
# from PostgreSQL itself, as it normalises them, for a database the migrations built and
# one the models built.
_SCHEMA_QUERIES = {
    "index": """
        SELECT tablename || '.' || indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public'
    """,
    "column": """
        SELECT table_name || '.' || column_name,
               concat_ws(' ', data_type, character_maximum_length, is_nullable, column_default)
        FROM information_schema.columns WHERE table_schema = 'public'
    """,
    "constraint": """
        SELECT conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    """,
}


def _schema(url: URL) -> dict[str, str]:
    found: dict[str, str] = {}
    with psycopg.connect(admin.conninfo(url)) as connection:
        for kind, query in _SCHEMA_QUERIES.items():
            for name, definition in connection.execute(query):
                if "alembic_version" not in name and not belongs_to_queue(name):
                    found[f"{kind} {name}"] = definition
    return found


def _schema_differences(left: dict[str, str], right: dict[str, str]) -> list[str]:
    return [
        f"{key}: {left.get(key)!r} != {right.get(key)!r}"
        for key in sorted(left.keys() | right.keys())
        if left.get(key) != right.get(key)
    ]


def _build_from_models(url: URL, metadata: MetaData) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            metadata.create_all(connection)
    finally:
        engine.dispose()


@pytest.fixture
def models_database(database_url: URL) -> Iterator[URL]:
    url = database_url.set(database=f"jobboard_models_{uuid.uuid4().hex[:12]}")
    admin.create_database(url)
    try:
        yield url
    finally:
        admin.drop_database(url)


def test_indexes_defaults_and_constraints_agree(migrated_url: URL, models_database: URL) -> None:
    _build_from_models(models_database, Base.metadata)
    migrated, modelled = _schema(migrated_url), _schema(models_database)
    assert any("WHERE (status = 'published'" in d for d in migrated.values())
    assert _schema_differences(migrated, modelled) == []


def test_the_schema_comparison_fails_when_either_side_changes(
    migrated_url: URL, models_database: URL, empty_database: URL
) -> None:
    # The models alone: a partial index's condition and a server default change.
    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    jobs = metadata.tables["jobs"]
    (newest,) = [index for index in jobs.indexes if index.name == "ix_jobs_published_newest"]
    newest.dialect_options["postgresql"]["where"] = text("status <> 'draft'")
    jobs.c.tags.server_default = DefaultClause(text("'{x}'::varchar[]"))
    _build_from_models(models_database, metadata)
    differences = _schema_differences(_schema(migrated_url), _schema(models_database))
    assert [line.split(":")[0] for line in differences] == [
        "column jobs.tags",
        "index jobs.ix_jobs_published_newest",
    ]

    # The database alone: an index expression changed by hand.
    admin.upgrade(empty_database)
    with psycopg.connect(admin.conninfo(empty_database), autocommit=True) as connection:
        connection.execute("DROP INDEX ix_jobs_published_salary")
        connection.execute(
            "CREATE INDEX ix_jobs_published_salary ON jobs (salary_max DESC NULLS LAST)"
        )
    differences = _schema_differences(_schema(empty_database), _schema(migrated_url))
    assert [line.split(":")[0] for line in differences] == ["index jobs.ix_jobs_published_salary"]


def _trgm_mark(url: URL) -> tuple[bool, str | None]:
    with psycopg.connect(admin.conninfo(url)) as connection:
        row = connection.execute(
            "SELECT obj_description(oid, 'pg_extension') FROM pg_extension "
            "WHERE extname = 'pg_trgm'"
        ).fetchone()
    return (row is not None, row[0] if row else None)


def test_a_downgrade_keeps_an_extension_it_did_not_create(empty_database: URL) -> None:
    with psycopg.connect(admin.conninfo(empty_database), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION pg_trgm")
    admin.upgrade(empty_database)
    present, mark = _trgm_mark(empty_database)
    assert present
    assert mark is not None
    assert "jobboard" not in mark
    admin.downgrade(empty_database, "base")
    assert _trgm_mark(empty_database) == (True, mark)


def test_a_downgrade_drops_the_extension_it_created(empty_database: URL) -> None:
    admin.upgrade(empty_database)
    assert _trgm_mark(empty_database) == (True, "created by the jobboard migration 0003_job_board")
    admin.downgrade(empty_database, "base")
    assert _trgm_mark(empty_database) == (False, None)


def test_the_title_backfill_counts_jobs_written_before_it(empty_database: URL) -> None:
    admin.upgrade(empty_database, "0003_job_board")
    with psycopg.connect(admin.conninfo(empty_database), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (email, hashed_password, full_name, role) "
            "VALUES ('e@example.com', 'x', 'E', 'employer')"
        )
        connection.execute("INSERT INTO companies (name, owner_id) SELECT 'C', id FROM users")
        connection.execute(
            "INSERT INTO jobs (company_id, title, description, location, workplace, "
            "employment_type, status, published_at) "
            "SELECT c.id, t, 'd', 'l', 'remote', 'full_time', s::job_status, now() "
            "FROM companies c, (VALUES ('A', 'published'), ('A', 'published'), "
            "('B', 'draft'), ('C', 'published')) AS v(t, s)"
        )
    admin.upgrade(empty_database)
    with psycopg.connect(admin.conninfo(empty_database)) as connection:
        counts: dict[str, int] = dict(
            connection.execute("SELECT title, published_count FROM job_titles").fetchall()
        )
    assert counts == {"A": 2, "C": 1}


def test_a_model_change_without_migration_is_caught(migrated_url: URL) -> None:
    # The comparison above must be able to fail: add a column to the metadata only.
    from sqlalchemy import Column, Integer, MetaData

    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["users"].append_column(Column("shoe_size", Integer()))
    engine = create_engine(migrated_url)
    try:
        with engine.connect() as connection:
            diff = _compare(connection, metadata)
    finally:
        engine.dispose()
    assert [d[0] for d in diff] == ["add_column"]


def test_skeletons_are_filled_for_existing_accounts_oldest_first(empty_database: URL) -> None:
    admin.upgrade(empty_database, "0004_job_titles")
    with psycopg.connect(admin.conninfo(empty_database), autocommit=True) as connection:
        for email in ("paypal@example.com", "paypa1@example.com", "other@example.com"):
            connection.execute(
                "INSERT INTO users (email, hashed_password, full_name, role) "
                "VALUES (%s, 'x', 'U', 'candidate')",
                (email,),
            )
    admin.upgrade(empty_database)
    with psycopg.connect(admin.conninfo(empty_database)) as connection:
        rows: dict[str, str | None] = dict(
            connection.execute("SELECT email, email_skeleton FROM users ORDER BY id").fetchall()
        )
    assert rows == {
        "paypal@example.com": "paypal@exarnple.corn",
        "paypa1@example.com": None,
        "other@example.com": "other@exarnple.corn",
    }


def test_descriptions_written_before_markdown_are_rendered_and_reindexed(
    empty_database: URL,
) -> None:
    """0010 renders every existing description in batches (more rows than one batch here)
    and reindexes each job by the rendered text."""
    admin.upgrade(empty_database, "0009_security_generation")
    with psycopg.connect(admin.conninfo(empty_database), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (email, hashed_password, full_name, role) "
            "VALUES ('e@example.com', 'x', 'E', 'employer')"
        )
        connection.execute(
            "INSERT INTO companies (name, owner_id, description) "
            "SELECT 'C' || n, id, CASE WHEN n = 1 THEN 'We **ship**.' END "
            "FROM users, generate_series(1, 2) AS n"
        )
        connection.execute(
            "INSERT INTO jobs (company_id, title, description, location, workplace, "
            "employment_type, status, published_at) "
            "SELECT min(c.id), 'T', 'Kuber*netes* job ' || n, 'l', 'remote', 'full_time', "
            "'published', now() FROM companies c, generate_series(1, 2500) AS n GROUP BY n"
        )
    admin.upgrade(empty_database)
    with psycopg.connect(admin.conninfo(empty_database)) as connection:
        left = connection.execute(
            "SELECT count(*) FROM jobs WHERE description_html IS NULL OR description_text IS NULL"
        ).fetchone()
        first = connection.execute(
            "SELECT description_html, description_text, "
            "rendered_from = sha256(convert_to(description, 'UTF8')) FROM jobs "
            "WHERE description = 'Kuber*netes* job 1'"
        ).fetchone()
        found = connection.execute(
            "SELECT count(*) FROM jobs "
            "WHERE search @@ websearch_to_tsquery('english', 'kubernetes')"
        ).fetchone()
        companies = connection.execute(
            "SELECT description_html FROM companies ORDER BY id"
        ).fetchall()
    assert left == (0,)
    assert first == ("<p>Kuber<em>netes</em> job 1</p>\n", "Kubernetes job 1", True)
    assert found == (2500,)
    assert companies == [("<p>We <strong>ship</strong>.</p>\n",), (None,)]


def test_companies_made_before_teams_get_their_owner_as_first_owner(empty_database: URL) -> None:
    """More companies than two batches of the backfill, owners with several each; after
    0031 each company has exactly its owner as owner, and a company an older release
    inserts afterwards (plain SQL, as it would) gets its owner from the trigger."""
    admin.upgrade(empty_database, "0030_api_keys")
    with psycopg.connect(admin.conninfo(empty_database), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (email, hashed_password, full_name, role) "
            "SELECT 'e' || n || '@example.com', 'x', 'E', 'employer' FROM generate_series(1, 5) n"
        )
        connection.execute(
            "INSERT INTO companies (name, owner_id) "
            "SELECT 'C' || n, (SELECT min(id) FROM users) + n % 5 FROM generate_series(1, 12000) n"
        )
    admin.upgrade(empty_database)
    with psycopg.connect(admin.conninfo(empty_database), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO companies (name, owner_id) SELECT 'Late', min(id) FROM users"
        )
        missing = connection.execute(
            "SELECT count(*) FROM companies c WHERE NOT EXISTS (SELECT 1 FROM company_members m "
            "WHERE m.company_id = c.id AND m.user_id = c.owner_id AND m.role = 'owner')"
        ).fetchone()
        rows = connection.execute(
            "SELECT count(*), count(DISTINCT company_id) FROM company_members"
        ).fetchone()
    assert missing == (0,)
    assert rows == (12001, 12001)
