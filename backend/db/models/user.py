import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Identity, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TimestampMixin

EMAIL_MAX_LENGTH = 320
FULL_NAME_MAX_LENGTH = 200


class Role(enum.StrEnum):
    candidate = "candidate"
    employer = "employer"
    # Decides on the jobs held for review (admins may too); given by an admin, never chosen
    # at registration.
    moderator = "moderator"
    admin = "admin"


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are unique and looked up case-insensitively.
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        # No two accounts whose addresses look alike (Unicode TS #39 skeletons).
        Index("uq_users_email_skeleton", "email_skeleton", unique=True),
        # The admin filter: case-insensitive substring search.
        Index(
            "ix_users_email_trgm",
            func.lower(text("email")).label("email_lower"),
            postgresql_using="gin",
            postgresql_ops={"email_lower": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    # backend.core.emails.skeleton(email); NULL only for accounts older than it whose
    # address looked like an older account's.
    email_skeleton: Mapped[str | None] = mapped_column(String(4 * EMAIL_MAX_LENGTH))
    hashed_password: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", values_callable=lambda roles: [r.value for r in roles])
    )
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    # When the address was last confirmed through a mailed link (admins' and seeded accounts
    # are confirmed when created); NULL until then.
    email_verified_at: Mapped[datetime | None]
    # Which notification mails the user gets (each turned off from a mail's link, too).
    notify_new_applicants: Mapped[bool] = mapped_column(server_default=text("true"))
    notify_application_status: Mapped[bool] = mapped_column(server_default=text("true"))
    notify_job_alerts: Mapped[bool] = mapped_column(server_default=text("true"))
    notify_job_expiry: Mapped[bool] = mapped_column(server_default=text("true"))
    # Counts the account's security events (password changed or reset, address changed,
    # signed out everywhere, deactivated). A mailed link carries the value it was asked
    # for under and works only while it is still the account's.
    security_generation: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default=text("0")
    )
