"""policies: promotion policies per model and environment, approvals

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "model_policies",
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_name"],
            ["registered_models.name"],
            name=op.f("fk_model_policies_model_name_registered_models"),
        ),
        sa.PrimaryKeyConstraint(
            "model_name", "environment", "version", name=op.f("pk_model_policies")
        ),
    )
    op.create_table(
        "approvals",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=256), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_name"],
            ["registered_models.name"],
            name=op.f("fk_approvals_model_name_registered_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint(
            "model_name",
            "version",
            "environment",
            "approver",
            name=op.f("uq_approvals_model_name_version_environment_approver"),
        ),
    )


def downgrade() -> None:
    op.drop_table("approvals")
    op.drop_table("model_policies")
