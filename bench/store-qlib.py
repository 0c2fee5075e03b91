"""qlib's own TaskManager on a MongoDB server, for bench/store-qlib.ts (the qtask side runs there).

    python bench/store-qlib.py URL DB POOL create N     -> {"count": N, "ms": …}      (TaskManager.create_task)
    python bench/store-qlib.py URL DB POOL seed N       -> inserts N waiting tasks (insert_task_def), no timing
    python bench/store-qlib.py URL DB POOL drain         -> waits for "go" on stdin, then fetch_task +
                                                           commit_task_res until the pool is empty;
                                                           {"count": …, "start": ms, "end": ms}

Uses pyqlib's TaskManager unchanged (qlib 0.9.7): tasks are pickled into `def`, `fetch_task` is a
find_one_and_update sorted by priority, `commit_task_res` an update_one. Times are wall clock ms.
"""
import json
import sys
import time

from qlib.config import C
from qlib.workflow.task.manage import TaskManager


def main() -> None:
    url, db, pool, mode = sys.argv[1:5]
    C["mongo"] = {"task_url": url, "task_db_name": db}
    tm = TaskManager(task_pool=pool)
    if mode == "seed":
        # Linear seeding (qlib's own insert_task_def per task); create_task would scan per definition.
        n = int(sys.argv[5])
        for i in range(n):
            tm.insert_task_def({"model": {"class": "LinearModel", "kwargs": {"i": i}}, "n": i})
        print(json.dumps({"count": n}), flush=True)
        return
    if mode == "create":
        n = int(sys.argv[5])
        defs = [{"model": {"class": "LinearModel", "kwargs": {"i": i}}, "n": i} for i in range(n)]
        t0 = time.perf_counter()
        tm.create_task(defs)
        ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({"count": n, "ms": ms}), flush=True)
        return
    if mode == "drain":
        print("ready", flush=True)
        sys.stdin.readline()
        count = 0
        start = time.time() * 1000
        while True:
            task = tm.fetch_task()
            if task is None:
                break
            tm.commit_task_res(task, {"ok": True, "n": count})
            count += 1
        end = time.time() * 1000
        print(json.dumps({"count": count, "start": start, "end": end}), flush=True)
        return
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
