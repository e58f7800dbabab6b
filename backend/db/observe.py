"""One place to watch every statement the app sends, whichever way it is sent.

Statements go to PostgreSQL two ways (see `backend.db.hot`): through SQLAlchemy (sessions,
Core), and, for the short list of hot reads, on psycopg itself. Both announce each statement
here, before it is sent; query counts, plan checks and the benchmark's recorder subscribe
here. SQLAlchemy's own events keep their meaning for what SQLAlchemy sends, and only that:
nothing here fires them.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# Called with the SQL text and its parameters (None when there are none).
Listener = Callable[[str, Mapping[str, Any] | Any | None], None]

_listeners: list[Listener] = []


def statement(sql: str, parameters: Mapping[str, Any] | Any | None) -> None:
    """Announce a statement about to be sent."""
    for listener in _listeners:
        listener(sql, parameters)


@contextmanager
def watching(listener: Listener) -> Iterator[None]:
    """Call `listener` for every statement sent while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _announce(
    connection: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool
) -> None:
    statement(sql, parameters)


def announce_sqlalchemy_statements(engine: AsyncEngine) -> None:
    """What `engine` sends is announced here (through SQLAlchemy's documented
    `before_cursor_execute` event)."""
    event.listen(engine.sync_engine, "before_cursor_execute", _announce)
