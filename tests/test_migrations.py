"""The migrations build the schema the models describe, and undo it cleanly."""

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL

from backend.db import admin
from backend.db.models import Base


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


def _differences(url: URL) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
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
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert [d[0] for d in diff] == ["add_column"]
