"""The write-ahead segment format: a magic header, then one CRC-checked frame per record.

    segment := MAGIC frame*
    frame   := length:u32le crc32(payload):u32le payload
    payload := the record as one orjson document

A crash can leave the last frame half written (or, after a power loss, the unsynced tail
zero-filled); the reader stops at the first frame whose length or CRC is wrong and reports
how many bytes it skipped. Frames are only ever appended, so nothing valid follows.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

import orjson

from steward.errors import IntegrityError
from steward.predictions.entities import PredictionRecord

__all__ = ["MAGIC", "SegmentContents", "decode_frames", "encode_records", "read_segment"]

MAGIC: Final = b"STWPLOG1"
_HEADER = struct.Struct("<II")
_OPTIONS: Final = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True, slots=True)
class SegmentContents:
    """The intact frames of one segment, and the bytes dropped from its torn end.

    Payloads stay undecoded, so a reader can decode one record at a time and let it go.
    """

    payloads: list[memoryview]
    skipped_bytes: int

    def records(self) -> list[dict[str, Any]]:
        """Every payload decoded: the record's fields as JSON values."""
        return [orjson.loads(payload) for payload in self.payloads]


def encode_records(records: Sequence[PredictionRecord]) -> bytearray:
    """The frames of `records`, concatenated, ready to append to a segment."""
    # One growing buffer: each payload is copied and freed at once, which costs far less
    # than keeping thousands of them alive until a join.
    frames = bytearray()
    for record in records:
        payload = _dumps(record)
        frames += _HEADER.pack(len(payload), zlib.crc32(payload))
        frames += payload
    return frames


def _dumps(record: PredictionRecord) -> bytes:
    try:
        return orjson.dumps(record, default=str, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # e.g. an integer beyond 64 bits, which `default` never sees: keep the row, as text.
        values = {f.name: getattr(record, f.name) for f in fields(record)}
        values["inputs"] = {str(k): str(v) for k, v in record.inputs.items()}
        values["outputs"] = str(record.outputs)
        return orjson.dumps(values, default=str, option=_OPTIONS)


def read_segment(path: Path) -> SegmentContents:
    """Decode a whole segment file (segments are size-bounded by the writer).

    Raises:
        IntegrityError: the file is not a prediction-log segment.
    """
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data):  # the header itself was torn: nothing was acknowledged
            return SegmentContents([], len(data))
        raise IntegrityError(
            f"file {str(path)!r} is not a prediction-log segment: it does not start with "
            f"{MAGIC!r}; move it out of the wal folder"
        )
    return decode_frames(data, len(MAGIC))


def decode_frames(data: bytes, offset: int = 0) -> SegmentContents:
    """The frames from `offset` on, up to the first incomplete, empty or corrupt one."""
    view = memoryview(data)
    payloads: list[memoryview] = []
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = view[start : start + length]
        # Zeros (a power loss's unsynced tail) read as an empty frame with a matching CRC.
        if length == 0 or len(payload) < length or zlib.crc32(payload) != crc:
            break
        payloads.append(payload)
        offset = start + length
    return SegmentContents(payloads, len(data) - offset)
