#!/usr/bin/env python3
"""qlib's own Alpha158/Alpha360 feature lists (and two custom Alpha158DL configs), for
test/data/handler-configs.test.ts. Needs only pyqlib (no data).

    python scripts/golden/feature_configs.py > test/fixtures/golden/qlib_feature_configs.json
"""
import json
import os
import tempfile

os.chdir(tempfile.mkdtemp(prefix="qlib-configs-"))
import qlib  # noqa: E402
from qlib.contrib.data.loader import Alpha158DL, Alpha360DL  # noqa: E402
from qlib.contrib.data.handler import Alpha158  # noqa: E402

CUSTOM = [
    {"kbar": {}, "price": {"windows": [0, 1, 2], "feature": ["OPEN", "CLOSE"]}, "volume": {"windows": [0, 3]},
     "rolling": {"windows": [5, 20], "include": ["ROC", "LOW", "CORD", "VSUMD"]}},
    {"volume": {}, "rolling": {"windows": [10], "exclude": ["RANK", "BETA", "RSQR", "RESI", "IMXD"]}},
]


def pair(fc):
    fields, names = fc
    return {"fields": list(fields), "names": list(names)}


doc = {
    "qlib": qlib.__version__,
    "alpha158_default": pair(Alpha158.get_feature_config(Alpha158.__new__(Alpha158))),
    "alpha158_label": pair(Alpha158.get_label_config(Alpha158.__new__(Alpha158))),
    "alpha360": pair(Alpha360DL.get_feature_config()),
    "alpha158dl_custom": [{"config": c, **pair(Alpha158DL.get_feature_config(c))} for c in CUSTOM],
}
print(json.dumps(doc, indent=1))
