"""Stored sentence vectors: one row per encoded chunk of a demand or of a provider's own documents.

Owners are referenced polymorphically by (kind, id), like pairings: a demand, a society, a branch or an
expert. Every row keeps the model that made it (name and weights checksum) and the hash of the texts it
was encoded from, so a vector of another model or of an older text is never used, only re-encoded.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, UTCDateTime, utcnow


class OwnerKind(StrEnum):
    """What a vector describes."""

    DEMAND = "demand"
    SOCIETY = "society"
    BRANCH = "branch"
    EXPERT = "expert"


class TextVector(Base):
    """One chunk of an owner's text with its vector (float32 bytes, L2-normalised)."""

    __tablename__ = "text_vectors"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "position", name="uq_text_vectors_owner_position"),
        Index("ix_text_vectors_model_owner", "checksum", "owner_kind", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_kind: Mapped[OwnerKind] = mapped_column(
        Enum(
            OwnerKind,
            name="vector_owner_kind",
            native_enum=False,
            create_constraint=True,
            length=20,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        )
    )
    owner_id: Mapped[int]
    # Chunk number within the owner (document order, then chunk order); 0 for a demand.
    position: Mapped[int]
    # Which own document of the owner the chunk comes from (always 0 for a demand).
    document: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(100))
    checksum: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int]
    # SHA-256 of the texts the owner's chunks were cut from: a changed text makes the vectors stale.
    source_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    encoded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
