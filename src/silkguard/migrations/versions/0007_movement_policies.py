"""movement policies stored per organisation

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import silkguard.core.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = silkguard.core.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "movement_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "revision", name="uq_movement_policies_org_revision"),
    )
    with op.batch_alter_table("movement_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_movement_policies_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("movement_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_movement_policies_org_id"))
    op.drop_table("movement_policies")
