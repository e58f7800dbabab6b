"""`python -m backend.core.envfile TEMPLATE TARGET`: a .env from the template, with a new
SECRET_KEY, and DATABASE_URL from the environment when one is set. Standard library only:
`make` runs it before the virtualenv exists."""

import os
import re
import secrets
import sys
from pathlib import Path


def main(template: str, target: str) -> None:
    text = Path(template).read_text()
    values = {"SECRET_KEY": secrets.token_urlsafe(48)}
    if os.environ.get("DATABASE_URL"):
        values["DATABASE_URL"] = os.environ["DATABASE_URL"]
    for name, value in values.items():
        # A function as the replacement: the value is taken as it is (no backslash escapes).
        text = re.sub(rf"(?m)^{name}=.*$", lambda _: f"{name}={value}", text)  # noqa: B023
    Path(target).write_text(text)


if __name__ == "__main__":
    main(*sys.argv[1:3])
