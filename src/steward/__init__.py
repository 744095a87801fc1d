"""Steward: keep machine-learning models reliable in production.

`import steward` is the SDK: `steward.start_run`, `steward.log_metrics`, `steward.log_model`,
`steward.load_model` and the rest write in-process to the store under `.steward/`, or to a
`steward server` when `STEWARD_TRACKING_URL` is set. The SDK loads on first use, so importing
one capability (`steward.stats`, say) does not pull in the store and the database drivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steward.version import __version__

if TYPE_CHECKING:
    from steward.sdk import *  # noqa: F403

__all__ = [  # noqa: F405 - the names come from the SDK, loaded on first use
    "ActiveRun",
    "Client",
    "__version__",
    "active_run",
    "configure",
    "end_run",
    "get_client",
    "get_model_version",
    "get_run",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_labels",
    "log_metric",
    "log_metrics",
    "log_metrics_batch",
    "log_model",
    "log_param",
    "log_params",
    "search_runs",
    "set_alias",
    "set_experiment",
    "set_tags",
    "start_run",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from steward import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'steward' has no attribute {name!r}")
