"""NannyML's UnivariateDriftCalculator on the benchmark frames (run in bench/.venvs/nannyml).

Defaults throughout (Jensen-Shannon for both kinds, 10 chunks, thresholds from the
reference chunks); a column counts as flagged when any analysis chunk alerts.
"""

from __future__ import annotations

import sys

from drift_common import emit, frame_bytes, load, reset_peak, rss_bytes, timed


def main(reference_path: str, current_path: str, categorical: list[str]) -> None:
    import nannyml

    reference, current = load(reference_path), load(current_path)
    columns = list(reference.columns)
    loaded = rss_bytes()
    reset_peak()
    calculator = nannyml.UnivariateDriftCalculator(
        column_names=columns, treat_as_categorical=categorical
    )
    _, fit_s = timed(lambda: calculator.fit(reference))
    results, calc_s = timed(lambda: calculator.calculate(current))
    frame = results.filter(period="analysis").to_df()
    alerts = [key for key in frame.columns if key[-1] == "alert"]
    flagged = sorted({key[0] for key in alerts if bool(frame[key].fillna(False).any())})
    emit(
        {
            "tool": "nannyml",
            "fit_s": fit_s,
            "calculate_s": calc_s,
            "total_s": fit_s + calc_s,
            "flagged": flagged,
            "frames_bytes": frame_bytes(reference) + frame_bytes(current),
            "loaded_rss_bytes": loaded,
            "compute_peak_rss_bytes": rss_bytes("VmHWM"),
        }
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].split(","))
