"""Prefect's own fire times: the server's CronSchedule.get_dates (what the scheduler service
uses to create scheduled flow runs)."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from oracle_io import answer, read_cases, start_of  # noqa: E402

import prefect  # noqa: E402
from prefect.server.schemas.schedules import CronSchedule  # noqa: E402


def fire_times(case):
    schedule = CronSchedule(cron=case["cron"], timezone=case["tz"])
    return asyncio.run(schedule.get_dates(n=case["count"], start=start_of(case)))


answer(prefect.__version__, read_cases(), fire_times)
