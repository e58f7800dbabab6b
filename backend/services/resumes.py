"""Résumés: candidates upload and keep them, send them with applications; the employers
they were sent to read them.

A file is read (its kind decided, its parser made to open it) in a limited child process
before anything is stored, with no database connection held meanwhile; its text is read
later by the worker (`read_text`), in the same kind of child, and searched by employers
among their own applicants.
"""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import documents, sandbox
from backend.core.config import Settings
from backend.core.documents import EXTENSIONS, DocumentType, Inspection, UnreadableDocument
from backend.core.exceptions import Conflict, InvalidField, NotFound
from backend.core.redaction import redact
from backend.db.models import Resume, Role
from backend.db.models.resume import FILE_NAME_MAX_LENGTH
from backend.db.queue import READ_RESUME_TEXT, enqueue
from backend.db.repository import applications as applications_repo
from backend.db.repository import resumes as resumes_repo
from backend.db.repository import users as users_repo
from backend.db.repository.base import AnyRow
from backend.db.repository.resumes import MAX_RESUMES
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, own_transaction, release
from backend.services.file_store import store_for

RESUME_NOT_FOUND = "Résumé not found."
ACCEPTED_KINDS = documents.ACCEPTED
MEDIA_TYPES = [kind.value for kind in DocumentType]
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\\"]")


def document_limits(settings: Settings) -> documents.Limits:
    return documents.Limits(max_pages=settings.resume_max_pages)


def sandbox_limits(settings: Settings) -> sandbox.SandboxLimits:
    return sandbox.SandboxLimits(
        seconds=settings.resume_parse_seconds,
        memory_bytes=settings.resume_parse_memory_mb * 2**20,
    )


def file_name(given: str, kind: DocumentType) -> str:
    """The name a résumé is kept and downloaded under: the last part of what the uploader
    called it, without control or format characters, quotes or slashes, ending with the
    extension of the kind its content is."""
    name = unicodedata.normalize("NFC", given).replace("\\", "/").rsplit("/", 1)[-1]
    # No control or format characters (a right-to-left override can make "cv<RLO>fdp.exe"
    # read as "cvexe.pdf"), no quotes or slashes.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _UNSAFE.sub("", name).strip().strip(".")
    extension = EXTENSIONS[kind]
    if name.lower().endswith(extension):
        name = name[: -len(extension)]
    stem = name[: FILE_NAME_MAX_LENGTH - len(extension)].strip() or "resume"
    return stem + extension


async def inspect(settings: Settings, data: bytes) -> Inspection:
    """What kind of résumé `data` is; 422 when it is none the board takes, or unreadable."""
    try:
        return await sandbox.run(
            sandbox_limits(settings), documents.inspect, data, document_limits(settings)
        )
    except UnreadableDocument as error:
        raise InvalidField(("body",), str(error).rstrip(".")) from error


async def store(
    db: AsyncSession,
    transactions: Transactions,
    settings: Settings,
    *,
    candidate: Caller,
    given_name: str,
    data: bytes,
    inspection: Inspection,
) -> Resume:
    """Keep an inspected résumé for the candidate (at most MAX_RESUMES kept, decided on
    the locked account so that uploads at once cannot pass it), and ask the worker to read
    its text. Called while `db` holds no connection: a file store outside the database
    receives the file first (see services.file_store)."""
    files = store_for(settings)
    sent = await files.send(transactions, data)
    if not (await users_repo.lock(db, user_ids=[candidate.id])):
        raise NotFound(RESUME_NOT_FOUND)
    if await resumes_repo.count_kept(db, candidate_id=candidate.id) >= MAX_RESUMES:
        raise Conflict(f"You can keep at most {MAX_RESUMES} résumés: remove one first.")
    key = await files.keep(db, data, sent)
    resume = await resumes_repo.create(
        db,
        candidate_id=candidate.id,
        file_name=file_name(given_name, inspection.type),
        media_type=inspection.type.value,
        size=len(data),
        pages=inspection.pages,
        file_key=key,
    )
    await enqueue(db, READ_RESUME_TEXT, resume_id=resume.id)
    return resume


async def list_mine(db: AsyncSession, *, candidate: Caller) -> list[AnyRow]:
    return await resumes_repo.list_kept(db, candidate_id=candidate.id)


