"""qlib side of bench/collect.ts: copies qtask's 50 rolling runs (task.json + pred.csv) into qlib's own
MLflow file store as pickles (pred.pkl, task), then times qlib 0.9.7's
RecorderCollector(process_list=RollingGroup(), rec_key_func=(model class, test segment)) on them.

usage: python collect_qlib.py QTASK_EXPERIMENT_DIR WORK_DIR REPEATS
prints one JSON line: {"setup_s", "collect_s": [...], "collect_cpu_s": [...], "rows", "out_csv"}
"""
import json
import os
import sys
import time

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
import logging

import pandas as pd
import qlib

src, work, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(os.path.join(work, "provider"), exist_ok=True)
qlib.init(
    provider_uri=os.path.join(work, "provider"),
    exp_manager={"class": "MLflowExpManager", "module_path": "qlib.workflow.expm",
                 "kwargs": {"uri": "file:" + os.path.join(work, "qlib_mlruns"), "default_exp_name": "Experiment"}},
    logging_level=logging.WARNING,
)
from qlib.model.ens.group import RollingGroup  # noqa: E402
from qlib.workflow import R  # noqa: E402
from qlib.workflow.task.collect import RecorderCollector  # noqa: E402

t0 = time.perf_counter()
runs = sorted(d for d in os.listdir(src) if os.path.isfile(os.path.join(src, d, "meta.yaml")))
for run in runs:
    art = os.path.join(src, run, "artifacts")
    with open(os.path.join(art, "task.json")) as f:
        task = json.load(f)
    pred = pd.read_csv(os.path.join(art, "pred.csv"), index_col=[0, 1], parse_dates=[0])
    with R.start(experiment_name="bench_collect"):
        R.save_objects(**{"pred.pkl": pred, "task": task})
setup_s = time.perf_counter() - t0


def rec_key(recorder):
    task = recorder.load_object("task")
    return task["model"]["class"], tuple(task["dataset"]["kwargs"]["segments"]["test"])


times = []
cpu_times = []
out = None
for _ in range(repeats):
    t = time.perf_counter()
    c = time.process_time()
    out = RecorderCollector(experiment="bench_collect", process_list=RollingGroup(), rec_key_func=rec_key)()
    times.append(time.perf_counter() - t)
    cpu_times.append(time.process_time() - c)
(group_key, merged), = out["pred"].items()
out_csv = os.path.join(work, "qlib_rolling.csv")
merged.to_csv(out_csv, float_format="%.17g")
print(json.dumps({"setup_s": setup_s, "collect_s": times, "collect_cpu_s": cpu_times, "rows": int(len(merged)), "group": list(group_key), "runs": len(runs), "out_csv": out_csv}))
