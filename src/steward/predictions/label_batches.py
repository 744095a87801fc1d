"""A batch of labels: checked field by field, then turned into one Arrow table to store.

Also the other way in: labels from an Arrow table (a CSV, Parquet or JSON-lines file, a
data frame) or from plain dicts, so the CLI and the SDK read them the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import pyarrow as pa

from steward.errors import InvalidInput
from steward.predictions.label_entities import Label, LabelValue

__all__ = [
    "LABEL_SCHEMA",
    "OUTCOME_PREFIX",
    "label_table",
    "labels_from_rows",
    "labels_from_table",
    "validate_labels",
]

OUTCOME_PREFIX: Final = "outcome_"
# The fixed columns of a label file; `outcome_<name>` (float64) columns follow.
LABEL_SCHEMA: Final = pa.schema(
    [
        ("prediction_id", pa.string()),
        ("label_value", pa.float64()),  # null when the label is not a number
        ("label_text", pa.string()),  # the label's string form, null when none was sent
        ("labelled_at_ms", pa.int64()),
        ("received_at_ms", pa.int64()),
        ("batch_id", pa.string()),
        ("batch_seq", pa.int64()),  # orders batches, even within one millisecond
        ("batch_row", pa.int32()),  # orders labels within a batch
    ]
)
MAX_ID_CHARS: Final = 200
MAX_TEXT_CHARS: Final = 1000
MAX_AT_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_OUTCOME_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,62}")
_MAX_DETAILS: Final = 100

_ID_RULE: Final = f"a non-empty string of at most {MAX_ID_CHARS} characters"
_LABEL_RULE: Final = (
    f"a finite number, a boolean, a non-empty string of at most {MAX_TEXT_CHARS} "
    "characters, or null"
)
_AT_RULE: Final = f"null or an integer of epoch milliseconds from 0 to {MAX_AT_MS}"
_OUTCOMES_RULE: Final = "an object of outcome name to number"
_OUTCOME_NAME_RULE: Final = (
    "lowercase letters, digits and _, starting with a letter, at most 63 characters"
)


def validate_labels(labels: Sequence[Label]) -> None:
    """Check every label; the error names each bad label's index, field and value.

    Raises:
        InvalidInput: any label is malformed; `details` lists up to 100 problems as
            `{"index", "field", "value", "expected"}`.
    """
    problems = [
        (i, "", label, "a Label") for i, label in enumerate(labels) if not isinstance(label, Label)
    ]
    if not problems:
        problems = [
            *_bad_values(labels, "prediction_id", _is_id, _ID_RULE),
            *_bad_values(labels, "label", _is_label_value, _LABEL_RULE),
            *_bad_values(labels, "at_ms", _is_at_ms, _AT_RULE),
            *_bad_outcomes(labels),
            *_empty_labels(labels),
        ]
    if problems:
        raise _invalid(sorted(problems, key=lambda problem: problem[0]))


def label_table(
    labels: Sequence[Label], *, received_at_ms: int, batch_id: str, sequence: int
) -> pa.Table:
    """The batch as the columns of a label file (see `LABEL_SCHEMA`); labels are valid."""
    rows = len(labels)
    columns = [
        pa.array([label.prediction_id for label in labels], pa.string()),
        pa.array([_number(label.label) for label in labels], pa.float64()),
        pa.array([_text(label.label) for label in labels], pa.string()),
        pa.array(
            [received_at_ms if label.at_ms is None else label.at_ms for label in labels],
            pa.int64(),
        ),
        pa.repeat(pa.scalar(received_at_ms, pa.int64()), rows),
        pa.repeat(pa.scalar(batch_id, pa.string()), rows),
        pa.repeat(pa.scalar(sequence, pa.int64()), rows),
        pa.array(range(rows), pa.int32()),
    ]
    table = pa.Table.from_arrays(columns, schema=LABEL_SCHEMA)
    for name in sorted({name for label in labels for name in label.outcomes}):
        values = [label.outcomes.get(name) for label in labels]
        outcome = pa.array([None if v is None else float(v) for v in values], pa.float64())
        table = table.append_column(f"{OUTCOME_PREFIX}{name}", outcome)
    return table


def labels_from_table(table: pa.Table, outcomes: Sequence[str] = ()) -> list[Label]:
    """Labels from columns `prediction_id`, `label`, `at_ms` and outcome columns.

    Outcome columns are those named `outcome_<name>`, the fields of a struct column
    `outcomes` (JSON lines with an `outcomes` object), and the columns named in `outcomes`
    (their names are the outcome names). Nulls and NaNs mean "not sent"; other columns are
    ignored. Values are checked later, by `validate_labels`.

    Raises:
        InvalidInput: `prediction_id` is missing, a column named in `outcomes` is missing,
            or there is neither a `label` column nor any outcome column.
    """
    table = table.flatten()  # a struct column `outcomes` becomes `outcomes.<name>` columns
    names = table.column_names
    if "prediction_id" not in names:
        raise InvalidInput(
            f"labels need a 'prediction_id' column; the columns are {names}",
            field="prediction_id",
        )
    missing = [name for name in outcomes if name not in names]
    if missing:
        raise InvalidInput(
            f"outcome column(s) {missing} not found; the columns are {names}", field="outcomes"
        )
    sources = _outcome_sources(names, outcomes)
    if "label" not in names and not sources:
        raise InvalidInput(
            f"labels need a 'label' column or outcome columns (outcome_<name>); the columns "
            f"are {names}",
            field="label",
        )
    return _labels_of_columns(table, sources)


def labels_from_rows(
    rows: Iterable[Mapping[str, Any]], outcomes: Sequence[str] = ()
) -> list[Label]:
    """Labels from dicts with keys `prediction_id`, `label`, `outcomes` (a dict), `at_ms`,
    `outcome_<name>`, and the keys named in `outcomes`; values are checked later.

    Raises:
        InvalidInput: a row is not a dict.
    """
    return [_label_of_row(i, row, outcomes) for i, row in enumerate(rows)]


def _label_of_row(index: int, row: Mapping[str, Any], outcomes: Sequence[str]) -> Label:
    if not isinstance(row, Mapping):
        raise InvalidInput(
            f"labels[{index}] expects an object with prediction_id, label and/or outcomes, "
            f"got {_shown(row)!r}",
            field=f"labels[{index}]",
        )
    sent = row.get("outcomes")
    sent = {} if sent is None else sent
    if isinstance(sent, Mapping):
        sent = dict(sent)
        sent.update(
            (key.removeprefix(OUTCOME_PREFIX), value)
            for key, value in row.items()
            if isinstance(key, str) and key.startswith(OUTCOME_PREFIX) and _sent(value) is not None
        )
        sent.update((key, row[key]) for key in outcomes if _sent(row.get(key)) is not None)
    # Any: the caller's values, passed on as they are for validate_labels to name.
    prediction_id: Any = row.get("prediction_id")
    return Label(prediction_id, _sent(row.get("label")), sent, row.get("at_ms"))


def _labels_of_columns(table: pa.Table, sources: dict[str, str]) -> list[Label]:
    rows = table.num_rows
    ids = table.column("prediction_id").to_pylist()
    values = _column(table, "label", rows)
    at_ms = _column(table, "at_ms", rows)
    outcome_columns = [_column(table, column, rows) for column in sources.values()]
    keys = list(sources)
    return [
        Label(
            prediction_id,
            _sent(value),
            {k: v for k, v in zip(keys, outcome_row, strict=True) if _sent(v) is not None},
            at,
        )
        for prediction_id, value, at, *outcome_row in zip(
            ids, values, at_ms, *outcome_columns, strict=True
        )
    ]


def _outcome_sources(names: Sequence[str], outcomes: Sequence[str]) -> dict[str, str]:
    """Outcome name -> the column holding it."""
    sources = {n.removeprefix(OUTCOME_PREFIX): n for n in names if n.startswith(OUTCOME_PREFIX)}
    sources.update({n.removeprefix("outcomes."): n for n in names if n.startswith("outcomes.")})
    sources.update({name: name for name in outcomes})
    return sources


def _column(table: pa.Table, name: str, rows: int) -> list[Any]:  # Any: a file's values
    return table.column(name).to_pylist() if name in table.column_names else [None] * rows


def _sent(value: Any) -> Any:  # Any: a file's value; NaN is a missing value in data frames
    return None if isinstance(value, float) and math.isnan(value) else value


# -- checks -------------------------------------------------------------------------------

Problem = tuple[int, str, Any, str]  # index, field, value received, what is accepted


def _bad_values(
    labels: Sequence[Label], field: str, is_valid: Callable[[Any], bool], rule: str
) -> list[Problem]:
    values = [getattr(label, field) for label in labels]
    return [(i, field, value, rule) for i, value in enumerate(values) if not is_valid(value)]


def _bad_outcomes(labels: Sequence[Label]) -> list[Problem]:
    problems: list[Problem] = []
    for i, label in enumerate(labels):
        if not isinstance(label.outcomes, Mapping):
            problems.append((i, "outcomes", label.outcomes, _OUTCOMES_RULE))
            continue
        for name, value in label.outcomes.items():
            if not (isinstance(name, str) and _OUTCOME_NAME.fullmatch(name)):
                problems.append((i, "outcomes", name, f"outcome names of {_OUTCOME_NAME_RULE}"))
            elif not _is_number(value):
                problems.append((i, f"outcomes.{name}", value, "a finite number"))
    return problems


def _empty_labels(labels: Sequence[Label]) -> list[Problem]:
    return [
        (i, "label", None, "a label or at least one outcome")
        for i, label in enumerate(labels)
        if label.label is None and isinstance(label.outcomes, Mapping) and not label.outcomes
    ]


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS


def _is_label_value(value: Any) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_TEXT_CHARS
    return value is None or _is_number(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2**1023  # fits a float64
    return isinstance(value, float) and math.isfinite(value)


def _is_at_ms(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AT_MS


def _invalid(problems: list[Problem]) -> InvalidInput:
    index, field, value, rule = problems[0]
    where = f"labels[{index}].{field}" if field else f"labels[{index}]"
    more = f" ({len(problems)} problems in all)" if len(problems) > 1 else ""
    details = [
        {"index": i, "field": f, "value": _shown(v), "expected": r}
        for i, f, v, r in problems[:_MAX_DETAILS]
    ]
    return InvalidInput(
        f"{where} expects {rule}, got {_shown(value)!r}{more}; nothing was stored",
        field=where,
        details=details,
    )


def _shown(value: Any) -> Any:  # Any: a caller's value, made JSON-safe and short
    if value is None or (isinstance(value, bool | int) and abs(value) < 2**63):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 100 else f"{text[:97]}..."


def _number(value: LabelValue | None) -> float | None:
    return None if value is None or isinstance(value, str) else float(value)


def _text(value: LabelValue | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
