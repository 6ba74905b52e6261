"""Societies, branches, experts, expert posts and demand preferences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:50:42.527952
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "experts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("organisation", sa.String(length=100), nullable=True),
        sa.Column("professional_title", sa.String(length=50), nullable=True),
        sa.Column("research_fields", sa.Text(), nullable=False),
        sa.Column("discipline_codes", sa.JSON(), nullable=False),
        sa.Column("nsfc_codes", sa.JSON(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("mobile", sa.String(length=11), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tokens", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_experts_capacity_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experts")),
        sa.UniqueConstraint("code", name=op.f("uq_experts_code")),
    )
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experts_region_code"), ["region_code"], unique=False)

    op.create_table(
        "societies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "national",
                "provincial",
                "municipal",
                name="society_level",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "cast_group",
            sa.Enum(
                "理",
                "工",
                "农",
                "医",
                "交叉",
                name="cast_group",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("discipline_codes", sa.JSON(), nullable=False),
        sa.Column("nsfc_codes", sa.JSON(), nullable=False),
        sa.Column("industry_codes", sa.JSON(), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=True),
        sa.Column("contact_phone", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("website", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("default_capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tokens", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("default_capacity >= 0", name=op.f("ck_societies_default_capacity_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_societies")),
        sa.UniqueConstraint("code", name=op.f("uq_societies_code")),
        sa.UniqueConstraint("name", name=op.f("uq_societies_name")),
    )
    with op.batch_alter_table("societies", schema=None) as batch_op:
        batch_op.create_index("ix_societies_level_active", ["level", "active"], unique=False)

    op.create_table(
        "branches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("society_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("discipline_codes", sa.JSON(), nullable=False),
        sa.Column("nsfc_codes", sa.JSON(), nullable=False),
        sa.Column("default_capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("tokens", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("default_capacity >= 0", name=op.f("ck_branches_default_capacity_non_negative")),
        sa.ForeignKeyConstraint(
            ["society_id"],
            ["societies.id"],
            name=op.f("fk_branches_society_id_societies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branches")),
        sa.UniqueConstraint("code", name=op.f("uq_branches_code")),
        sa.UniqueConstraint("society_id", "name", name="uq_branches_society_id_name"),
    )
    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_branches_society_id"), ["society_id"], unique=False)

    op.create_table(
        "demand_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column(
            "provider_level",
            sa.Enum(
                "society",
                "branch",
                "expert",
                name="provider_level",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "prefer",
                "refuse",
                name="preference_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["demands.id"],
            name=op.f("fk_demand_preferences_demand_id_demands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_demand_preferences_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_preferences")),
        sa.UniqueConstraint(
            "demand_id", "provider_level", "provider_id", name="uq_demand_preferences_demand_provider"
        ),
    )
    with op.batch_alter_table("demand_preferences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_preferences_demand_id"), ["demand_id"], unique=False)
        batch_op.create_index(
            "ix_demand_preferences_provider", ["provider_level", "provider_id"], unique=False
        )

    op.create_table(
        "expert_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("society_id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "理事长",
                "副理事长",
                "秘书长",
                "常务理事",
                "理事",
                "主任委员",
                "副主任委员",
                "委员",
                "会员",
                name="post_role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_expert_posts_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_expert_posts_expert_id_experts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["society_id"],
            ["societies.id"],
            name=op.f("fk_expert_posts_society_id_societies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_posts")),
        sa.UniqueConstraint(
            "expert_id", "society_id", "branch_id", name="uq_expert_posts_expert_society_branch"
        ),
    )
    with op.batch_alter_table("expert_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_posts_branch_id"), ["branch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expert_posts_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expert_posts_society_id"), ["society_id"], unique=False)


def downgrade() -> None:
    """Revert this revision exactly."""
    with op.batch_alter_table("expert_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_posts_society_id"))
        batch_op.drop_index(batch_op.f("ix_expert_posts_expert_id"))
        batch_op.drop_index(batch_op.f("ix_expert_posts_branch_id"))

    op.drop_table("expert_posts")
    with op.batch_alter_table("demand_preferences", schema=None) as batch_op:
        batch_op.drop_index("ix_demand_preferences_provider")
        batch_op.drop_index(batch_op.f("ix_demand_preferences_demand_id"))

    op.drop_table("demand_preferences")
    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_branches_society_id"))

    op.drop_table("branches")
    with op.batch_alter_table("societies", schema=None) as batch_op:
        batch_op.drop_index("ix_societies_level_active")

    op.drop_table("societies")
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experts_region_code"))

    op.drop_table("experts")
