"""Verified companies: someone of the company proves a mailbox at its website's domain.

The company's owner (or an admin) names an address at the registrable domain of the
company's website (`jobs@acme.co.uk` for `https://www.acme.co.uk`); the board mails it a
link, and whoever reads that mailbox opens it (no sign-in needed). The company is then
verified at that domain: a badge on the company and its jobs, and its jobs publish without
review unless a signal holds them (backend.services.moderation.needs_review).

A free or disposable mail service's domain cannot verify (anyone has a mailbox there), nor
can a banned one. The link names the company, the address and the account that asked, and
works only while that account is under the security generation it asked under, still
manages the company, and the website is still on the address's domain; once the company
is verified there it is spent. Moving the website to another domain ends the verification.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
    TooManyRequests,
)
from backend.core.ids import MAX_ID
from backend.core.security import VERIFY_COMPANY_PURPOSE, InvalidToken, decode_link_token
from backend.db.models import Company, User
from backend.db.queue import SEND_COMPANY_VERIFICATION, enqueue
from backend.db.repository import companies as companies_repo
from backend.db.repository import users as users_repo
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions
from backend.services import members, moderation, signals, throttle, verification
from backend.services.members import Need

COMPANY_NOT_FOUND = "Company not found."
INVALID_LINK = "This verification link is invalid, expired or already used."
NO_WEBSITE = "Give the company its website first: a company is verified at its website's domain."


def website_domain(website: str | None) -> str | None:
    """The registrable domain of a company's website, if it has one."""
    if website is None:
        return None
    return signals.registrable(urlsplit(website).hostname or "")


def _mail_domain(email: str) -> str | None:
    return signals.registrable(email.rpartition("@")[2])


async def ask(
    db: AsyncSession,
    transactions: Transactions,
    settings: Settings,
    *,
    user: Caller,
    company_id: int,
    email: str,
) -> None:
    """Mail a verification link for `company_id` to `email`, an address at its website's
    domain, once the request commits.

    404 for no such company, 403 for another employer's (or an unconfirmed account), 409
    when it has no website or is verified at that domain already, 422 for an address at
    another domain or at a mail service's, 403 for a banned domain; 429 past the account's
    confirmation links an hour or the address's share of mail.
    """
    verification.require_confirmed(user, "verify a company")
    company = await companies_repo.get(db, company_id=company_id)
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    if not await members.allows(db, user, company.id, Need.own):
        raise Forbidden("This company belongs to another employer.")
    site = website_domain(company.website)
    if site is None:
        raise Conflict(NO_WEBSITE)
    if company.verified_domain == site:
        raise Conflict(f"This company is verified at {site} already.")
    if signals.is_free_mail(site) or signals.is_disposable(site):
        raise InvalidField(
            ("body", "email"),
            f"{site} is a mail service's domain: a company on it cannot be verified",
        )
    if _mail_domain(email) != site:
        raise InvalidField(
            ("body", "email"), f"must be an address at {site}, the company website's domain"
        )
    await moderation.check_not_banned(db, email=email, website=company.website)
    await throttle.count_confirmation_request(transactions, settings, user_id=user.id)
    wait = await throttle.take_mail_place(db, email=email)
    if wait is not None:
        raise TooManyRequests(retry_after=wait)
    await enqueue(
        db,
        SEND_COMPANY_VERIFICATION,
        company_id=company.id,
        user_id=user.id,
        email=email,
        generation=user.security_generation,
    )


def link_subject(company_id: int, email: str) -> str:
    """What a verification link names: the company and the address it was mailed to."""
    return f"{company_id} {email}"


@dataclass(frozen=True, slots=True)
class Pending:
    """A verification a link may still complete."""

    company: Company
    account: User
    domain: str


async def still_pending(
    db: AsyncSession,
    company: Company | None,
    account: User | None,
    *,
    email: str,
    generation: int | None,
) -> Pending | None:
    """The verification of `company` at `email`'s domain asked by `account` under
    `generation`, if a link for it would still work."""
    if company is None or account is None or not account.is_active:
        return None
    if generation is not None and generation != account.security_generation:
        return None
    if not await members.allows(db, account, company.id, Need.own):
        return None
    site = website_domain(company.website)
    if site is None or _mail_domain(email) != site or company.verified_domain == site:
        return None
    return Pending(company=company, account=account, domain=site)


async def confirm(db: AsyncSession, settings: Settings, *, token: str) -> Company:
    """Verify the company a link names, on its locked row; anything that ended the link
    (see the module) is a 400 and changes nothing."""
    try:
        claims = decode_link_token(settings, token, purpose=VERIFY_COMPANY_PURPOSE)
    except InvalidToken:
        raise BadRequest(INVALID_LINK) from None
    company_part, _, email = claims.subject.partition(" ")
    if (
        not company_part.isascii()
        or not company_part.isdigit()
        or len(company_part) > 19
        or not 1 <= int(company_part) <= MAX_ID
    ):
        raise BadRequest(INVALID_LINK)
    company = await companies_repo.get(db, company_id=int(company_part), lock="update")
    account = await users_repo.get(db, user_id=claims.user_id)
    pending = await still_pending(db, company, account, email=email, generation=claims.generation)
    if pending is None:
        raise BadRequest(INVALID_LINK)
    return await companies_repo.update(
        db, company=pending.company, verified_domain=pending.domain, verified_at=datetime.now(UTC)
    )


def kept_on_change(company: Company, website: str | None) -> dict[str, object]:
    """The verification columns of a company whose website becomes `website`: cleared when
    it leaves the domain the company was verified at."""
    if company.verified_domain is None or website_domain(website) == company.verified_domain:
        return {}
    return {"verified_domain": None, "verified_at": None}
