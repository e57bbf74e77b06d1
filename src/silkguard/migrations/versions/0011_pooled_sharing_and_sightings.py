"""pooled sharing-group contributions and counted sightings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import silkguard.core.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = silkguard.core.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sharing_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool_org_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_sharing_groups_pool_org_id_organisations",
            "organisations",
            ["pool_org_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "pool_contributions",
        sa.Column("pool_incident_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("source_incident_id", sa.Uuid(), nullable=False),
        sa.Column("contributor_org_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["sharing_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pool_incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pool_incident_id"),
        sa.UniqueConstraint("source_incident_id", "group_id", name="uq_pool_contribution"),
    )
    with op.batch_alter_table("pool_contributions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_contributions_contributor_org_id"), ["contributor_org_id"]
        )
        batch_op.create_index(batch_op.f("ix_pool_contributions_group_id"), ["group_id"])
        batch_op.create_index(
            batch_op.f("ix_pool_contributions_source_incident_id"), ["source_incident_id"]
        )
    op.create_table(
        "incident_sightings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", _WHEN, nullable=False),
        sa.Column("last_seen", _WHEN, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "org_id", "external_id", name="uq_incident_sighting"),
    )
    with op.batch_alter_table("incident_sightings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_sightings_incident_id"), ["incident_id"])
        batch_op.create_index(batch_op.f("ix_incident_sightings_org_id"), ["org_id"])


def downgrade() -> None:
    with op.batch_alter_table("incident_sightings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_sightings_org_id"))
        batch_op.drop_index(batch_op.f("ix_incident_sightings_incident_id"))
    op.drop_table("incident_sightings")
    with op.batch_alter_table("pool_contributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_contributions_source_incident_id"))
        batch_op.drop_index(batch_op.f("ix_pool_contributions_group_id"))
        batch_op.drop_index(batch_op.f("ix_pool_contributions_contributor_org_id"))
    op.drop_table("pool_contributions")
    with op.batch_alter_table("sharing_groups", schema=None) as batch_op:
        batch_op.drop_constraint("fk_sharing_groups_pool_org_id_organisations", type_="foreignkey")
        batch_op.drop_column("pool_org_id")
