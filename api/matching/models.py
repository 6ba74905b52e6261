"""Tables of matching: rounds, the jobs that run them, pairings, their history and pair constraints."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, UTCDateTime, utcnow
from api.providers.models import ProviderLevel


class RoundStatus(StrEnum):
    """Where a matching round stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RoundStage(StrEnum):
    """The pipeline stage a running round is in."""

    TOKENIZE = "tokenize"
    VECTORIZE = "vectorize"
    CANDIDATES = "candidates"
    SOLVE = "solve"
    SAVE = "save"


class JobStatus(StrEnum):
    """Where a queued piece of work stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PairingStatus(StrEnum):
    """The lifecycle of a pairing: proposed -> accepted/rejected -> contacted -> agreement -> closed."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CONTACTED = "contacted"
    AGREEMENT = "agreement"
    CLOSED = "closed"


class AgreementType(StrEnum):
    """Kinds of technology contract (技术合同)."""

    DEVELOPMENT = "技术开发"
    TRANSFER = "技术转让"
    LICENSE = "技术许可"
    CONSULTING = "技术咨询"
    SERVICE = "技术服务"


class ConstraintKind(StrEnum):
    """What a staff pair constraint does to every later round (enterprise refusals and preferences live
    in ``demand_preferences``)."""

    LOCK = "lock"
    FORBID = "forbid"


def _enum(enum: type[StrEnum], name: str) -> Enum:
    # Plain strings with a CHECK constraint, as for the core tables.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class MatchRound(Base):
    """One matching round: its scope, progress and outcome."""

    __tablename__ = "match_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[RoundStatus] = mapped_column(
        _enum(RoundStatus, "round_status"), default=RoundStatus.QUEUED
    )
    stage: Mapped[RoundStage | None] = mapped_column(_enum(RoundStage, "round_stage"))
    percent: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # Coverage diagnosis of unserved demands and the cheapest capacity relaxations, set on success.
    diagnosis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Job(Base):
    """A unit of background work claimed by one worker through the database."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), default="round")
    round_id: Mapped[int] = mapped_column(ForeignKey("match_rounds.id", ondelete="CASCADE"), index=True)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=2)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Pairing(Base):
    """A proposed (and later tracked) pairing of a demand with a provider, found by one round."""

    __tablename__ = "pairings"
    __table_args__ = (
        UniqueConstraint("round_id", "demand_id", "provider_level", "provider_id"),
        Index("ix_pairings_demand_id_status", "demand_id", "status"),
        Index("ix_pairings_provider", "provider_level", "provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("match_rounds.id", ondelete="CASCADE"))
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"))
    provider_level: Mapped[ProviderLevel] = mapped_column(_enum(ProviderLevel, "pairing_provider_level"))
    provider_id: Mapped[int]
    provider_name: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[float]
    rank: Mapped[int]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[PairingStatus] = mapped_column(
        _enum(PairingStatus, "pairing_status"), default=PairingStatus.PROPOSED
    )
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    contact_date: Mapped[date | None] = mapped_column(Date)
    contact_notes: Mapped[str | None] = mapped_column(Text)
    agreement_type: Mapped[AgreementType | None] = mapped_column(_enum(AgreementType, "agreement_type"))
    agreement_amount_wan: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    events: Mapped[list["PairingEvent"]] = relationship(
        back_populates="pairing", cascade="all, delete-orphan", order_by="PairingEvent.id"
    )

    # Every UPDATE checks and bumps the version: a stale writer gets StaleDataError (HTTP 409).
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy reads it once)


class PairingEvent(Base):
    """One change of a pairing: who, when, from which status to which, with what data."""

    __tablename__ = "pairing_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[PairingStatus | None] = mapped_column(_enum(PairingStatus, "pairing_event_from"))
    to_status: Mapped[PairingStatus | None] = mapped_column(_enum(PairingStatus, "pairing_event_to"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    staff_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    pairing: Mapped[Pairing] = relationship(back_populates="events")


class PairConstraint(Base):
    """A staff lock or forbid on one (demand, provider) pair that every later round honours."""

    __tablename__ = "pair_constraints"
    __table_args__ = (
        UniqueConstraint("demand_id", "provider_level", "provider_id"),
        Index("ix_pair_constraints_demand_id", "demand_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"))
    provider_level: Mapped[ProviderLevel] = mapped_column(_enum(ProviderLevel, "constraint_provider_level"))
    provider_id: Mapped[int]
    kind: Mapped[ConstraintKind] = mapped_column(_enum(ConstraintKind, "constraint_kind"))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
