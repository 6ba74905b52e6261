"""Settings staff change at run time, and the audit of learning from staff decisions."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, UTCDateTime, utcnow


class ServiceSetting(Base):
    """One setting staff switch on the pages (key -> JSON value), with who changed it last and when."""

    __tablename__ = "service_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # By id and name without a foreign key, as in the audit log: the record outlives the account.
    staff_id: Mapped[int | None]
    staff_name: Mapped[str] = mapped_column(String(100), default="")


class LearningEvent(Base):
    """One change of what the ranking learns: a decision that starts, stops or flips counting for a
    provider, or the switch turned on or off.

    ``before`` and ``after`` are the decision's weight in the ranking (+1 accepted, 对接 or 签约;
    minus the rejection share when rejected; 0 not counting). Pairings, demands and staff are kept by
    id without foreign keys: the audit outlives them.
    """

    __tablename__ = "learning_events"
    __table_args__ = (
        Index("ix_learning_events_created_at", "created_at"),
        Index("ix_learning_events_provider", "provider_level", "provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "decision" or "switch".
    kind: Mapped[str] = mapped_column(String(20))
    # Whether learning was on once the change was made.
    enabled: Mapped[bool]
    pairing_id: Mapped[int | None]
    demand_id: Mapped[int | None]
    provider_level: Mapped[str | None] = mapped_column(String(20))
    provider_id: Mapped[int | None]
    provider_name: Mapped[str] = mapped_column(String(200), default="")
    # The pairing action (accept, reject, contact, agreement, close, forbid) and the status it led to.
    action: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(20))
    before: Mapped[float] = mapped_column(default=0.0)
    after: Mapped[float] = mapped_column(default=0.0)
    staff_id: Mapped[int | None]
    staff_name: Mapped[str] = mapped_column(String(100), default="")
