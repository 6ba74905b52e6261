"""Tables of programmes (创新争先行动, 金桥工程 …), demand collection campaigns, standing service units
(学会服务站, 院士专家工作站, 会企创新联盟), their activity log and the 附件2/3 report filings.

Rounds and pairings are tagged with a programme through ``programme_tags`` (target kind + id, checked
by the service), and a standing unit names its provider by (provider_level, provider_id) as pairings do.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, UTCDateTime, utcnow
from api.db.models import Demand


class CampaignStatus(StrEnum):
    """A campaign takes submissions while open (and within its dates); staff close it."""

    OPEN = "open"
    CLOSED = "closed"


class TagTarget(StrEnum):
    """What a programme tag is put on."""

    ROUND = "round"
    PAIRING = "pairing"


class UnitKind(StrEnum):
    """The three kinds of standing service unit of seed 002."""

    SOCIETY_STATION = "society_station"
    EXPERT_WORKSTATION = "expert_workstation"
    ALLIANCE = "alliance"


class UnitLevel(StrEnum):
    """Who recognised the unit."""

    NATIONAL = "national"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"


class UnitStatus(StrEnum):
    """Whether a standing unit is working."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class UnitProvider(StrEnum):
    """Who runs a standing unit: a society (学会服务站, 联盟) or an expert (院士专家工作站)."""

    SOCIETY = "society"
    EXPERT = "expert"


class ActivityKind(StrEnum):
    """Kinds of logged activity; the kind decides the default report table."""

    VISIT = "visit"
    TRAINING = "training"
    CONSULTATION = "consultation"
    PROJECT = "project"
    AGREEMENT = "agreement"
    PLATFORM = "platform"
    OTHER = "other"


class ReporterKind(StrEnum):
    """Who files 附件2/3: a society or a county 科协."""

    SOCIETY = "society"
    COUNTY = "county"


class FilingStatus(StrEnum):
    """A report is drafted (存在不足 being entered) and then filed."""

    DRAFT = "draft"
    FILED = "filed"


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


class Programme(Base):
    """A programme the work is done under, so every report can be cut by it."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Campaign(Base):
    """A technology demand collection (技术需求征集) run by one 科协 under a programme."""

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("closes_on >= opens_on", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="RESTRICT"), index=True)
    organiser: Mapped[str] = mapped_column(String(100))
    # Region codes (12 digits) the campaign collects in, and the channels forms arrive through.
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    form: Mapped[str] = mapped_column(String(20), default="附件1")
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus, "campaign_status"), default=CampaignStatus.OPEN
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    programme: Mapped[Programme] = relationship(lazy="joined")
    overrides: Mapped[list["CampaignOverride"]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignOverride.id"
    )


class CampaignOverride(Base):
    """A staff member's permission for one enterprise to submit after the campaign closed (补报)."""

    __tablename__ = "campaign_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    org_name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    valid_until: Mapped[date] = mapped_column(Date)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    staff_name: Mapped[str | None] = mapped_column(String(100))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="overrides")
    demand: Mapped[Demand | None] = relationship()


