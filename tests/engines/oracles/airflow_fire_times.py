"""Airflow's own fire times: CronTriggerTimetable (the scheduler's class, through DAG
serialization) and next_dagrun_info with catchup, as the scheduler calls it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_io import answer, read_cases, start_of  # noqa: E402

import airflow  # noqa: E402
from airflow.sdk import DAG, CronTriggerTimetable  # noqa: E402
from airflow.serialization.serialized_objects import DagSerialization  # noqa: E402
from airflow.timetables.base import TimeRestriction  # noqa: E402
import pendulum  # noqa: E402


def fire_times(case):
    with DAG(dag_id="oracle", schedule=CronTriggerTimetable(case["cron"], timezone=case["tz"]),
             start_date=pendulum.datetime(2000, 1, 1, tz="UTC"), catchup=True) as dag:
        pass
    timetable = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag)).timetable
    start = pendulum.instance(start_of(case))
    restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
    out, last = [], None
    for _ in range(case["count"]):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            break
        out.append(info.run_after)
        last = info.data_interval
    return out


answer(airflow.__version__, read_cases(), fire_times)
