"""Outgoing mail: one small interface, with console, file and SMTP backends chosen by settings."""

import hmac
import logging
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from typing import Protocol

import anyio

from backend.core.config import Settings

logger = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


# How a message leaves: headers folded only past RFC 5322's 998-character limit. The
# default folds at 78, and a header with no space to fold at (List-Unsubscribe's long
# address) then goes out as RFC 2047 encoded words, which no client reads as an address.
# Bodies are encoded when the message is built, so this changes none of them.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)

# The right-hand side of the board's Message-IDs.
MESSAGE_ID_DOMAIN = "jobboard"


def message_id(settings: Settings, key: str) -> str:
    """The `Message-ID` of the mail sent under `key`: the same on every try, so that if one
    is sent twice (accepted by the mail server just before its worker died), receiving
    servers and clients can tell the second for a copy. Keyed with SECRET_KEY, so that no
    two boards (and no outsider) make the same one."""
    digest = hmac.new(settings.secret_key.get_secret_value().encode(), key.encode(), "sha256")
    return f"<{digest.hexdigest()[:40]}@{MESSAGE_ID_DOMAIN}>"


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it is sent and stored: CRLF line ends, headers as `WIRE_POLICY`
    folds them."""
    return message.as_bytes(policy=WIRE_POLICY)


def compose(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    html: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """An RFC 5322 message from the configured sender: text, and HTML beside it if given.

    `unsubscribe_url` adds RFC 8058 one-click unsubscribe: mail clients POST
    `List-Unsubscribe=One-Click` to it, with no sign-in.
    """
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=MESSAGE_ID_DOMAIN)
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


class ConsoleMailer:
    """Logs each message: for development, where nothing should leave the machine."""

    async def send(self, message: EmailMessage) -> None:
        # The text as the reader sees it, decoded (the message itself may be quoted-
        # printable, which breaks long lines such as a link).
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        logger.info(
            "mail to %s\nSubject: %s\n\n%s", message["To"], message["Subject"], text.rstrip()
        )


class FileMailer:
    """Writes each message as an `.eml` file into a folder (tests and local runs read it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        # Written under a temporary name and renamed, so readers never see half a message.
        partial = path.with_suffix(".part")
        partial.write_bytes(wire_bytes(message))
        partial.rename(path)


class SmtpMailer:
    """Sends through an SMTP server (STARTTLS or implicit TLS, optional login) off the loop."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.use_ssl = settings.smtp_ssl
        self.timeout = settings.smtp_timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.use_ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=context)
            if self.username and self.password:
                client.login(self.username, self.password.get_secret_value())
            recipients = [address for _, address in getaddresses(message.get_all("To", []))]
            ((_, sender),) = getaddresses([message["From"]])
            client.sendmail(sender, recipients, wire_bytes(message))


def create_mailer(settings: Settings) -> Mailer:
    """The backend MAIL_BACKEND names."""
    if settings.mail_backend == "file":
        return FileMailer(settings.mail_file_dir)
    if settings.mail_backend == "smtp":
        return SmtpMailer(settings)
    return ConsoleMailer()
