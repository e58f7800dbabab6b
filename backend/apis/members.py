"""Company teams: members and their roles, invitations, and what members did."""

from fastapi import APIRouter, Response, status

from backend.apis.access import EmployerOrAdmin, IdPath
from backend.apis.deps import CurrentUser, DbSession, SettingsDep, TransactionsDep
from backend.apis.openapi import problem_responses
from backend.apis.pagination import PageDep, to_page
from backend.schemas.member import (
    ActivityRead,
    InvitationAccept,
    InvitationCreate,
    InvitationRead,
    MemberRead,
    Membership,
    MemberUpdate,
    MyInvitationRead,
    Transfer,
)
from backend.schemas.pagination import Page
from backend.services import members

router = APIRouter(tags=["companies"])


@router.get(
    "/companies/{company_id}/members",
    name="list-members",
    response_model=Page[MemberRead],
    responses=problem_responses(401, 403, 404),
)
async def list_members(
    company_id: IdPath, user: EmployerOrAdmin, db: DbSession
) -> Page[MemberRead]:
    """The company's members, the longest-standing first: for any member of it."""
    rows = await members.team(db, user=user, company_id=company_id)
    return Page(items=[MemberRead.model_validate(row) for row in rows], next_cursor=None)


@router.patch(
    "/companies/{company_id}/members/{user_id}",
    name="update-member",
    response_model=MemberRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def update_member(
    company_id: IdPath, user_id: IdPath, payload: MemberUpdate, user: EmployerOrAdmin, db: DbSession
) -> MemberRead:
    """Give a member another role (owners). 409 for taking the last owner's role away."""
    row = await members.change_role(
        db, user=user, company_id=company_id, member_id=user_id, role=payload.role
    )
    return MemberRead.model_validate(row)


@router.delete(
    "/companies/{company_id}/members/{user_id}",
    name="remove-member",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409),
)
async def remove_member(
    company_id: IdPath, user_id: IdPath, user: EmployerOrAdmin, db: DbSession
) -> Response:
    """Remove a member (owners), or leave the company (your own id). 409 for the last
    owner."""
    await members.remove(db, user=user, company_id=company_id, member_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/companies/{company_id}/transfer",
    name="transfer-company",
    response_model=Page[MemberRead],
    responses=problem_responses(401, 403, 404, 409),
)
async def transfer(
    company_id: IdPath, payload: Transfer, user: EmployerOrAdmin, db: DbSession
) -> Page[MemberRead]:
    """Hand the company over (owners): the member named becomes an owner and the primary
    owner, the caller a recruiter. The team as it is then."""
    rows = await members.transfer(db, user=user, company_id=company_id, member_id=payload.user_id)
    return Page(items=[MemberRead.model_validate(row) for row in rows], next_cursor=None)


@router.get(
    "/companies/{company_id}/activity",
    name="list-activity",
    response_model=Page[ActivityRead],
    responses=problem_responses(401, 403, 404),
)
async def list_activity(
    company_id: IdPath, user: EmployerOrAdmin, page: PageDep, db: DbSession
) -> Page[ActivityRead]:
    """What the company's members and keys did, newest first (owners)."""
    paged = await members.activity(db, user=user, company_id=company_id, page=page)
    return to_page(paged, ActivityRead.model_validate)


@router.get(
    "/companies/{company_id}/invitations",
    name="list-invitations",
    response_model=Page[InvitationRead],
    responses=problem_responses(401, 403, 404),
)
async def list_invitations(
    company_id: IdPath, user: EmployerOrAdmin, db: DbSession
) -> Page[InvitationRead]:
    """The company's open invitations, newest first, expired ones too (owners)."""
    found = await members.invitations(db, user=user, company_id=company_id)
    return Page(items=[InvitationRead.model_validate(row) for row in found], next_cursor=None)


@router.post(
    "/companies/{company_id}/invitations",
    name="create-invitation",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationRead,
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def create_invitation(
    company_id: IdPath,
    payload: InvitationCreate,
    user: EmployerOrAdmin,
    db: DbSession,
    transactions: TransactionsDep,
    settings: SettingsDep,
) -> InvitationRead:
    """Invite an address to join the company in a role (owners, with a confirmed
    address): a link valid 7 days is mailed to it. 409 when it is a member's or an open
    invitation for it waits; 429 past the caller's five links an hour or the address's
    share of mail."""
    invitation = await members.invite(
        db,
        transactions,
        settings,
        user=user,
        company_id=company_id,
        email=payload.email,
        role=payload.role,
    )
    return InvitationRead.model_validate(invitation)


@router.post(
    "/companies/{company_id}/invitations/{invitation_id}/resend",
    name="resend-invitation",
    response_model=InvitationRead,
    responses=problem_responses(401, 403, 404, 429),
)
async def resend_invitation(
    company_id: IdPath,
    invitation_id: IdPath,
    user: EmployerOrAdmin,
    db: DbSession,
    transactions: TransactionsDep,
    settings: SettingsDep,
) -> InvitationRead:
    """Mail an open invitation's link again, valid 7 days from now; the links mailed
    before stop working. 429 within ten minutes of the last send."""
    invitation = await members.resend(
        db, transactions, settings, user=user, company_id=company_id, invitation_id=invitation_id
    )
    return InvitationRead.model_validate(invitation)


@router.delete(
    "/companies/{company_id}/invitations/{invitation_id}",
    name="revoke-invitation",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def revoke_invitation(
    company_id: IdPath, invitation_id: IdPath, user: EmployerOrAdmin, db: DbSession
) -> Response:
    """Withdraw an open invitation (owners): its links stop working at once."""
    await members.revoke(db, user=user, company_id=company_id, invitation_id=invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations/accept",
    name="accept-invitation-link",
    response_model=Membership,
    responses=problem_responses(400, 401, 403, 409),
)
async def accept_link(
    payload: InvitationAccept, user: CurrentUser, db: DbSession, settings: SettingsDep
) -> Membership:
    """Join a company with the token of a mailed invitation: signed in as an employer with
    a confirmed address equal to the invited one (403 otherwise). A tampered, expired,
    revoked, resent or used link, or one whose inviter is no longer an owner, is a 400."""
    company_id, row = await members.accept_link(db, settings, user=user, token=payload.token)
    return Membership(company_id=company_id, member=MemberRead.model_validate(row))


@router.get(
    "/users/me/invitations",
    name="list-my-invitations",
    response_model=Page[MyInvitationRead],
    responses=problem_responses(401),
)
async def my_invitations(user: CurrentUser, db: DbSession) -> Page[MyInvitationRead]:
    """The open invitations to the caller's confirmed address, newest first."""
    rows = await members.mine(db, user=user)
    return Page(items=[MyInvitationRead.model_validate(row) for row in rows], next_cursor=None)


@router.post(
    "/users/me/invitations/{invitation_id}/accept",
    name="accept-invitation",
    response_model=Membership,
    responses=problem_responses(401, 403, 404, 409),
)
async def accept(invitation_id: IdPath, user: CurrentUser, db: DbSession) -> Membership:
    """Join the company of an invitation to the caller's confirmed address (employers)."""
    company_id, row = await members.accept(db, user=user, invitation_id=invitation_id)
    return Membership(company_id=company_id, member=MemberRead.model_validate(row))


@router.post(
    "/users/me/invitations/{invitation_id}/decline",
    name="decline-invitation",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def decline(invitation_id: IdPath, user: CurrentUser, db: DbSession) -> Response:
    """Turn an invitation to the caller's address down: it closes."""
    await members.decline(db, user=user, invitation_id=invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
