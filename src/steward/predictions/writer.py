"""`PredictionLog`: the serving process's writer, off the request path.

`append` only queues records in memory. One background thread per log encodes them,
appends them to this process's write-ahead segment and syncs the file: every
`flush_interval_s` by default, or at once in durable mode, where `append` waits for the
sync that covers its records (group commit: callers waiting together share one sync).
Segments rotate by size and age so compaction can take the sealed ones.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from steward.errors import Conflict, InvalidInput, Unavailable
from steward.predictions.compaction import compact
from steward.predictions.entities import PredictionRecord
from steward.predictions.frames import encode_records
from steward.predictions.layout import wal_dir
from steward.predictions.segments import Segment, create_segment, seal_abandoned
from steward.store.context import Clock, now_ms

if TYPE_CHECKING:
    from steward.config import Settings

__all__ = ["PredictionLog"]

log = logging.getLogger(__name__)


class PredictionLog:
    """Append-only prediction log of one process, in `directory/wal/`.

    Args:
        directory: the prediction log's root folder (shared by every serving process).
        flush_interval_s: longest time an appended record waits before it is written and
            synced in the default mode; also what a SIGKILL can lose, at most.
        durable: when True, `append` returns only once its records are synced to disk.
        max_batch: queued records that trigger a write before the interval is up.
        max_pending: queued records beyond which the default mode drops new records
            (counted in `dropped`) and the durable mode refuses them, so a stalled disk
            cannot exhaust memory.
        segment_max_bytes: size at which a segment is sealed and a new one started.
        segment_max_age_s: age at which a segment is sealed, so compaction sees it.
        compact_on_start: compact what dead processes left, in a background thread.
        clock: epoch milliseconds; decides segment ages.

    Raises:
        InvalidInput: a size or interval is not positive.
        OSError: the folder cannot be created.
    """

    def __init__(
        self,
        directory: Path,
        *,
        flush_interval_s: float = 1.0,
        durable: bool = False,
        max_batch: int = 10_000,
        max_pending: int = 200_000,
        segment_max_bytes: int = 16 * 1024 * 1024,
        segment_max_age_s: float = 60.0,
        compact_on_start: bool = True,
        clock: Clock = now_ms,
    ) -> None:
        _check_positive(
            flush_interval_s=flush_interval_s,
            max_batch=max_batch,
            max_pending=max_pending,
            segment_max_bytes=segment_max_bytes,
            segment_max_age_s=segment_max_age_s,
        )
        self.directory = Path(directory)
        self.durable = durable
        self._flush_interval_s = flush_interval_s
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._segment_max_bytes = segment_max_bytes
        self._segment_max_age_ms = segment_max_age_s * 1000
        self._clock = clock
        self._wal = wal_dir(self.directory)
        self._wal.mkdir(parents=True, exist_ok=True)
        seal_abandoned(self._wal)
        self._name = f"{os.getpid()}-{clock()}-{os.urandom(3).hex()}"
        self._seq = 0
        self._segment: Segment | None = None

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the writer waits on it
        self._done = threading.Condition(self._lock)  # durable callers wait on it
        self._pending: list[PredictionRecord] = []
        self._accepted = 0  # records accepted so far: a caller's ticket is this count
        self._durable_upto = 0
        self._flush_upto = 0  # flush() asked for everything up to here to be written now
        self._failed_upto = 0
        self._dropped = 0
        self._error: Exception | None = None
        self._is_backing_off = False
        self._is_closing = False
        self._is_stopped = False
        self._wants_seal = False
        self._thread = threading.Thread(target=self._run, name="steward-prediction-log")
        self._thread.daemon = True
        self._thread.start()
        if compact_on_start:
            compactor = threading.Thread(target=self._compact, name="steward-prediction-compact")
            compactor.daemon = True  # safe to stop anywhere: compaction is journaled
            compactor.start()
        atexit.register(self.close)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        directory: Path | None = None,
        flush_interval_s: float | None = None,
        durable: bool | None = None,
    ) -> PredictionLog:
        """A log configured by `settings` (`STEWARD_PREDICTION_*`), each argument overriding."""
        return cls(
            directory or settings.resolved_predictions_dir,
            flush_interval_s=flush_interval_s or settings.prediction_flush_interval_s,
            durable=settings.prediction_durable if durable is None else durable,
            max_pending=settings.prediction_max_pending,
            segment_max_bytes=settings.prediction_segment_max_bytes,
            segment_max_age_s=settings.prediction_segment_max_age_s,
        )

    @property
    def dropped(self) -> int:
        """Records refused because `max_pending` were already queued (default mode)."""
        return self._dropped

    @property
    def pending(self) -> int:
        """Records accepted but not yet written."""
        return len(self._pending)

    def append(self, records: Sequence[PredictionRecord]) -> None:
        """Queue `records`; in durable mode, wait until they are synced to disk.

        Raises:
            Conflict: the log is closed.
            Unavailable: durable mode only: the write or sync failed, or the queue is full.
                The records stay queued and are retried; they may still be written.
        """
        with self._lock:
            if self._is_closing:
                raise Conflict(f"prediction log at {str(self.directory)!r} is closed")
            if len(self._pending) + len(records) > self._max_pending:
                self._overflow(len(records))
                return
            self._pending.extend(records)
            self._accepted += len(records)
            ticket = self._accepted
            if self.durable or len(self._pending) >= self._max_batch:
                self._wake.notify()
        if self.durable:
            self._wait_durable(ticket)

    def flush(self, *, seal: bool = False) -> None:
        """Write and sync everything appended so far; `seal` also seals the segment.

        Raises:
            Unavailable: the write or sync failed.
        """
        with self._lock:
            ticket = self._flush_upto = self._accepted
            self._wants_seal = self._wants_seal or seal
            self._wake.notify()
        self._wait_durable(ticket, seal=seal)

    def close(self) -> None:
        """Write and sync everything accepted, seal the segment and stop. Idempotent.

        Raises:
            Unavailable: some records could not be written (the error says how many and why).
        """
        with self._lock:
            self._is_closing = True
            self._wake.notify()
        self._thread.join()
        atexit.unregister(self.close)
        if self._pending:
            raise Unavailable(
                f"prediction log at {str(self.directory)!r}: {len(self._pending)} records "
                f"could not be written: {self._error}"
            )

    def _overflow(self, count: int) -> None:
        if self.durable:
            raise Unavailable(
                f"prediction log at {str(self.directory)!r} already holds {len(self._pending)} "
                f"unwritten records (max_pending={self._max_pending}); the disk is not keeping "
                "up, retry later"
            )
        if self._dropped == 0:
            log.warning("prediction log full, dropping records max_pending=%d", self._max_pending)
        self._dropped += count

    def _wait_durable(self, ticket: int, *, seal: bool = False) -> None:
        with self._lock:
            while self._durable_upto < ticket or (seal and self._wants_seal):
                if self._failed_upto >= ticket or self._is_stopped:
                    raise Unavailable(
                        f"prediction log at {str(self.directory)!r} could not write to disk: "
                        f"{self._error or 'the log is closed'}; the records stay queued"
                    )
                self._done.wait()

    def _run(self) -> None:
        try:
            while self._step():
                pass
        finally:
            self._close_segment()
            with self._lock:
                self._is_stopped = True
                self._done.notify_all()

    def _step(self) -> bool:
        """Wait for work, then write one batch. False once closing and done."""
        with self._lock:
            self._wait_for_work()
            batch, self._pending = self._pending, []
            upto, is_closing, wants_seal = self._accepted, self._is_closing, self._wants_seal
        error = self._write(batch)
        if error is None:
            self._rotate(force=wants_seal or is_closing)
        with self._lock:
            if error is None:
                self._durable_upto, self._error, self._is_backing_off = upto, None, False
                self._wants_seal = self._wants_seal and not wants_seal
            else:
                self._pending[:0] = batch  # nothing accepted is dropped: retried next time
                self._failed_upto, self._error, self._is_backing_off = upto, error, True
            self._done.notify_all()
            return not is_closing or (error is None and bool(self._pending))

    def _wait_for_work(self) -> None:
        deadline = time.monotonic() + self._flush_interval_s
        while not self._is_closing:
            is_urgent = self._wants_seal or self._flush_upto > self._durable_upto
            if self._pending and (self.durable or len(self._pending) >= self._max_batch):
                is_urgent = True
            remaining = deadline - time.monotonic()
            if (is_urgent and not self._is_backing_off) or remaining <= 0:
                return
            self._wake.wait(remaining)

    def _write(self, batch: list[PredictionRecord]) -> Exception | None:
        if not batch:
            return None
        good_size: int | None = None
        try:
            segment = self._segment or self._new_segment()
            good_size = segment.size
            segment.append(encode_records(batch))
            segment.sync()
        except Exception as exc:  # disk full, I/O error: keep the records, retry later
            log.warning("prediction log write failed records=%d error=%s", len(batch), exc)
            self._abandon_segment(good_size)
            return exc
        return None

    def _new_segment(self) -> Segment:
        name = f"{self._name}-{self._seq:06d}"
        self._seq += 1
        self._segment = create_segment(self._wal, name, self._clock())
        return self._segment

    def _abandon_segment(self, good_size: int | None) -> None:
        """After a failed write or sync, seal the segment as it was before the batch."""
        segment, self._segment = self._segment, None
        if segment is None:
            return
        try:
            if good_size is not None:
                os.truncate(segment.path, good_size)
            segment.seal()
        except OSError as exc:  # the lock is released: the next start-up recovers it
            log.warning("prediction segment seal failed path=%s error=%s", segment.path, exc)
            segment.close()

    def _rotate(self, *, force: bool) -> None:
        segment = self._segment
        if segment is None:
            return
        is_old = self._clock() - segment.created_ms >= self._segment_max_age_ms
        if force or is_old or segment.size >= self._segment_max_bytes:
            self._close_segment()

    def _close_segment(self) -> None:
        segment, self._segment = self._segment, None
        if segment is None:
            return
        try:
            segment.seal()
        except OSError as exc:  # its data is synced; the next start-up seals it
            log.warning("prediction segment seal failed path=%s error=%s", segment.path, exc)

    def _compact(self) -> None:
        try:
            compact(self.directory)
        except Exception as exc:  # the next compaction retries; nothing is lost
            log.warning("prediction log start-up compaction failed error=%s", exc)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise InvalidInput(
                f"prediction log setting {name} must be a positive number, got {value!r}",
                field=name,
            )
