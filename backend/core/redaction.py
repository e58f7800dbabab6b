"""What a blind first pass takes out of a résumé's text: the lines that carry a way to
reach or find the person (an address, a telephone number, a web address) and every word
of their name."""

import re

_CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+"  # a mail address
    r"|https?://|www\.|linkedin|github\.com"  # a web address or profile
    r"|\+?\d[\d ().-]{7,}\d",  # a telephone number (eight digits or more)
    re.IGNORECASE,
)
HIDDEN = "[hidden during the blind first pass]"


def redact(text: str, name: str) -> str:
    """`text` without its contact lines, each word of `name` (two letters or more)
    replaced, whatever its case."""
    kept = [line for line in text.splitlines() if not _CONTACT.search(line)]
    words = sorted(set(re.findall(r"\w{2,}", name)), key=len, reverse=True)
    redacted = "\n".join(kept)
    if words:
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
        redacted = pattern.sub("[name]", redacted)
    return f"{HIDDEN}\n\n{redacted}\n"
