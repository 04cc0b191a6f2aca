"""Compare omlc's per-engine fire-time models with the engines' own scheduling code.

    python -m tests.engines.agreement [airflow|prefect|dagster|all] [--per-zone N] [--seed S]

prints the agreement rate per engine and the first disagreements (the tests call
:func:`compare` with a fixed seed).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

from omlc.schedule.cron import parse_cron
from omlc.schedule.engine import CronSchedule
from omlc.schedule.targets import policy_for
from tests.engines import envs
from tests.engines.cases import cases as make_cases


@dataclass
class Outcome:
    engine: str
    version: str
    total: int
    disagreements: list[dict]

    @property
    def rate(self) -> float:
        return (self.total - len(self.disagreements)) / self.total if self.total else 0.0

    def summary(self) -> str:
        return (f"{self.engine} {self.version}: {self.total - len(self.disagreements)}/{self.total} cases agree "
                f"({100 * self.rate:.1f}%)")


def model_fire_times(engine: str, case: dict) -> list[str]:
    schedule = CronSchedule(case["cron"], case["tz"], policy_for(engine))
    return [t.isoformat() for t in schedule.next_n(datetime.fromisoformat(case["start"]), case["count"])]


def compare(engine: str, cases: list[dict], python: str | None = None) -> Outcome:
    # the engines get the expression as omlc emits it (normalised: `a-a` -> `a`)
    emitted = [{**case, "cron": parse_cron(case["cron"]).normalized()} for case in cases]
    answer = envs.run_oracle(engine, f"{engine}_fire_times.py", {"cases": emitted}, python=python)
    disagreements = []
    for case, real in zip(cases, answer["results"]):
        ours = model_fire_times(engine, case)
        if ours != real:
            disagreements.append({**case, "engine": real, "omlc": ours})
    return Outcome(engine, answer["engine"], len(cases), disagreements)


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("engine", nargs="?", default="all")
    parser.add_argument("--per-zone", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--python", help="an engine python to use instead of the cached venv's")
    parser.add_argument("--show", type=int, default=5)
    args = parser.parse_args(argv)
    names = envs.ENGINES if args.engine == "all" else (args.engine,)
    cases = make_cases(args.seed, args.per_zone)
    for name in names:
        outcome = compare(name, cases, args.python)
        print(outcome.summary())
        for d in outcome.disagreements[: args.show]:
            ours, real = d["omlc"], d["engine"]
            first = next((i for i, (a, b) in enumerate(zip(ours, real)) if a != b), min(len(ours), len(real)))
            print(f"  {d['cron']!r} {d['tz']} after {d['start']}: at #{first} omlc {ours[first:first + 3]} "
                  f"engine {real[first:first + 3] if isinstance(real, list) else real}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
