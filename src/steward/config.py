"""Settings: the one place that reads environment variables (prefix `STEWARD_`).

Zero configuration works: everything lives under `.steward/` in the working directory,
with SQLite metadata and local artifacts.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ACTOR_HEADER", "Settings", "default_actor"]

ACTOR_HEADER = "x-steward-actor"
"""HTTP header carrying the caller's identity to the control plane."""


def default_actor() -> str:
    """The operating-system user, used as the audit actor when none is configured."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return "unknown"


class Settings(BaseSettings):
    """Every Steward setting. Each field is documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="STEWARD_", extra="ignore")

    home: Path = Field(
        default=Path(".steward"),
        description="Folder for the embedded store: SQLite file, artifacts, logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata store; default SQLite at HOME/steward.db. "
        "For PostgreSQL: postgresql+psycopg://user@host:5432/db.",
    )
    artifacts_dir: Path | None = Field(
        default=None,
        description="Folder of the content-addressed artifact store; default HOME/artifacts.",
    )
    tracking_url: str | None = Field(
        default=None,
        description="URL of a `steward server`; when set, the SDK talks HTTP to it instead of "
        "writing to the store in-process.",
    )
    actor: str = Field(
        default_factory=default_actor,
        description="Identity recorded in audit events for changes made by this process.",
    )
    host: str = Field(default="127.0.0.1", description="Address `steward server` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `steward server` binds to.")
    sqlite_busy_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="How long a SQLite writer waits for another process's lock before failing.",
    )
    metric_flush_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="Longest time a logged metric waits in the SDK buffer before it is written.",
    )
    metric_buffer_size: int = Field(
        default=1000,
        ge=1,
        description="Number of buffered metrics that triggers a write.",
    )
    http_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of the SDK's HTTP calls to a server."
    )
    environments: list[str] = Field(
        default=["dev", "staging", "production"],
        description="Deployment environments, lowest to highest.",
    )
    approvers: list[str] = Field(
        default=[],
        description="Identities holding the approver role: only they may approve a version "
        "for an environment, and only their approvals count towards a policy.",
    )
    log_level: str = Field(default="INFO", description="Log level of the CLI and server.")
    predictions_dir: Path | None = Field(
        default=None, description="Folder of the prediction log; default HOME/predictions."
    )
    prediction_flush_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="Longest wait before logged predictions are written and fsynced: the most "
        "a killed serving process can lose.",
    )
    prediction_durable: bool = Field(
        default=False,
        description="Fsync each batch of logged predictions before answering the request.",
    )
    prediction_max_pending: int = Field(
        default=200_000,
        ge=1,
        description="Queued predictions beyond which new ones are dropped and counted (or "
        "refused in durable mode).",
    )
    prediction_segment_max_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Size at which a log segment is sealed."
    )
    prediction_segment_max_age_s: float = Field(
        default=60.0, gt=0, description="Age at which a log segment is sealed."
    )
    label_batch_max: int = Field(
        default=10_000,
        ge=1,
        description="Most labels one `POST /api/v1/endpoints/{name}/labels` request may carry; "
        "the SDK and `steward labels ingest` send larger sets in chunks of this size.",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description="Webhook (Slack-compatible) every alert is posted to; a rule's own "
        "webhook_url replaces it for that rule. Unset: alerts go to the log only.",
    )
    alert_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret that signs webhook bodies: header X-Steward-Signature is "
        "sha256=<hex HMAC-SHA256 of the raw body>, X-Steward-Timestamp the Unix time sent.",
    )
    alert_webhook_attempts: int = Field(
        default=5, ge=1, description="Tries per webhook notification before it counts as failed."
    )
    alert_webhook_backoff_s: float = Field(
        default=0.5,
        ge=0,
        description="Wait before the second webhook try, doubled before each next one.",
    )
    alert_webhook_timeout_s: float = Field(
        default=5.0, gt=0, description="Timeout of one webhook try."
    )

    serve_host: str = Field(default="127.0.0.1", description="Address `steward serve` binds to.")
    serve_port: int = Field(
        default=8080, ge=0, le=65535, description="Port `steward serve` binds to."
    )
    serve_poll_interval_s: float = Field(
        default=5.0,
        ge=0.05,
        description="Seconds between a serving process's polls of the registry for alias and "
        "traffic changes.",
    )
    serving_cache_dir: Path | None = Field(
        default=None,
        description="Where a serving process keeps its last known configuration, to start "
        "when the metadata store is down; default HOME/serving-cache.",
    )
    serve_max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest request body a serving process accepts.",
    )
    serve_model_workers: int = Field(
        default=4, ge=1, description="Threads of a serving process that run models under a timeout."
    )
    serve_shadow_queue_size: int = Field(
        default=1000,
        ge=1,
        description="Shadow copies waiting beyond which new ones are dropped and counted.",
    )

    scheduler_enabled: bool = Field(
        default=True,
        description="Whether `steward server` runs due monitor windows, running rollouts and "
        "retraining loops in the background.",
    )
    scheduler_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between the scheduler's ticks (monitor windows, rollouts, loops): "
        "the longest a rollout breach waits before its rollback.",
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside `home`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'steward.db').resolve()}"

    @property
    def resolved_predictions_dir(self) -> Path:
        """The prediction-log folder, defaulting to `home/predictions`."""
        return (self.predictions_dir or self.home / "predictions").resolve()

    @property
    def resolved_serving_cache_dir(self) -> Path:
        """The serving cache folder, defaulting to `home/serving-cache`."""
        return (self.serving_cache_dir or self.home / "serving-cache").resolve()

    @property
    def resolved_artifacts_dir(self) -> Path:
        """The artifact folder, defaulting to `home/artifacts`."""
        return (self.artifacts_dir or self.home / "artifacts").resolve()
