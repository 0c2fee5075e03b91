"""qlib side of bench/online.ts: qlib 0.9.7's OnlineManager.simulate with one RollingStrategy and TrainerR
over the same days, template and rolling step as the qtask side, on the same imported data directory.

usage: python online_qlib.py SETUP_JSON WORK_DIR
prints one JSON line (the SideReport of bench/online.ts).

The template is qtask's JSON task with one change: the handler class becomes
online_qlib_handler.Alpha158Configured, qlib's Alpha158 taking the same `feature_config` (qlib's Alpha158
hard-codes its feature list). Nothing in qlib is patched; timing hooks wrap instance methods only.
"""
import time

T_START = time.perf_counter()

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pandas as pd  # noqa: E402
import qlib  # noqa: E402

setup_path, work = sys.argv[1], sys.argv[2]
with open(setup_path) as f:
    setup = json.load(f)
os.makedirs(work, exist_ok=True)
qlib.init(
    provider_uri=setup["provider"],
    region="us",
    exp_manager={
        "class": "MLflowExpManager",
        "module_path": "qlib.workflow.expm",
        "kwargs": {"uri": "file:" + os.path.join(work, "mlruns"), "default_exp_name": "Experiment"},
    },
    logging_level=logging.WARNING,
)
from qlib.model.trainer import TrainerR  # noqa: E402
from qlib.workflow.online.manager import OnlineManager  # noqa: E402
from qlib.workflow.online.strategy import RollingStrategy  # noqa: E402
from qlib.workflow.task.gen import RollingGen  # noqa: E402

template = setup["template"]
handler = template["dataset"]["kwargs"]["handler"]
handler["class"], handler["module_path"] = "Alpha158Configured", "online_qlib_handler"

rolling_gen = RollingGen(step=setup["step"], rtype=RollingGen.ROLL_SD)
strategy = RollingStrategy(setup["strategy"], task_template=template, rolling_gen=rolling_gen)
trainer = TrainerR()
manager = OnlineManager(strategy, trainer=trainer, begin_time=setup["begin"])

train_calls = []  # (cur_time, seconds) of every train call that had tasks
signal_s = [0.0]
routines = [0]

_train = trainer.train


def timed_train(tasks, *args, **kwargs):
    if len(tasks) == 0:
        return _train(tasks, *args, **kwargs)
    t0 = time.perf_counter()
    out = _train(tasks, *args, **kwargs)
    train_calls.append((str(manager.cur_time.date()), time.perf_counter() - t0))
    return out


trainer.train = timed_train

_prepare_signals = manager.prepare_signals


def timed_prepare_signals(*args, **kwargs):
    t0 = time.perf_counter()
    try:
        return _prepare_signals(*args, **kwargs)
    finally:
        signal_s[0] += time.perf_counter() - t0


manager.prepare_signals = timed_prepare_signals

_routine = manager.routine


def counted_routine(*args, **kwargs):
    routines[0] += 1
    return _routine(*args, **kwargs)


manager.routine = counted_routine

startup_s = time.perf_counter() - T_START
def cpu_s():
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


t0 = time.perf_counter()
cpu0 = cpu_s()
signals = manager.simulate(end_time=setup["end"])
simulate_s = time.perf_counter() - t0
simulate_cpu_s = cpu_s() - cpu0

frame = signals.to_frame("score") if isinstance(signals, pd.Series) else signals
out_csv = os.path.join(work, "signals.csv")
frame.to_csv(out_csv, float_format="%.17g", date_format="%Y-%m-%d")
dates = sorted({d.strftime("%Y-%m-%d") for d in frame.index.get_level_values("datetime")})
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(
    json.dumps(
        {
            "side": "qlib",
            "startupS": startup_s,
            "simulateS": simulate_s,
            "simulateCpuS": simulate_cpu_s,
            "firstTrainS": train_calls[0][1] if train_calls else 0.0,
            "retrainS": [s for _, s in train_calls[1:]],
            "retrainDays": [d for d, _ in train_calls[1:]],
            "signalS": signal_s[0],
            "routines": routines[0],
            "signalRows": int(len(frame)),
            "signalDates": len(dates),
            "firstSignal": dates[0] if dates else None,
            "lastSignal": dates[-1] if dates else None,
            "duplicateRows": int(frame.index.duplicated().sum()),
            "signalsCsv": out_csv,
            "maxRssMb": rss / 1024,
        }
    )
)
