"""A serving process in miniature, for the crash tests: it appends until stopped.

    python appender.py DIRECTORY durable|default FLUSH_INTERVAL_S [term]

Appends records `p0`, `p1`, ... in batches of 10 and, after each `append` returns, prints
`ack <count> <monotonic time>`: in durable mode that count is acknowledged as on disk. With
`term`, SIGTERM makes the loop stop and close the log (as the server's shutdown does), then
it prints `closed <count>`.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from steward.predictions import PredictionLog
from tests.predictions.records import make_record

BATCH = 10


def main() -> None:
    directory, mode, interval = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    stopping = []
    if sys.argv[4:] == ["term"]:
        # The handler only sets a flag: close() takes the log's lock, which the interrupted
        # code may hold.
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    log = PredictionLog(
        directory, durable=mode == "durable", flush_interval_s=interval, compact_on_start=False
    )
    count = 0
    while not stopping:
        log.append([make_record(i) for i in range(count, count + BATCH)])
        count += BATCH
        print(f"ack {count} {time.monotonic()}", flush=True)
        time.sleep(0.002)  # pacing: about 5,000 records/s, a busy serving process
    log.close()
    print(f"closed {count}", flush=True)


if __name__ == "__main__":
    main()
