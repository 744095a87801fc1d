"""Generated churn-like data: numeric features, one categorical, a binary label."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FEATURES", "make_churn_frame"]

NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "usage_hours", "discount_pct"]
FEATURES = [*NUMERIC, "region"]
REGIONS = np.array(["north", "south", "east", "west"])


def make_churn_frame(rows: int, *, seed: int = 7) -> pd.DataFrame:
    """A frame with FEATURES and a `churned` label that depends on them (with noise)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.gamma(2.0, 12.0, rows).round(1),
            "monthly_charges": rng.normal(70.0, 20.0, rows).clip(10, None).round(2),
            "support_calls": rng.poisson(1.5, rows).astype("int64"),
            "usage_hours": rng.normal(40.0, 12.0, rows).clip(0, None).round(1),
            "discount_pct": rng.choice([0.0, 5.0, 10.0, 20.0], rows),
            "region": rng.choice(REGIONS, rows, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    logit = (
        -0.06 * frame["tenure_months"]
        + 0.03 * (frame["monthly_charges"] - 70)
        + 0.5 * frame["support_calls"]
        - 0.02 * frame["usage_hours"]
        + (frame["region"] == "south") * 0.4
        - 0.3
    )
    probability = 1.0 / (1.0 + np.exp(-logit.to_numpy()))
    frame["churned"] = (rng.random(rows) < probability).astype("int64")
    return frame
