"""Benchmark `omlc validate`: cold command start-up and in-process time per pipeline.

Run: python benchmarks/bench_validate.py  (prints a table; numbers, not assertions)

- cold: wall time of a new `omlc validate FILE` process on one fixture, median of N runs
  (this is what pre-commit pays on every commit);
- in-process: load + build + rules per pipeline, over 1,000 pipelines made from the
  fixtures, median of 5 rounds: with the OML rules (issue 2's scope), with every rule
  (adds the schedule analysis: a year of DST transitions and window coverage), and the
  YAML parsing alone.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "pipelines" / "daily_customer_sync.oml.yaml"


def cold(runs: int = 15) -> tuple[float, float]:
    exe = shutil.which("omlc") or None
    cmd = [exe, "validate", str(FIXTURE)] if exe else [sys.executable, "-m", "omlc", "validate", str(FIXTURE)]
    env = dict(os.environ, NO_COLOR="1")
    # An installed omlc has bytecode caches (pip compiles on install); this machine's
    # environment sets PYTHONDONTWRITEBYTECODE, which would recompile omlc on every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    for i in range(runs + 2):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        if i >= 2:  # the first runs warm the OS file cache
            times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def in_process(count: int = 1000, rounds: int = 5) -> tuple[float, float, float]:
    sys.path.insert(0, str(ROOT))
    from omlc.loader import Source, parse_yaml
    from omlc.plugins import get_registry
    from omlc.validate import load_file, validate_files

    fixtures = sorted((ROOT / "fixtures" / "pipelines").glob("*.oml.yaml"))
    tmp = Path(tempfile.mkdtemp())
    paths = []
    for i in range(count):
        src = fixtures[i % len(fixtures)]
        p = tmp / f"p{i}.oml.yaml"
        p.write_text(src.read_text().replace('name: "', f'name: "n{i}_', 1))
        paths.append(p)
    rules = list(get_registry().rules().values())
    core = [r for r in rules if r.name != "schedule"]
    totals, cores, parses = [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        files = [load_file(str(p)) for p in paths]
        diagnostics = validate_files(files, rules=rules)
        totals.append((time.perf_counter() - t) / count)
        assert not [d for d in diagnostics if d.severity.value == "error"], diagnostics[:3]
        t = time.perf_counter()
        files = [load_file(str(p)) for p in paths]
        validate_files(files, rules=core)
        cores.append((time.perf_counter() - t) / count)
        texts = [Source(str(p), p.read_text()) for p in paths]
        t = time.perf_counter()
        for s in texts:
            parse_yaml(s)
        parses.append((time.perf_counter() - t) / count)
    shutil.rmtree(tmp)
    return statistics.median(totals), statistics.median(cores), statistics.median(parses)


def main() -> None:
    cold_median, cold_min = cold()
    per_pipeline, core_only, parse_only = in_process()
    rows = [
        ("cold `omlc validate` one fixture (median)", f"{cold_median * 1000:.0f} ms", "<= 200 ms"),
        ("cold `omlc validate` one fixture (best)", f"{cold_min * 1000:.0f} ms", ""),
        ("in-process validate per pipeline, OML rules (1,000)", f"{core_only * 1000:.2f} ms", "<= 2 ms"),
        ("in-process validate per pipeline, all rules (1,000)", f"{per_pipeline * 1000:.2f} ms", ""),
        ("  of which YAML parsing", f"{parse_only * 1000:.2f} ms", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")


if __name__ == "__main__":
    main()
