"""index deliveries by the provider's message id (SMS delivery reports)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_provider_id", "deliveries", ["provider_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deliveries_provider_id", table_name="deliveries")
