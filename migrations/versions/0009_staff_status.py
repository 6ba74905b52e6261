"""Staff account status: active or disabled

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 17:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "active",
                    "disabled",
                    name="staff_status",
                    native_enum=False,
                    create_constraint=True,
                    length=20,
                ),
                server_default="active",
                nullable=False,
            )
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("staff_users") as batch:
        # The CHECK first: SQLite's batch copy would otherwise keep a CHECK on the dropped column.
        batch.drop_constraint(op.f("ck_staff_users_staff_status"), type_="check")
        batch.drop_column("status")
