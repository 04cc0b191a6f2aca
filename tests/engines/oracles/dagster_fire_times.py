"""Dagster's own fire times: schedule_execution_time_iterator (what the schedule daemon
iterates for a schedule with execution_timezone)."""

import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_io import answer, read_cases, start_of  # noqa: E402

import dagster  # noqa: E402
from dagster._utils.schedules import schedule_execution_time_iterator  # noqa: E402


def fire_times(case):
    it = schedule_execution_time_iterator(start_of(case).timestamp(), case["cron"], case["tz"])
    return list(itertools.islice(it, case["count"]))


answer(dagster.__version__, read_cases(), fire_times)
