"""Demo data: realistic companies, people, jobs and applications, loaded with COPY.

Every seeded account signs in with SEED_PASSWORD. Seeding again adds more data: account
numbers continue where the last run stopped.
"""

import hashlib
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import psycopg
from passlib.context import CryptContext
from psycopg import sql

from backend.core.config import Settings
from backend.core.emails import skeleton
from backend.core.markdown import digest, render
from backend.seed_vocabulary import (
    APPLICATION_STATUSES,
    CITIES,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    EMPLOYMENT_TYPES,
    FIRST_NAMES,
    LAST_NAMES,
    LEVELS,
    REPORT_REASONS,
    ROLES,
    SENTENCES,
    WORKPLACES,
)

SEED_PASSWORD = "jobboard-demo"  # noqa: S105 (documented in the README for demo accounts)
SEED_DOMAIN = "seed.example.com"


@dataclass(frozen=True)
class Sizes:
    jobs: int
    companies: int
    employers: int
    candidates: int
    applications: int

    @classmethod
    def for_jobs(cls, jobs: int) -> "Sizes":
        companies = max(1, jobs // 20)
        return cls(
            jobs=jobs,
            companies=companies,
            employers=max(1, companies // 2),
            candidates=max(1, jobs // 10),
            applications=jobs // 2,
        )


class Progress:
    """A one-line progress bar on a terminal; a line per step elsewhere."""

    def __init__(self, label: str, total: int, out: TextIO = sys.stderr) -> None:
        self.label, self.total, self.out = label, max(total, 1), out
        self.done = 0
        self.started = time.perf_counter()
        self.tty = out.isatty()
        self._shown = -1

    def advance(self, count: int = 1) -> None:
        self.done += count
        percent = self.done * 100 // self.total
        if self.tty and percent != self._shown:
            self._shown = percent
            bar = "#" * (percent // 4) + "-" * (25 - percent // 4)
            self.out.write(f"\r{self.label:<13} [{bar}] {percent:3d}% {self.done}/{self.total}")
            self.out.flush()

    def finish(self) -> None:
        elapsed = time.perf_counter() - self.started
        if self.tty:
            self.out.write("\n")
        self.out.write(f"{self.label:<13} {self.done} rows in {elapsed:.1f}s\n")
        self.out.flush()


def _copy(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    progress: Progress,
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            progress.advance()
    progress.finish()


def _next_number(conn: psycopg.Connection[Any], prefix: str) -> int:
    pattern = f"^{prefix}([0-9]+)@{SEED_DOMAIN.replace('.', '[.]')}$"
    row = conn.execute(
        "SELECT coalesce(max(substring(email from %s)::int), 0) FROM users WHERE email ~ %s",
        (pattern, pattern),
    ).fetchone()
    return int(row[0]) + 1 if row else 1


def _people(
    rng: random.Random, prefix: str, start: int, count: int, role: str, hashed: str
) -> Iterator[tuple[str, str, str, str, str]]:
    for number in range(start, start + count):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = f"{prefix}{number}@{SEED_DOMAIN}"
        yield email, skeleton(email), hashed, name, role


def _ids_after(conn: psycopg.Connection[Any], table: str, after: int) -> list[int]:
    statement = sql.SQL("SELECT id FROM {} WHERE id > %s ORDER BY id").format(sql.Identifier(table))
    return [row[0] for row in conn.execute(statement, (after,))]


def _max_id(conn: psycopg.Connection[Any], table: str) -> int:
    statement = sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))
    row = conn.execute(statement).fetchone()
    return int(row[0]) if row else 0


def _job_rows(
    rng: random.Random, sizes: Sizes, company_ids: list[int], now: datetime
) -> Iterator[tuple[Any, ...]]:
    roles = list(ROLES)
    waiting = random.Random("held for review")  # noqa: S311 (demo data, not secrets)
    for _ in range(sizes.jobs):
        role = rng.choice(roles)
        level = rng.choice(LEVELS)
        title = f"{level} {role}".strip()
        location, currency = rng.choice(CITIES)
        tags = rng.sample(ROLES[role], k=rng.randint(1, min(4, len(ROLES[role]))))
        sentences = " ".join(rng.sample(SENTENCES, k=rng.randint(3, 6)))
        skills = "\n".join(f"- {tag}" for tag in tags)
        # Markdown, as employers write it, with the renderings the API stores beside it.
        description = (
            f"We are looking for a **{title.lower()}** to join us in {location}.\n\n"
            f"{sentences}\n\n### What you bring\n\n{skills}\n"
        )
        rendered = render(description)
        salary_min = salary_max = None
        if rng.random() < 0.8:
            base = rng.randrange(30_000, 180_000, 1_000)
            salary_min = base
            salary_max = base + rng.randrange(0, 40_000, 1_000) if rng.random() < 0.85 else None
        draw = rng.random()
        status = "published" if draw < 0.85 else ("draft" if draw < 0.95 else "closed")
        submitted_at = None
        if 0.93 <= draw < 0.95:
            # Some of the drafts were asked to be published and wait for a moderator (their
            # times from a generator of their own: every other value is as before).
            status = "pending"
            submitted_at = now - timedelta(seconds=waiting.randrange(60, 7 * 86_400))
        published_at = None
        if status not in ("draft", "pending"):
            published_at = now - timedelta(seconds=rng.randrange(0, 90 * 86_400))
        expires_at = None
        if rng.random() < 0.6:
            # One in six of these has already passed: expired jobs exist too.
            expires_at = now + timedelta(days=rng.randint(-15, 75))
        yield (
            rng.choice(company_ids),
            title,
            description,
            rendered.html,
            rendered.text,
            digest(description),
            location,
            rng.choice(WORKPLACES),
            rng.choice(EMPLOYMENT_TYPES),
            salary_min,
            salary_max,
            currency if salary_min is not None else None,
            tags,
            status,
            expires_at,
            published_at,
            submitted_at,
        )


def seed(settings: Settings, *, jobs: int, random_seed: int = 0) -> Sizes:
    """Load demo data for `jobs` jobs, with proportional companies, people and applications."""
    sizes = Sizes.for_jobs(jobs)
    rng = random.Random(random_seed)  # noqa: S311 (demo data, not secrets)
    now = datetime.now(UTC)
    hashed = CryptContext(
        schemes=["bcrypt_sha256"], bcrypt_sha256__rounds=settings.bcrypt_rounds
    ).hash(SEED_PASSWORD)
    conninfo = settings.database.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        # The database's statement_timeout (set by `migrate`) bounds requests; a bulk load of
        # a million jobs takes longer than any request may.
        conn.execute("SET LOCAL statement_timeout = 0")
        # Other writers wait while ids are read back; readers carry on.
        conn.execute("LOCK TABLE users, companies, jobs, applications IN EXCLUSIVE MODE")
        before = {table: _max_id(conn, table) for table in ("users", "companies", "jobs")}
        employer_start = _next_number(conn, "employer")
        candidate_start = _next_number(conn, "candidate")
        columns = ("email", "email_skeleton", "hashed_password", "full_name", "role")
        people = [
            *_people(rng, "employer", employer_start, sizes.employers, "employer", hashed),
            *_people(rng, "candidate", candidate_start, sizes.candidates, "candidate", hashed),
        ]
        if _next_number(conn, "admin") == 1:
            admin_email = f"admin1@{SEED_DOMAIN}"
            people.append((admin_email, skeleton(admin_email), hashed, "Demo Admin", "admin"))
        _copy(conn, "users", columns, people, Progress("users", len(people)))
        user_ids = _ids_after(conn, "users", before["users"])
        # Demo accounts have nobody to confirm their addresses: they count as confirmed.
        conn.execute("UPDATE users SET email_verified_at = now() WHERE id > %s", (before["users"],))
        employer_ids = user_ids[: sizes.employers]
        candidate_ids = user_ids[sizes.employers : sizes.employers + sizes.candidates]

        abouts = [rng.choice(SENTENCES) for _ in range(sizes.companies)]
        companies = [
            (
                f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}",
                f"https://company{number}.example",
                about,
                render(about).html,
                digest(about),
                employer_ids[number % len(employer_ids)],
            )
            for number, about in enumerate(abouts)
        ]
        _copy(
            conn,
            "companies",
            ("name", "website", "description", "description_html", "rendered_from", "owner_id"),
            companies,
            Progress("companies", len(companies)),
        )
        company_ids = _ids_after(conn, "companies", before["companies"])
        # One company in five proved a mailbox at its website's domain.
        conn.execute(
            "UPDATE companies SET verified_domain = substring(website from '^https://([^/]+)'), "
            "verified_at = now() WHERE id = ANY(%s)",
            (company_ids[::5],),
        )

        job_columns = (
            "company_id",
            "title",
            "description",
            "description_html",
            "description_text",
            "rendered_from",
            "location",
            "workplace",
            "employment_type",
            "salary_min",
            "salary_max",
            "salary_currency",
            "tags",
            "status",
            "expires_at",
            "published_at",
            "submitted_at",
        )
        rows = _job_rows(rng, sizes, company_ids, now)
        _copy(conn, "jobs", job_columns, rows, Progress("jobs", sizes.jobs))
        published = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM jobs WHERE id > %s AND status = 'published'", (before["jobs"],)
            )
        ]
        pairs: set[tuple[int, int]] = set()
        if published:
            wanted = min(sizes.applications, len(published) * len(candidate_ids))
            while len(pairs) < wanted:
                pairs.add((rng.choice(published), rng.choice(candidate_ids)))
        applications = [
            (job_id, candidate_id, rng.choice(APPLICATION_STATUSES), rng.choice(SENTENCES))
            for job_id, candidate_id in sorted(pairs)
        ]
        _copy(
            conn,
            "applications",
            ("job_id", "candidate_id", "status", "cover_letter"),
            applications,
            Progress("applications", len(applications)),
        )
        # About one published job in a hundred has an open report waiting for a moderator
        # (one person each: not enough to hold it).
        reported = rng.sample(published, max(1, len(published) // 100)) if published else []
        reports = [
            (
                job_id,
                rng.choice(candidate_ids),
                hashlib.sha256(f"demo report {job_id}".encode()).hexdigest(),
                rng.choice(REPORT_REASONS),
                rng.choice(SENTENCES),
            )
            for job_id in sorted(reported)
        ]
        _copy(
            conn,
            "job_reports",
            ("job_id", "reporter_id", "address_key", "reason", "note"),
            reports,
            Progress("reports", len(reports)),
        )
        conn.execute("ANALYZE users, companies, jobs, applications")
    return sizes
