"""Benchmark: compiling to Airflow, and how fast Airflow parses what omlc writes.

    python benchmarks/bench_compile_airflow.py [--pipelines 1000] [--files 100] [--no-engine]

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

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus import benchmark_main  # noqa: E402

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
    def target():
        from omlc_airflow.target import AirflowTarget

        return AirflowTarget()

    benchmark_main('airflow', 'Airflow', target, 'DagBag parse per DAG', HAND_WRITTEN, PARSE, 100)

if __name__ == "__main__":
    main()
