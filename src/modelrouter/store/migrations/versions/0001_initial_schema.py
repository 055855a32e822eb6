"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_reservations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("window_key", sa.String(length=120), nullable=False),
        sa.Column("tenant_id", sa.String(length=200), nullable=False),
        sa.Column("amount_usd", sa.Numeric(precision=38, scale=18), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", "window_key", name=op.f("pk_budget_reservations")),
    )
    with op.batch_alter_table("budget_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_budget_reservations_tenant_id_window_key_settled"),
            ["tenant_id", "window_key", "settled"],
            unique=False,
        )

    op.create_table(
        "budget_spend",
        sa.Column("tenant_id", sa.String(length=200), nullable=False),
        sa.Column("window_key", sa.String(length=120), nullable=False),
        sa.Column("spent_usd", sa.Numeric(precision=38, scale=18), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "window_key", name=op.f("pk_budget_spend")),
    )
    op.create_table(
        "catalog_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalog_versions")),
    )
    op.create_table(
        "inference_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column(
            "policy_versions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("plan_hash", sa.String(length=80), nullable=False),
        sa.Column("primary_deployment", sa.String(length=400), nullable=False),
        sa.Column(
            "routing_snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "actual_cost",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inference_requests")),
    )
    with op.batch_alter_table("inference_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inference_requests_created_at_id"), ["created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inference_requests_tenant_id_created_at_id"),
            ["tenant_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "platform_policies",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_platform_policies")),
    )
    with op.batch_alter_table("platform_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_platform_policies_version"), ["version"], unique=False)

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "routing_policy",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )


def downgrade() -> None:
    op.drop_table("tenants")
    with op.batch_alter_table("platform_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_policies_version"))

    op.drop_table("platform_policies")
    with op.batch_alter_table("inference_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inference_requests_tenant_id_created_at_id"))
        batch_op.drop_index(batch_op.f("ix_inference_requests_created_at_id"))

    op.drop_table("inference_requests")
    op.drop_table("catalog_versions")
    op.drop_table("budget_spend")
    with op.batch_alter_table("budget_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_reservations_tenant_id_window_key_settled"))

    op.drop_table("budget_reservations")
