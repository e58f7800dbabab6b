"""Email addresses as accounts: one written form, and no lookalikes of another account.

- `normalize` gives an address one form: NFKC (full-width and compatibility characters
  become their plain forms), the domain in IDNA's ASCII form, lowercased; it refuses a local
  part over 64 characters (RFC 5321) or one that mixes scripts (a Cyrillic `\u0430` among Latin
  letters).
- `skeleton` is the confusable skeleton of Unicode TS #39 (section 4), from the Unicode
  confusables data: two addresses with one skeleton look alike (`paypal` and `paypa1`,
  `admin` and `adrnin`), and only one account may have it.
"""

import contextlib
import unicodedata
from functools import cache
from importlib import resources

import idna
from confusable_homoglyphs import confusables as homoglyphs

LOCAL_PART_MAX_LENGTH = 64


class InvalidEmail(ValueError):
    """An address that cannot name an account; the message says why."""


def normalize(address: str) -> str:
    """The one written form of an address, or InvalidEmail."""
    address = unicodedata.normalize("NFKC", address)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail("an email address has a part before and after @")
    if len(local) > LOCAL_PART_MAX_LENGTH:
        raise InvalidEmail(f"the part before @ has at most {LOCAL_PART_MAX_LENGTH} characters")
    if homoglyphs.is_mixed_script(local):
        raise InvalidEmail("the part before @ mixes scripts (such as Latin and Cyrillic letters)")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise InvalidEmail("the domain is not a valid internationalized domain name") from None
    return f"{local}@{ascii_domain.lower()}"


def normalize_form(address: str) -> str:
    """`normalize` where the address allows it, else the address in NFKC (for lookups)."""
    try:
        return normalize(address)
    except InvalidEmail:
        return unicodedata.normalize("NFKC", address)


def spellings(address: str) -> set[str]:
    """The lowercased forms an account's address may be stored in: the normalized one, and
    with its domain in Unicode (how addresses were kept before they were normalized)."""
    written = normalize_form(address).lower()
    local, _, domain = written.rpartition("@")
    forms = {written, address.lower()}
    with contextlib.suppress(idna.IDNAError, UnicodeError):
        forms.add(f"{local}@{idna.decode(domain)}")
    return forms


@cache
def _prototypes() -> dict[str, str]:
    """confusables.txt: each source character sequence's prototype (TS #39 section 4)."""
    data = resources.files("confusables").joinpath("assets/confusables.txt")
    table: dict[str, str] = {}
    for line in data.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2 or not fields[0].strip():
            continue
        source = "".join(chr(int(point, 16)) for point in fields[0].split())
        target = "".join(chr(int(point, 16)) for point in fields[1].split())
        table[source] = target
    return table


def skeleton(address: str) -> str:
    """skeleton(X) = NFD(prototypes of each character of NFD(X)), of the normalized address
    casefolded, its domain in Unicode form (so that look-alike domains meet too)."""
    local, _, domain = normalize_form(address).rpartition("@")
    with contextlib.suppress(idna.IDNAError):  # a domain that is not IDNA stays as written
        domain = idna.decode(domain)
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", f"{local}@{domain}".casefold())
    mapped = "".join(prototypes.get(char, char) for char in decomposed)
    return unicodedata.normalize("NFD", mapped)
