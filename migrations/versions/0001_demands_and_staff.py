"""Demands, their history, staff and tokens

Revision ID: 0001
Revises:
Create Date: 2026-11-23 22:40:03.888101
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "demands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "in_review",
                "published",
                "returned",
                "closed",
                name="demand_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("org_name", sa.String(length=100), nullable=False),
        sa.Column("main_business", sa.String(length=500), nullable=True),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("mobile", sa.String(length=11), nullable=True),
        sa.Column("office_phone", sa.String(length=30), nullable=True),
        sa.Column("fax", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("website", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=6), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("company_profile", sa.Text(), nullable=True),
        sa.Column("industry_code", sa.String(length=5), nullable=True),
        sa.Column("discipline_code", sa.String(length=7), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("region_suggested", sa.Boolean(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("cooperation_mode", sa.String(length=10), nullable=True),
        sa.Column("budget_wan", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("tokens", sa.JSON(), nullable=True),
        sa.Column("receipt_salt", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demands")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_demands_idempotency_key")),
    )
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.create_index("ix_demands_industry_code", ["industry_code"], unique=False)
        batch_op.create_index("ix_demands_region_code", ["region_code"], unique=False)
        batch_op.create_index("ix_demands_status_created_at", ["status", "created_at"], unique=False)

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin", "reviewer", name="staff_role", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("name", name=op.f("uq_staff_users_name")),
    )
    op.create_table(
        "demand_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "submitted",
                "in_review",
                "published",
                "returned",
                "closed",
                name="event_from_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "submitted",
                "in_review",
                "published",
                "returned",
                "closed",
                name="event_to_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"], ["demands.id"], name=op.f("fk_demand_events_demand_id_demands"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_demand_events_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_events")),
    )
    with op.batch_alter_table("demand_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_events_demand_id"), ["demand_id"], unique=False)

    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_tokens_staff_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_tokens_token_hash")),
    )
    with op.batch_alter_table("staff_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_tokens_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    """Revert this revision exactly."""
    with op.batch_alter_table("staff_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_tokens_staff_id"))

    op.drop_table("staff_tokens")
    with op.batch_alter_table("demand_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_events_demand_id"))

    op.drop_table("demand_events")
    op.drop_table("staff_users")
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_index("ix_demands_status_created_at")
        batch_op.drop_index("ix_demands_region_code")
        batch_op.drop_index("ix_demands_industry_code")

    op.drop_table("demands")
