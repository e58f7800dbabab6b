"""Company teams: who may do what for a company, invitations, and the activity record.

A company's members each have a role (`MemberRole`): owners do everything (the company,
its members, keys and webhooks), recruiters its jobs and their applicants, viewers read
them. Admins act as owners of every company. Every employer use case asks `require`
(`allows`, or `job_access` with `required`) for the company concerned, with what it needs
(`Need`): a caller who is not a member gets the use case's 404, never a hint that the thing
exists; a member whose role falls short a 403 (they see it already).

The creator is the first owner (a trigger on `companies` adds the row). A company always
keeps an owner: every change of the team (a new role, a removal, a member leaving, a
handover) first locks the company's row and only then reads who may do it and who the
owners are, so two owners demoting each other at once leave one. `companies.owner_id`
names the primary owner, who gets the company's mail and as whom its keys act; it moves
to another owner when that one leaves or is demoted, and to the new owner on a transfer.

Invitations: an owner invites an address in a role. The board mails it a link (at most
MAIL_TO_ADDRESS_PER_HOUR mails an hour reach an address, whoever invites; none reaches an
address whose account is not confirmed yet: that account finds the invitation in its list
once confirmed). The link names the invitation and its number of sends, and works while
the invitation is open and unexpired, this was its last send, and the owner who sent it is
still an owner under the security generation they sent it under. Accepting needs an
employer account with a confirmed address equal to the invited one. An invitation can be
resent (a new link, the old ones dead; at most once every RESEND_EVERY) or revoked.
"""

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import emails
from backend.core.config import Settings
from backend.core.exceptions import BadRequest, Conflict, Forbidden, NotFound, TooManyRequests
from backend.core.ids import MAX_ID
from backend.core.pagination import Paged, PageRequest
from backend.core.security import COMPANY_INVITATION_PURPOSE, InvalidToken, decode_link_token
from backend.db.hot import Reader
from backend.db.models import Company, CompanyInvitation, MemberRole, Role, User
from backend.db.queue import SEND_COMPANY_INVITATION, enqueue
from backend.db.repository import companies as companies_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import members as members_repo
from backend.db.repository import users as users_repo
from backend.db.repository.base import AnyRow, IdPosition, Lock
from backend.db.repository.jobs import JobAccess
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, release
from backend.services import throttle, verification

COMPANY_NOT_FOUND = "Company not found."
MEMBER_NOT_FOUND = "Member not found."
INVITATION_NOT_FOUND = "Invitation not found."
INVALID_LINK = "This invitation link is invalid, expired, revoked or already used."
LAST_OWNER = "A company keeps at least one owner: make another member an owner first."
READ_ONLY = "Viewers of a company read only: a recruiter or an owner of it does this."
OWNERS_ONLY = "Only the company's owners do this."
OPEN_ALREADY = "An invitation for this address is open already: resend or revoke it."
INVITATION_DAYS = 7
RESEND_EVERY = timedelta(minutes=10)
MAX_OPEN_INVITATIONS = 50


class Need(enum.IntEnum):
    """What a use case needs of the caller's role in a company."""

    read = 1  # viewers and up
    work = 2  # recruiters and owners
    own = 3  # owners


_RANK = {MemberRole.viewer: Need.read, MemberRole.recruiter: Need.work, MemberRole.owner: Need.own}


async def role_in(db: Reader, user: Caller | User | None, company_id: int) -> MemberRole | None:
    """The caller's role in the company: an admin's is owner; None for a non-member."""
    if user is None:
        return None
    if user.role == Role.admin:
        return MemberRole.owner
    return await members_repo.role_of(db, company_id=company_id, user_id=user.id)


async def allows(db: Reader, user: Caller | User | None, company_id: int, need: Need) -> bool:
    role = await role_in(db, user, company_id)
    return role is not None and _RANK[role] >= need


async def require(
    db: Reader,
    user: Caller | User | None,
    company_id: int,
    need: Need,
    *,
    not_found: str = COMPANY_NOT_FOUND,
) -> MemberRole:
    """The caller's role in the company: 404 (`not_found`) for a non-member, 403 for a
    member whose role falls short of `need` (they see the thing, so it is no secret)."""
    role = await role_in(db, user, company_id)
    if role is None:
        raise NotFound(not_found)
    return check(role, need)


