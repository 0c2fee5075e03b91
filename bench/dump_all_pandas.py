"""A re-creation of qlib's `scripts/dump_bin.py dump_all` for the import benchmark.

pyqlib's PyPI wheel (0.9.7) does not ship `scripts/dump_bin.py` and PyPI has no sdist for it, so the
benchmark cannot run the original script from PyPI. This file re-implements the same algorithm with
the same libraries and the same process-pool structure, following the description in
qlib-data-model-inventory.md §1.2 (qlib commit d5379c52):

  pass 1 (ProcessPoolExecutor, max_workers=16 by default): per file, pd.read_csv + pd.to_datetime on
         the date column; collect the set of dates and (min, max);
  calendar = sorted union, written with np.savetxt; instruments/all.txt = SYMBOL\tmin\tmax;
  pass 2 (ProcessPoolExecutor): per file, read again, drop_duplicates(date) (keep first), reindex
         onto the calendar slice [min, max], date_index = calendar.index(min), and per field
         np.hstack([date_index, column]).astype("<f").tofile(features/<symbol>/<field>.day.bin).

Symbol/file-name mapping uses qlib's own `qlib.utils.fname_to_code` / `code_to_fname`.
Usage: python dump_all_pandas.py DATA_PATH QLIB_DIR [--date-field Date] [--exclude-fields Name] [--max-workers 16]
"""
import argparse
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from qlib.utils import code_to_fname, fname_to_code

# pandas 3 deprecates `inplace=`; qlib's script uses it too. Keep the same calls, drop the noise.
warnings.simplefilter("ignore")


def read_source(path, date_field):
    df = pd.read_csv(path, low_memory=False)
    if date_field in df.columns:
        df[date_field] = pd.to_datetime(df[date_field])
        df.dropna(subset=[date_field], inplace=True)
    return df


def dates_of(path, date_field):
    df = read_source(path, date_field)
    if df.empty or date_field not in df.columns:
        return (None, None), set()
    col = df[date_field]
    return (col.min(), col.max()), set(col)


def dump_one(path, calendar, date_field, exclude, features_dir):
    code = fname_to_code(path.stem.strip().lower())
    df = read_source(path, date_field)
    if df.empty:
        return
    df = df.drop_duplicates(date_field)
    out_dir = features_dir / code_to_fname(code).lower()
    out_dir.mkdir(parents=True, exist_ok=True)
    cal = pd.DataFrame({date_field: calendar})
    cal[date_field] = cal[date_field].astype("datetime64[ns]")
    cal = cal[(cal[date_field] >= df[date_field].min()) & (cal[date_field] <= df[date_field].max())]
    cal = cal.set_index(date_field)
    df = df.set_index(date_field).reindex(cal.index)
    date_index = calendar.index(df.index.min())
    fields = [c for c in df.columns if c not in exclude]
    for field in fields:
        np.hstack([date_index, df[field]]).astype("<f").tofile(str(out_dir / f"{field.lower()}.day.bin"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_path")
    ap.add_argument("qlib_dir")
    ap.add_argument("--date-field", default="date")
    ap.add_argument("--exclude-fields", default="")
    ap.add_argument("--max-workers", type=int, default=16)
    args = ap.parse_args()
    started = time.perf_counter()
    files = sorted(Path(args.data_path).glob("*.csv"))
    qlib_dir = Path(args.qlib_dir)
    exclude = {f.strip() for f in args.exclude_fields.split(",") if f.strip()}
    all_dates = set()
    ranges = []
    with ProcessPoolExecutor(max_workers=args.max_workers) as ex:
        for path, ((begin, end), dates) in zip(files, ex.map(partial(dates_of, date_field=args.date_field), files)):
            all_dates |= dates
            if isinstance(begin, pd.Timestamp) and isinstance(end, pd.Timestamp):
                symbol = fname_to_code(path.stem.strip().lower()).upper()
                ranges.append(f"{symbol}\t{begin:%Y-%m-%d}\t{end:%Y-%m-%d}")
    calendar = sorted(map(pd.Timestamp, all_dates))
    (qlib_dir / "calendars").mkdir(parents=True, exist_ok=True)
    np.savetxt(str(qlib_dir / "calendars" / "day.txt"), [d.strftime("%Y-%m-%d") for d in calendar], fmt="%s", encoding="utf-8")
    (qlib_dir / "instruments").mkdir(parents=True, exist_ok=True)
    np.savetxt(str(qlib_dir / "instruments" / "all.txt"), ranges, fmt="%s", encoding="utf-8")
    features_dir = qlib_dir / "features"
    job = partial(dump_one, calendar=calendar, date_field=args.date_field, exclude=exclude, features_dir=features_dir)
    with ProcessPoolExecutor(max_workers=args.max_workers) as ex:
        for _ in ex.map(job, files):
            pass
    print(f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
