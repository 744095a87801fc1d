"""Evidently's DataDriftPreset on the benchmark frames (run in bench/.venvs/evidently)."""

from __future__ import annotations

import sys

from drift_common import emit, frame_bytes, load, reset_peak, rss_bytes, timed


def main(reference_path: str, current_path: str, categorical: list[str]) -> None:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference, current = load(reference_path), load(current_path)
    numeric = [c for c in reference.columns if c not in categorical]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    loaded = rss_bytes()
    reset_peak()

    def run() -> dict:
        ref = Dataset.from_pandas(reference, data_definition=definition)
        cur = Dataset.from_pandas(current, data_definition=definition)
        return Report([DataDriftPreset()]).run(cur, ref).dict()

    snapshot, seconds = timed(run)
    flagged = []
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        is_p_value = "p_value" in config["method"]
        value, threshold = metric["value"], config["threshold"]
        if (value < threshold) if is_p_value else (value >= threshold):
            flagged.append(config["column"])
    emit(
        {
            "tool": "evidently",
            "calculate_s": seconds,
            "total_s": seconds,
            "flagged": sorted(flagged),
            "frames_bytes": frame_bytes(reference) + frame_bytes(current),
            "loaded_rss_bytes": loaded,
            "compute_peak_rss_bytes": rss_bytes("VmHWM"),
        }
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].split(","))
