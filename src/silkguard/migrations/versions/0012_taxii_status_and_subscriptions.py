"""TAXII status resources and subscriptions to remote collections

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import silkguard.core.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "taxii_statuses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("collection_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("taxii_statuses", schema=None) as batch_op:
        batch_op.create_index("ix_taxii_statuses_created_at", ["created_at"], unique=False)
    op.create_table(
        "taxii_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("run_as", sa.Uuid(), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("added_after", sa.String(length=40), nullable=True),
        sa.Column("last_polled_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("created_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_as"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "name", name="uq_taxii_subscriptions_org_name"),
    )
    with op.batch_alter_table("taxii_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_taxii_subscriptions_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("taxii_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxii_subscriptions_org_id"))
    op.drop_table("taxii_subscriptions")
    with op.batch_alter_table("taxii_statuses", schema=None) as batch_op:
        batch_op.drop_index("ix_taxii_statuses_created_at")
    op.drop_table("taxii_statuses")
