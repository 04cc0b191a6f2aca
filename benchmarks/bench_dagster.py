"""Benchmark: compiling to Dagster, and how fast Dagster imports what omlc writes.

    python benchmarks/bench_dagster.py [--pipelines 1000] [--files 50] [--no-engine]

1. In-process compile of N distinct pipelines (benchmarks/corpus.py): ``DagsterTarget.compile``
   (loss report + module text) per pipeline, and the whole ``compile_paths`` (validation
   included, no writes) per pipeline.
2. Import time per module in the real Dagster venv: M generated modules against M
   hand-written equivalents (same job tags, one op running the runner command through
   subprocess with a retry policy, a schedule in the same timezone putting the tick into
   run config, ``defs``; no window code, no run deadline): CPU time of importing all M
   modules after ``import dagster`` (which both pay once and is not counted), best of 3 per
   interpreter, median of 7 interpreters per folder, the folders taking turns.
Prints a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import benchmark_main  # noqa: E402

HAND_WRITTEN = '''import subprocess

import dagster as dg


@dg.op(name="hand_{i}__run_pipeline", config_schema={{"fire_time": dg.Field(str, default_value="")}},
       retry_policy=dg.RetryPolicy(max_retries={attempts}, delay=60))
def run_pipeline(context: dg.OpExecutionContext):
    subprocess.run(["osiris", "run", "/pipelines/bench_{i}.oml", "--param",
                    "fire_time=" + context.op_config["fire_time"]], check=True)


@dg.job(name="hand_{i}", description="Benchmark pipeline {i}",
        tags={{"owner": "team{i}@example.com", "team": "team-{i}", "criticality": "high", "bench": "",
              "n{i}": "", "dagster/max_runtime": "3600"}},
        metadata={{"description": dg.MetadataValue.md("Pipeline {i} for the benchmark.")}})
def hand_job():
    run_pipeline()


@dg.schedule(name="hand_{i}_schedule", cron_schedule="{cron}", execution_timezone="{tz}", job=hand_job,
             default_status=dg.DefaultScheduleStatus.RUNNING)
def hand_schedule(context: dg.ScheduleEvaluationContext):
    fire = context.scheduled_execution_time.isoformat()
    return dg.RunRequest(run_config={{"ops": {{"hand_{i}__run_pipeline": {{"config": {{"fire_time": fire}}}}}}}})


defs = dg.Definitions(jobs=[hand_job], schedules=[hand_schedule])
'''

IMPORT = '''
import importlib.util, json, os, sys, time
import dagster
folder = sys.argv[1]
files = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
times = []
for round in range(3):
    t0 = time.process_time()  # CPU time: a shared VM's stolen time is not the importer's
    for i, name in enumerate(files):
        spec = importlib.util.spec_from_file_location(f"m{round}_{i}", os.path.join(folder, name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.defs is not None
    times.append(time.process_time() - t0)
print(json.dumps({"per_item": min(times) / len(files)}))
'''


def main() -> None:
    def target():
        from omlc_dagster.target import DagsterTarget

        return DagsterTarget()

    benchmark_main('dagster', 'Dagster', target, 'import per module', HAND_WRITTEN, IMPORT, 50)

if __name__ == "__main__":
    main()
