"""Steps for migrations that change a big table while the site serves it.

A migration's own transaction holds every lock it took until it ends: an `ALTER TABLE`
followed by an `UPDATE` of every row keeps the table's ACCESS EXCLUSIVE lock, and every
read of the table waits, for as long as the update runs. These steps run outside that
transaction (Alembic's `autocommit_block`), each statement a short transaction of its own:

- `backfill` fills a column batch by batch, by ranges of the primary key, so that a batch
  holds its rows' locks for a moment and the app's reads never wait on it;
- `backfill_computed` does the same for values SQL cannot compute (a rendering done in
  Python), writing a row only while its source is still what was read;
- `insert_batched` fills a new table from an existing one the same way;
- `create_index_concurrently` / `drop_index_concurrently` build and drop an index without
  blocking writes (PostgreSQL's `CONCURRENTLY`, which cannot run inside a transaction), and
  clear the invalid index a failed concurrent build leaves behind before trying again.

`migrate` sets a session `lock_timeout` (alembic/env.py), so every statement here, like
every DDL, waits at most that long for a lock and fails rather than queueing the site's
queries behind it. Each step is safe to run again: a failed `migrate` is simply run again.
"""

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, TextClause, text

from alembic import op

logger = logging.getLogger("alembic.runtime.migration")

DEFAULT_BATCH = 5_000


def backfill(
    table: str, assignments: str, *, where: str, key: str = "id", batch: int = DEFAULT_BATCH
) -> int:
    """`UPDATE table SET assignments WHERE where`, `batch` keys at a time, each batch its own
    transaction; the number of rows updated.

    `where` must exclude rows already filled (`new_column IS NULL`), so that running it again
    finds only what is left. Rows the running release writes meanwhile take the column's
    default or are written by the next release; the migration that follows (the contract
    step) can check that none is left before it adds a NOT NULL.
    """
    updated = 0
    # Names and conditions come from the migration's author, never from a request.
    update = f"UPDATE {table} SET {assignments} WHERE {key} >= :low AND {key} < :high"  # noqa: S608
    statement = text(f"{update} AND ({where})")
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        for keys in _key_ranges(bind, table, key=key, where=where, batch=batch):
            updated += bind.execute(statement, keys).rowcount
        logger.info("backfilled %d rows of %s", updated, table)
    return updated


def insert_batched(
    table: str, insert: str, *, conflict: str, key: str = "id", batch: int = DEFAULT_BATCH
) -> int:
    """Run `insert` (an `INSERT ... SELECT ... FROM table`, with no WHERE) over `batch` keys
    of `table` at a time, each batch its own transaction, `conflict` (its ON CONFLICT
    clause) after the range; the number of rows inserted. Running it again inserts only
    what is missing, as long as `conflict` skips what is there."""
    inserted = 0
    # Statements and names come from the migration's author, never from a request.
    statement = text(f"{insert} WHERE {table}.{key} >= :low AND {table}.{key} < :high {conflict}")
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        for keys in _key_ranges(bind, table, key=key, where="true", batch=batch):
            inserted += bind.execute(statement, keys).rowcount
        logger.info("inserted %d rows from %s", inserted, table)
    return inserted


def _key_ranges(
    bind: Connection, table: str, *, key: str, where: str, batch: int
) -> Iterator[dict[str, int]]:
    """`{"low", "high"}` of each range of `batch` keys, from the lowest to the highest key
    of the rows `where` finds (none when it finds none)."""
    bounds = bind.execute(
        text(f"SELECT min({key}), max({key}) FROM {table} WHERE {where}")  # noqa: S608
    )
    low, high = bounds.one()
    if low is None:
        return
    for start in range(low, high + 1, batch):
        yield {"low": start, "high": start + batch}


def backfill_computed(
    table: str,
    source: str,
    columns: Mapping[str, str],
    compute: Callable[[str], Mapping[str, object]],
    *,
    where: str,
    key: str = "id",
    batch: int = 1_000,
) -> int:
    """Fill `columns` (each name with its SQL type) from `compute(source)`, `batch` keys
    at a time: each batch
    reads its rows' `source`, computes in Python, and writes back in one statement (one
    short transaction); the number of rows written.

    A row is written only if its `source` is still the one read: one the running release
    changed meanwhile is left as `where` finds it, for the readers' fallback or a later
    run. `where` must exclude rows already filled, as for `backfill`.
    """
    written = 0
    names = ", ".join(columns)
    # Names and conditions come from the migration's author, never from a request.
    select_rows = text(
        f"SELECT {key}, {source} FROM {table} "  # noqa: S608
        f"WHERE {key} >= :low AND {key} < :high AND ({where})"
    )
    arrays = ", ".join(f"CAST(:{column} AS {kind}[])" for column, kind in columns.items())
    assignments = ", ".join(f"{column} = computed.{column}" for column in columns)
    update = text(
        f"UPDATE {table} SET {assignments} "  # noqa: S608
        f"FROM unnest(CAST(:keys AS bigint[]), CAST(:sources AS text[]), {arrays}) "
        f"AS computed(key, source, {names}) "
        f"WHERE {table}.{key} = computed.key AND {table}.{source} = computed.source"
    )
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        for keys in _key_ranges(bind, table, key=key, where=where, batch=batch):
            rows = bind.execute(select_rows, keys).all()
            if not rows:
                continue
            values: dict[str, list[Any]] = {"keys": [], "sources": []}
            values.update({column: [] for column in columns})
            for row_key, row_source in rows:
                computed = compute(row_source)
                values["keys"].append(row_key)
                values["sources"].append(row_source)
                for column in columns:
                    values[column].append(computed[column])
            written += bind.execute(update, values).rowcount
        logger.info("backfilled %d rows of %s", written, table)
    return written


def _drop_invalid(name: str) -> None:
    """Drop index `name` if a failed concurrent build left it invalid (it is then
    maintained on every write but never used)."""
    invalid = op.get_bind().execute(
        text(
            "SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid "
            "WHERE pg_class.relname = :name AND NOT pg_index.indisvalid"
        ),
        {"name": name},
    )
    if invalid.first() is not None:
        op.drop_index(name, postgresql_concurrently=True, if_exists=True)


def create_index_concurrently(
    name: str, table: str, columns: Sequence[str | TextClause], **options: Any
) -> None:
    """Build index `name` on `table` without blocking writes (`columns`: names, or
    expressions as `sqlalchemy.text`; `options` as for `op.create_index`: `unique`,
    `postgresql_where`, `postgresql_using` ...)."""
    with op.get_context().autocommit_block():
        _drop_invalid(name)
        op.create_index(
            name, table, columns, postgresql_concurrently=True, if_not_exists=True, **options
        )


def drop_index_concurrently(name: str) -> None:
    with op.get_context().autocommit_block():
        op.drop_index(name, postgresql_concurrently=True, if_exists=True)
