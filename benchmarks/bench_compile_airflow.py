"""Benchmark: compiling to Airflow, and how fast Airflow parses what omlc writes.

    python benchmarks/bench_compile_airflow.py [--pipelines 1000] [--dags 100] [--no-parse]

1. In-process compile of N distinct pipelines (fixtures with varied names, crons, timezones
   and windows): ``AirflowTarget.compile`` (loss report + DAG text) per pipeline, and the
   whole ``compile_paths`` (validation included, no writes) per pipeline.
2. DagBag parse time per DAG in the real Airflow venv: M generated DAGs against M
   hand-written equivalents (same schedule, DAG arguments, default_args and BashOperator;
   the window from Airflow's own template variables, which ignores tumbling windows and
   DST): best of 3 parses (CPU time) per interpreter, median of 7 interpreters per
   folder, the folders taking turns.
Prints a table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus import bench_compile, engine_side_by_side, pipelines, print_compile_rows, print_side_by_side  # noqa: E402,E501

HAND_WRITTEN = '''import pendulum
from datetime import timedelta
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, CronTriggerTimetable

with DAG(
    dag_id="hand_{i}",
    description="Benchmark pipeline {i}",
    doc_md="Pipeline {i} for the benchmark.",
    owner_links={{"team{i}@example.com": "mailto:team{i}@example.com"}},
    schedule=CronTriggerTimetable("{cron}", timezone="{tz}"),
    start_date=pendulum.datetime(2024, 1, 1, tz="{tz}"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    tags=["bench", "n{i}", "team:team-{i}", "criticality:high"],
    default_args={{"owner": "team{i}@example.com", "retries": {attempts}, "retry_delay": timedelta(seconds=60)}},
) as dag:
    BashOperator(
        task_id="run_pipeline",
        bash_command='osiris run /pipelines/bench_{i}.oml --param window_start="$WS" --param window_end="$WE"',
        env={{"WS": "{{{{ (data_interval_end - macros.timedelta(hours=25)) }}}}", "WE": "{{{{ data_interval_end - macros.timedelta(hours=1) }}}}"}},
        append_env=True,
    )
'''

PARSE = '''
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
folder = sys.argv[1]
times = []
for _ in range(3):
    t0 = time.process_time()  # CPU time: a shared VM's stolen time is not the parser's
    bag = DagBag(dag_folder=folder)
    times.append(time.process_time() - t0)
    assert not bag.import_errors, bag.import_errors
print(json.dumps({"per_item": min(times) / len(bag.dags)}))
'''


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipelines", type=int, default=1000)
    ap.add_argument("--dags", type=int, default=100)
    ap.add_argument("--no-parse", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("OMLC_NOW", "2026-01-01T00:00:00+00:00")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "p").mkdir()
        paths = pipelines(args.pipelines, work / "p")
        from omlc_airflow.target import AirflowTarget

        runs = [bench_compile(paths, AirflowTarget()) for _ in range(3)]
        print_compile_rows("Airflow", runs)
        if not args.no_parse:
            for pyc, label in ((True, "bytecode cached"), (False, "no bytecode cache")):
                sub = work / label.replace(" ", "_")
                sub.mkdir()
                print_side_by_side("DagBag parse per DAG", label, engine_side_by_side(
                    "airflow", AirflowTarget(), paths[: args.dags], sub, HAND_WRITTEN, PARSE, pyc))


if __name__ == "__main__":
    main()
