"""qlib's own TaskManager on a MongoDB server, for bench/store-qlib.ts (the qtask side runs there).

    python bench/store-qlib.py URL DB POOL create N     -> {"count": N, "ms": …}      (TaskManager.create_task)
    python bench/store-qlib.py URL DB POOL seed N       -> inserts N waiting tasks (insert_task_def), no timing
    python bench/store-qlib.py URL DB POOL drain [BUDGET_MS] -> waits for "go" on stdin, then fetch_task +
                                                           commit_task_res until the pool is empty (or the budget
                                                           is used); {"count", "start", "end", "commands"}

Uses pyqlib's TaskManager unchanged (qlib 0.9.7): tasks are pickled into `def`, `fetch_task` is a
find_one_and_update sorted by priority, `commit_task_res` an update_one. Times are wall clock ms.
"""
import json
import sys
import time

from pymongo import monitoring
from qlib.config import C
from qlib.workflow.task.manage import TaskManager

# Per command (name and collection): [count, total ms] — where qlib's time goes, as seen by pymongo.
COMMANDS: dict = {}


class _Timer(monitoring.CommandListener):
    def __init__(self) -> None:
        self.colls: dict = {}

    def started(self, event) -> None:
        target = event.command.get(event.command_name)
        self.colls[event.request_id] = target if isinstance(target, str) else str(event.command.get("collection", ""))

    def _done(self, event) -> None:
        key = f"{event.command_name} {self.colls.pop(event.request_id, '')}"
        c = COMMANDS.setdefault(key, [0, 0.0])
        c[0] += 1
        c[1] += event.duration_micros / 1000

    succeeded = _done
    failed = _done


monitoring.register(_Timer())


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
        # Optional budget (ms): stop starting new fetches after it; the caller also kills stragglers.
        budget = float(sys.argv[5]) if len(sys.argv) > 5 else float("inf")
        print("ready", flush=True)
        sys.stdin.readline()
        count = 0
        start = time.time() * 1000
        while time.time() * 1000 - start < budget:
            task = tm.fetch_task()
            if task is None:
                break
            tm.commit_task_res(task, {"ok": True, "n": count})
            count += 1
        end = time.time() * 1000
        print(json.dumps({"count": count, "start": start, "end": end, "commands": COMMANDS}), flush=True)
        return
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
