"""retraining loops: stored trigger configs the control plane acts on; a rollout's evaluation

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retrain_loops",
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("judged", sa.JSON(), nullable=False),
        sa.Column("pending", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_retrain_loops")),
    )
    with op.batch_alter_table("rollouts") as batch:
        batch.add_column(sa.Column("evaluation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rollouts") as batch:
        batch.drop_column("evaluation")
    op.drop_table("retrain_loops")
