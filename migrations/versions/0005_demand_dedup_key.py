"""Demands: a deduplication key filled by bulk import

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("demands") as batch:
        batch.add_column(sa.Column("dedup_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f("uq_demands_dedup_key"), ["dedup_key"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("demands") as batch:
        batch.drop_constraint(batch.f("uq_demands_dedup_key"), type_="unique")
        batch.drop_column("dedup_key")
