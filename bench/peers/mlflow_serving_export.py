"""Export the benchmark's scikit-learn model as an MLflow model directory (MLflow's venv).

    bench/.venvs/mlflow/bin/python bench/peers/mlflow_serving_export.py MODEL SAMPLE OUT

MODEL is the fitted estimator pickled by bench/serving.py (same scikit-learn version in
both venvs); SAMPLE a JSON file of a few training rows, {"columns": [...], "data": [...]}.
The model is saved with a signature, as `mlflow.sklearn.log_model` users do, so MLflow's
scoring server checks each request against it (its counterpart of Steward's contract check).
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature


def main() -> None:
    model_path, sample_path, out = (Path(arg) for arg in sys.argv[1:4])
    model = pickle.loads(model_path.read_bytes())
    split = json.loads(sample_path.read_text())
    sample = pd.DataFrame(split["data"], columns=split["columns"])
    if out.exists():
        shutil.rmtree(out)
    signature = infer_signature(sample, model.predict(sample))
    mlflow.sklearn.save_model(model, str(out), signature=signature, input_example=sample.head(2))
    print(f"mlflow {mlflow.__version__}: model saved to {out}")


if __name__ == "__main__":
    main()
