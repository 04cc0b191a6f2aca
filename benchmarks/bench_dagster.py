"""Benchmark: compiling to Dagster, and how fast Dagster imports what omlc writes.

    python benchmarks/bench_dagster.py [--pipelines 1000] [--modules 50] [--no-import]

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

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CRONS, ZONES, bench_compile, pipelines  # noqa: E402

ROUNDS = 7
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
print(json.dumps({"best": min(times), "modules": len(files)}))
'''


def bench_import(paths: list[Path], work: Path, pyc: bool) -> dict[str, float] | None:
    from omlc.compile import compile_paths
    from omlc_dagster.target import DagsterTarget
    from tests.engines.envs import engine_environment, ensure_env

    python = ensure_env("dagster")
    generated, hand = work / "generated", work / "hand"
    compile_paths([str(p) for p in paths], [DagsterTarget()], out=str(generated))
    hand.mkdir()
    rng = random.Random(2026)
    for i in range(len(paths)):
        hand.joinpath(f"hand_{i}.py").write_text(HAND_WRITTEN.format(i=i, cron=rng.choice(CRONS), tz=rng.choice(ZONES),
                                                                     attempts=rng.randint(0, 4)), encoding="utf-8")
    env = {name: engine_environment("dagster", work / f"home-{name}") for name in ("generated", "hand")}
    if pyc:  # a code server restarting: bytecode cached in __pycache__ by the first round
        for e in env.values():
            e.pop("PYTHONDONTWRITEBYTECODE", None)
    best: dict[str, list[float]] = {"generated": [], "hand": []}
    for _ in range(ROUNDS):
        for name, folder in (("generated", generated), ("hand", hand)):
            out = subprocess.run([str(python), "-c", IMPORT, str(folder)], capture_output=True, text=True,
                                 env=env[name])
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
                return None
            data = json.loads(out.stdout.strip().splitlines()[-1])
            best[name].append(data["best"] / data["modules"])
    return {name: statistics.median(values) for name, values in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipelines", type=int, default=1000)
    ap.add_argument("--modules", type=int, default=50)
    ap.add_argument("--no-import", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("OMLC_NOW", "2026-01-01T00:00:00+00:00")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "p").mkdir()
        paths = pipelines(args.pipelines, work / "p")
        from omlc_dagster.target import DagsterTarget

        runs = [bench_compile(paths, DagsterTarget()) for _ in range(3)]
        print(f"{'measure':<56} {'value':>10}  target")
        print(f"{'compile to Dagster, per pipeline (emit + losses)':<56} "
              f"{statistics.median(r['emit'] for r in runs) * 1000:>8.3f} ms  <= 1 ms")
        print(f"{'compile_paths incl. validation, per pipeline':<56} "
              f"{statistics.median(r['whole'] for r in runs) * 1000:>8.3f} ms  (seed: < 1 s)")
        if not args.no_import:
            for pyc, label in ((True, "bytecode cached"), (False, "no bytecode cache")):
                sub = work / label.replace(" ", "_")
                sub.mkdir()
                imported = bench_import(paths[: args.modules], sub, pyc)
                if imported:
                    print(f"{'import per module, generated (' + label + ')':<56} "
                          f"{imported['generated'] * 1000:>8.2f} ms")
                    print(f"{'import per module, hand-written (' + label + ')':<56} "
                          f"{imported['hand'] * 1000:>8.2f} ms")


if __name__ == "__main__":
    main()
