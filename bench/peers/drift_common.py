"""Shared by the drift workers (peers' venvs and Steward's): load, measure, report as JSON.

Imports only the standard library, pandas and pyarrow, so it runs in every venv.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def load(path: str) -> Any:
    import pandas as pd
    import pyarrow as pa

    frame = pd.read_parquet(path)
    gc.collect()
    pa.default_memory_pool().release_unused()
    return frame


def frame_bytes(frame: Any) -> int:
    return int(frame.memory_usage(deep=True).sum())


def rss_bytes(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> None:
    """Reset VmHWM so the next reading is the peak of what runs after this call (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = step()
    return value, time.perf_counter() - start


def emit(record: dict[str, Any]) -> None:
    record["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sys.stdout.write("RESULT " + json.dumps(record) + "\n")
