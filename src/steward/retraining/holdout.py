"""The fresh holdout a challenger and its champion are scored on: a file, or an endpoint's
recent predictions whose labels have arrived (their logged inputs, and the label)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from steward.config import Settings
from steward.errors import InvalidInput, NotFound
from steward.monitoring.windows import parse_duration
from steward.predictions import LabelStore, compact
from steward.predictions.tables import INPUT_PREFIX
from steward.retraining.triggers import EvaluationConfig

__all__ = ["HOLDOUT_LABEL", "holdout_frame", "read_holdout"]

HOLDOUT_LABEL = "label"


def holdout_frame(
    settings: Settings,
    evaluation: EvaluationConfig,
    *,
    now_ms: int,
    default_endpoint: str | None = None,
    since_ms: int | None = None,
) -> pd.DataFrame:
    """The fresh holdout: the file at `evaluation.path`, or the labelled predictions of the
    endpoint over the last `lookback` (from `since_ms` on, if later), one column per logged
    input plus `label`.

    Raises:
        InvalidInput: fewer than `min_rows` labelled rows, or an unreadable file.
        NotFound: no file at `path`.
    """
    if evaluation.path is not None:
        return read_holdout(Path(evaluation.path))
    endpoint = evaluation.endpoint or default_endpoint
    if endpoint is None:
        raise InvalidInput(
            "evaluation needs `path` or `endpoint` (or a rollout endpoint to default to)",
            field="evaluation",
        )
    end = now_ms
    start = end - parse_duration(evaluation.lookback, field="evaluation.lookback")
    start = start if since_ms is None else max(start, since_ms)
    directory = settings.resolved_predictions_dir
    compact(directory)
    table = LabelStore(directory).window(endpoint, start, end)
    table = table.filter(pc.is_valid(table.column(HOLDOUT_LABEL)))
    if table.num_rows < evaluation.min_rows:
        raise InvalidInput(
            f"endpoint {endpoint!r} has {table.num_rows} labelled predictions from "
            f"{start} ms on; the holdout needs at least {evaluation.min_rows} "
            "(post labels, or widen `evaluation.lookback`)",
            field="evaluation.min_rows",
        )
    inputs = [name for name in table.column_names if name.startswith(INPUT_PREFIX)]
    frame: pd.DataFrame = table.select([*inputs, HOLDOUT_LABEL]).to_pandas()
    frame.columns = [c.removeprefix(INPUT_PREFIX) for c in inputs] + [HOLDOUT_LABEL]
    labels = frame[HOLDOUT_LABEL]
    if labels.dtype.kind == "f" and np.all(np.mod(labels.to_numpy(), 1) == 0):
        frame[HOLDOUT_LABEL] = labels.astype("int64")
    return frame


def read_holdout(path: Path) -> pd.DataFrame:
    """A holdout file: .csv or .parquet.

    Raises:
        NotFound: no file at `path`.
        InvalidInput: another kind of file.
    """
    if not path.is_file():
        raise NotFound(f"no holdout file at {str(path)!r}")
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    raise InvalidInput(f"holdout {str(path)!r} must be a .csv or .parquet file", field="holdout")
