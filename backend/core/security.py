"""Password hashing and token minting and verification; the only module that imports jose."""

import asyncio
import contextlib
import functools
import hashlib
import math
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from jose import jwt
from jose.exceptions import JOSEError
from passlib.context import CryptContext

from backend.core.config import Settings
from backend.core.exceptions import HashQueueFull
from backend.core.ids import MAX_ID

T = TypeVar("T")

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256

# Larger than any token we mint (about 400 bytes); refused before any parsing.
MAX_TOKEN_LENGTH = 4096
ACCESS_TOKEN_TYPE = "access"  # noqa: S105
ALLOWED_HEADER_KEYS = frozenset({"alg", "typ"})
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud", "jti", "sid", "type")

# python-jose requires none of these unless told to.
_JOSE_OPTIONS = {
    "require_exp": True,
    "require_iat": True,
    "require_sub": True,
    "require_iss": True,
    "require_aud": True,
    "require_jti": True,
    "verify_at_hash": False,
    "leeway": 0,
}

# Hashes compared by the sign-in path when the password cannot be a real one.
_UNUSABLE_PASSWORD = "not a password a user could have registered"  # noqa: S105


class InvalidToken(Exception):
    """A token that is malformed, forged, expired or not meant for us."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID
    token_id: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str
    expires_in: int


# How much lower hashing threads run than the event loop thread: under a sign-in storm the
# loop still gets the CPU at once, so other requests are not held up behind bcrypt.
HASH_THREAD_NICE = 10


def _background_priority() -> None:
    # Linux applies nice per thread. Elsewhere, or where refused, hashing runs as it is.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICE)


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (a
    container's `--cpus`, a Kubernetes limit), rounded up; at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to honour
    return max(1, cpus)


class PasswordHasher:
    """bcrypt_sha256 for new hashes, plain bcrypt still verified; all work off the event loop.

    Hashing runs on its own threads, as many as the CPUs the process may use (more cannot
    go faster; see `available_cpus`),
    at a lower CPU priority than the event loop. At most `queue_limit` hashes wait or run
    at once (by default 8 per thread); beyond that a request is refused at once with a
    503 rather than queued for seconds.
    """

    def __init__(
        self, rounds: int, *, threads: int | None = None, queue_limit: int | None = None
    ) -> None:
        threads = threads or available_cpus()
        self.queue_limit = queue_limit or 8 * threads
        self._pending = 0
        self._context = CryptContext(
            schemes=["bcrypt_sha256", "bcrypt"],
            deprecated=["bcrypt"],
            bcrypt_sha256__rounds=rounds,
            bcrypt_sha256__min_rounds=rounds,
        )
        self._executor = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="password-hash",
            initializer=_background_priority,
        )
        # Verified against when there is no user, so that an unknown email costs a hash too.
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(16))

    def check_room(self) -> None:
        """Raise HashQueueFull unless a hash could start waiting now."""
        if self._pending >= self.queue_limit:
            raise HashQueueFull()

    @property
    def pending(self) -> int:
        """Hashes waiting or running now."""
        return self._pending

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        self.check_room()
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)
        finally:
            self._pending -= 1

    def close(self) -> None:
        """Let the hashing threads finish and stop."""
        self._executor.shutdown(wait=True)

    async def hash(self, password: str) -> str:
        """Hash a password that passed the length and encoding checks."""
        return await self._run(self._context.hash, password)

    async def verify(self, password: str, stored_hash: str | None) -> tuple[bool, str | None]:
        """Check a password; returns (matches, replacement hash when the stored one is outdated).

        With no stored hash (unknown user) or an impossible password the same hashing work is
        done and the answer is False, so time does not tell these cases apart.
        """
        return await self._run(self._verify_sync, password, stored_hash)

    def _verify_sync(self, password: str, stored_hash: str | None) -> tuple[bool, str | None]:
        if stored_hash is None or not is_acceptable_password(password):
            self._context.verify(_UNUSABLE_PASSWORD, self._dummy_hash)
            return False, None
        try:
            matches, new_hash = self._context.verify_and_update(password, stored_hash)
        except ValueError:
            # A stored hash this context cannot read: never a 500, never a match.
            self._context.verify(_UNUSABLE_PASSWORD, self._dummy_hash)
            return False, None
        return bool(matches), new_hash


def is_acceptable_password(password: str) -> bool:
    """True when a password may be hashed: 8 to 256 characters and valid UTF-8."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        return False
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in password


def create_access_token(
    settings: Settings, *, user_id: int, session_id: uuid.UUID, now: int | None = None
) -> MintedToken:
    """Mint a signed access token for a user's sign-in session."""
    issued_at = int(time.time()) if now is None else now
    expires_in = settings.access_token_expire_minutes * 60
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "sid": str(session_id),
        "type": ACCESS_TOKEN_TYPE,
        "jti": uuid.uuid4().hex,
        "iat": issued_at,
        "exp": issued_at + expires_in,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=settings.algorithm)
    return MintedToken(token=token, expires_in=expires_in)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify an access token strictly and return its claims, or raise InvalidToken.

    A client sends one token on every request for its lifetime: its verified claims are
    kept (per signing key, audience and issuer), so the signature and claims are checked
    once per token and only its expiry on each later use. Only valid tokens are kept.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("malformed token")
    claims = _verified_claims(
        token,
        settings.secret_key.get_secret_value(),
        settings.algorithm,
        settings.jwt_audience,
        settings.jwt_issuer,
    )
    # As jose checks `exp` (no leeway): valid through the second it names.
    if claims.expires_at < int(time.time()):
        raise InvalidToken("Signature has expired.")
    return claims


