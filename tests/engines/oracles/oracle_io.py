"""Shared by the oracle scripts (they run inside an engine's venv, never import omlc).

Payload on stdin: {"cases": [{"cron": str, "tz": str, "start": ISO UTC, "count": int}]}.
Answer on stdout (last line): {"engine": version, "results": [[ISO UTC, ...] | {"error": str}]}.
Each engine's own code answers "the fire times on or after start"; callers pick starts that
are never fire times themselves, so "on or after" and "strictly after" agree.
"""

import json
import sys
from datetime import datetime, timezone


def read_cases():
    return json.load(sys.stdin)["cases"]


def iso(moment):
    return datetime.fromtimestamp(moment.timestamp(), timezone.utc).isoformat()


def start_of(case):
    return datetime.fromisoformat(case["start"]).astimezone(timezone.utc)


def answer(engine, cases, fire_times):
    results = []
    for case in cases:
        try:
            results.append([iso(t) for t in fire_times(case)])
        except Exception as exc:  # an engine rejecting a case is an answer too
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    print(json.dumps({"engine": engine, "results": results}))
