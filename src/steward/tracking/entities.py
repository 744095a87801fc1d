"""The tracking entities: experiments, runs, metrics, datasets and run artifacts.

Times are aware UTC datetimes, except metric timestamps, which stay integer epoch
milliseconds because a series can hold millions of points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NewType, Protocol

__all__ = [
    "ACTIVE",
    "END_STATUSES",
    "FAILED",
    "FINISHED",
    "KILLED",
    "RUNNING",
    "RUN_STATUSES",
    "Dataset",
    "DatasetId",
    "DatasetInfo",
    "Experiment",
    "ExperimentId",
    "Metric",
    "MetricInput",
    "Run",
    "RunArtifact",
    "RunId",
    "RunInput",
    "RunPage",
]

ExperimentId = NewType("ExperimentId", str)
RunId = NewType("RunId", str)
DatasetId = NewType("DatasetId", str)

RUNNING: Final = "RUNNING"
FINISHED: Final = "FINISHED"
FAILED: Final = "FAILED"
KILLED: Final = "KILLED"
END_STATUSES: Final = (FINISHED, FAILED, KILLED)
RUN_STATUSES: Final = (RUNNING, *END_STATUSES)
ACTIVE: Final = "active"


@dataclass(frozen=True, slots=True)
class Experiment:
    id: ExperimentId
    name: str
    tags: dict[str, str]
    created_at: datetime
    lifecycle: str = ACTIVE


@dataclass(frozen=True, slots=True)
class Metric:
    """One point of a metric series.

    `value` may be NaN or ±inf. On input `step` defaults to 0 and a `timestamp_ms` of None
    means "now" (the store's clock); metrics read back always carry their timestamp.
    """

    key: str
    value: float
    step: int = 0
    timestamp_ms: int | None = None


class MetricInput(Protocol):
    """What `log_metrics` reads from each point: a `Metric`, or an HTTP request item as is.

    `value` may be a numeric string such as "NaN" or "Infinity", as JSON clients send it.
    """

    @property
    def key(self) -> str: ...

    @property
    def value(self) -> float | str: ...

    @property
    def step(self) -> int: ...

    @property
    def timestamp_ms(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class RunArtifact:
    """A file logged to a run: its path inside the run and the blob that holds it."""

    path: str
    digest: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A data snapshot's content fingerprint: what `fingerprint_frame` computes."""

    digest: str
    num_rows: int
    num_columns: int
    schema: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Dataset:
    """A registered data snapshot, unique by (name, digest)."""

    id: DatasetId
    name: str
    digest: str
    num_rows: int
    num_columns: int
    schema: list[dict[str, str]]
    # JSON documents owned by steward.contracts and steward.stats.
    contract: dict[str, Any] | None
    profile: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RunInput:
    """A dataset a run read, and in which role (`training`, `validation`, ...)."""

    dataset_id: DatasetId
    name: str
    digest: str
    context: str


@dataclass(frozen=True, slots=True)
class Run:
    """One training or evaluation execution; `metrics` holds each key's latest value."""

    id: RunId
    experiment_id: ExperimentId
    name: str
    status: str
    start_time: datetime
    end_time: datetime | None
    user: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    # JSON documents from steward.tracking.provenance (or a remote client's capture).
    code_version: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    inputs: list[RunInput] = field(default_factory=list)
    artifacts: list[RunArtifact] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        return self.status == RUNNING


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of `search_runs`; pass `next_page_token` back for the next (None: last page)."""

    runs: list[Run]
    next_page_token: str | None
