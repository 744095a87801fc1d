"""Steward's side of bench/drift.py: profile the reference, report on the current frame.

Run by bench/drift.py in Steward's own venv, one process per measurement, so its peak
memory is its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from drift_common import emit, frame_bytes, load, reset_peak, rss_bytes, timed


def main(reference_path: str, current_path: str) -> None:
    from steward.stats import drift_report, profile

    reference, current = load(reference_path), load(current_path)
    loaded = rss_bytes()
    reset_peak()
    baseline, profile_s = timed(lambda: profile(reference))
    report, report_s = timed(lambda: drift_report(baseline, current))
    multivariate = report.multivariate
    emit(
        {
            "tool": "steward",
            "fit_s": profile_s,
            "calculate_s": report_s,
            "total_s": profile_s + report_s,
            "flagged": sorted(report.drifted_columns),
            "multivariate_drifted": bool(multivariate and multivariate.is_drifted),
            "frames_bytes": frame_bytes(reference) + frame_bytes(current),
            "loaded_rss_bytes": loaded,
            "compute_peak_rss_bytes": rss_bytes("VmHWM"),
        }
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