class ProgrammeTag(Base):
    """A programme put on a matching round or a pairing (referenced by kind and id)."""

    __tablename__ = "programme_tags"
    __table_args__ = (
        UniqueConstraint("programme_id", "target_kind", "target_id", name="uq_programme_tags_target"),
        Index("ix_programme_tags_target", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    target_kind: Mapped[TagTarget] = mapped_column(_enum(TagTarget, "tag_target"))
    target_id: Mapped[int]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReportingUnit(Base):
    """A unit that files 附件2/3 quarterly and annually: a society or a county 科协."""

    __tablename__ = "reporting_units"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'society' AND society_id IS NOT NULL AND region_code IS NULL)"
            " OR (kind = 'county' AND region_code IS NOT NULL AND society_id IS NULL)",
            name="one_identity",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReporterKind] = mapped_column(_enum(ReporterKind, "reporter_kind"))
    society_id: Mapped[int | None] = mapped_column(
        ForeignKey("societies.id", ondelete="CASCADE"), unique=True
    )
    region_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StandingUnit(Base):
    """A 学会服务站 / 院士专家工作站 / 会企创新联盟 serving one enterprise over years."""

    __tablename__ = "standing_units"
    __table_args__ = (
        UniqueConstraint(
            "kind", "provider_level", "provider_id", "enterprise_name", name="uq_standing_units_identity"
        ),
        Index("ix_standing_units_provider", "provider_level", "provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150))
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind, "unit_kind"))
    provider_level: Mapped[UnitProvider] = mapped_column(_enum(UnitProvider, "unit_provider"))
    provider_id: Mapped[int]
    provider_name: Mapped[str] = mapped_column(String(200))
    enterprise_name: Mapped[str] = mapped_column(String(100))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id", ondelete="SET NULL"))
    # The accepted pairing it grew out of, when it was registered from one.
    pairing_id: Mapped[int | None] = mapped_column(ForeignKey("pairings.id", ondelete="SET NULL"), index=True)
    level: Mapped[UnitLevel] = mapped_column(_enum(UnitLevel, "unit_level"))
    region_code: Mapped[str | None] = mapped_column(String(12))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="SET NULL"))
    reporting_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("reporting_units.id", ondelete="SET NULL"), index=True
    )
    established_on: Mapped[date] = mapped_column(Date)
    status: Mapped[UnitStatus] = mapped_column(_enum(UnitStatus, "unit_status"), default=UnitStatus.ACTIVE)
    # Staff chose to keep the enterprise's demands with this provider in later rounds.
    lock_provider: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    programme: Mapped[Programme | None] = relationship(lazy="joined")
    reporting_unit: Mapped[ReportingUnit | None] = relationship(lazy="joined")


class Activity(Base):
    """One logged activity (visit, training, project, agreement …) of a reporting unit."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("report_table IN (2, 3)", name="report_table_known"),
        CheckConstraint(
            "enterprises >= 0 AND participants >= 0 AND experts >= 0", name="counts_non_negative"
        ),
        Index("ix_activities_unit_date", "reporting_unit_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporting_unit_id: Mapped[int] = mapped_column(ForeignKey("reporting_units.id", ondelete="RESTRICT"))
    standing_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("standing_units.id", ondelete="SET NULL"), index=True
    )
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="SET NULL"))
    kind: Mapped[ActivityKind] = mapped_column(_enum(ActivityKind, "activity_kind"))
    report_table: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    outcomes: Mapped[str | None] = mapped_column(Text)
    publicity: Mapped[str | None] = mapped_column(Text)
    occurred_on: Mapped[date] = mapped_column(Date)
    enterprises: Mapped[int] = mapped_column(default=0)
    participants: Mapped[int] = mapped_column(default=0)
    experts: Mapped[int] = mapped_column(default=0)
    amount_wan: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reporting_unit: Mapped[ReportingUnit] = relationship(lazy="joined")
    standing_unit: Mapped[StandingUnit | None] = relationship()


class ReportFiling(Base):
    """One unit's 附件2 or 附件3 for one period: staff's 存在不足 notes and, once filed, the rows sent."""

    __tablename__ = "report_filings"
    __table_args__ = (
        UniqueConstraint("reporting_unit_id", "period", "table_no", name="uq_report_filings_unit_period"),
        CheckConstraint("table_no IN (2, 3)", name="table_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporting_unit_id: Mapped[int] = mapped_column(ForeignKey("reporting_units.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    table_no: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[FilingStatus] = mapped_column(
        _enum(FilingStatus, "filing_status"), default=FilingStatus.DRAFT
    )
    # 存在不足 by activity id (as text); the key "" holds the unit's general remark.
    shortcomings: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    rows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    reporting_unit: Mapped[ReportingUnit] = relationship(lazy="joined")