def required(role: MemberRole | None, need: Need, *, not_found: str) -> MemberRole:
    """`require` for a role read already (`job_access`)."""
    if role is None:
        raise NotFound(not_found)
    return check(role, need)


async def job_access(
    db: AsyncSession, user: Caller | User | None, job_id: int, *, lock: Lock = None
) -> tuple[JobAccess | None, MemberRole | None]:
    """A job as `jobs_repo.get_access` reads it, and the caller's role in its company
    (an admin's is owner), in one query."""
    admin = user is not None and user.role == Role.admin
    member_id = None if user is None or admin else user.id
    found = await jobs_repo.get_access(db, job_id=job_id, lock=lock, member_id=member_id)
    if found is None:
        return None, None
    return found, MemberRole.owner if admin else found.member_role


def check(role: MemberRole, need: Need) -> MemberRole:
    """403 for a member whose role falls short of `need`."""
    if _RANK[role] < need:
        raise Forbidden(READ_ONLY if need == Need.work else OWNERS_ONLY)
    return role


async def record(
    db: AsyncSession, *, user: Caller, company_id: int, action: str, **detail: Any
) -> None:
    """Note what the caller (a member, an admin, or a key acting for the company) did, in
    the transaction of the change."""
    await members_repo.record(
        db,
        company_id=company_id,
        actor_id=user.id,
        api_key_id=user.api_key_id,
        action=action,
        detail=detail,
    )


async def record_each(
    db: AsyncSession, *, user: Caller, company_id: int, action: str, details: list[dict[str, Any]]
) -> None:
    """`record`, once for each of `details` (what a batch did), in one statement."""
    await members_repo.record_many(
        db,
        rows=[
            {
                "company_id": company_id,
                "actor_id": user.id,
                "api_key_id": user.api_key_id,
                "action": action,
                "detail": detail,
            }
            for detail in details
        ],
    )


async def _company(
    db: AsyncSession, *, user: Caller, company_id: int, need: Need, lock: Lock = "share"
) -> Company:
    """The company, locked as asked, if the caller's role in it meets `need` (read after
    the lock: a change of the team decides on the team as it is once it holds the company)."""
    company = await companies_repo.get(db, company_id=company_id, lock=lock)
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    await require(db, user, company_id, need)
    return company


# The team


async def team(db: AsyncSession, *, user: Caller, company_id: int) -> list[AnyRow]:
    """A company's members, for any member (404 for anyone else)."""
    await _company(db, user=user, company_id=company_id, need=Need.read)
    return list(await members_repo.members(db, company_id=company_id))


async def _member_row(db: AsyncSession, *, company_id: int, member_id: int) -> AnyRow:
    for row in await members_repo.members(db, company_id=company_id):
        if row.user_id == member_id:
            return row
    raise NotFound(MEMBER_NOT_FOUND)


async def _take_owner_away(db: AsyncSession, company: Company, *, member_id: int) -> None:
    """Before `member_id` stops being an owner: 409 when they are the last one; when they
    are the primary owner, the longest-standing other owner becomes it. The owners' rows
    are read under the company's lock, which every change of the team takes first, so
    concurrent changes decide one after the other."""
    owners = await members_repo.owners(db, company_id=company.id)
    others = [owner for owner in owners if owner != member_id]
    if member_id in owners and not others:
        raise Conflict(LAST_OWNER)
    if company.owner_id == member_id and others:
        team_rows = await members_repo.members(db, company_id=company.id)
        successor = next(row.user_id for row in team_rows if row.user_id in others)
        await members_repo.set_primary(db, company_id=company.id, user_id=successor)


async def change_role(
    db: AsyncSession, *, user: Caller, company_id: int, member_id: int, role: MemberRole
) -> AnyRow:
    """An owner gives a member another role (409 for taking the last owner's away)."""
    company = await _company(db, user=user, company_id=company_id, need=Need.own, lock="update")
    member = await members_repo.member(db, company_id=company_id, user_id=member_id, lock="update")
    if member is None:
        raise NotFound(MEMBER_NOT_FOUND)
    if member.role != role:
        if role != MemberRole.owner:
            await _take_owner_away(db, company, member_id=member_id)
        await members_repo.set_role(db, company_id=company_id, user_id=member_id, role=role)
        await record(
            db,
            user=user,
            company_id=company_id,
            action="role_changed",
            member_id=member_id,
            role=role.value,
        )
    return await _member_row(db, company_id=company_id, member_id=member_id)


