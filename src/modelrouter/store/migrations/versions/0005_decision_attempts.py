"""decision attempts: each attempt of a decision, priced and settled once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The types as they are today, spelled out: a migration must not change with the models.
MONEY = sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_attempts",
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.Column("attempt_id", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployment", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("final", sa.Integer(), nullable=False),
        sa.Column("cost_usd", MONEY, nullable=True),
        sa.Column("cost", JSON, nullable=True),
        sa.Column("report", JSON, nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "attempt_id", name=op.f("pk_decision_attempts")),
    )


def downgrade() -> None:
    op.drop_table("decision_attempts")
