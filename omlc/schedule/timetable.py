"""A pipeline's schedule made concrete: fire times, data windows, retry timelines.

Built from the IR's :class:`omlc.ir.Schedule`; everything here is a pure function of it.
Calendar units (``d``, ``w``) move the wall clock in the schedule's timezone and resolve a
wall time that does not exist, or exists twice, by the same rules as fire times (the
first instant after a gap; the first of two), so a ``1d`` window always meets the
previous day's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Iterator

from omlc.durations import Duration, parse_duration
from omlc.runtime.window import omlc_render_time as render_time
from omlc.runtime.window import omlc_resolve_wall as resolve_wall
from omlc.runtime.window import omlc_window_bounds
from omlc.schedule.engine import OML, UTC, CronSchedule, DstPolicy, ScheduleError, canonical, zone

INTERVAL_ANCHOR = datetime(2000, 1, 1)  # local midnight in the schedule timezone, when no start_date


def now() -> datetime:
    """The current minute (UTC); ``OMLC_NOW`` (ISO) pins it for reproducible runs and tests."""
    pinned = os.environ.get("OMLC_NOW")
    if pinned:
        moment = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC instants
    end: datetime

    def render(self, fmt: str | None, tz: tzinfo) -> tuple[str, str]:
        return render_time(self.start, fmt, tz), render_time(self.end, fmt, tz)


class IntervalSchedule:
    """Every ``every`` from an anchor: absolute units step in elapsed time, calendar units
    (d, w) step the local wall clock (DST-aware, like a fixed-time cron job)."""

    def __init__(self, every: Duration, timezone_name: str, anchor: datetime | None = None):
        if every.nominal_seconds <= 0:
            raise ScheduleError("an interval must be positive")
        if every.days and every.seconds:
            raise ScheduleError("an interval mixes calendar days and hours; use one unit kind")
        self.every = every
        self.timezone = timezone_name
        self.tz = zone(timezone_name)
        self.anchor = resolve_wall(anchor or INTERVAL_ANCHOR, self.tz) if (anchor is None or anchor.tzinfo is None) \
            else anchor.astimezone(UTC)
        self.spec = None
        self.policy = OML

    def __repr__(self) -> str:
        return f"IntervalSchedule({self.every}, {self.timezone!r})"

    def _nth(self, k: int) -> datetime:
        if self.every.days:
            wall = self.anchor.astimezone(self.tz).replace(tzinfo=None) + timedelta(days=self.every.days * k)
            return resolve_wall(wall, self.tz)
        return self.anchor + timedelta(seconds=self.every.seconds * k)

    def _index_at_or_before(self, moment: datetime) -> int:
        if self.every.days:
            k = (moment - self.anchor).days // self.every.days
            while self._nth(k) > moment:
                k -= 1
            while self._nth(k + 1) <= moment:
                k += 1
            return k
        return int((moment - self.anchor).total_seconds() // self.every.seconds)

    def iter_after(self, after: datetime) -> Iterator[datetime]:
        k = self._index_at_or_before(after.astimezone(UTC)) + 1
        while True:
            yield canonical(self._nth(k))
            k += 1

    def iter_before(self, before: datetime) -> Iterator[datetime]:
        k = self._index_at_or_before(before.astimezone(UTC))
        if self._nth(k) >= before:
            k -= 1
        while True:  # the grid extends before the anchor; start_date limits runs, not the grid
            yield canonical(self._nth(k))
            k -= 1

    def next(self, after: datetime) -> datetime:
        return next(self.iter_after(after))

    def prev(self, before: datetime) -> datetime:
        return next(self.iter_before(before))

    def next_n(self, after: datetime, count: int) -> list[datetime]:
        it = self.iter_after(after)
        return [next(it) for _ in range(count)]

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        out = []
        end = end.astimezone(UTC)
        for t in self.iter_after(start):
            if t > end:
                break
            out.append(t)
        return out


def parse_interval(expression: str) -> Duration:
    text = expression.strip()
    if text.lower().startswith("every "):
        text = text[6:].strip()
    return parse_duration(text)


def parse_start(value: str | None, tz: tzinfo) -> datetime | None:
    """An ISO date or datetime; naive values are wall times in the schedule timezone."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScheduleError(f"{value!r} is not an ISO date or datetime (e.g. 2024-01-01 or 2024-01-01T06:00)") from exc
    if moment.tzinfo is None:
        return resolve_wall(moment, tz)
    return moment.astimezone(UTC)