async def readable(db: AsyncSession, *, user: Caller, resume_id: int) -> tuple[AnyRow, bool]:
    """A résumé's columns and file key: for its candidate, the owners of the companies whose
    jobs it was sent to, and admins; 404 for anyone else. And whether the caller sees it
    masked: every application of theirs holding it is hidden by a blind first pass."""
    row = await resumes_repo.readable_by(
        db, resume_id=resume_id, user_id=user.id, admin=user.role == Role.admin
    )
    if row is None:
        raise NotFound(RESUME_NOT_FOUND)
    if row.candidate_id == user.id:
        return row, False
    masked = await applications_repo.resume_masked_for(
        db, resume_id=resume_id, user_id=user.id, admin=user.role == Role.admin
    )
    return row, masked


def masked_name(resume_id: int, media_type: str) -> str:
    """The name a résumé goes by while a blind first pass hides who sent it."""
    return f"resume-{resume_id}{EXTENSIONS[DocumentType(media_type)]}"


@dataclass(frozen=True, slots=True)
class Download:
    file_name: str
    media_type: str
    content: bytes


async def download(
    db: AsyncSession,
    transactions: Transactions,
    settings: Settings,
    *,
    user: Caller,
    resume_id: int,
) -> Download:
    """The file; while a blind first pass hides who sent it, its read text instead, without
    its contact lines and name (409 until the worker has read it). The request's connection
    goes back before the file is read."""
    row, masked = await readable(db, user=user, resume_id=resume_id)
    if masked:
        text, name = await resumes_repo.text_and_name(db, resume_id=resume_id)
        if text is None:
            raise Conflict(
                "The résumé's text is not read yet (or could not be): during the blind "
                "first pass only its text is shown, without who sent it."
            )
        return Download(
            file_name=f"resume-{resume_id}-redacted.txt",
            media_type=DocumentType.text.value,
            content=redact(text, name).encode(),
        )
    await release(db)
    content = await store_for(settings).read(transactions, row.file_key)
    if content is None:
        raise NotFound(RESUME_NOT_FOUND)
    return Download(file_name=row.file_name, media_type=row.media_type, content=content)


async def remove(
    db: AsyncSession, settings: Settings, *, candidate: Caller, resume_id: int
) -> None:
    """Take a résumé off the candidate's list. The employers it was sent to keep it: while
    an application holds it, it is only marked removed; otherwise it and its file are
    deleted. Decided on the locked résumé, so an application sending it at once either
    comes first (and keeps it) or finds it gone."""
    resume = await resumes_repo.get(db, resume_id=resume_id, lock="update")
    if resume is None or resume.candidate_id != candidate.id or resume.removed_at is not None:
        raise NotFound(RESUME_NOT_FOUND)
    if await resumes_repo.in_use(db, resume_id=resume_id):
        await resumes_repo.mark_removed(db, resume=resume)
        return
    await resumes_repo.delete_resume(db, resume_id=resume_id)
    await store_for(settings).drop(db, resume.file_key)


async def to_send(db: AsyncSession, *, candidate: Caller, resume_id: int) -> None:
    """Check that the candidate may send this résumé with an application (theirs, on their
    list), holding it until the transaction ends so that it is not removed meanwhile."""
    resume = await resumes_repo.get(db, resume_id=resume_id, lock="share")
    if resume is None or resume.candidate_id != candidate.id or resume.removed_at is not None:
        raise NotFound(RESUME_NOT_FOUND)


async def read_text(transactions: Transactions, settings: Settings, *, resume_id: int) -> None:
    """Read a stored résumé's text (in a limited child process, with no database connection
    held meanwhile) and make it searchable; a file that cannot be read within the limits is
    marked failed, for good."""
    async with own_transaction(transactions) as db:
        found = await resumes_repo.file_of(db, resume_id=resume_id)
    content = None if found is None else await store_for(settings).read(transactions, found[0])
    if found is None or content is None:
        return
    try:
        text: str | None = await sandbox.run(
            sandbox_limits(settings),
            documents.extract_text,
            content,
            DocumentType(found[1]),
            document_limits(settings),
        )
    except UnreadableDocument:
        text = None
    async with own_transaction(transactions) as db:
        await resumes_repo.set_text(db, resume_id=resume_id, text=text)
