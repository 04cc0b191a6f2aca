"""Benchmark: reading generated code back, and the pre-commit check.

    python benchmarks/bench_readback.py [--pipelines 100] [--granularity pipeline|step]

1. Read-back time per generated file of each target with a reader (Airflow DAG, Prefect
   flow, Dagster job; libcst parse + facts, in process, after one warm-up read), over the
   N pipelines of the benchmark corpus (benchmarks/corpus.py): the mean of the median of
   three passes, and the 95th percentile of the single reads.
2. `omlc compile --check` over the N pipelines, cold: a fresh `omlc` process each time, as
   pre-commit runs it (median of 5), with the DAGs up to date.
Prints a table. Targets (issue 6): <= 20 ms per file; the check of 100 pipelines <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus import pipelines  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipelines", type=int, default=100)
    ap.add_argument("--granularity", choices=["pipeline", "step"], default="pipeline")
    args = ap.parse_args()
    os.environ.setdefault("OMLC_NOW", "2026-01-01T00:00:00+00:00")
    from omlc.compile import compile_paths
    from omlc_airflow.reader import AirflowReader
    from omlc_airflow.target import AirflowTarget
    from omlc_dagster.reader import DagsterReader
    from omlc_dagster.target import DagsterTarget
    from omlc_prefect.reader import PrefectReader
    from omlc_prefect.target import PrefectTarget

    readers = [("Airflow DAG", AirflowTarget(), AirflowReader(), "dags"),
               ("Prefect flow", PrefectTarget(), PrefectReader(), "flows"),
               ("Dagster job", DagsterTarget(), DagsterReader(), "jobs")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pipelines").mkdir()
        (work / "omlc.yaml").write_text("output:\n" + "".join(f"  {t.name}: {folder}\n" for _, t, _, folder in readers),
                                        encoding="utf-8")
        paths = pipelines(args.pipelines, work / "pipelines")
        per_file = {}
        for label, target, reader, folder in readers:
            compile_paths([str(p) for p in paths], [target], granularity=args.granularity)
            files = sorted((work / folder).glob("*.py"))
            texts = [(str(f), f.read_text(encoding="utf-8")) for f in files]
            reader.read(texts[0][1], texts[0][0])  # warm-up: libcst's parser tables
            means, each = [], []
            for _ in range(3):  # passes over the files: the median pass's mean, and the p95 of single reads
                t0 = time.perf_counter()
                for path, text in texts:
                    t1 = time.perf_counter()
                    assert not reader.read(text, path).diagnostics
                    each.append(time.perf_counter() - t1)
                means.append((time.perf_counter() - t0) / len(texts))
            each.sort()
            per_file[label] = (statistics.median(means), each[int(len(each) * 0.95)])
        env = {**os.environ, "OMLC_PLUGINS": "airflow"}
        omlc = str(Path(sys.executable).with_name("omlc"))
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            run = subprocess.run([omlc, "compile", "--check", "pipelines", "--target", "airflow", "-g",
                                  args.granularity], cwd=work, env=env,
                                 capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            assert run.returncode == 0, run.stderr[-2000:]
        print(f"{'measure':<52} {'value':>10}  target")
        for label, (mean, p95) in per_file.items():
            print(f"{'read back one ' + label + ' (libcst, in process)':<52} {mean * 1000:>8.2f} ms  <= 20 ms")
            print(f"{'  p95 of single reads':<52} {p95 * 1000:>8.2f} ms")
        print(f"{'omlc compile --check, ' + str(len(paths)) + ' pipelines, cold process':<52} "
              f"{statistics.median(times):>8.2f} s   <= 3 s")


if __name__ == "__main__":
    main()
