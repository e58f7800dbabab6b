"""Queries over résumés, and over the applications they were sent with."""

from sqlalchemy import delete, exists, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, Job, Resume, TextState, User
from backend.db.repository import base, members
from backend.db.repository.base import Lock

# What a résumé's readers see (its text and search vector stay deferred).
RESUME_COLUMNS = (
    Resume.id,
    Resume.candidate_id,
    Resume.file_name,
    Resume.media_type,
    Resume.size,
    Resume.pages,
    Resume.text_state,
    Resume.created_at,
    Resume.removed_at,
)
# Résumés a candidate keeps at once.
MAX_RESUMES = 10
SEARCH_CONFIG = "english"


async def create(
    session: AsyncSession,
    *,
    candidate_id: int,
    file_name: str,
    media_type: str,
    size: int,
    pages: int | None,
    file_key: str,
) -> Resume:
    resume = Resume(
        candidate_id=candidate_id,
        file_name=file_name,
        media_type=media_type,
        size=size,
        pages=pages,
        file_key=file_key,
    )
    session.add(resume)
    await session.flush()
    return resume


async def count_kept(session: AsyncSession, *, candidate_id: int) -> int:
    """How many résumés the candidate keeps (removed ones left out)."""
    statement = select(func.count()).where(
        Resume.candidate_id == candidate_id, Resume.removed_at.is_(None)
    )
    row = await base.first(session, statement)
    return 0 if row is None else int(row[0])


async def list_kept(session: AsyncSession, *, candidate_id: int) -> list[base.AnyRow]:
    """The candidate's résumés, newest first (at most MAX_RESUMES: no paging needed)."""
    statement = (
        select(*RESUME_COLUMNS)
        .where(Resume.candidate_id == candidate_id, Resume.removed_at.is_(None))
        .order_by(Resume.id.desc())
    )
    return list(await base.all_rows(session, statement))


async def get(session: AsyncSession, *, resume_id: int, lock: Lock = None) -> Resume | None:
    statement = base.locked(select(Resume).where(Resume.id == resume_id), lock)
    return (await session.execute(statement)).scalar_one_or_none()


async def readable_by(
    session: AsyncSession, *, resume_id: int, user_id: int, admin: bool
) -> base.AnyRow | None:
    """A résumé's columns and its file key, if `user_id` may read it: its candidate (while
    it is theirs, removed or not), an admin, or a member of a company with a job it was
    sent to."""
    sent_to_owner = exists(
        select(literal_column("1"))
        .select_from(Application)
        .join(Job, Job.id == Application.job_id)
        .where(
            Application.resume_id == Resume.id,
            Job.company_id.in_(members.companies_of(user_id)),
        )
    )
    statement = select(*RESUME_COLUMNS, Resume.file_key).where(Resume.id == resume_id)
    if admin:
        statement = statement.where(
            (Resume.candidate_id == user_id)
            | exists(select(literal_column("1")).where(Application.resume_id == Resume.id))
        )
    else:
        statement = statement.where((Resume.candidate_id == user_id) | sent_to_owner)
    return await base.first(session, statement)


async def in_use(session: AsyncSession, *, resume_id: int) -> bool:
    """Whether any application holds the résumé."""
    statement = select(exists().where(Application.resume_id == resume_id))
    row = await base.first(session, statement)
    return bool(row and row[0])


async def mark_removed(session: AsyncSession, *, resume: Resume) -> None:
    await base.update(session, resume, removed_at=func.now())


async def delete_resume(session: AsyncSession, *, resume_id: int) -> None:
    await session.execute(delete(Resume).where(Resume.id == resume_id))


async def file_of(session: AsyncSession, *, resume_id: int) -> tuple[str, str] | None:
    """The file key and media type of a résumé whose text is still to be read."""
    statement = select(Resume.file_key, Resume.media_type).where(
        Resume.id == resume_id, Resume.text_state == TextState.pending
    )
    row = await base.first(session, statement)
    return None if row is None else (row[0], row[1])


async def set_text(session: AsyncSession, *, resume_id: int, text: str | None) -> None:
    """Store a résumé's text and its search vector (None: it could not be read)."""
    values: dict[str, object]
    if text is None:
        values = {"text_state": TextState.failed}
    else:
        values = {
            "text_state": TextState.ready,
            "text": text,
            "search": func.to_tsvector(literal_column(f"'{SEARCH_CONFIG}'::regconfig"), text),
        }
    await session.execute(
        update(Resume)
        .where(Resume.id == resume_id, Resume.text_state == TextState.pending)
        .values(**values)
    )


async def text_and_name(session: AsyncSession, *, resume_id: int) -> tuple[str | None, str]:
    """A résumé's read text (None until read, or when unreadable) and its candidate's
    name."""
    statement = (
        select(Resume.text, User.full_name)
        .join(User, User.id == Resume.candidate_id)
        .where(Resume.id == resume_id)
    )
    row = await base.first(session, statement)
    return (None, "") if row is None else (row[0], row[1])
