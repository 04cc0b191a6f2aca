"""What each engine actually does with a cron schedule: fire-time models and cron syntax.

Each model is a :class:`DstPolicy` for the one fire-time generator, pinned to the engine
version it was measured against with the engine's own scheduling code
(``tests/test_engine_agreement.py`` keeps them honest). They live in the core, not in the
target plugins, because previews and validation show every engine's behaviour whether or
not its plugin is installed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from omlc.schedule.engine import OML, DstPolicy


@dataclass(frozen=True)
class EngineModel:
    name: str  # the target name: airflow, prefect, dagster
    title: str  # "Airflow 3.3"
    versions: str  # the engine versions the model was verified against
    policy: DstPolicy
    # cron syntax beyond portable 5-field cron that the engine accepts (for per-target notes)
    accepts: tuple[str, ...] = ()
    # the engine's scheduler assumes DST changes of whole hours with a positive DST amount
    # (see model_caveat for what happens where that fails)
    assumes_whole_hour_dst: bool = False


MODELS: dict[str, EngineModel] = {
    # CronMixin: croniter over naive local times; make_aware(fold=1) (pendulum: a missing
    # time shifts forward, a repeated one takes the second occurrence); schedules covering
    # every hour step by elapsed time instead; each fire time steps from the previous one
    "airflow": EngineModel(
        "airflow", "Airflow 3.3", "apache-airflow 3.3.2 (CronTriggerTimetable)",
        DstPolicy("airflow", gap_fixed="shift", gap_wildcard="shift", fold_fixed="second", fold_wildcard="both",
                  big_jump_skips=False, wildcard_rule="hour_star", day_rule="croniter", steps_from_previous=True),
        accepts=("L", "#", "W", "?", "R", "@quarterly"),
    ),
    # server CronSchedule: croniter over naive local times, each resolved with whenever's
    # "compatible" disambiguation (missing -> shifted forward, repeated -> first), deduplicated
    "prefect": EngineModel(
        "prefect", "Prefect 3.9", "prefect 3.9.1 (server CronSchedule)",
        DstPolicy("prefect", gap_fixed="shift", gap_wildcard="shift", fold_fixed="first", fold_wildcard="first",
                  big_jump_skips=False, day_rule="croniter"),
        accepts=("L", "#", "?", "6 fields (seconds)"),
    ),
    # schedule_execution_time_iterator: hourly schedules skip missing times and fire both
    # repeated ones; others move a missing time to its hour's start plus the DST amount and take the second
    # of a repeated one -- but only for wall times in 01:00-03:59 (its DAYLIGHT_SAVINGS_HOURS)
    "dagster": EngineModel(
        "dagster", "Dagster 1.13", "dagster 1.13.28 (schedule_execution_time_iterator)",
        DstPolicy("dagster", gap_fixed="hour_plus_dst", gap_wildcard="skip", fold_fixed="second", fold_wildcard="both",
                  big_jump_skips=False, wildcard_rule="hour_star", day_rule="croniter",
                  dst_hours=frozenset({1, 2, 3}), wall_order=True),
        accepts=("L", "#", "?", "R"),
        assumes_whole_hour_dst=True,
    ),
}


def model_caveat(target: str, tz: tzinfo, start: datetime, end: datetime) -> str | None:
    """Why the model of ``target`` may not match the engine in ``tz`` over ``[start, end)``.

    Dagster's schedule code assumes DST changes of whole hours, with a positive DST
    amount: hourly schedules step one hour of elapsed time (so after a 30- or 15-minute
    change they fire at another minute past the hour) and a missing time moves by the
    zone's DST amount (zero or negative in zones whose tz data has "negative DST", such
    as Europe/Dublin and Africa/Casablanca). The agreement tests record these cases; the
    model shows what the schedule means there, not Dagster's drift.
    """
    if not MODELS[target].assumes_whole_hour_dst:
        return None
    from omlc.schedule.analysis import transitions

    engine = MODELS[target].title.rsplit(" ", 1)[0]  # "Dagster" of "Dagster 1.13"
    for tr in transitions(tz, start, end):
        if tr.jump.total_seconds() % 3600:
            minutes = abs(int(tr.jump.total_seconds())) // 60
            return (f"{engine} assumes whole-hour DST changes; this zone changes by {minutes} minutes on "
                    f"{tr.at:%Y-%m-%d}, so {engine}'s fire times after it may differ from this preview")
        if tr.kind == "gap" and not (tz.dst(tr.at.astimezone(tz).replace(tzinfo=None)) or timedelta(0)) > timedelta(0):
            return (f"{engine} assumes positive DST; this zone's tz data uses negative DST (around "
                    f"{tr.at:%Y-%m-%d}), so {engine}'s fire times at its changes may differ from this preview")
    return None


def policy_for(target: str | None) -> DstPolicy:
    if target in (None, "oml"):
        return OML
    return MODELS[target].policy


def model_names() -> list[str]:
    return list(MODELS)


@functools.lru_cache(maxsize=4096)
def dst_difference(target: str, expression: str, timezone_name: str, start_date: str | None) -> str | None:
    """Where ``target``'s fire times for a cron schedule differ from OML's over the year
    from ``start_date`` (else from now): the first such DST change, as a loss-report
    sentence, or None. Includes the model's own caveat for the zone (:func:`model_caveat`)."""
    from omlc.schedule.analysis import dst_hits
    from omlc.schedule.engine import CronSchedule
    from omlc.schedule.timetable import now, parse_start

    model = MODELS[target]
    engine = model.title.rsplit(" ", 1)[0]
    oml = CronSchedule(expression, timezone_name)
    tz = oml.tz
    begin = (parse_start(start_date, tz) if start_date else None) or now()
    end = begin + timedelta(days=366)
    for hit in dst_hits(oml, begin, end, [model.policy]):
        ours, theirs = hit.instants["oml"], hit.instants[target]
        if ours != theirs:

            def said(instants) -> str:
                return " and ".join(i.astimezone(tz).strftime("%H:%M %Z") for i in instants) or "no run"

            day = hit.walls[0].strftime("%Y-%m-%d")
            return (f"at the DST change of {day}, {engine} runs at {said(theirs)} where OML runs at {said(ours)} "
                    f"(`omlc schedule next --target {target}` shows each)")
    return model_caveat(target, tz, begin, end)