# Bounded: a token is about 400 bytes, so the cache stays under a few megabytes.
VERIFIED_TOKENS_KEPT = 4096


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_claims(
    token: str, secret: str, algorithm: str, audience: str, issuer: str
) -> AccessClaims:
    try:
        _check_header(jwt.get_unverified_header(token), algorithm)
        claims = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            options=_JOSE_OPTIONS,
        )
        return _check_claims(claims)
    except InvalidToken:
        raise
    except (JOSEError, TypeError, ValueError, LookupError, AttributeError, ArithmeticError) as exc:
        # ArithmeticError: `"exp": Infinity` is valid JSON that overflows int().
        raise InvalidToken(str(exc) or type(exc).__name__) from None


def _check_header(header: Any, algorithm: str) -> None:
    if not isinstance(header, dict) or not set(header) <= ALLOWED_HEADER_KEYS:
        raise InvalidToken("unexpected token header")
    if header.get("alg") != algorithm or header.get("typ", "JWT") != "JWT":
        raise InvalidToken("unexpected token algorithm")


def _check_claims(claims: dict[str, Any]) -> AccessClaims:
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in claims]
    if missing:
        raise InvalidToken(f"missing claims: {', '.join(missing)}")
    if claims["type"] != ACCESS_TOKEN_TYPE:
        raise InvalidToken("not an access token")
    issued_at, expires_at = claims["iat"], claims["exp"]
    if not all(type(value) is int for value in (issued_at, expires_at)):
        raise InvalidToken("iat and exp must be integers")
    if issued_at > time.time():
        raise InvalidToken("token issued in the future")
    subject, token_id = claims["sub"], claims["jti"]
    if (
        not isinstance(subject, str)
        or not (subject.isascii() and subject.isdigit())
        or len(subject) > 19
        or int(subject) > MAX_ID
    ):
        raise InvalidToken("sub must be a user id string")
    if not isinstance(token_id, str) or not token_id:
        raise InvalidToken("jti must be a string")
    if not isinstance(claims["sid"], str):
        raise InvalidToken("sid must be a string")
    return AccessClaims(
        user_id=int(subject),
        session_id=uuid.UUID(claims["sid"]),  # ValueError becomes InvalidToken
        token_id=token_id,
        issued_at=issued_at,
        expires_at=expires_at,
    )


# Tokens in links sent by mail, each for one purpose: confirming an address, turning one
# kind of notification off, verifying a company, answering whether a job is still open.
# Signed like access tokens, with their own type and audience, and bound to the account's
# security generation when they were asked for (`gen`): a link works only while the
# account's generation is still that one.
VERIFY_EMAIL_PURPOSE = "verify-email"
UNSUBSCRIBE_PURPOSE = "unsubscribe"
VERIFY_COMPANY_PURPOSE = "verify-company"
OPEN_CHECK_PURPOSE = "open-check"
COMPANY_INVITATION_PURPOSE = "company-invitation"
LINK_CLAIMS = ("exp", "iat", "sub", "iss", "aud", "jti", "type", "for", "gen")


@dataclass(frozen=True, slots=True)
class LinkClaims:
    user_id: int
    # What the link is for: the address to confirm, or the kind of notification.
    subject: str
    # The account's security generation the link was made under.
    generation: int
    issued_at: int


def create_link_token(
    settings: Settings,
    *,
    purpose: str,
    user_id: int,
    subject: str,
    generation: int,
    expires_in: int,
    now: int | None = None,
) -> str:
    """A signed token for a link in a mail: `purpose` says what it may be used for, and
    `generation` under which of the account's security generations it works."""
    issued_at = int(time.time()) if now is None else now
    claims = {
        "iss": settings.jwt_issuer,
        "aud": f"{settings.jwt_audience}/{purpose}",
        "sub": str(user_id),
        "type": purpose,
        "for": subject,
        "gen": generation,
        "jti": uuid.uuid4().hex,
        "iat": issued_at,
        "exp": issued_at + expires_in,
    }
    return str(
        jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=settings.algorithm)
    )


def decode_link_token(settings: Settings, token: str, *, purpose: str) -> LinkClaims:
    """Verify a link token made for `purpose`, or raise InvalidToken."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("malformed token")
    try:
        _check_header(jwt.get_unverified_header(token), settings.algorithm)
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.algorithm],
            audience=f"{settings.jwt_audience}/{purpose}",
            issuer=settings.jwt_issuer,
            options=_JOSE_OPTIONS,
        )
    except InvalidToken:
        raise
    except (JOSEError, TypeError, ValueError, LookupError, AttributeError, ArithmeticError) as exc:
        raise InvalidToken(str(exc) or type(exc).__name__) from None
    missing = [claim for claim in LINK_CLAIMS if claim not in claims]
    if missing or claims["type"] != purpose:
        raise InvalidToken("not a token for this link")
    subject, user, issued_at = claims["for"], claims["sub"], claims["iat"]
    generation = claims["gen"]
    if (
        not isinstance(subject, str)
        or not isinstance(user, str)
        or not (user.isascii() and user.isdigit())
        or len(user) > 19
        or int(user) > MAX_ID
        or type(issued_at) is not int
        or type(generation) is not int
    ):
        raise InvalidToken("malformed claims")
    return LinkClaims(
        user_id=int(user), subject=subject, generation=generation, issued_at=issued_at
    )


def new_opaque_token() -> str:
    """A URL-safe random token of 256 bits, for refresh and reset tokens."""
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> bytes:
    """The digest under which an opaque token is stored; the token itself never is."""
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).digest()
