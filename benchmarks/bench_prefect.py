"""Benchmark: compiling to Prefect, and how fast Python imports what omlc writes.

    python benchmarks/bench_prefect.py [--pipelines 1000] [--files 50] [--no-engine]

1. In-process compile of N distinct pipelines (benchmarks/corpus.py): ``PrefectTarget.compile``
   (loss report + module text) per pipeline, and the whole ``compile_paths`` (validation
   included, no writes) per pipeline.
2. Import time per module in the real Prefect venv: M generated modules (flow, tasks and
   ``deployment = flow.to_deployment(...)``) against M hand-written equivalents (same
   Cron, concurrency limit, tags, description and task retries; the window from the
   scheduled start time or a fire_time parameter by plain timedelta arithmetic, which
   ignores tumbling windows and DST; subprocess.run as the task). Prefect itself is imported before the clock starts,
   so only the modules' own cost is measured: CPU time, best of 3 passes (fresh module
   names each pass) per interpreter, median of 7 interpreters per kind, the kinds taking
   turns. Prints a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import benchmark_main  # noqa: E402

HAND_WRITTEN = '''import subprocess
from datetime import datetime, timedelta
from typing import Optional

from prefect import flow, task
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.runtime import flow_run
from prefect.schedules import Cron


@task(retries={attempts}, retry_delay_seconds=60)
def run_pipeline(start, end):
    subprocess.run(["osiris", "run", "/pipelines/bench_{i}.oml", "--param", "window_start=" + start,
                    "--param", "window_end=" + end], check=True, timeout=3600)


@flow(name="hand_{i}", description="Benchmark pipeline {i}")
def hand_flow(fire_time: Optional[str] = None):
    fire = datetime.fromisoformat(fire_time) if fire_time else flow_run.scheduled_start_time
    end = fire - timedelta(hours=1)
    run_pipeline(str(end - timedelta(hours=24)), str(end))


deployment = hand_flow.to_deployment(
    name="hand_{i}",
    schedule=Cron("{cron}", timezone="{tz}"),
    concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
    tags=["bench", "n{i}", "team:team-{i}", "criticality:high", "owner:team{i}@example.com"],
    description="Pipeline {i} for the benchmark.",
)
'''

IMPORT = '''
import importlib.util, json, os, sys, time, warnings
import prefect, prefect.flows, prefect.tasks, prefect.schedules, prefect.runtime, prefect.states
import prefect.cache_policies, prefect.context, prefect.client.schemas.objects, prefect.deployments.runner
folder = sys.argv[1]
files = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
best = None
for n in range(3):
    total = 0.0
    for i, f in enumerate(files):
        spec = importlib.util.spec_from_file_location(f"m{n}_{i}", os.path.join(folder, f))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # to_deployment finds the flow's file through it
        t0 = time.process_time()  # CPU time: a shared VM's stolen time is not the importer's
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            spec.loader.exec_module(module)
        total += time.process_time() - t0
    best = total if best is None else min(best, total)
print(json.dumps({"per_item": best / len(files)}))
'''


def main() -> None:
    def target():
        from omlc_prefect.target import PrefectTarget

        return PrefectTarget()

    benchmark_main('prefect', 'Prefect', target, 'import per module', HAND_WRITTEN, IMPORT, 50)

if __name__ == "__main__":
    main()
