"""Reads an MLflow file store with MLflow's own client and prints what it sees as JSON.

Used by test/recorder/mlflow-client.test.ts to check that what qtask wrote is what MLflow reads.
Usage: python read_store.py MLRUNS_DIR
Non-finite floats are printed as the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers).
"""
import json
import math
import os
import pathlib
import sys
import tempfile
import warnings

warnings.simplefilter("ignore")
# MLflow >= 3.x refuses file stores unless this opt-out is set (the backend is in maintenance mode).
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

import mlflow  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def num(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def list_artifacts(client, run_id, path=None):
    out = []
    for f in client.list_artifacts(run_id, path):
        if f.is_dir:
            out.extend(list_artifacts(client, run_id, f.path))
        else:
            out.append({"path": f.path, "size": f.file_size})
    return out


def read_artifact(client, run_id, path, dst):
    local = client.download_artifacts(run_id, path, dst)
    if path.endswith(".json"):
        with open(local, encoding="utf-8") as fh:
            return {"json": json.load(fh)}
    if path.endswith(".csv"):
        try:
            import pandas as pd
        except ImportError:
            return {"pandas": False}
        with open(local, encoding="utf-8") as fh:
            header = fh.readline().strip().split(",")
        if header[:2] == ["datetime", "instrument"]:
            df = pd.read_csv(local, index_col=[0, 1], parse_dates=[0])
            index = [[d.strftime("%Y-%m-%d"), i] for d, i in df.index]
            index_names = list(df.index.names)
            index_dtype = str(df.index.levels[0].dtype)
        else:
            df = pd.read_csv(local)
            index, index_names, index_dtype = None, None, None
        return {
            "pandas": True,
            "columns": [str(c) for c in df.columns],
            "dtypes": [str(t) for t in df.dtypes],
            "index": index,
            "index_names": index_names,
            "index_dtype": index_dtype,
            "values": [[num(float(v)) if isinstance(v, (int, float)) else str(v) for v in row] for row in df.itertuples(index=False)],
        }
    with open(local, "rb") as fh:
        return {"bytes": list(fh.read())}


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    client = MlflowClient(tracking_uri=root.as_uri())
    out = {"mlflow_version": mlflow.__version__, "experiments": []}
    with tempfile.TemporaryDirectory() as dst:
        for exp in client.search_experiments(view_type=ViewType.ALL):
            e = {
                "id": exp.experiment_id,
                "name": exp.name,
                "lifecycle_stage": exp.lifecycle_stage,
                "artifact_location": exp.artifact_location,
                "by_name": (client.get_experiment_by_name(exp.name) or exp).experiment_id,
                "runs": [],
            }
            for run in client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=1000):
                rid = run.info.run_id
                got = client.get_run(rid)
                arts = list_artifacts(client, rid)
                e["runs"].append({
                    "run_id": rid,
                    "run_name": got.info.run_name,
                    "status": got.info.status,
                    "lifecycle_stage": got.info.lifecycle_stage,
                    "start_time": got.info.start_time,
                    "end_time": got.info.end_time,
                    "artifact_uri": got.info.artifact_uri,
                    "params": got.data.params,
                    "metrics": {k: num(v) for k, v in got.data.metrics.items()},
                    "tags": got.data.tags,
                    "metric_history": {
                        k: [[m.timestamp, num(m.value), m.step] for m in client.get_metric_history(rid, k)]
                        for k in got.data.metrics
                    },
                    "artifacts": arts,
                    "artifact_contents": {a["path"]: read_artifact(client, rid, a["path"], dst) for a in arts},
                })
            out["experiments"].append(e)
    json.dump(out, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
