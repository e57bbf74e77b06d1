"""pre-rendered GeoJSON feature per incident; covering index for map searches

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import silkguard.core.types
from silkguard.incidents.geojson import render_row

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COVER = [
    "h3_r4",
    "occurred_at",
    "id",
    "longitude",
    "latitude",
    "tlp",
    "status",
    "org_id",
    "created_by",
]
_BATCH = 2000


def _backfill() -> None:
    """Render the feature of every stored incident (the same text the application writes)."""
    incidents = sa.table(
        "incidents",
        sa.column("id", sa.Uuid()),
        sa.column("occurred_at", silkguard.core.types.UTCDateTime(timezone=True)),
        sa.column("date_precision", sa.String()),
        sa.column("latitude", sa.Float()),
        sa.column("longitude", sa.Float()),
        sa.column("geo_precision", sa.String()),
        sa.column("place", sa.String()),
        sa.column("district", sa.String()),
        sa.column("province", sa.String()),
        sa.column("country", sa.String()),
        sa.column("h3_r6", sa.BigInteger()),
        sa.column("attack_type", sa.String()),
        sa.column("target_type", sa.String()),
        sa.column("perpetrator", sa.String()),
        sa.column("claimed", sa.Boolean()),
        sa.column("killed", sa.Integer()),
        sa.column("injured", sa.Integer()),
        sa.column("killed_foreign", sa.Integer()),
        sa.column("injured_foreign", sa.Integer()),
        sa.column("nationalities", sa.JSON()),
        sa.column("on_the_move", sa.Boolean()),
        sa.column("summary", sa.Text()),
        sa.column("tlp", sa.String()),
        sa.column("status", sa.String()),
        sa.column("org_id", sa.Uuid()),
        sa.column("version", sa.Integer()),
        sa.column("created_at", silkguard.core.types.UTCDateTime(timezone=True)),
        sa.column("updated_at", silkguard.core.types.UTCDateTime(timezone=True)),
        sa.column("feature", sa.Text()),
    )
    conn = op.get_bind()
    columns = [c for c in incidents.c if c.name != "feature"]
    last = None
    while True:
        stmt = sa.select(*columns).order_by(incidents.c.id).limit(_BATCH)
        if last is not None:
            stmt = stmt.where(incidents.c.id > last)
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if not rows:
            return
        conn.execute(
            sa.update(incidents)
            .where(incidents.c.id == sa.bindparam("row_id"))
            .values(feature=sa.bindparam("text")),
            [{"row_id": r["id"], "text": render_row(r)} for r in rows],
        )
        last = rows[-1]["id"]


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feature", sa.Text(), nullable=True))
        batch_op.drop_index("ix_incidents_h3_r4_time")
        batch_op.create_index("ix_incidents_h3_r4_cover", _COVER, unique=False)
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_h3_r4_cover")
        batch_op.create_index("ix_incidents_h3_r4_time", ["h3_r4", "occurred_at"], unique=False)
        batch_op.drop_column("feature")
