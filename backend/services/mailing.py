"""Sending a mail once: under a key, recorded in the transaction of what it is about."""

from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.mail import Mailer
from backend.core.metrics import MAILS
from backend.db.repository import mail as mail_repo


async def claim(db: AsyncSession, *, key: str) -> bool:
    """Hold the right to send under `key` until `db`'s transaction ends (a second run of
    the same task waits here); False when a mail was already sent under it."""
    await mail_repo.hold(db, key=key)
    return not await mail_repo.was_sent(db, key=key)


async def send_once(
    db: AsyncSession, mailer: Mailer, *, key: str, message: EmailMessage, message_id: str | None
) -> None:
    """Send `message` unless a mail was sent under `key`, and record the send in `db`'s
    transaction (the caller's changes commit with it). An SMTP failure raises: the
    transaction rolls back and the task is tried again.

    The rule for the one window left: a mail the server accepted just before the record
    could commit (the worker killed, the database gone) is sent again by the retry, with
    the same `message_id` (`core.mail.message_id`), so that the copy can be told apart.
    None keeps the message's own, new on every try: for a mail whose try writes what the
    first one's could not keep (a reset link, stored only with the record), so that no
    client drops the copy that works.
    """
    if not await claim(db, key=key):
        return
    await send(mailer, message=message, message_id=message_id)
    await mail_repo.record_sent(db, key=key)


async def send(mailer: Mailer, *, message: EmailMessage, message_id: str | None) -> None:
    """Send `message`, whose right to go out the caller holds and records in its open
    transaction by other means than a key (a job alert: the saved search's window, moved
    on in that transaction); the window left is `send_once`'s."""
    if message_id is not None:
        message.replace_header("Message-ID", message_id)
    try:
        await mailer.send(message)
    except Exception:
        MAILS.labels("failed").inc()
        raise
    MAILS.labels("sent").inc()