class Timetable:
    """Fire times and windows of one pipeline schedule (an :class:`omlc.ir.Schedule`)."""

    def __init__(self, schedule, policy: DstPolicy = OML):
        self.schedule = schedule
        self.tz = zone(schedule.timezone)
        self.start = parse_start(schedule.start_date, self.tz)
        self.end = parse_start(schedule.end_date, self.tz)
        if schedule.type == "interval":
            anchor = self.start.astimezone(self.tz).replace(tzinfo=None) if self.start else None
            self.fires = IntervalSchedule(parse_interval(schedule.expression), schedule.timezone, anchor)
        else:
            self.fires = CronSchedule(schedule.expression, schedule.timezone, policy)

    def next_n(self, after: datetime, count: int) -> list[datetime]:
        out = []
        for t in self.fires.iter_after(after if self.start is None or after >= self.start
                                       else self.start - timedelta(microseconds=1)):
            if self.end is not None and t > self.end:
                break
            out.append(t)
            if len(out) == count:
                break
        return out

    def window(self, fire: datetime) -> Window | None:
        w = self.schedule.window
        if w is None:
            return None
        start, end = omlc_window_bounds(_window_spec(w), fire, self.tz, self.fires.prev, self.nominal_wall)
        return Window(canonical(start), canonical(end))

    def runtime_spec(self) -> dict:
        """The schedule as the literal ``spec`` of :mod:`omlc.runtime.window`, which
        generated code carries to compute each run's window the way this timetable does."""
        spec: dict = {"timezone": self.schedule.timezone}
        if isinstance(self.fires, IntervalSchedule):
            every = self.fires.every
            spec["interval"] = {"days": every.days, "seconds": every.seconds,
                                "anchor": canonical(self.fires.anchor).isoformat()}
        else:
            spec["cron"] = cron_fields(self.fires.spec)
        if self.schedule.window is not None:
            spec["window"] = _window_spec(self.schedule.window)
        return spec

    def nominal_wall(self, fire: datetime) -> datetime:
        if isinstance(self.fires, CronSchedule):
            return self.fires.nominal_wall(fire)
        return fire.astimezone(self.tz).replace(tzinfo=None)

    def runs_on(self, day: date) -> list[datetime]:
        """Fire times whose local date is ``day``."""
        start = resolve_wall(datetime.combine(day, datetime.min.time()), self.tz)
        end = resolve_wall(datetime.combine(day + timedelta(days=1), datetime.min.time()), self.tz)
        return [t for t in self.fires.between(start - timedelta(microseconds=1), end) if t < end]


def cron_fields(c) -> dict:
    """A parsed cron expression (:class:`omlc.schedule.cron.CronSpec`) as the expanded
    fields of the runtime spec: equal for expressions that fire alike."""
    return {"minutes": sorted(c.minutes), "hours": sorted(c.hours), "days": sorted(c.days),
            "months": sorted(c.months), "weekdays": sorted(c.weekdays),
            "dom_star": c.dom_star, "dow_star": c.dow_star, "wildcard": c.wildcard_job}


def _window_spec(window) -> dict:
    size = window.size or Duration(0, 0)
    return {"type": window.type, "size": [size.days, size.seconds],
            "offset": [window.offset.days, window.offset.seconds], "format": window.format}


def retry_delays(retry) -> list[int]:
    """OML's retry timeline: the delay in seconds before each retry (``attempts`` of them)."""
    if retry is None:
        return []
    base = retry.delay.nominal_seconds
    cap = retry.max_delay.nominal_seconds if retry.max_delay is not None else None
    delays = []
    for i in range(retry.attempts):
        if retry.backoff == "constant":
            d = base
        elif retry.backoff == "linear":
            d = base * (i + 1)
        else:
            d = base * 2 ** i
        delays.append(min(d, cap) if cap is not None else d)
    return delays
