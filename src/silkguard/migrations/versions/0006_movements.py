"""movements, their history and approvals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import silkguard.core.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_DATETIME = silkguard.core.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "movements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("requester", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("origin_label", sa.String(length=200), nullable=False),
        sa.Column("origin_lat", sa.Float(), nullable=False),
        sa.Column("origin_lon", sa.Float(), nullable=False),
        sa.Column("destination_label", sa.String(length=200), nullable=False),
        sa.Column("destination_lat", sa.Float(), nullable=False),
        sa.Column("destination_lon", sa.Float(), nullable=False),
        sa.Column("waypoints", JSON, nullable=False),
        sa.Column("departure_start", UTC_DATETIME, nullable=False),
        sa.Column("departure_end", UTC_DATETIME, nullable=False),
        sa.Column("planned_arrival", UTC_DATETIME, nullable=False),
        sa.Column("arrived_at", UTC_DATETIME, nullable=True),
        sa.Column("party", sa.Integer(), nullable=False),
        sa.Column("vehicles", sa.Integer(), nullable=False),
        sa.Column("measures", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("route", JSON, nullable=False),
        sa.Column("assessment", JSON, nullable=False),
        sa.Column("decision", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_movements_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_movements_state_arrival", ["state", "planned_arrival"], unique=False
        )

    op.create_table(
        "movement_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("movement_id", sa.Uuid(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.ForeignKeyConstraint(["movement_id"], ["movements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("movement_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_movement_events_movement_id"), ["movement_id"], unique=False
        )

    op.create_table(
        "movement_approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("movement_id", sa.Uuid(), nullable=False),
        sa.Column("approver_id", sa.Uuid(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["approver_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["movement_id"], ["movements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("movement_id", "approver_id", name="uq_movement_approvals_approver"),
    )
    with op.batch_alter_table("movement_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_movement_approvals_movement_id"), ["movement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("movement_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_movement_approvals_movement_id"))
    op.drop_table("movement_approvals")
    with op.batch_alter_table("movement_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_movement_events_movement_id"))
    op.drop_table("movement_events")
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_index("ix_movements_state_arrival")
        batch_op.drop_index(batch_op.f("ix_movements_org_id"))
    op.drop_table("movements")
