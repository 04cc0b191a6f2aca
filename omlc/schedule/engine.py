"""Fire times: OML's meaning of a schedule, and each engine's, from one algorithm.

OML's meaning of a cron schedule is classic cron's (cronie), in the schedule's IANA
timezone, whole minutes (DESIGN.md section 3):

- a local time that occurs twice: wildcard jobs run at both instants, fixed-time jobs at
  the first only;
- a local time that does not exist (a jump forward of less than 3 hours): a fixed-time
  job runs once at the first instant after the gap; wildcard jobs lose those minutes; a
  jump of 3 hours or more is a clock correction and nothing is caught up;
- runs that coincide are one run; ``next(t)`` is strictly after ``t``.

The engines differ only in these DST decisions, so each is a :class:`DstPolicy` applied
by the same generator (:mod:`omlc.schedule.targets` defines them).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Iterator, Literal

from omlc.runtime.window import _omlc_transition as _transition
from omlc.schedule.cron import CronSpec, parse_cron

UTC = timezone.utc
CLOCK_CORRECTION = timedelta(hours=3)
_DAY = timedelta(days=1)

GapRule = Literal["after_gap", "shift", "skip", "hour_plus_dst"]
FoldRule = Literal["first", "second", "both"]


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class DstPolicy:
    """How a schedule's local fire times become instants: OML's rules, or an engine's.

    ``gap_*``: a local time that does not exist. ``after_gap`` fires at the instant the
    clock jumps (the first instant after the gap); ``shift`` fires at the wall time read
    with the offset before the jump (02:30 -> 03:30 for a one-hour jump); ``skip`` does not
    fire. ``fold_*``: which occurrence of a repeated local time fires. ``*_fixed`` applies to
    fixed-time jobs, ``*_wildcard`` to wildcard jobs. ``big_jump_skips``: a jump of 3 hours
    or more is a clock correction (nothing fires inside it).

    The engines' quirks, each measured against the engine's own code:

    - ``wildcard_rule``: what makes a wildcard job: ``cron`` (the minute or hour field text
      starts with ``*``) or ``hour_star`` (the hour field covers every hour, as Airflow and
      Dagster test it);
    - ``day_rule``: ``cron`` or ``croniter`` (see :meth:`CronSpec.day_stars`);
    - ``steps_from_previous``: each fire time is the next matching wall time after the
      previous fire time's local time, resolved on its own (Airflow's CronMixin): a time
      shifted past a gap hides the matching times it jumped over, and the second
      occurrence of a repeated time is lost when the first one was already passed; a job
      whose hour field covers every hour instead adds the wall-clock distance to the next
      matching time as elapsed time;
    - ``dst_hours``: DST rules apply only to wall times in these hours (Dagster assumes
      transitions happen at 01:00-03:59); elsewhere a missing time shifts and a fixed-time
      job in a repeated hour takes the first occurrence. Gap rule ``hour_plus_dst``: the
      start of the missing wall time's hour plus the zone's DST amount (Dagster's
      ``apply_post_transition``; the end of the gap when transitions fall on the hour).
    - ``wall_order``: matching wall times are resolved in wall-clock order and one that
      resolves to an instant not after the last fire time is dropped (Dagster's
      timezone-aware croniter loop): a time moved past a gap hides the real times it
      jumped over.
    """

    name: str
    gap_fixed: GapRule = "after_gap"
    gap_wildcard: GapRule = "skip"
    fold_fixed: FoldRule = "first"
    fold_wildcard: FoldRule = "both"
    big_jump_skips: bool = True
    wildcard_rule: Literal["cron", "hour_star"] = "cron"
    day_rule: Literal["cron", "croniter"] = "cron"
    steps_from_previous: bool = False
    wall_order: bool = False
    dst_hours: frozenset[int] | None = None


OML = DstPolicy("oml")


@functools.lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (tzdata ships with omlc, so this works without system tz data)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() in ("UTC", "Z", "ETC/UTC", "GMT"):
        name = "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ScheduleError(f"unknown timezone {name!r}") from exc


def canonical(moment: datetime) -> datetime:
    """The instant in UTC: one representation per instant.

    Python compares and subtracts two datetimes that share a tzinfo object by their wall
    clocks, ignoring ``fold`` (two instants of a repeated hour compare equal), so every
    instant omlc computes with is in UTC; only display converts to the schedule's zone.
    """
    return moment.astimezone(UTC)


class CronSchedule:
    """A cron schedule in a timezone, under a DST policy (OML's by default)."""

    def __init__(self, expression: str | CronSpec, timezone_name: str = "UTC", policy: DstPolicy = OML):
        self.spec = expression if isinstance(expression, CronSpec) else parse_cron(expression)
        self.timezone = timezone_name
        self.tz = zone(timezone_name)
        self.policy = policy
        spec = self.spec
        self._times = spec.times
        self._stars = spec.day_stars(policy.day_rule)
        hour_star = len(spec.hours) == 24
        wildcard = hour_star if policy.wildcard_rule == "hour_star" else spec.wildcard_job
        self._gap = policy.gap_wildcard if wildcard else policy.gap_fixed
        self._fold = policy.fold_wildcard if wildcard else policy.fold_fixed
        self._stepping = policy.steps_from_previous
        self._hour_star = hour_star
        # Dagster's daily/weekly/monthly fast path (one minute, one hour) resolves repeated
        # times outside its DST hours to the first occurrence; its general path to the second
        self._simple = len(spec.minutes) == 1 and len(spec.hours) == 1 and spec.fields[3] == "*"

    def __repr__(self) -> str:
        return f"CronSchedule({self.spec.text!r}, {self.timezone!r}, {self.policy.name})"

    # -- public API --------------------------------------------------------------------
    def next(self, after: datetime) -> datetime:
        """The first fire time strictly after ``after``."""
        return next(self.iter_after(after))

    def prev(self, before: datetime) -> datetime:
        """The last fire time strictly before ``before``."""
        return next(self.iter_before(before))

    def next_n(self, after: datetime, count: int) -> list[datetime]:
        it = self.iter_after(after)
        return [next(it) for _ in range(count)]

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Fire times in ``(start, end]``."""
        out = []
        end = _aware(end).astimezone(UTC)
        for t in self.iter_after(start):
            if t > end:
                break
            out.append(t)
        return out

    def iter_after(self, after: datetime, limit_days: int = 366 * 30) -> Iterator[datetime]:
        """Fire times strictly after ``after``, in order, as UTC instants."""
        after = _aware(after).astimezone(UTC)
        if self._stepping:
            yield from self._iter_stepping(after, limit_days)
            return
        if self.policy.wall_order and not self._hour_star:
            yield from self._iter_wall_order(after, limit_days)
            return
        day = after.astimezone(self.tz).date() - _DAY
        last = day + timedelta(days=limit_days)
        pending: list[datetime] = []
        while day < last:
            instants = [i for i in self.day_instants(day) if i > after]
            day = self._next_candidate(day + _DAY)
            if not instants:
                if pending:  # instants of later days come after every pending one
                    yield from self._drain(pending)
                    pending = []
                continue
            pending.extend(instants)
            pending.sort()
            # a later local day can only undercut this day's instants through a DST fold
            # (at most 3 hours); everything more than a day before its first instant is final
            cut = min(instants)
            while pending and pending[0] < cut:
                yield canonical(pending.pop(0))
        yield from self._drain(pending)

    def iter_before(self, before: datetime, limit_days: int = 366 * 30) -> Iterator[datetime]:
        """Fire times strictly before ``before``, latest first, as UTC instants."""
        before = _aware(before).astimezone(UTC)
        day = before.astimezone(self.tz).date() + _DAY
        pending: list[datetime] = []
        for _ in range(limit_days):
            instants = [i for i in self.day_instants(day) if i < before]
            day -= _DAY
            if not instants:
                if pending:
                    for t in sorted(pending, reverse=True):
                        yield canonical(t)
                    pending = []
                continue
            pending.extend(instants)
            pending.sort(reverse=True)
            cut = max(instants)
            while pending and pending[0] > cut:
                yield canonical(pending.pop(0))
        for t in sorted(pending, reverse=True):
            yield canonical(t)

    def _next_candidate(self, day: date) -> date:
        """The first day on or after ``day`` whose month (and, in AND mode, weekday) can match."""
        spec = self.spec
        for _ in range(400):
            if day.month not in spec.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self._stars[0] and not self._stars[1]:
                weekday = (day.weekday() + 1) % 7
                ahead = min((w - weekday) % 7 for w in spec.weekdays)
                if ahead:
                    candidate = day + timedelta(days=ahead)
                    if candidate.month != day.month:
                        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                        continue
                    day = candidate
            return day
        return day

    def _drain(self, pending: list[datetime]) -> Iterator[datetime]:
        for t in sorted(pending):
            yield canonical(t)

    def nominal_wall(self, instant: datetime) -> datetime:
        """The scheduled local wall time of a fire time (naive).

        Usually the instant's wall clock; for a run the gap rule moved to the end of a DST
        gap (02:30 -> 03:00), the wall time it was scheduled for (02:30), so calendar
        arithmetic (a ``1d`` window) starts from the day's schedule, not from the jump.
        """
        instant = instant.astimezone(UTC)
        local = instant.astimezone(self.tz)
        wall = local.replace(tzinfo=None)
        just_before = (instant - timedelta(minutes=1)).astimezone(self.tz).utcoffset()
        if just_before is not None and local.utcoffset() is not None and just_before < local.utcoffset():
            gap_start = (instant + just_before).replace(tzinfo=None)
            day = gap_start.date()
            for h, m in self._times:
                candidate = datetime(day.year, day.month, day.day, h, m)
                if gap_start <= candidate < wall and self._wall_instants(candidate) == [instant]:
                    return candidate
        return wall

    # -- one local day -----------------------------------------------------------------
    def day_instants(self, day: date) -> list[datetime]:
        """UTC instants of the fire times whose local wall time falls on ``day`` (sorted, unique)."""
        weekday = (day.weekday() + 1) % 7
        if not self.spec.day_matches(day.day, day.month, weekday, self._stars):
            return []
        tz = self.tz
        start = datetime(day.year, day.month, day.day)
        off0 = tz.utcoffset(start)
        off1 = tz.utcoffset(start + _DAY)
        if off0 == off1 and tz.utcoffset(start + timedelta(hours=12)) == off0:
            base = start.replace(tzinfo=UTC) - off0
            return [base + timedelta(hours=h, minutes=m) for h, m in self._times]
        found: set[datetime] = set()
        for h, m in self._times:
            found.update(self._wall_instants(start.replace(hour=h, minute=m)))
        return sorted(found)

    def _wall_instants(self, wall: datetime) -> list[datetime]:
        tz = self.tz
        first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if first == second:
            return [first]
        dst_hours = self.policy.dst_hours
        outside = dst_hours is not None and wall.hour not in dst_hours
        if first < second:  # the wall time happens twice
            fold = "first" if outside and self._simple and self._fold == "second" else self._fold
            return {"first": [first], "second": [second], "both": [first, second]}[fold]
        # the wall time does not exist: ``second`` is before the jump, ``first`` after it
        jump = first - second
        if jump >= CLOCK_CORRECTION and self.policy.big_jump_skips:
            return []
        gap = "shift" if outside and self._gap in ("after_gap", "hour_plus_dst") else self._gap
        if gap == "skip":
            return []
        if gap == "shift":
            return [first]
        if gap == "hour_plus_dst":
            dst = tz.dst(wall + timedelta(hours=1)) or timedelta(0)
            return [(wall.replace(minute=0) + dst).replace(tzinfo=tz).astimezone(UTC)]
        return [_transition(tz, second, first)]

    # -- Airflow's stepping -------------------------------------------------------------
    def _iter_stepping(self, after: datetime, limit_days: int) -> Iterator[datetime]:
        """Each fire time from the previous one's local wall time (``steps_from_previous``):
        the next matching wall time, resolved by the DST policy, or, for a schedule that
        covers every hour, the previous instant plus the wall-clock distance to it."""
        t = after
        tz = self.tz
        while True:
            local = t.astimezone(tz).replace(tzinfo=None)
            nxt = self._next_wall(local, limit_days)
            if nxt is None:
                return
            if self._hour_star:
                t = t + (nxt - local)
            else:
                resolved = self._wall_instants(nxt)
                if not resolved:  # a skipped time: step on from it
                    t = nxt.replace(tzinfo=tz, fold=1).astimezone(UTC)
                    continue
                t = resolved[-1]
            yield t

    def _iter_wall_order(self, after: datetime, limit_days: int) -> Iterator[datetime]:
        last = after
        wall = after.astimezone(self.tz).replace(tzinfo=None, second=0, microsecond=0) - CLOCK_CORRECTION
        while True:
            wall = self._next_wall(wall, limit_days)
            if wall is None:
                return
            for t in self._wall_instants(wall):
                if t > last:
                    last = t
                    yield t

    def _next_wall(self, wall: datetime, limit_days: int) -> datetime | None:
        """The first matching local wall time strictly after ``wall`` (naive, ignoring DST)."""
        day = wall.date()
        for _ in range(limit_days):
            weekday = (day.weekday() + 1) % 7
            if self.spec.day_matches(day.day, day.month, weekday, self._stars):
                for h, m in self._times:
                    candidate = datetime(day.year, day.month, day.day, h, m)
                    if candidate > wall:
                        return candidate
            day = self._next_candidate(day + _DAY)
        return None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ScheduleError("a naive datetime has no instant; give a timezone")
    return moment
