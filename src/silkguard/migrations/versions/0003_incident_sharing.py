"""incident ownership, shares, recipients, overrides

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:16:33
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "incident_recipients",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id", "user_id"),
    )
    op.create_index("ix_incident_recipients_user_id", "incident_recipients", ["user_id"])
    op.create_table(
        "incident_shares",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["sharing_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id", "group_id"),
    )
    op.create_index("ix_incident_shares_group_id", "incident_shares", ["group_id"])
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("overrides", JSON, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_incidents_created_by_users", "users", ["created_by"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint("fk_incidents_created_by_users", type_="foreignkey")
        batch_op.drop_column("review_note")
        batch_op.drop_column("overrides")
        batch_op.drop_column("created_by")
    op.drop_index("ix_incident_shares_group_id", table_name="incident_shares")
    op.drop_table("incident_shares")
    op.drop_index("ix_incident_recipients_user_id", table_name="incident_recipients")
    op.drop_table("incident_recipients")
