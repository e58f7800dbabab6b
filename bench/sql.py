"""The SQL text and parameters of a statement the repositories build, for raw psycopg."""

from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select

DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
DIALECT.paramstyle = "pyformat"


def compiled(statement: Select[Any]) -> tuple[str, dict[str, Any]]:
    query = statement.compile(dialect=DIALECT)
    return str(query), dict(query.params)
