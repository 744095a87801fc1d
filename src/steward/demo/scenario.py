"""`steward demo`: train, track, register with lineage, set the champion, load it back,
serve it behind an endpoint and send it traffic."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from steward.config import Settings
from steward.demo.data import FEATURES, make_churn_frame
from steward.demo.retrain import build_model
from steward.demo.serving import ENDPOINT, ServingSummary, serve_and_send_traffic
from steward.registry import ModelVersion
from steward.sdk import Client

__all__ = ["DemoResult", "run_demo"]

EXPERIMENT = "churn-demo"
MODEL = "churn"
LOOK_AROUND = (
    f"steward runs list -e {EXPERIMENT}",
    f"steward models versions {MODEL}",
    "steward audit list",
    "steward audit verify",
    f"steward endpoints show {ENDPOINT}",
    f"steward serve --endpoint {ENDPOINT} --port 8080   # the data plane",
    f"steward monitors show {ENDPOINT} --metric drift.psi",
    "steward alerts list",
    f"steward retrain history {MODEL}",
    "steward rollouts list",
    "steward server   # then open http://127.0.0.1:8000/docs",
)

Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoResult:
    run_id: str
    model_version: int
    holdout_auc: float
    holdout_accuracy: float
    serving: ServingSummary


def run_demo(
    settings: Settings, *, rows: int = 5000, echo: Echo = print, serve: bool = False
) -> DemoResult:
    """Run the scenario against the configured store and narrate it through `echo`; with
    `serve`, leave the control plane and the endpoint running until interrupted."""
    started = time.perf_counter()
    frame = make_churn_frame(rows)
    train, holdout = train_test_split(
        frame, test_size=0.25, random_state=7, stratify=frame["churned"]
    )
    echo(f"1. Generated {rows} rows of churn data ({len(FEATURES)} features, label 'churned').")
    client = Client(settings)
    try:
        run_id, version = _train_and_register(client, train, holdout, echo)
        client.set_alias(MODEL, version.version, "champion")
        echo(f"4. Set alias champion -> {MODEL} v{version.version} (an audit event records it).")
        auc, accuracy = _score_champion(client, holdout, echo)
    finally:
        client.close()

    def look_around() -> None:
        elapsed = time.perf_counter() - started
        echo(f"Done in {elapsed:.1f}s. Everything is stored under {settings.home}/. Look around:")
        for line in LOOK_AROUND:
            echo(f"  {line}")

    serving = serve_and_send_traffic(
        settings, MODEL, holdout, echo, serve=serve, epilogue=look_around
    )
    if not serve:
        look_around()
    return DemoResult(run_id, version.version, auc, accuracy, serving)


def _train_and_register(
    client: Client, train: pd.DataFrame, holdout: pd.DataFrame, echo: Echo
) -> tuple[str, ModelVersion]:
    client.set_experiment(EXPERIMENT)
    params = {"model": "logistic_regression", "C": 1.0}
    with client.start_run("logreg-baseline", params=params) as run:
        model = build_model(1.0)
        # A learning curve: the same model on growing shares of the training data.
        for step, share in enumerate((0.25, 0.5, 1.0), start=1):
            part = train.sample(frac=share, random_state=step)
            model.fit(part[FEATURES], part["churned"])
            scores = model.predict_proba(holdout[FEATURES])[:, 1]
            auc = float(roc_auc_score(holdout["churned"], scores))
            client.log_metrics({"holdout_auc": auc, "train_rows": float(len(part))}, step=step)
        version = client.log_model(
            model,
            MODEL,
            training_data=train[FEATURES],
            description="logistic regression on generated churn data",
        )
    echo(f"2. Trained a scikit-learn pipeline; run {run.id} recorded params, metrics, code, env.")
    echo(
        f"3. Registered {MODEL} v{version.version} (sha256 {version.artifact_digest[:12]}...) "
        "with its training data's fingerprint, contract and profile."
    )
    return run.id, version


def _score_champion(client: Client, holdout: pd.DataFrame, echo: Echo) -> tuple[float, float]:
    champion = client.load_model(f"models:/{MODEL}@champion")
    predictions = champion.predict(holdout[FEATURES])
    scores = champion.predict_proba(holdout[FEATURES])[:, 1]
    auc = float(roc_auc_score(holdout["churned"], scores))
    accuracy = float(accuracy_score(holdout["churned"], predictions))
    echo(
        f"5. Loaded models:/{MODEL}@champion (hash verified), scored {len(holdout)} holdout rows: "
        f"ROC AUC {auc:.3f}, accuracy {accuracy:.3f}."
    )
    return auc, accuracy
