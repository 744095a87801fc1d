"""rollouts: progressive rollouts of challenger versions and their events

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("endpoint", sa.String(length=256), nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=False),
        sa.Column("challenger_version", sa.Integer(), nullable=False),
        sa.Column("champion_target", sa.String(length=128), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("gates", sa.JSON(), nullable=False),
        sa.Column("min_samples", sa.Integer(), nullable=False),
        sa.Column("min_duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("stage_started_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_evaluation", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollouts")),
    )
    op.create_index(op.f("ix_rollouts_endpoint"), "rollouts", ["endpoint"])
    op.create_index(op.f("ix_rollouts_status"), "rollouts", ["status"])
    op.create_table(
        "rollout_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("rollout_id", sa.BigInteger(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name=op.f("fk_rollout_events_rollout_id_rollouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_events")),
    )
    op.create_index(op.f("ix_rollout_events_rollout_id"), "rollout_events", ["rollout_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rollout_events_rollout_id"), table_name="rollout_events")
    op.drop_table("rollout_events")
    op.drop_index(op.f("ix_rollouts_status"), table_name="rollouts")
    op.drop_index(op.f("ix_rollouts_endpoint"), table_name="rollouts")
    op.drop_table("rollouts")
