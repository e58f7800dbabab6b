import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Identity, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TimestampMixin

COMPANY_NAME_MAX_LENGTH = 200
WEBSITE_MAX_LENGTH = 2048
COMPANY_DESCRIPTION_MAX_LENGTH = 10_000
DOMAIN_MAX_LENGTH = 253


class ReviewPolicy(enum.StrEnum):
    """Whether a company's jobs are held for review (set by moderators)."""

    # As its poster's record says (backend.services.moderation.needs_review).
    default = "default"
    always = "always"
    trusted = "trusted"


class Company(TimestampMixin, Base):
    __tablename__ = "companies"
    __table_args__ = (Index("ix_companies_owner_id", "owner_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(COMPANY_NAME_MAX_LENGTH))
    website: Mapped[str | None] = mapped_column(String(WEBSITE_MAX_LENGTH))
    # As written (Markdown), and rendered with the digest of what it was rendered from
    # (None where written without it, or cleared as stale by a trigger; readers render).
    description: Mapped[str | None] = mapped_column(Text)
    description_html: Mapped[str | None] = mapped_column(Text)
    rendered_from: Mapped[bytes | None] = mapped_column(
        LargeBinary, deferred=True, deferred_raiseload=True
    )
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="RESTRICT"))
    review_policy: Mapped[ReviewPolicy] = mapped_column(
        Enum(ReviewPolicy, name="review_policy", values_callable=lambda ks: [k.value for k in ks]),
        server_default=ReviewPolicy.default.value,
    )
    # Verified: someone of the company opened a link mailed to a mailbox at the registrable
    # domain of its website (backend.services.company_verification); cleared when the
    # website moves to another domain.
    verified_domain: Mapped[str | None] = mapped_column(String(DOMAIN_MAX_LENGTH))
    verified_at: Mapped[datetime | None]

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class CompanyResponsiveness(Base):
    """How a company answers applications, computed daily by the worker
    (`backend.services.responsiveness`): kept only for companies with enough applications
    to mean something."""

    __tablename__ = "company_responsiveness"

    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    # Applications judged (made 30 to 365 days ago), and those answered within 30 days.
    applications: Mapped[int]
    answered: Mapped[int]
    # The median time to a first answer among those answered (None: none was).
    median_seconds: Mapped[float | None]
    computed_at: Mapped[datetime]
