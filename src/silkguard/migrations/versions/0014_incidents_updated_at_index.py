"""index on incidents (updated_at, id): TAXII pages walk the store in this order

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_incidents_updated_at_id", "incidents", ["updated_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incidents_updated_at_id", table_name="incidents")
