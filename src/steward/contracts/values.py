"""What kind of thing one Python value is, by one set of rules for rows and object columns.

The single-row validator and the frame validator (for pandas object columns, which hold
arbitrary Python values) both classify values here, so a value is valid in a request exactly
when it is valid in a batch.
"""

from __future__ import annotations

import decimal
import re
from datetime import UTC, date, datetime, time
from enum import IntEnum

import numpy as np
import pandas as pd

__all__ = [
    "ISO_DATETIME_PATTERN",
    "ValueKind",
    "epoch_us",
    "kind_of",
    "kind_of_type",
    "parse_iso_datetime",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The ISO 8601 forms both parsers (Python's fromisoformat for rows, pandas' for frames) read
# the same way: a full date, then optionally a time to the hour, minute, second or microsecond,
# then optionally Z or an offset.
ISO_DATETIME_PATTERN = (
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_ISO_DATETIME = re.compile(ISO_DATETIME_PATTERN)


class ValueKind(IntEnum):
    """Kinds of values; stored as int8 codes for object columns."""

    NULL = 0
    BOOLEAN = 1
    INTEGER = 2
    FLOAT = 3
    TEXT = 4
    TIMESTAMP = 5
    OTHER = 6


# Exact-type lookup first: it is one dict probe, the common case on the serving hot path.
_KIND_BY_TYPE: dict[type, ValueKind] = {
    type(None): ValueKind.NULL,
    type(pd.NA): ValueKind.NULL,
    type(pd.NaT): ValueKind.NULL,
    bool: ValueKind.BOOLEAN,
    np.bool_: ValueKind.BOOLEAN,
    int: ValueKind.INTEGER,
    float: ValueKind.FLOAT,
    decimal.Decimal: ValueKind.FLOAT,
    str: ValueKind.TEXT,
    datetime: ValueKind.TIMESTAMP,
    date: ValueKind.TIMESTAMP,
    pd.Timestamp: ValueKind.TIMESTAMP,
    np.datetime64: ValueKind.TIMESTAMP,
}
_NUMPY_INTEGERS: tuple[type, ...] = (np.int8, np.int16, np.int32, np.int64, np.intp)
_NUMPY_UNSIGNED: tuple[type, ...] = (np.uint8, np.uint16, np.uint32, np.uint64, np.uintp)
_NUMPY_FLOATS: tuple[type, ...] = (np.float16, np.float32, np.float64)
_KIND_BY_TYPE.update(dict.fromkeys(_NUMPY_INTEGERS + _NUMPY_UNSIGNED, ValueKind.INTEGER))
_KIND_BY_TYPE.update(dict.fromkeys(_NUMPY_FLOATS, ValueKind.FLOAT))

# Subclasses (a user's str subclass, an IntEnum) resolve through issubclass, in this order:
# bool before int because bool is an int subclass in Python.
_KIND_BY_BASE: tuple[tuple[type | tuple[type, ...], ValueKind], ...] = (
    ((bool, np.bool_), ValueKind.BOOLEAN),
    ((int, np.integer), ValueKind.INTEGER),
    ((float, np.floating, decimal.Decimal), ValueKind.FLOAT),
    (str, ValueKind.TEXT),
    ((date, np.datetime64), ValueKind.TIMESTAMP),
)


def kind_of(value: object) -> ValueKind:
    """The kind of one value; NaN, NaT and pd.NA count as NULL, like None."""
    kind = kind_of_type(type(value))
    if kind is ValueKind.FLOAT and value != value:  # NaN is the only value unequal to itself
        return ValueKind.NULL
    if kind is ValueKind.TIMESTAMP and isinstance(value, np.datetime64) and np.isnat(value):
        return ValueKind.NULL
    return kind


def kind_of_type(value_type: type) -> ValueKind:
    """The kind of every value of one Python type (before the NaN and NaT checks)."""
    kind = _KIND_BY_TYPE.get(value_type)
    if kind is not None:
        return kind
    for base, base_kind in _KIND_BY_BASE:
        if issubclass(value_type, base):
            return base_kind
    return ValueKind.OTHER


def parse_iso_datetime(text: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text (naive means UTC); None when it is not one.

    Only `ISO_DATETIME_PATTERN` is read, as on the frame path, so a request and a batch never
    disagree on a piece of text.
    """
    if not _ISO_DATETIME.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def epoch_us(value: object) -> int | None:
    """Microseconds since 1970-01-01 UTC for a timestamp-like value or ISO text; else None.

    Naive datetimes are read as UTC, dates as midnight UTC: the same rules as the frame path.
    """
    if isinstance(value, str):
        value = parse_iso_datetime(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[us]").astype(np.int64))
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
