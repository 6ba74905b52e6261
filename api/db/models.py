"""Typed models of the service's tables."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, UTCDateTime, utcnow


class DemandStatus(StrEnum):
    """Where a demand stands in its review."""

    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    RETURNED = "returned"
    CLOSED = "closed"


class StaffRole(StrEnum):
    """What a staff member may do: admins manage, reviewers review."""

    ADMIN = "admin"
    REVIEWER = "reviewer"


class StaffStatus(StrEnum):
    """Whether an account may sign in and use its tokens."""

    ACTIVE = "active"
    DISABLED = "disabled"


def _enum_column(enum: type[StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable, and readable in SQL.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class StaffUser(Base):
    """A member of the association's staff."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[StaffRole] = mapped_column(_enum_column(StaffRole, "staff_role"))
    # A disabled account keeps its history (events name it) but neither signs in nor uses tokens.
    status: Mapped[StaffStatus] = mapped_column(
        _enum_column(StaffStatus, "staff_status"), default=StaffStatus.ACTIVE, server_default="active"
    )
    # argon2id hash for signing in to the staff pages; None: the account has no password yet.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tokens: Mapped[list["StaffToken"]] = relationship(back_populates="staff", cascade="all, delete-orphan")


class StaffToken(Base):
    """A bearer token of a staff member; only the SHA-256 of the token is kept."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff: Mapped[StaffUser] = relationship(back_populates="tokens")


class Demand(Base):
    """An enterprise's technology demand: the fields of the 附件1 form plus structured codes."""

    __tablename__ = "demands"
    __table_args__ = (
        Index("ix_demands_status_created_at", "status", "created_at"),
        Index("ix_demands_region_code", "region_code"),
        Index("ix_demands_industry_code", "industry_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[DemandStatus] = mapped_column(
        _enum_column(DemandStatus, "demand_status"), default=DemandStatus.SUBMITTED
    )
    org_name: Mapped[str] = mapped_column(String(100))
    main_business: Mapped[str | None] = mapped_column(String(500))
    contact_name: Mapped[str] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(11))
    office_phone: Mapped[str | None] = mapped_column(String(30))
    fax: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(6))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    company_profile: Mapped[str | None] = mapped_column(Text)
    industry_code: Mapped[str | None] = mapped_column(String(5))
    discipline_code: Mapped[str | None] = mapped_column(String(7))
    region_code: Mapped[str | None] = mapped_column(String(12))
    # True when region_code was inferred from the address rather than given by the enterprise.
    region_suggested: Mapped[bool] = mapped_column(default=False)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    cooperation_mode: Mapped[str | None] = mapped_column(String(10))
    budget_wan: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    deadline: Mapped[date | None] = mapped_column(Date)
    # Tokenized text (field -> terms), filled once at intake by the features package so rounds never
    # re-tokenize.
    tokens: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    # The collection campaign it was submitted to and the society that forwarded it (api.programmes).
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    collected_by_society_id: Mapped[int | None] = mapped_column(
        ForeignKey("societies.id", ondelete="SET NULL")
    )
    receipt_salt: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the normalised org name, title and description, set by bulk import (api.imports).
    dedup_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    events: Mapped[list["DemandEvent"]] = relationship(
        back_populates="demand", cascade="all, delete-orphan", order_by="DemandEvent.id"
    )


class DemandEvent(Base):
    """One entry of a demand's history: its submission, an edit or a status change."""

    __tablename__ = "demand_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[DemandStatus | None] = mapped_column(_enum_column(DemandStatus, "event_from_status"))
    to_status: Mapped[DemandStatus | None] = mapped_column(_enum_column(DemandStatus, "event_to_status"))
    reason: Mapped[str | None] = mapped_column(String(500))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    demand: Mapped[Demand] = relationship(back_populates="events")
    staff: Mapped[StaffUser | None] = relationship(lazy="joined")

    @property
    def staff_name(self) -> str | None:
        """Who made the change; None for the enterprise's own submission."""
        return self.staff.name if self.staff else None
