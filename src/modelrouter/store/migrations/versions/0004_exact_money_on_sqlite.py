"""exact money on SQLite: decimal text instead of NUMERIC (a binary float there)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

PostgreSQL's NUMERIC(38, 18) is exact and stays. On SQLite a NUMERIC column
has numeric affinity: decimal text written to it is turned into a float. The
columns become TEXT (the type ``ExactMoney`` reads and writes); amounts stored
before keep the value SQLite returned for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (("budget_spend", "spent_usd"), ("budget_reservations", "amount_usd"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, column in COLUMNS:
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column(column, type_=sa.String(64), existing_type=sa.Numeric(38, 18))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, column in COLUMNS:
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column(column, type_=sa.Numeric(38, 18), existing_type=sa.String(64))
