#!/usr/bin/env python3
"""Golden values for qtask's processors, computed by qlib 0.9.7's own processor classes on a small
deterministic panel with NaN, ±inf, ties, a one-stock day and a constant column.

    python scripts/golden/processors_golden.py > test/fixtures/golden/processors_qlib.json
"""
import json
import math
import os
import tempfile

os.chdir(tempfile.mkdtemp(prefix="qlib-proc-"))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import qlib  # noqa: E402
from qlib.data.dataset import processor as P  # noqa: E402

rng = np.random.default_rng(7)
dates = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"])
insts = ["A", "B", "C", "D", "E", "F"]
rows = [(d, i) for d in dates for i in insts if not (d == dates[3] and i != "A")]  # 2020-01-07: one stock
index = pd.MultiIndex.from_tuples(rows, names=["datetime", "instrument"])
n = len(index)
f1 = rng.normal(size=n).round(3)
f1[[2, 9]] = np.nan
f1[4] = np.inf
f1[11] = -np.inf
f2 = np.round(rng.normal(size=n) * 10) / 10  # ties
f2[[0, 1]] = f2[2]
f3 = np.full(n, 2.5)  # constant
lab = rng.normal(size=n).round(4) / 100
lab[[3, 8, 20]] = np.nan
cols = pd.MultiIndex.from_tuples([("feature", "f1"), ("feature", "f2"), ("feature", "f3"), ("label", "LABEL0")])
base = pd.DataFrame(np.stack([f1, f2, f3, lab], axis=1).astype(np.float32), index=index, columns=cols)

FIT = dict(fit_start_time="2020-01-02", fit_end_time="2020-01-06")
CASES = {
    "ZScoreNorm_feature": (P.ZScoreNorm, dict(FIT, fields_group="feature")),
    "RobustZScoreNorm_feature": (P.RobustZScoreNorm, dict(FIT, fields_group="feature")),
    "RobustZScoreNorm_noclip": (P.RobustZScoreNorm, dict(FIT, fields_group="feature", clip_outlier=False)),
    "MinMaxNorm_feature": (P.MinMaxNorm, dict(FIT, fields_group="feature")),
    "CSZScoreNorm_all": (P.CSZScoreNorm, dict(fields_group=None)),
    "CSZScoreNorm_robust_feature": (P.CSZScoreNorm, dict(fields_group="feature", method="robust")),
    "CSRankNorm_all": (P.CSRankNorm, dict(fields_group=None)),
    "ProcessInf": (P.ProcessInf, dict()),
    "Fillna_feature": (P.Fillna, dict(fields_group="feature")),
    "CSZFillna_feature": (P.CSZFillna, dict(fields_group="feature")),
    "DropnaLabel": (P.DropnaLabel, dict()),
    "DropnaProcessor_feature": (P.DropnaProcessor, dict(fields_group="feature")),
}


def enc(x):
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def frame(df):
    return {
        "dates": [d.strftime("%Y-%m-%d") for d in df.index.get_level_values(0)],
        "instruments": list(df.index.get_level_values(1)),
        "columns": [c[1] for c in df.columns],
        "groups": [c[0] for c in df.columns],
        "values": [[enc(v) for v in df[c].to_numpy(dtype=np.float64)] for c in df.columns],
    }


out = {"qlib": qlib.__version__, "pandas": pd.__version__, "numpy": np.__version__, "input": frame(base), "cases": {}}
for name, (cls, kw) in CASES.items():
    proc = cls(**kw)
    df = base.copy()
    proc.fit(df)
    res = proc(df)
    out["cases"][name] = {"class": cls.__name__, "kwargs": kw, "output": frame(res)}
print(json.dumps(out))
