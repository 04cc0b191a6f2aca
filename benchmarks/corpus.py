"""The benchmark corpus every target's benchmark compiles: N distinct pipelines (varied
names, crons, timezones, retry backoffs and windows), and the in-process compile timing."""

from __future__ import annotations

import random
import time
from pathlib import Path

ZONES = ["UTC", "Europe/Prague", "America/New_York", "Asia/Kathmandu", "Australia/Sydney", "America/Sao_Paulo"]
CRONS = ["0 2 * * *", "*/15 * * * *", "30 6 * * MON", "5 * * * *", "0 0 1 * *", "45 23 * * 1-5", "@daily"]
WINDOWS = ["{type: sliding, size: 24h, offset: '-1h'}", "{type: tumbling}", "{type: sliding, size: 1d}", None]

PIPELINE = '''oml_version: "0.2.0"
name: bench_{i}
description: "Benchmark pipeline {i}"
schedule:
  expression: "{cron}"
  timezone: "{tz}"
  retry: {{attempts: {attempts}, delay: 60, backoff: {backoff}}}
  timeout: 1h
  concurrency: 1
{window}metadata:
  owner: "team{i}@example.com"
  team: "team-{i}"
  criticality: high
  tags: [bench, "n{i}"]
  description: "Pipeline {i} for the benchmark."
steps:
  - id: extract
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.primary"
      query: "SELECT * FROM t{i} WHERE ts >= '${{window.start}}' AND ts < '${{window.end}}'"
  - id: load
    component: supabase.writer
    mode: write
    config: {{connection: "@supabase.main", table: "t{i}"}}
'''


def pipelines(n: int, folder: Path) -> list[Path]:
    rng = random.Random(2026)
    paths = []
    for i in range(n):
        window = rng.choice(WINDOWS)
        text = PIPELINE.format(i=i, cron=rng.choice(CRONS), tz=rng.choice(ZONES), attempts=rng.randint(0, 4),
                               backoff=rng.choice(["constant", "linear", "exponential"]),
                               window=f"  window: {window}\n" if window else "")
        if window is None:
            text = text.replace("'${window.start}'", "'x'").replace("'${window.end}'", "'y'")
        path = folder / f"bench_{i}.oml.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def bench_compile(paths: list[Path], target) -> dict[str, float]:
    """Seconds per pipeline: ``target.compile`` alone (loss report + code), and the whole
    ``compile_paths`` (validation included, no writes)."""
    from omlc.compile import compile_paths, make_unit
    from omlc.project import Project
    from omlc.validate import load_file

    loaded = [load_file(str(p)) for p in paths]
    target.compile(make_unit(loaded[0].pipeline, loaded[0].source.text, str(paths[0]), Project(), target.name,
                             "pipeline"))  # warm-up: templates, runtime source
    t0 = time.perf_counter()
    for f in loaded:
        target.compile(make_unit(f.pipeline, f.source.text, f.path, Project(), target.name, "pipeline"))
    emit = (time.perf_counter() - t0) / len(loaded)
    t0 = time.perf_counter()
    compile_paths([str(p) for p in paths], [target], write=False)
    whole = (time.perf_counter() - t0) / len(paths)
    return {"emit": emit, "whole": whole}
