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


def engine_side_by_side(engine: str, target, paths: list[Path], work: Path, hand_written: str, script: str,
                        pyc: bool = True, rounds: int = 7) -> dict[str, float] | None:
    """Seconds per file that ``engine`` spends loading what omlc generates for ``paths``
    against as many hand-written equivalents (``hand_written`` formatted with i, cron, tz,
    attempts): ``script`` runs in the engine's venv with a folder as argument and prints
    JSON with ``per_item`` last. One fresh interpreter per measurement, the two folders
    taking turns so drift in the machine's speed hits both alike; the median of ``rounds``.
    With ``pyc``, bytecode is cached after the first load, as on a deployed scheduler."""
    import json
    import statistics
    import subprocess
    import sys

    from omlc.compile import compile_paths
    from tests.engines.envs import engine_environment, ensure_env

    python = ensure_env(engine)
    generated, hand = work / "generated", work / "hand"
    compile_paths([str(p) for p in paths], [target], out=str(generated))
    for f in generated.glob("*.runtime.yaml"):
        f.rename(work / f.name)  # the code files only (the runtime copies stay reachable by name)
    hand.mkdir()
    rng = random.Random(2026)
    for i in range(len(paths)):
        hand.joinpath(f"hand_{i}.py").write_text(hand_written.format(
            i=i, cron=rng.choice(CRONS), tz=rng.choice(ZONES), attempts=rng.randint(0, 4)), encoding="utf-8")
    env = {name: engine_environment(engine, work / f"home-{name}") for name in ("generated", "hand")}
    if pyc:
        for e in env.values():
            e.pop("PYTHONDONTWRITEBYTECODE", None)
    results: dict[str, list[float]] = {"generated": [], "hand": []}
    for _ in range(rounds):
        for name, folder in (("generated", generated), ("hand", hand)):
            out = subprocess.run([str(python), "-c", script, str(folder)], capture_output=True, text=True,
                                 env=env[name], cwd=str(work))
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
                return None
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1])["per_item"])
    return {name: statistics.median(values) for name, values in results.items()}


def print_compile_rows(title: str, runs: list[dict[str, float]]) -> None:
    import statistics

    print(f"{'measure':<56} {'value':>10}  target")
    print(f"{'compile to ' + title + ', per pipeline (emit + losses)':<56} "
          f"{statistics.median(r['emit'] for r in runs) * 1000:>8.3f} ms  <= 1 ms")
    print(f"{'compile_paths incl. validation, per pipeline':<56} "
          f"{statistics.median(r['whole'] for r in runs) * 1000:>8.3f} ms  (seed: < 1 s)")


def print_side_by_side(what: str, label: str, measured: dict[str, float] | None) -> None:
    if measured:
        for name in ("generated", "hand"):
            print(f"{what + ', ' + name + ' (' + label + ')':<56} {measured[name] * 1000:>8.2f} ms")


def benchmark_main(engine: str, title: str, make_target, what: str, hand_written: str, script: str,
                   files: int) -> None:
    """The command line every target benchmark shares:
    ``[--pipelines N] [--files M] [--no-engine]``: compile N corpus pipelines in process,
    then (unless --no-engine) load M generated files beside M hand-written ones in the
    engine's venv, with and without bytecode cached. Prints a table."""
    import argparse
    import os
    import tempfile

    ap = argparse.ArgumentParser()
    ap.add_argument("--pipelines", type=int, default=1000)
    ap.add_argument("--files", type=int, default=files, help="generated (and hand-written) files the engine loads")
    ap.add_argument("--no-engine", action="store_true", help="compile only")
    args = ap.parse_args()
    os.environ.setdefault("OMLC_NOW", "2026-01-01T00:00:00+00:00")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "p").mkdir()
        paths = pipelines(args.pipelines, work / "p")
        print_compile_rows(title, [bench_compile(paths, make_target()) for _ in range(3)])
        if args.no_engine:
            return
        for pyc, label in ((True, "bytecode cached"), (False, "no bytecode cache")):
            sub = work / label.replace(" ", "_")
            sub.mkdir()
            print_side_by_side(what, label, engine_side_by_side(
                engine, make_target(), paths[: args.files], sub, hand_written, script, pyc))
