"""Writes a small MLflow file store with MLflow's own client, for qtask to read back.

Used by test/recorder/mlflow-client.test.ts. Usage: python write_store.py MLRUNS_DIR
Prints JSON: {"experiment_id", "run_id", "failed_run_id", "mlflow_version"}.
"""
import json
import os
import pathlib
import sys
import tempfile
import warnings

warnings.simplefilter("ignore")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    client = MlflowClient(tracking_uri=root.as_uri())
    exp_id = client.create_experiment("written by mlflow")
    run = client.create_run(exp_id, run_name="py run", start_time=1700000000000)
    rid = run.info.run_id
    client.log_batch(
        rid,
        metrics=[Metric("loss", 1.0, 1700000000001, 0), Metric("loss", 0.25, 1700000000002, 1), Metric("tiny", 1e-05, 1700000000003, 0)],
        params=[Param("model.class", "LinearModel"), Param("alpha", "0.05")],
        tags=[RunTag("hostname", "py-host")],
    )
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "task.json")
        with open(p, "w", encoding="utf-8") as fh:
            json.dump({"model": {"class": "LinearModel"}}, fh)
        client.log_artifact(rid, p)
        client.log_artifact(rid, p, artifact_path="sub")
    client.set_terminated(rid, status="FINISHED", end_time=1700000000999)
    failed = client.create_run(exp_id, run_name="py failed")
    client.set_terminated(failed.info.run_id, status="FAILED")
    json.dump({"experiment_id": exp_id, "run_id": rid, "failed_run_id": failed.info.run_id, "mlflow_version": mlflow.__version__}, sys.stdout)


if __name__ == "__main__":
    main()
