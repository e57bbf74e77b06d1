"""sites and risk forecasts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:23:39.642355
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import silkguard.core.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "risk_backtests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("n_events", sa.Integer(), nullable=False),
        sa.Column("created_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "risk_forecasts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("model_version", sa.String(length=80), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("n_events", sa.Integer(), nullable=False),
        sa.Column("events_digest", sa.String(length=64), nullable=False),
        sa.Column("trained_from", silkguard.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("trained_until", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("horizon_start", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("horizon_end", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("mean_density", sa.Float(), nullable=False),
        sa.Column("policy", JSON, nullable=False),
        sa.Column("created_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk_forecasts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_forecasts_org_created", ["org_id", "created_at"], unique=False
        )

    op.create_table(
        "risk_policies",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("policy", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("h3_r6", sa.BigInteger(), nullable=False),
        sa.Column("province", sa.String(length=80), nullable=True),
        sa.Column("district", sa.String(length=120), nullable=True),
        sa.Column("perimeter_radius_m", sa.Float(), nullable=False),
        sa.Column("perimeter", JSON, nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("criticality", sa.Integer(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("created_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "slug", name="uq_sites_org_slug"),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_h3_r6"), ["h3_r6"], unique=False)
        batch_op.create_index(batch_op.f("ix_sites_org_id"), ["org_id"], unique=False)

    op.create_table(
        "risk_forecast_cells",
        sa.Column("forecast_id", sa.Uuid(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["forecast_id"], ["risk_forecasts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("forecast_id", "cell"),
    )
    op.create_table(
        "risk_level_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("forecast_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=False),
        sa.Column("old_level", sa.SmallInteger(), nullable=True),
        sa.Column("new_level", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["forecast_id"], ["risk_forecasts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk_level_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_level_changes_forecast_id"), ["forecast_id"], unique=False
        )

    op.create_table(
        "risk_levels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("forecast_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("created_at", silkguard.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["forecast_id"], ["risk_forecasts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk_levels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_levels_forecast_id"), ["forecast_id"], unique=False
        )
        batch_op.create_index(
            "ix_risk_levels_subject", ["subject_kind", "subject_key", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_levels_subject")
        batch_op.drop_index(batch_op.f("ix_risk_levels_forecast_id"))

    op.drop_table("risk_levels")
    with op.batch_alter_table("risk_level_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_level_changes_forecast_id"))

    op.drop_table("risk_level_changes")
    op.drop_table("risk_forecast_cells")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_org_id"))
        batch_op.drop_index(batch_op.f("ix_sites_h3_r6"))

    op.drop_table("sites")
    op.drop_table("risk_policies")
    with op.batch_alter_table("risk_forecasts", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_forecasts_org_created")

    op.drop_table("risk_forecasts")
    op.drop_table("risk_backtests")