async def remove(db: AsyncSession, *, user: Caller, company_id: int, member_id: int) -> None:
    """An owner removes a member, or a member leaves (`member_id` their own): 409 for the
    last owner."""
    need = Need.read if member_id == user.id else Need.own
    company = await _company(db, user=user, company_id=company_id, need=need, lock="update")
    member = await members_repo.member(db, company_id=company_id, user_id=member_id, lock="update")
    if member is None:
        raise NotFound(MEMBER_NOT_FOUND)
    await _take_owner_away(db, company, member_id=member_id)
    await members_repo.remove(db, company_id=company_id, user_id=member_id)
    action = "member_left" if member_id == user.id else "member_removed"
    await record(db, user=user, company_id=company_id, action=action, member_id=member_id)


async def transfer(
    db: AsyncSession, *, user: Caller, company_id: int, member_id: int
) -> list[AnyRow]:
    """An owner hands the company to another member: they become an owner and its primary
    owner, and the one handing it over a recruiter (an admin stays as they are)."""
    company = await _company(db, user=user, company_id=company_id, need=Need.own, lock="update")
    target = await members_repo.member(db, company_id=company_id, user_id=member_id, lock="update")
    if target is None:
        raise NotFound(MEMBER_NOT_FOUND)
    if member_id == user.id:
        raise Conflict("You hand a company over to another member.")
    await members_repo.set_role(db, company_id=company_id, user_id=member_id, role=MemberRole.owner)
    await members_repo.set_primary(db, company_id=company.id, user_id=member_id)
    if await members_repo.role_of(db, company_id=company_id, user_id=user.id) is not None:
        await members_repo.set_role(
            db, company_id=company_id, user_id=user.id, role=MemberRole.recruiter
        )
    await record(
        db, user=user, company_id=company_id, action="ownership_transferred", member_id=member_id
    )
    return list(await members_repo.members(db, company_id=company_id))


async def activity(
    db: AsyncSession, *, user: Caller, company_id: int, page: PageRequest
) -> Paged[AnyRow]:
    """What the company's members and keys did, newest first: its owners only."""
    await _company(db, user=user, company_id=company_id, need=Need.own)
    kind = f"activity:{company_id}"
    rows = await members_repo.activity(
        db, company_id=company_id, limit=page.limit, after=page.after(kind, IdPosition)
    )
    return page.page(rows, kind)


# Invitations


def _address(email: str) -> str:
    return emails.normalize_form(email).lower()


def _addressed_to(invitation: CompanyInvitation, user: Caller | User) -> bool:
    return invitation.email in {form.lower() for form in emails.spellings(user.email)}


async def _queue_mail(db: AsyncSession, *, invitation: CompanyInvitation, user: Caller) -> None:
    """Mail the invitation's link (its current send) once the request commits: not to an
    address whose account is unconfirmed, and 429 past the address's mail an hour."""
    account = await users_repo.get_by_email(db, email=invitation.email)
    if account is not None and account.email_verified_at is None:
        return
    wait = await throttle.take_mail_place(db, email=invitation.email)
    if wait is not None:
        raise TooManyRequests(retry_after=wait)
    await enqueue(
        db,
        SEND_COMPANY_INVITATION,
        invitation_id=invitation.id,
        sends=invitation.sends,
        inviter_id=user.id,
        generation=user.security_generation,
    )


