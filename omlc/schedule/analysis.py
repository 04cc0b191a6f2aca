"""Schedule analysis over a horizon: DST transitions a schedule hits, and window coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from omlc.runtime.window import _omlc_transition as _transition
from omlc.schedule.engine import UTC, CLOCK_CORRECTION, CronSchedule
from omlc.schedule.timetable import Timetable

HORIZON = timedelta(days=366)


@dataclass(frozen=True)
class Transition:
    at: datetime  # the UTC instant the offset changes
    before: timedelta  # UTC offset before
    after: timedelta  # UTC offset after

    @property
    def jump(self) -> timedelta:
        """Positive: clocks go forward (a gap of local times); negative: back (a fold)."""
        return self.after - self.before

    @property
    def kind(self) -> Literal["gap", "fold"]:
        return "gap" if self.jump > timedelta(0) else "fold"

    def local_range(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The wall times that do not exist (gap) or happen twice (fold): [start, end)."""
        wall_before = (self.at + self.before).replace(tzinfo=None)
        wall_after = (self.at + self.after).replace(tzinfo=None)
        return (wall_before, wall_after) if self.kind == "gap" else (wall_after, wall_before)


SCAN_STEP = timedelta(days=7)


def transitions(tz: tzinfo, start: datetime, end: datetime, step: timedelta = SCAN_STEP) -> list[Transition]:
    """UTC-offset changes of ``tz`` in ``[start, end)`` (found at minute resolution).

    Offsets are sampled every ``step`` and each change is located by bisection; two changes
    within one step that cancel out would be missed (tests/test_schedule_engine.py checks
    no zone has such a pair in the years omlc schedules for).
    """
    found = []
    t = start.astimezone(UTC)
    end = end.astimezone(UTC)
    prev_off = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = min(t + step, end)
        off = nxt.astimezone(tz).utcoffset()
        if off != prev_off:
            at = _transition(tz, t, nxt)
            found.append(Transition(at, prev_off, off))
        t, prev_off = nxt, off
    return found


@dataclass(frozen=True)
class DstHit:
    """A fire time whose local wall time does not exist or happens twice."""

    transition: Transition
    walls: tuple[datetime, ...]  # the scheduled wall times affected (naive, local)
    instants: dict[str, tuple[datetime, ...]] = field(default_factory=dict)  # per policy name


def dst_hits(schedule: CronSchedule, start: datetime, end: datetime, policies=()) -> list[DstHit]:
    """Transitions in ``[start, end)`` where the cron schedule has a wall time in the gap or fold,
    with the instants OML (and each given policy) fires at for those wall times."""
    hits = []
    spec = schedule.spec
    for tr in transitions(schedule.tz, start, end):
        lo, hi = tr.local_range(schedule.tz)
        walls = []
        day = lo.date()
        while day <= hi.date():
            weekday = (day.weekday() + 1) % 7
            if spec.day_matches(day.day, day.month, weekday):
                for h, m in spec.times:
                    wall = datetime(day.year, day.month, day.day, h, m)
                    if lo <= wall < hi:
                        walls.append(wall)
            day += timedelta(days=1)
        if not walls:
            continue
        instants = {}
        for sched in (schedule, *[CronSchedule(spec, schedule.timezone, p) for p in policies]):
            found: set[datetime] = set()
            for wall in walls:
                found.update(sched._wall_instants(wall))
            if found and (sched.policy.steps_from_previous or sched.policy.wall_order):
                # these engines drop some of the resolved times (a shifted run hides the
                # times it jumped over): keep those the schedule really fires at
                found &= set(sched.between(min(found) - timedelta(hours=6), max(found)))
            instants[sched.policy.name] = tuple(sorted(found))
        hits.append(DstHit(tr, tuple(walls), instants))
    return hits


@dataclass(frozen=True)
class CoverageIssue:
    kind: Literal["gap", "overlap"]
    start: datetime  # the data interval never read (gap) or read twice (overlap)
    end: datetime
    fire: datetime  # the run whose window starts the issue
    dst: bool  # caused by a DST transition (not by the window arithmetic alone)

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def coverage(timetable: Timetable, start: datetime, end: datetime, full: bool = False) -> list[CoverageIssue]:
    """Gaps and overlaps between consecutive runs' windows over ``(start, end]``.

    Tumbling windows meet by construction (each starts where the previous one ended).
    Sliding windows are checked on the schedule's periodic part — the runs of the first 8
    days or first 40 runs, whichever is more (at most 3,000) — and on the runs within two
    days of each DST transition, since apart from DST the window arithmetic repeats with
    the schedule. ``full=True`` checks every run (tests compare the two).
    """
    w = timetable.schedule.window
    if w is None or w.type == "tumbling":
        return []
    fires = _all_fires(timetable, start, end) if full else _sample_fires(timetable, start, end)
    issues = []
    tz = timetable.tz
    for previous, current in zip(fires, fires[1:]):
        if current is None or previous is None:
            continue
        a, b = timetable.window(previous), timetable.window(current)
        if b.start > a.end:
            kind, lo, hi = "gap", a.end, b.start
        elif b.start < a.end:
            kind, lo, hi = "overlap", b.start, a.end
        else:
            continue
        dst = a.end.astimezone(tz).utcoffset() != b.start.astimezone(tz).utcoffset() or \
            previous.astimezone(tz).utcoffset() != current.astimezone(tz).utcoffset()
        issues.append(CoverageIssue(kind, lo, hi, current, dst))
    return sorted(set(issues), key=lambda i: i.fire)


def _all_fires(timetable: Timetable, start: datetime, end: datetime) -> list:
    return timetable.fires.between(start, end)


def _sample_fires(timetable: Timetable, start: datetime, end: datetime, cap: int = 3000) -> list:
    periodic = []
    week = start + timedelta(days=8)
    for t in timetable.fires.iter_after(start):
        if t > end or len(periodic) >= cap or (t > week and len(periodic) >= 40):
            break
        periodic.append(t)
    sample = list(periodic)
    for tr in transitions(timetable.tz, start, end):
        near = timetable.fires.between(tr.at - timedelta(days=2), min(tr.at + timedelta(days=2), end))
        near = [t for t in near if t > start]
        if near:
            sample.append(None)  # never pair runs across a hole in the sample
            sample.extend(near)
    return sample


def clock_corrections(tz: tzinfo, start: datetime, end: datetime) -> list[Transition]:
    return [t for t in transitions(tz, start, end) if abs(t.jump) >= CLOCK_CORRECTION]
