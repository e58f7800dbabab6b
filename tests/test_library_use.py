"""What `backend/` touches of its libraries beyond their documented API: every such use is
listed here with why, and the list is as short as it can be. An upgrade may take any of
these away; the test names them so that nobody has to find them the hard way."""

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1] / "backend"

# (file, name) -> why it is used.
ALLOWED: dict[tuple[str, str], str] = {
    ("db/engine.py", "_do_get"): (
        "CountingPool overrides SQLAlchemy's QueuePool._do_get to count the callers waiting "
        "for a connection (the pool-waiting gauge in /metrics): SQLAlchemy has no public "
        "hook before a checkout waits, only after it got a connection"
    ),
}


def _uses(path: Path) -> set[str]:
    """The private names a module reaches in other objects: `x._name` where `x` is not
    `self` or `cls`, `super()._name`, `from lib import _name`, and methods named `_name`
    defined in a class whose bases come from a library."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            found.add(node.attr)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and not node.module.startswith("backend")
        ):
            found |= {alias.name for alias in node.names if _private(alias.name)}
        elif isinstance(node, ast.ClassDef) and any(_external(base) for base in node.bases):
            found |= {
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and _private(item.name)
            }
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _external(base: ast.expr) -> bool:
    # Our own base classes are named in backend's modules; a library's come from imports.
    # The scan is of names: a class whose base is imported from a library counts.
    return isinstance(base, ast.Name | ast.Attribute)


def test_backend_uses_no_private_name_of_a_library_but_those_listed() -> None:
    used = {
        (str(path.relative_to(BACKEND)), name)
        for path in sorted(BACKEND.rglob("*.py"))
        for name in _uses(path)
    }
    ours = _own_private_methods()
    unexplained = {(file, name) for file, name in used if name not in ours} - set(ALLOWED)
    assert unexplained == set(), unexplained
    # Every entry still names something the code does.
    assert set(ALLOWED) <= used
    assert all(reason.strip() for reason in ALLOWED.values())


def _own_private_methods() -> set[str]:
    """Private names the backend defines itself (its own helpers, called as `module._x`
    or on its own objects): reaching these is not reaching into a library."""
    names: set[str] = set()
    for path in BACKEND.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if _private(node.name):
                    names.add(node.name)
            elif isinstance(node, ast.Assign):
                names |= {
                    target.id
                    for target in node.targets
                    if isinstance(target, ast.Name) and _private(target.id)
                }
    # A method the backend defines only to override a library's is the library's name.
    return names - {name for _, name in ALLOWED}


# Modules that are a library's internals, whatever their names look like.
INTERNAL_MODULES = (
    "sqlalchemy.util",
    "fastapi.dependencies",
    "fastapi._compat",
    "starlette._utils",
    "pydantic._internal",
    "psycopg._",
)
# Fields of a library's objects that the backend must not replace after construction.
REPLACED_FIELDS = ("app", "dependant", "do_ping", "dispatch")


def _internals(path: Path) -> set[str]:
    """Imports of a library's internal modules, and fields of a library's objects replaced:
    `x.app = ...` on anything but `self`, or `self.app = ...` in a subclass of a library's
    class (a class of our own may name its own fields as it likes)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    subclassed = {
        id(statement)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.bases
        for statement in ast.walk(node)
    }
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        found |= {f"import {m}" for m in modules if m.startswith(INTERNAL_MODULES)}
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Attribute) or target.attr not in REPLACED_FIELDS:
                    continue
                own = isinstance(target.value, ast.Name) and target.value.id == "self"
                if not own or id(node) in subclassed:
                    found.add(f"assigns .{target.attr}")
    return found


def test_backend_imports_no_librarys_internals_and_replaces_none_of_its_fields() -> None:
    found = {
        (str(path.relative_to(BACKEND)), what)
        for path in sorted(BACKEND.rglob("*.py"))
        for what in _internals(path)
    }
    assert found == set(), found


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy.util import greenlet_spawn as _g\n"
        "from sqlalchemy.engine import _private_thing\n"
        "class Pool(QueuePool):\n"
        "    def _do_get(self):\n"
        "        return super()._do_get()\n"
        "def f(compiled):\n"
        "    return compiled._bind_processors, self._fine\n"
    )
    assert _uses(sample) == {"_private_thing", "_do_get", "_bind_processors"}


def test_the_internals_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy.util import greenlet_spawn\n"
        "from fastapi.dependencies.models import Dependant\n"
        "engine.dialect.do_ping = ping\n"
        "class Route(APIRoute):\n"
        "    def __init__(self):\n"
        "        self.app = request_response(endpoint)\n"
        "class Middleware:\n"
        "    def __init__(self, app):\n"
        "        self.app = app\n"
        "app.state.app_name = 'fine'\n"
    )
    assert _internals(sample) == {
        "import sqlalchemy.util",
        "import fastapi.dependencies.models",
        "assigns .do_ping",
        "assigns .app",
    }
