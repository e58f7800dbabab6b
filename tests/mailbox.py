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


def reset_token(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = RESET_LINK.search(body.get_content())
    assert match is not None, body.get_content()
    return match["token"]