def interval_cron(fires, timezone_name: str) -> tuple[str, str] | None:
    """A cron expression and its timezone whose fire times are exactly the grid of an
    interval schedule (:class:`omlc.schedule.engine.IntervalSchedule`), or None where no
    cron expression gives it. Absolute intervals that divide an hour or a day are written
    in UTC (where elapsed time and wall time agree); one day or one week is the anchor's
    local time in the schedule's timezone."""
    every, anchor = fires.every, fires.anchor
    if every.seconds and not every.days:
        s = every.seconds
        if s % 60 == 0 and 3600 % s == 0:
            step, first = s // 60, anchor.minute % (s // 60)
            minute = "*" if step == 1 else (f"*/{step}" if first == 0 else f"{first}-59/{step}")
            return f"{minute} * * * *", "UTC"
        if s % 3600 == 0 and 86400 % s == 0:
            step, first = s // 3600, anchor.hour % (s // 3600)
            hour = "*" if step == 1 else (f"*/{step}" if first == 0 else f"{first}-23/{step}")
            return f"{anchor.minute} {hour} * * *", "UTC"
        return None
    if every.seconds:
        return None
    local = anchor.astimezone(fires.tz)
    if every.days == 1:
        return f"{local.minute} {local.hour} * * *", timezone_name
    if every.days == 7:
        return f"{local.minute} {local.hour} * * {(local.weekday() + 1) % 7}", timezone_name
    return None