async def invite(
    db: AsyncSession,
    transactions: Transactions,
    settings: Settings,
    *,
    user: Caller,
    company_id: int,
    email: str,
    role: MemberRole,
) -> CompanyInvitation:
    """An owner invites an address (see the module). 409 when it is a member's, or an
    open invitation for it waits (resend that one), or MAX_OPEN_INVITATIONS wait; 403 for
    an unconfirmed inviter; 429 past the inviter's links or the address's mail an hour."""
    verification.require_confirmed(user, "invite members")
    # Counted in a transaction of its own, after the request's reads so far let go of their
    # connection: the count never waits for a second connection while holding one.
    await release(db)
    await throttle.count_confirmation_request(transactions, settings, user_id=user.id)
    await _company(db, user=user, company_id=company_id, need=Need.own)
    address = _address(email)
    account = await users_repo.get_by_email(db, email=address)
    if account is not None and await members_repo.role_of(
        db, company_id=company_id, user_id=account.id
    ):
        raise Conflict("This address belongs to a member of the company already.")
    if await members_repo.open_invitation(db, company_id=company_id, email=address):
        raise Conflict(OPEN_ALREADY)
    if await members_repo.open_count(db, company_id=company_id) >= MAX_OPEN_INVITATIONS:
        raise Conflict(f"A company has at most {MAX_OPEN_INVITATIONS} open invitations.")
    now = datetime.now(UTC)
    invitation = await members_repo.create_invitation(
        db,
        company_id=company_id,
        email=address,
        role=role,
        invited_by=user.id,
        expires_at=now + timedelta(days=INVITATION_DAYS),
        sends=1,
        last_sent_at=now,
    )
    if invitation is None:
        raise Conflict(OPEN_ALREADY)
    await _queue_mail(db, invitation=invitation, user=user)
    await record(
        db,
        user=user,
        company_id=company_id,
        action="member_invited",
        invitation_id=invitation.id,
        role=role.value,
    )
    return invitation


async def invitations(
    db: AsyncSession, *, user: Caller, company_id: int
) -> list[CompanyInvitation]:
    """The company's open invitations (its owners)."""
    await _company(db, user=user, company_id=company_id, need=Need.own)
    return await members_repo.open_invitations(db, company_id=company_id)


async def _open_of(
    db: AsyncSession, *, user: Caller, company_id: int, invitation_id: int
) -> CompanyInvitation:
    await _company(db, user=user, company_id=company_id, need=Need.own)
    invitation = await members_repo.invitation(
        db, invitation_id=invitation_id, company_id=company_id, lock="update"
    )
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at:
        raise NotFound(INVITATION_NOT_FOUND)
    return invitation


async def resend(
    db: AsyncSession,
    transactions: Transactions,
    settings: Settings,
    *,
    user: Caller,
    company_id: int,
    invitation_id: int,
) -> CompanyInvitation:
    """A new link for an open invitation, valid INVITATION_DAYS again; the links mailed
    before stop working. 429 within RESEND_EVERY of the last send."""
    verification.require_confirmed(user, "invite members")
    # Counted in a transaction of its own, after the request's reads so far let go of their
    # connection: the count never waits for a second connection while holding one.
    await release(db)
    await throttle.count_confirmation_request(transactions, settings, user_id=user.id)
    invitation = await _open_of(db, user=user, company_id=company_id, invitation_id=invitation_id)
    now = datetime.now(UTC)
    if invitation.last_sent_at is not None and now - invitation.last_sent_at < RESEND_EVERY:
        wait = RESEND_EVERY - (now - invitation.last_sent_at)
        raise TooManyRequests(
            "This invitation was sent moments ago.", retry_after=int(wait.total_seconds()) + 1
        )
    invitation = await members_repo.update_invitation(
        db,
        invitation=invitation,
        sends=invitation.sends + 1,
        last_sent_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
        invited_by=user.id,
    )
    await _queue_mail(db, invitation=invitation, user=user)
    return invitation


async def revoke(db: AsyncSession, *, user: Caller, company_id: int, invitation_id: int) -> None:
    """An owner withdraws an open invitation: its links stop working at once."""
    invitation = await _open_of(db, user=user, company_id=company_id, invitation_id=invitation_id)
    await members_repo.update_invitation(db, invitation=invitation, revoked_at=datetime.now(UTC))
    await record(
        db,
        user=user,
        company_id=company_id,
        action="invitation_revoked",
        invitation_id=invitation_id,
    )


def link_subject(invitation_id: int, sends: int) -> str:
    """What an invitation link names: the invitation and which of its sends made it."""
    return f"{invitation_id} {sends}"


@dataclass(frozen=True, slots=True)
class Mailable:
    invitation: CompanyInvitation
    company: Company
    inviter: User


async def still_mailable(
    db: AsyncSession, *, invitation_id: int, sends: int, inviter_id: int, generation: int | None
) -> Mailable | None:
    """The invitation a link made now would open, if it would still work (see the
    module); None otherwise."""
    invitation = await members_repo.invitation(db, invitation_id=invitation_id)
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.sends != sends
        or invitation.expires_at <= datetime.now(UTC)
    ):
        return None
    inviter = await users_repo.get(db, user_id=inviter_id)
    if inviter is None or not inviter.is_active:
        return None
    if generation is not None and generation != inviter.security_generation:
        return None
    if not await allows(db, inviter, invitation.company_id, Need.own):
        return None
    company = await companies_repo.get(db, company_id=invitation.company_id)
    if company is None:
        return None
    return Mailable(invitation=invitation, company=company, inviter=inviter)


