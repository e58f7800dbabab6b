"""The mail backends, the SMTP one against a real SMTP server on loopback."""

import logging
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.engine import URL

from backend.core.config import Settings
from backend.core.mail import ConsoleMailer, FileMailer, SmtpMailer, compose, create_mailer
from tests.conftest import make_settings
from tests.mailbox import messages, raw


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def authenticate(
    server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def smtp_settings(url: URL, controller: Controller, **overrides: object) -> Settings:
    return make_settings(
        url,
        mail_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_starttls=False,
        **overrides,
    )


def message(settings: Settings) -> EmailMessage:
    return compose(settings, to="ada@example.com", subject="Hello", body="Line one\nLine two\n")


async def test_smtp_backend_delivers(
    migrated_url: URL, smtp_server: tuple[Controller, Inbox]
) -> None:
    controller, inbox = smtp_server
    settings = smtp_settings(migrated_url, controller)
    mailer = create_mailer(settings)
    assert isinstance(mailer, SmtpMailer)
    await mailer.send(message(settings))
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert b"Subject: Hello" in envelope.original_content  # type: ignore[operator]


async def test_smtp_backend_logs_in(
    migrated_url: URL, smtp_server: tuple[Controller, Inbox]
) -> None:
    controller, inbox = smtp_server
    settings = smtp_settings(
        migrated_url, controller, smtp_username="mailer", smtp_password="s3cret"
    )
    await create_mailer(settings).send(message(settings))
    assert len(inbox.envelopes) == 1


async def test_smtp_backend_with_wrong_login_raises(
    migrated_url: URL, smtp_server: tuple[Controller, Inbox]
) -> None:
    controller, inbox = smtp_server
    settings = smtp_settings(
        migrated_url,
        controller,
        smtp_username="mailer",
        smtp_password="no",
        smtp_timeout_seconds=2,
    )
    # Refused (535) or left hanging after the refusal: either way an error, and no mail.
    with pytest.raises((smtplib.SMTPException, OSError)):
        await create_mailer(settings).send(message(settings))
    assert inbox.envelopes == []


async def test_file_backend_writes_one_eml_per_message(migrated_url: URL, tmp_path: Path) -> None:
    settings = make_settings(migrated_url, mail_backend="file", mail_file_dir=tmp_path / "out")
    mailer = create_mailer(settings)
    assert isinstance(mailer, FileMailer)
    await mailer.send(message(settings))
    await mailer.send(message(settings))
    written = messages(tmp_path / "out")
    assert len(written) == 2
    assert written[0]["To"] == "ada@example.com"
    assert written[0]["Date"] is not None
    assert list((tmp_path / "out").glob("*.part")) == []


async def test_console_backend_logs_the_message(
    migrated_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(migrated_url, mail_backend="console")
    mailer = create_mailer(settings)
    assert isinstance(mailer, ConsoleMailer)
    with caplog.at_level(logging.INFO, logger="backend.core.mail"):
        await mailer.send(message(settings))
    assert "ada@example.com" in caplog.text
    assert "Line two" in caplog.text


def test_backend_defaults_follow_the_environment(migrated_url: URL) -> None:
    assert make_settings(migrated_url, mail_backend=None).mail_backend == "console"
    production = make_settings(migrated_url, mail_backend=None, environment="production")
    assert production.mail_backend == "smtp"


async def test_console_backend_logs_the_text_decoded_with_a_long_link_whole(
    migrated_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    # A line over 78 characters (a reset link) is quoted-printable in the message itself,
    # broken with "=" and "=3D": copied from the log, it would not work.
    settings = make_settings(migrated_url, mail_backend="console")
    link = "http://localhost:3000/reset-password?token=" + "Ab3_-x" * 8
    body = f"Hello Ada,\n\nOpen this link: {link}\n\nThe job board"
    with caplog.at_level(logging.INFO, logger="backend.core.mail"):
        await create_mailer(settings).send(
            compose(settings, to="ada@example.com", subject="Reset", body=body)
        )
    lines = caplog.text.splitlines()
    assert any(line.endswith(f"Open this link: {link}") for line in lines), caplog.text
    assert "=3D" not in caplog.text
    assert "Subject: Reset" in caplog.text


async def test_list_unsubscribe_leaves_as_written_for_one_click_clients(
    migrated_url: URL, tmp_path: Path, smtp_server: tuple[Controller, Inbox]
) -> None:
    # RFC 2369 and 8058: clients read the address between the angle brackets; an RFC 2047
    # encoded word there is no address at all, so no one-click unsubscribe is offered.
    controller, inbox = smtp_server
    url = "https://api.jobs.example/api/v1/notifications/unsubscribe?token=" + "x" * 400
    composed = compose(
        make_settings(migrated_url),
        to="ada@example.com",
        subject="Hi",
        body="Text\n",
        unsubscribe_url=url,
    )
    await FileMailer(tmp_path).send(composed)
    await SmtpMailer(smtp_settings(migrated_url, controller)).send(composed)
    (written,) = raw(tmp_path)
    received = inbox.envelopes[0].original_content
    assert isinstance(received, bytes)
    assert inbox.envelopes[0].rcpt_tos == ["ada@example.com"]
    for sent in (written, received):
        assert b"=?utf-8?" not in sent
        assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in sent
        assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in sent
