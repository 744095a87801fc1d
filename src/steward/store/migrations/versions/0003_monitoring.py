"""monitoring: monitors, their versions, windows and results; alert rules, alerts, events

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FIRING = sa.text("state = 'firing'")


def upgrade() -> None:
    _create_monitors()
    _create_monitor_windows()
    _create_monitor_results()
    _create_alert_rules()
    _create_alerts()
    _create_alert_events()


def _create_monitors() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("endpoint", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("name", name=op.f("uq_monitors_name")),
    )
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitors_endpoint"), ["endpoint"], unique=False)
    op.create_table(
        "monitor_versions",
        sa.Column("monitor_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_versions_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("monitor_id", "version", name=op.f("pk_monitor_versions")),
    )


def _create_monitor_windows() -> None:
    op.create_table(
        "monitor_windows",
        sa.Column("monitor_id", sa.BigInteger(), nullable=False),
        sa.Column("window_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("window_end_ms", sa.BigInteger(), nullable=False),
        sa.Column("monitor_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("labelled_rows", sa.BigInteger(), nullable=False),
        sa.Column("profile", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("computed_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_windows_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("monitor_id", "window_start_ms", name=op.f("pk_monitor_windows")),
    )


def _create_monitor_results() -> None:
    op.create_table(
        "monitor_results",
        sa.Column("monitor_id", sa.BigInteger(), nullable=False),
        sa.Column("window_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("feature", sa.String(length=256), nullable=False),
        sa.Column("segment", sa.String(length=512), nullable=False),
        sa.Column("window_end_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("sample_size", sa.BigInteger(), nullable=False),
        sa.Column("drifted", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_results_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint(
            "monitor_id",
            "window_start_ms",
            "metric",
            "feature",
            "segment",
            name=op.f("pk_monitor_results"),
        ),
    )
    with op.batch_alter_table("monitor_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monitor_results_metric", ["monitor_id", "metric", "window_start_ms"], unique=False
        )


def _create_alert_rules() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("monitor", sa.String(length=256), nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("feature", sa.String(length=256), nullable=True),
        sa.Column("segment", sa.String(length=512), nullable=True),
        sa.Column("comparator", sa.String(length=8), nullable=False),
        sa.Column("threshold", sa.Float(precision=53), nullable=False),
        sa.Column("min_samples", sa.BigInteger(), nullable=False),
        sa.Column("consecutive", sa.Integer(), nullable=False),
        sa.Column("cooldown_s", sa.Float(precision=53), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_alert_rules_name")),
    )
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_rules_monitor"), ["monitor"], unique=False)


def _create_alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fired_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("resolved_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("window_start_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("threshold", sa.Float(precision=53), nullable=False),
        sa.Column("last_notified_at_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alert_rules.id"], name=op.f("fk_alerts_rule_id_alert_rules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_rule_key", ["rule_id", "key"], unique=False)
        batch_op.create_index("ix_alerts_state", ["state"], unique=False)
        batch_op.create_index(
            "uq_alerts_firing",
            ["rule_id", "key"],
            unique=True,
            sqlite_where=_FIRING,
            postgresql_where=_FIRING,
        )


def _create_alert_events() -> None:
    op.create_table(
        "alert_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=True),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_events_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_events_rule_id"), ["rule_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_events_rule_id"))
        batch_op.drop_index(batch_op.f("ix_alert_events_alert_id"))
    op.drop_table("alert_events")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_alerts_firing")
        batch_op.drop_index("ix_alerts_state")
        batch_op.drop_index("ix_alerts_rule_key")
    op.drop_table("alerts")
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_rules_monitor"))
    op.drop_table("alert_rules")
    with op.batch_alter_table("monitor_results", schema=None) as batch_op:
        batch_op.drop_index("ix_monitor_results_metric")
    op.drop_table("monitor_results")
    op.drop_table("monitor_windows")
    op.drop_table("monitor_versions")
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitors_endpoint"))
    op.drop_table("monitors")