def _parsed(subject: str) -> tuple[int, int] | None:
    first, _, second = subject.partition(" ")
    if not all(part.isascii() and part.isdigit() and len(part) <= 19 for part in (first, second)):
        return None
    invitation_id, sends = int(first), int(second)
    if not 1 <= invitation_id <= MAX_ID or not 1 <= sends <= MAX_ID:
        return None
    return invitation_id, sends


async def _join(db: AsyncSession, *, user: Caller, invitation: CompanyInvitation) -> AnyRow:
    """Make the caller a member as the invitation says, and spend it."""
    if user.role not in (Role.employer, Role.admin):
        raise Forbidden("Only employer accounts join companies.")
    verification.require_confirmed(user, "join a company")
    if not await members_repo.add(
        db, company_id=invitation.company_id, user_id=user.id, role=invitation.role
    ):
        raise Conflict("You are a member of this company already.")
    await members_repo.update_invitation(
        db, invitation=invitation, accepted_at=datetime.now(UTC), accepted_by=user.id
    )
    await record(
        db,
        user=user,
        company_id=invitation.company_id,
        action="member_joined",
        member_id=user.id,
        role=invitation.role.value,
    )
    return await _member_row(db, company_id=invitation.company_id, member_id=user.id)


async def accept_link(
    db: AsyncSession, settings: Settings, *, user: Caller, token: str
) -> tuple[int, AnyRow]:
    """Join the company a mailed link invites to: the signed-in account must be an
    employer's, confirmed, on the invited address (403 otherwise); a link that no longer
    works is a 400 and changes nothing. The company's id and the new member."""
    try:
        claims = decode_link_token(settings, token, purpose=COMPANY_INVITATION_PURPOSE)
    except InvalidToken:
        raise BadRequest(INVALID_LINK) from None
    parsed = _parsed(claims.subject)
    if parsed is None:
        raise BadRequest(INVALID_LINK)
    invitation_id, sends = parsed
    invitation = await members_repo.invitation(db, invitation_id=invitation_id, lock="update")
    mailable = await still_mailable(
        db,
        invitation_id=invitation_id,
        sends=sends,
        inviter_id=claims.user_id,
        generation=claims.generation,
    )
    if invitation is None or mailable is None:
        raise BadRequest(INVALID_LINK)
    if not _addressed_to(invitation, user):
        raise Forbidden("This invitation is for another address: sign in with the invited one.")
    return invitation.company_id, await _join(db, user=user, invitation=invitation)


async def mine(db: AsyncSession, *, user: Caller) -> list[AnyRow]:
    """The open, unexpired invitations to the caller's address (confirmed accounts only:
    an unconfirmed one sees none)."""
    if user.email_verified_at is None:
        return []
    rows: list[AnyRow] = []
    for form in sorted({form.lower() for form in emails.spellings(user.email)}):
        rows.extend(await members_repo.invitations_for(db, email=form))
    return sorted(rows, key=lambda row: row.id, reverse=True)


async def _addressed(db: AsyncSession, *, user: Caller, invitation_id: int) -> CompanyInvitation:
    invitation = await members_repo.invitation(db, invitation_id=invitation_id, lock="update")
    if (
        invitation is None
        or user.email_verified_at is None
        or not _addressed_to(invitation, user)
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= datetime.now(UTC)
    ):
        raise NotFound(INVITATION_NOT_FOUND)
    return invitation


async def accept(db: AsyncSession, *, user: Caller, invitation_id: int) -> tuple[int, AnyRow]:
    """Join from the caller's list of invitations (404 for one not addressed to their
    confirmed address, or no longer open)."""
    invitation = await _addressed(db, user=user, invitation_id=invitation_id)
    return invitation.company_id, await _join(db, user=user, invitation=invitation)


async def decline(db: AsyncSession, *, user: Caller, invitation_id: int) -> None:
    invitation = await _addressed(db, user=user, invitation_id=invitation_id)
    await members_repo.update_invitation(db, invitation=invitation, revoked_at=datetime.now(UTC))
