"""omlc's per-engine fire-time models against the engines' own scheduling code.

600 random cases per engine (tests/engines/cases.py: 60 per zone, ten zones, each start
within two days before one of the zone's real UTC-offset changes, 6 to 60 fire times each)
go to Airflow 3.3.2's CronTriggerTimetable (through DAG serialization and next_dagrun_info),
Prefect 3.9.1's server CronSchedule.get_dates and Dagster 1.13.28's
schedule_execution_time_iterator, each in its own cached venv. Every disagreement fails the
test, except Dagster's in zones where its DST assumptions do not hold, which
:func:`omlc.schedule.targets.model_caveat` names (and the schedule rules warn about).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from omlc.schedule.engine import zone
from omlc.schedule.targets import model_caveat
from tests.engines import envs
from tests.engines.agreement import compare
from tests.engines.cases import ZONES, cases

SEED, PER_ZONE = 2026, 60
CASES = cases(SEED, PER_ZONE)


def _caveat(engine: str, zone_name: str) -> str | None:
    first, last = ZONES[zone_name]
    return model_caveat(engine, zone(zone_name), datetime(first, 1, 1, tzinfo=timezone.utc),
                        datetime(last, 1, 1, tzinfo=timezone.utc))


@pytest.mark.engines
@pytest.mark.parametrize("engine", envs.ENGINES)
def test_models_agree_with_the_engines(engine):
    envs.pytest_engine_python(engine)
    outcome = compare(engine, CASES)
    print(outcome.summary())
    assert outcome.total == len(CASES) >= 500
    unexplained = [d for d in outcome.disagreements if not _caveat(engine, d["tz"])]
    assert not unexplained, "\n".join(
        f"{d['cron']!r} {d['tz']} after {d['start']}: omlc {d['omlc'][:4]} engine {d['engine'][:4]}"
        for d in unexplained[:10])
    explained = len(outcome.disagreements)
    assert explained <= 0.05 * outcome.total, f"{explained} disagreements in caveat zones"


def test_dagster_caveats_name_the_zones_dagster_gets_wrong():
    flagged = {name for name in ZONES if _caveat("dagster", name)}
    assert flagged == {"Europe/Dublin", "Australia/Lord_Howe", "Asia/Kathmandu", "Africa/Casablanca"}
    assert not any(_caveat(engine, name) for engine in ("airflow", "prefect") for name in ZONES)
