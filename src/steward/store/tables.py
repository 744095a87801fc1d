"""Every metadata table, in one SQLAlchemy MetaData that the Alembic migrations mirror.

Times are integer milliseconds since the Unix epoch (UTC): exact, portable between SQLite
and PostgreSQL, and cheap to index. JSON columns hold small documents (schemas, tags).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata"]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for long logs.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Millis = sa.BigInteger
Id = sa.String(32)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("lifecycle", sa.String(16), nullable=False, server_default="active"),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("experiment_id", Id, sa.ForeignKey("experiments.id"), nullable=False, index=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_ms", Millis, nullable=False),
    sa.Column("end_ms", Millis, nullable=True),
    sa.Column("user", sa.String(256), nullable=False),
    sa.Column("code_version", sa.JSON, nullable=False),
    sa.Column("environment", sa.JSON, nullable=False),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# NaN is kept as is_nan=True with value 0: SQLite turns a NaN REAL into NULL.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp_ms", Millis, nullable=False),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

# The last value per (run, key): what search filters and orders on.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Float(precision=53), nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp_ms", Millis, nullable=False),
)

run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, index=True),
    sa.Column("num_rows", sa.BigInteger, nullable=False),
    sa.Column("num_columns", sa.Integer, nullable=False),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("contract", sa.JSON, nullable=True),
    sa.Column("profile", sa.JSON, nullable=True),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.UniqueConstraint("name", "digest"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("dataset_id", Id, sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("context", sa.String(64), primary_key=True),
)

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.Column("updated_at_ms", Millis, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column(
        "model_name", sa.String(256), sa.ForeignKey("registered_models.name"), primary_key=True
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("artifact_digest", sa.String(64), nullable=False),
    sa.Column("artifact_size_bytes", sa.BigInteger, nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("flavor_metadata", sa.JSON, nullable=False),
    sa.Column("input_schema", sa.JSON, nullable=False),
    sa.Column("output_schema", sa.JSON, nullable=False),
    sa.Column("run_id", Id, sa.ForeignKey("runs.id"), nullable=True, index=True),
    sa.Column("dataset_digests", sa.JSON, nullable=False),
    sa.Column("contract", sa.JSON, nullable=True),
    sa.Column("profile", sa.JSON, nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column(
        "model_name", sa.String(256), sa.ForeignKey("registered_models.name"), primary_key=True
    ),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at_ms", Millis, nullable=False),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_name", sa.String(256), sa.ForeignKey("registered_models.name"), nullable=False
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("environment", sa.String(64), nullable=False),
    sa.Column("deployed_by", sa.String(256), nullable=False),
    sa.Column("deployed_at_ms", Millis, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_deployments_model_env", "model_name", "environment"),
)

# A named serving target; traffic, shadow and fallback hold targets ("@alias" or "3").
endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("environment", sa.String(64), nullable=False, index=True),
    sa.Column(
        "model_name", sa.String(256), sa.ForeignKey("registered_models.name"), nullable=False
    ),
    sa.Column("traffic", sa.JSON, nullable=False),
    sa.Column("shadow", sa.JSON, nullable=False),
    sa.Column("sticky_key", sa.String(256), nullable=True),
    sa.Column("fallback", sa.JSON, nullable=False),
    sa.Column("default_response", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("contract_mode", sa.String(16), nullable=False),
    sa.Column("timeout_ms", sa.Integer, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.Column("updated_at_ms", Millis, nullable=False),
)

# Append-only and hash-chained: seq is dense, hash covers prev_hash plus the event's content.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at_ms", Millis, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target_type", sa.String(64), nullable=False),
    sa.Column("target_id", sa.String(512), nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_events_target", "target_type", "target_id"),
)

# A monitor's current config; every change of `spec` adds a row to monitor_versions.
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("endpoint", sa.String(256), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.Column("updated_at_ms", Millis, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
)

monitor_versions = sa.Table(
    "monitor_versions",
    metadata,
    sa.Column("monitor_id", sa.BigInteger, sa.ForeignKey("monitors.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
)

# One row per computed window: status ok | empty | failed.
monitor_windows = sa.Table(
    "monitor_windows",
    metadata,
    sa.Column("monitor_id", sa.BigInteger, sa.ForeignKey("monitors.id"), primary_key=True),
    sa.Column("window_start_ms", Millis, primary_key=True),
    sa.Column("window_end_ms", Millis, nullable=False),
    sa.Column("monitor_version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("labelled_rows", sa.BigInteger, nullable=False),
    sa.Column("profile", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("computed_at_ms", Millis, nullable=False),
)

# Every metric of every window: the time series alert rules read. feature and segment are ''
# when they do not apply, so the key is never NULL; a NaN value is stored as NULL.
monitor_results = sa.Table(
    "monitor_results",
    metadata,
    sa.Column("monitor_id", sa.BigInteger, sa.ForeignKey("monitors.id"), primary_key=True),
    sa.Column("window_start_ms", Millis, primary_key=True),
    sa.Column("metric", sa.String(128), primary_key=True),
    sa.Column("feature", sa.String(256), primary_key=True),
    sa.Column("segment", sa.String(512), primary_key=True),
    sa.Column("window_end_ms", Millis, nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("sample_size", sa.BigInteger, nullable=False),
    sa.Column("drifted", sa.Boolean, nullable=True),
    sa.Index("ix_monitor_results_metric", "monitor_id", "metric", "window_start_ms"),
)

# feature NULL = every feature, segment NULL = overall only, '*' = every segment.
alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("monitor", sa.String(256), nullable=False, index=True),
    sa.Column("metric", sa.String(128), nullable=False),
    sa.Column("feature", sa.String(256), nullable=True),
    sa.Column("segment", sa.String(512), nullable=True),
    sa.Column("comparator", sa.String(8), nullable=False),
    sa.Column("threshold", sa.Float(precision=53), nullable=False),
    sa.Column("min_samples", sa.BigInteger, nullable=False),
    sa.Column("consecutive", sa.Integer, nullable=False),
    sa.Column("cooldown_s", sa.Float(precision=53), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("webhook_url", sa.String(2048), nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.Column("updated_at_ms", Millis, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
)

# At most one firing alert per (rule, key): a partial unique index on both backends.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("rule_id", sa.BigInteger, sa.ForeignKey("alert_rules.id"), nullable=False),
    sa.Column("key", sa.String(1024), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fired_at_ms", Millis, nullable=False),
    sa.Column("resolved_at_ms", Millis, nullable=True),
    sa.Column("window_start_ms", Millis, nullable=False),
    sa.Column("value", sa.Float(precision=53), nullable=True),
    sa.Column("threshold", sa.Float(precision=53), nullable=False),
    sa.Column("last_notified_at_ms", Millis, nullable=True),
    sa.Index("ix_alerts_rule_key", "rule_id", "key"),
    sa.Index("ix_alerts_state", "state"),
    sa.Index(
        "uq_alerts_firing",
        "rule_id",
        "key",
        unique=True,
        sqlite_where=sa.text("state = 'firing'"),
        postgresql_where=sa.text("state = 'firing'"),
    ),
)

# An append-only log of what happened to alerts: fired, resolved, notified, notify_failed, test.
alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("rule_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("at_ms", Millis, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

# Promotion policies per (model, environment): every change adds the next version; the
# highest version is in force.
model_policies = sa.Table(
    "model_policies",
    metadata,
    sa.Column(
        "model_name", sa.String(256), sa.ForeignKey("registered_models.name"), primary_key=True
    ),
    sa.Column("environment", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
)

# One approval per approver per (model version, environment).
approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_name", sa.String(256), sa.ForeignKey("registered_models.name"), nullable=False
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("environment", sa.String(64), nullable=False),
    sa.Column("approver", sa.String(256), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.UniqueConstraint("model_name", "version", "environment", "approver"),
)

# Progressive rollouts of a challenger version on an endpoint; status running | promoted |
# rolled_back | aborted. The stage index and its start are what a restart resumes from.
rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(256), nullable=False, index=True),
    sa.Column("model_name", sa.String(256), nullable=False),
    sa.Column("challenger_version", sa.Integer, nullable=False),
    sa.Column("champion_target", sa.String(128), nullable=False),
    sa.Column("stages", sa.JSON, nullable=False),
    sa.Column("gates", sa.JSON, nullable=False),
    sa.Column("min_samples", sa.Integer, nullable=False),
    sa.Column("min_duration_ms", Millis, nullable=False),
    sa.Column("stage_index", sa.Integer, nullable=False),
    sa.Column("stage_started_at_ms", Millis, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("last_evaluation", sa.JSON, nullable=True),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_at_ms", Millis, nullable=False),
    sa.Column("updated_at_ms", Millis, nullable=False),
    # The champion/challenger comparison the final promotion hands to the policy.
    sa.Column("evaluation", sa.JSON, nullable=True),
)

# What happened to a rollout: started, advanced, promoted, rolled_back, with the numbers.
rollout_events = sa.Table(
    "rollout_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "rollout_id", sa.BigInteger, sa.ForeignKey("rollouts.id"), nullable=False, index=True
    ),
    sa.Column("at_ms", Millis, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

# A model's retraining loop as the control plane runs it: its trigger config, whether it is
# on, the newest window already judged per monitor (so each window is judged once), and a
# challenger waiting for approvals.
retrain_loops = sa.Table(
    "retrain_loops",
    metadata,
    sa.Column("model_name", sa.String(256), primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("judged", sa.JSON, nullable=False),
    # A challenger the policy accepts but for its approvals: {"version", "evaluation"}.
    sa.Column("pending", sa.JSON, nullable=True),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("updated_at_ms", Millis, nullable=False),
)
