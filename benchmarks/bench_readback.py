"""Benchmark: reading generated code back, and the pre-commit check.

    python benchmarks/bench_readback.py [--pipelines 100]

1. Read-back time per generated Airflow DAG (libcst parse + facts, in process, after one
   warm-up read), over N DAGs of the benchmark corpus (benchmarks/corpus.py).
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
    args = ap.parse_args()
    os.environ.setdefault("OMLC_NOW", "2026-01-01T00:00:00+00:00")
    from omlc.compile import compile_paths
    from omlc_airflow.reader import AirflowReader
    from omlc_airflow.target import AirflowTarget

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pipelines").mkdir()
        (work / "omlc.yaml").write_text("output:\n  airflow: dags\n", encoding="utf-8")
        paths = pipelines(args.pipelines, work / "pipelines")
        compile_paths([str(p) for p in paths], [AirflowTarget()])
        dags = sorted((work / "dags").glob("*.py"))
        texts = [(str(d), d.read_text(encoding="utf-8")) for d in dags]
        reader = AirflowReader()
        reader.read(texts[0][1], texts[0][0])  # warm-up: libcst's parser tables
        t0 = time.perf_counter()
        for path, text in texts:
            assert not reader.read(text, path).diagnostics
        per_file = (time.perf_counter() - t0) / len(texts)
        env = {**os.environ, "OMLC_PLUGINS": "airflow"}
        omlc = str(Path(sys.executable).with_name("omlc"))
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            run = subprocess.run([omlc, "compile", "--check", "pipelines", "--target", "airflow"], cwd=work, env=env,
                                 capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            assert run.returncode == 0, run.stderr[-2000:]
        print(f"{'measure':<52} {'value':>10}  target")
        print(f"{'read back one Airflow DAG (libcst, in process)':<52} {per_file * 1000:>8.2f} ms  <= 20 ms")
        print(f"{'omlc compile --check, ' + str(len(paths)) + ' pipelines, cold process':<52} "
              f"{statistics.median(times):>8.2f} s   <= 3 s")


if __name__ == "__main__":
    main()
