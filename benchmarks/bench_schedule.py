"""Benchmark the schedule engine. Run: python benchmarks/bench_schedule.py (prints a table).

- in-process: for each schedule, the next 5 fire times plus a one-year DST scan (the
  transitions its timezone has and the fire times they hit), median over rounds;
- cold: wall time of a new `omlc schedule next --cron ...` process, median of runs.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHEDULES = [
    ("0 2 * * *", "UTC"), ("30 2 * * *", "Europe/Prague"), ("*/15 * * * *", "America/New_York"),
    ("0 * * * *", "Australia/Lord_Howe"), ("5 0 * * 1-5", "Asia/Kathmandu"), ("0 6 1 * *", "America/Sao_Paulo"),
    ("@hourly", "Europe/Dublin"), ("0 0 13 * FRI", "Pacific/Apia"),
]


def in_process(rounds: int = 30) -> dict[str, float]:
    from omlc.schedule.analysis import dst_hits
    from omlc.schedule.engine import CronSchedule

    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=366)
    results = {}
    for expr, tz in SCHEDULES:
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            s = CronSchedule(expr, tz)
            s.next_n(start, 5)
            dst_hits(s, start, end)
            times.append(time.perf_counter() - t)
        results[f"{expr} {tz}"] = statistics.median(times)
    return results


def cold(runs: int = 15) -> float:
    exe = shutil.which("omlc")
    base = [exe] if exe else [sys.executable, "-m", "omlc"]
    cmd = base + ["schedule", "next", "--cron", "30 2 * * *", "--timezone", "Europe/Prague", "--count", "5"]
    env = dict(os.environ, NO_COLOR="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed omlc has bytecode caches
    times = []
    for i in range(runs + 2):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        if i >= 2:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    rows = [(f"next 5 + 1-year DST scan: {name}", f"{sec * 1000:.2f} ms", "<= 2 ms")
            for name, sec in in_process().items()]
    rows.append(("cold `omlc schedule next --cron ...` (median)", f"{cold() * 1000:.0f} ms", "<= 200 ms"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>9}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>9}  {target}")


if __name__ == "__main__":
    main()
