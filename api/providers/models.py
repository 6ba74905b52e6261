"""Tables of the providers demands are matched to: societies, their branches, experts, and the
societies, branches or experts an enterprise prefers or refuses for its demand."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.base import Base, UTCDateTime, utcnow


class SocietyLevel(StrEnum):
    """Which association a society belongs to."""

    NATIONAL = "national"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"


class CastGroup(StrEnum):
    """CAST's five groups of societies."""

    SCIENCE = "理"
    ENGINEERING = "工"
    AGRICULTURE = "农"
    MEDICINE = "医"
    INTERDISCIPLINARY = "交叉"


class PostRole(StrEnum):
    """An expert's post in a society or branch."""

    PRESIDENT = "理事长"
    VICE_PRESIDENT = "副理事长"
    SECRETARY_GENERAL = "秘书长"
    STANDING_DIRECTOR = "常务理事"
    DIRECTOR = "理事"
    CHAIR = "主任委员"
    VICE_CHAIR = "副主任委员"
    COMMITTEE_MEMBER = "委员"
    MEMBER = "会员"


class ProviderLevel(StrEnum):
    """What a demand can be matched to."""

    SOCIETY = "society"
    BRANCH = "branch"
    EXPERT = "expert"


class PreferenceKind(StrEnum):
    """An enterprise wants a provider (a bonus) or refuses it (a forbidden pair)."""

    PREFER = "prefer"
    REFUSE = "refuse"


def _enum_column(enum: type[StrEnum], name: str) -> Enum:
    # Plain strings with a CHECK constraint, as in api.db.models: portable and readable in SQL.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Society(Base):
    """A 学会/协会/研究会 with its remit (业务范围) and classification codes."""

    __tablename__ = "societies"
    __table_args__ = (
        CheckConstraint("default_capacity >= 0", name="default_capacity_non_negative"),
        Index("ix_societies_level_active", "level", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    level: Mapped[SocietyLevel] = mapped_column(_enum_column(SocietyLevel, "society_level"))
    cast_group: Mapped[CastGroup | None] = mapped_column(_enum_column(CastGroup, "cast_group"))
    region_code: Mapped[str | None] = mapped_column(String(12))
    scope: Mapped[str | None] = mapped_column(Text)
    # GB/T 13745-2009, NSFC and GB/T 4754-2017 codes; validated against the shipped tables on write.
    discipline_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    nsfc_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    industry_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    default_capacity: Mapped[int] = mapped_column(default=5)
    active: Mapped[bool] = mapped_column(default=True)
    # Terms of the society's own profile documents, one list per document, filled on every write.
    tokens: Mapped[list[list[str]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    branches: Mapped[list["Branch"]] = relationship(
        back_populates="society", cascade="all, delete-orphan", passive_deletes=True, order_by="Branch.id"
    )
    posts: Mapped[list["ExpertPost"]] = relationship(
        back_populates="society", cascade="all, delete-orphan", passive_deletes=True
    )


class Branch(Base):
    """A 分会 or 专业委员会 of a society."""

    __tablename__ = "branches"
    __table_args__ = (
        CheckConstraint("default_capacity >= 0", name="default_capacity_non_negative"),
        UniqueConstraint("society_id", "name", name="uq_branches_society_id_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("societies.id", ondelete="CASCADE"), index=True)
    code: Mapped[str | None] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    discipline_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    nsfc_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_capacity: Mapped[int] = mapped_column(default=3)
    active: Mapped[bool] = mapped_column(default=True)
    tokens: Mapped[list[list[str]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    society: Mapped[Society] = relationship(back_populates="branches")
    posts: Mapped[list["ExpertPost"]] = relationship(back_populates="branch", passive_deletes=True)


class Expert(Base):
    """An expert (院士专家, 科技服务团 member) who can take on demands."""

    __tablename__ = "experts"
    __table_args__ = (CheckConstraint("capacity >= 0", name="capacity_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    organisation: Mapped[str | None] = mapped_column(String(100))
    professional_title: Mapped[str | None] = mapped_column(String(50))
    research_fields: Mapped[str] = mapped_column(Text)
    discipline_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    nsfc_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(11))
    capacity: Mapped[int] = mapped_column(default=2)
    # False while the expert takes no new demands (travel, leave, a full load elsewhere).
    available: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    tokens: Mapped[list[list[str]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    posts: Mapped[list["ExpertPost"]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", passive_deletes=True, order_by="ExpertPost.id"
    )


class ExpertPost(Base):
    """An expert's post in a society, optionally in one of its branches."""

    __tablename__ = "expert_posts"
    __table_args__ = (
        UniqueConstraint(
            "expert_id", "society_id", "branch_id", name="uq_expert_posts_expert_society_branch"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("societies.id", ondelete="CASCADE"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"), index=True)
    role: Mapped[PostRole] = mapped_column(_enum_column(PostRole, "post_role"))

    expert: Mapped[Expert] = relationship(back_populates="posts")
    society: Mapped[Society] = relationship(back_populates="posts")
    branch: Mapped[Branch | None] = relationship(back_populates="posts")


class DemandPreference(Base):
    """A provider an enterprise wants (bonus) or refuses (forbidden pair) for one of its demands.

    Providers are referenced polymorphically by (level, id), like pairings; the service checks that
    the provider exists and removes the preferences of a provider it deletes.
    """

    __tablename__ = "demand_preferences"
    __table_args__ = (
        UniqueConstraint(
            "demand_id", "provider_level", "provider_id", name="uq_demand_preferences_demand_provider"
        ),
        Index("ix_demand_preferences_provider", "provider_level", "provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id", ondelete="CASCADE"), index=True)
    provider_level: Mapped[ProviderLevel] = mapped_column(_enum_column(ProviderLevel, "provider_level"))
    provider_id: Mapped[int]
    kind: Mapped[PreferenceKind] = mapped_column(_enum_column(PreferenceKind, "preference_kind"))
    reason: Mapped[str | None] = mapped_column(String(200))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
