"""Reading what the file mail backend wrote."""

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

RESET_LINK = re.compile(r"(?P<base>\S+)/reset-password\?token=(?P<token>[A-Za-z0-9_-]+)")


def messages(directory: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def raw(directory: Path) -> list[bytes]:
    """Every message the file backend wrote, as the bytes it wrote."""
    return [path.read_bytes() for path in sorted(directory.glob("*.eml"))]


def reset_token(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = RESET_LINK.search(body.get_content())
    assert match is not None, body.get_content()
    return match["token"]


async def reset_token_from(directory: Path, to: str, *, seconds: float = 5.0) -> str:
    """The token of the newest reset mail to `to`, waiting for it to be written."""
    import asyncio

    for _ in range(int(seconds / 0.05)):
        sent = [message for message in messages(directory) if message["To"] == to]
        if sent:
            return reset_token(sent[-1])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no reset mail to {to}")


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    content: str = body.get_content()
    return content


def html_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert isinstance(body, EmailMessage)
    content: str = body.get_content()
    return content


def link_token(message: EmailMessage, path: str) -> str:
    """The token of the link to `path` (e.g. `/verify-email`) in a message's text."""
    match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_.\-]+)", text_of(message))
    assert match is not None, text_of(message)
    return match[1]


def to(directory: Path, address: str) -> list[EmailMessage]:
    return [message for message in messages(directory) if message["To"] == address]
