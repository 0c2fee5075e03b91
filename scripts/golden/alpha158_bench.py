#!/usr/bin/env python3
"""qlib side of `npm run bench:data`: qlib's own Alpha158 handler (raw view, no processors) over
every instrument and day of a provider directory. Prints one JSON line:
{"seconds": handler construction → data loaded, "init_seconds", "rows", "cols", "peak_rss_mb"}.

    python scripts/golden/alpha158_bench.py --provider DIR [--kernels N]
"""
import argparse
import json
import os
import resource
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", required=True)
    ap.add_argument("--kernels", type=int, default=None, help="qlib joblib workers (default: qlib's, cpu_count-2 but >= 1)")
    args = ap.parse_args()
    provider = os.path.abspath(args.provider)
    os.chdir(tempfile.mkdtemp(prefix="qlib-bench-"))
    t0 = time.perf_counter()
    import qlib
    from qlib.contrib.data.handler import Alpha158

    kw = {"provider_uri": provider, "region": "us", "logging_level": "WARNING"}
    if args.kernels:
        kw["kernels"] = args.kernels
    qlib.init(**kw)
    t1 = time.perf_counter()
    h = Alpha158(instruments="all", infer_processors=[], learn_processors=[])
    df = h.fetch(col_set="__all", data_key="raw")
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": t2 - t1, "init_seconds": t1 - t0, "rows": int(df.shape[0]), "cols": int(df.shape[1]),
                      "peak_rss_mb": rss / 1024, "qlib": qlib.__version__}))


if __name__ == "__main__":
    main()
