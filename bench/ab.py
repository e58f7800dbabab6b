"""Interleaved A/B runs of the API: `python -m bench.ab --variant NAME[@COMMIT][,KEY=VALUE...]
--variant ... [--jobs N] [--rounds R] [--seconds S] [--scenario NAME ...]`.

Each variant is the API as `make bench` starts it (two uvicorn workers, uvloop, httptools),
from this tree or from a commit (checked out into a temporary git worktree) and with the
settings given (`hot2@HEAD,DB_HOT_POOL_SIZE=2`). All of them serve at once, on one seeded
database (`jobboard_bench_<jobs>`, reused when it holds enough jobs), and wrk drives them in
turn on the same scenario, round after round, so that a change of the machine's speed
falls on every variant alike. Prints each round, then the medians of requests a second,
p50 and p95 by scenario and variant. What it measures is a comparison, not a target: the
targets are `make bench`'s.
"""

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

from backend.core.config import load_settings
from backend.seed import SEED_DOMAIN
from bench.run import (
    ROOT,
    cursor_of_page,
    env_for,
    log,
    prepare_database,
    search_terms,
    server,
    sign_in,
)
from bench.wrk import Scenario, run

FIRST_PORT = 8110


def parse_variant(text: str) -> tuple[str, str | None, dict[str, str]]:
    """`name[@commit][,KEY=VALUE...]` as (name, commit or None, settings)."""
    head, *pairs = text.split(",")
    name, _, commit = head.partition("@")
    settings = dict(pair.split("=", 1) for pair in pairs)
    return name, commit or None, settings


@contextmanager
def checkout(commit: str | None) -> Iterator[Path]:
    """This tree, or `commit` checked out into a worktree removed afterwards."""
    if commit is None:
        yield ROOT
        return
    directory = Path(tempfile.mkdtemp(prefix="jobboard-ab-")) / "tree"
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(directory), commit], check=True)
    try:
        yield directory
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(directory)], check=True)


def scenarios(base: str, jobs: int) -> dict[str, Scenario]:
    """The read scenarios of `make bench`, by name."""
    me = sign_in(base, f"candidate1@{SEED_DOMAIN}")
    terms = search_terms(random.Random(jobs))  # noqa: S311 (the terms make bench.run draws)
    page_500 = cursor_of_page(base, 500)
    return {
        "users_me": Scenario("users_me", "/api/v1/users/me", headers=me),
        "jobs_first_page": Scenario("jobs_first_page", "/api/v1/jobs"),
        "jobs_page_500": Scenario("jobs_page_500", f"/api/v1/jobs?cursor={quote(page_500)}"),
        "jobs_search": Scenario(
            "jobs_search", paths=[f"/api/v1/jobs?q={quote(term)}" for term in terms]
        ),
        "my_applications": Scenario("my_applications", "/api/v1/users/me/applications", headers=me),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", action="append", required=True, type=parse_variant)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--scenario", action="append", default=None)
    args = parser.parse_args()
    server_url = load_settings(environment="development").database
    url = server_url.set(database=f"jobboard_bench_{args.jobs}")
    database = url.render_as_string(hide_password=False)
    prepare_database(database, args.jobs, reuse=True)
    scripts = Path(tempfile.mkdtemp(prefix="jobboard-ab-lua-"))
    figures: dict[tuple[str, str], list[dict[str, float]]] = {}
    with ExitStack() as stack:
        bases = {}
        for number, (name, commit, settings) in enumerate(args.variant):
            tree = stack.enter_context(checkout(commit))
            port = FIRST_PORT + number
            stack.enter_context(
                server("backend.main:app", port, env_for(database, **settings), 2, cwd=tree)
            )
            bases[name] = f"http://127.0.0.1:{port}"
        chosen = scenarios(next(iter(bases.values())), args.jobs)
        names = args.scenario or list(chosen)
        for round_number in range(args.rounds):
            for scenario in names:
                for name, base in bases.items():
                    result = run(chosen[scenario], base, args.seconds, scripts)
                    figures.setdefault((scenario, name), []).append(result)
                    log(
                        f"round {round_number + 1} {scenario:<16} {name:<12}"
                        f" {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.1f} ms"
                        f"  p95 {result['p95_ms']:6.1f} ms  errors {result['errors']}"
                    )
    print("| scenario | variant | req/s | p50 ms | p95 ms |\n|---|---|---:|---:|---:|")
    for (scenario, name), results in figures.items():
        rps = statistics.median(result["rps"] for result in results)
        p50 = statistics.median(result["p50_ms"] for result in results)
        p95 = statistics.median(result["p95_ms"] for result in results)
        print(f"| {scenario} | {name} | {rps:.0f} | {p50:.1f} | {p95:.1f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
