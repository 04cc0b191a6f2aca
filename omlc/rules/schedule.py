"""Schedule rules (seed D5's ScheduleValidator): cron, timezone, DST, windows, budgets.

Time-dependent checks (DST transitions, coverage) look at one year from the schedule's
``start_date`` or, without one, from today (``OMLC_NOW`` pins "today" for reproducible
runs, e.g. in tests).
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Iterator

from omlc.diagnostics import Diagnostic, diag
from omlc.hookspecs import hookimpl
from omlc.ir import Pipeline
from omlc.rules import Rule, RuleContext

HORIZON = timedelta(days=366)

CODES = [
    ("OML401", "error", "An invalid or non-portable cron expression."),
    ("OML402", "error", "An unknown IANA timezone."),
    ("OML403", "warning", "A fire time falls in a DST gap (a local time that does not exist); engines disagree."),
    ("OML404", "warning", "A fire time falls in a DST fold (a local time that happens twice); engines disagree."),
    ("OML405", "error", "The schedule never fires (e.g. 0 0 30 2 *)."),
    ("OML406", "warning", "A cron step does not divide its range, so the spacing is uneven (e.g. */7 minutes)."),
    ("OML407", "warning", "Timeout or retry budget longer than the schedule interval with concurrency 1: runs pile up."),
    ("OML408", "warning", "Consecutive windows leave a gap: data no run reads."),
    ("OML409", "warning", "Consecutive windows overlap: data read twice."),
    ("OML410", "warning", "catchup is on but there is no start_date to catch up from."),
    ("OML411", "error", "An invalid interval expression."),
    ("OML412", "error", "A sliding window needs a size."),
    ("OML413", "error", "An invalid start_date or end_date."),
    ("OML414", "warning", "A window format that renders no date or time."),
    ("OML415", "warning", "A tumbling window's size is ignored (its length is the interval between runs)."),
    ("OML416", "info", "A cron expression that omlc normalises before emitting (e.g. a-a -> a)."),
]


@Rule.define("schedule", CODES)
def check_schedule(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    s = p.schedule
    if s is None:
        return
    from omlc.schedule.cron import CronError, parse_cron
    from omlc.schedule.engine import ScheduleError, zone
    from omlc.schedule.timetable import Timetable, now, parse_interval, parse_start

    loc = p.locations
    at = lambda *k: loc.value(("schedule",) + k) or loc.key(("schedule",))  # noqa: E731
    ok = tz_ok = True
    try:
        tz = zone(s.timezone)
    except ScheduleError:
        ok = tz_ok = False
        yield diag("OML402", f"unknown timezone {s.timezone!r}", at("timezone"), _timezone_hint(s.timezone))
    spec = None
    if s.type == "cron":
        try:
            spec = parse_cron(s.expression)
        except CronError as exc:
            ok = False
            fragment = s.expression[exc.column:exc.column + exc.length] or s.expression
            occurrence = s.expression[:exc.column].count(fragment)
            yield diag("OML401", f"cron {s.expression!r}: {exc}", loc.within(("schedule", "expression"), fragment,
                       occurrence), exc.hint)
    else:
        from omlc.durations import DurationError

        try:
            every = parse_interval(s.expression)
            if every.nominal_seconds <= 0 or (every.days and every.seconds):
                raise DurationError("an interval is a positive number of s/m/h, or of d/w (not both)")
        except DurationError as exc:
            ok = False
            yield diag("OML411", f"interval {s.expression!r}: {exc}", at("expression"),
                       "e.g. '15m', 'every 2h', '1d' (a calendar day)")
    for key in ("start_date", "end_date"):
        value = getattr(s, key)
        if value is not None and tz_ok:
            try:
                parse_start(value, tz)
            except ScheduleError as exc:
                ok = False
                yield diag("OML413", f"`{key}`: {exc}", at(key))
    if s.window is not None:
        w = s.window
        if w.type == "sliding" and w.size is None:
            ok = False
            yield diag("OML412", "a sliding window needs a `size`", loc.key(("schedule", "window")),
                       "e.g. size: '24h' (elapsed) or '1d' (calendar day)")
        if w.type == "tumbling" and w.size is not None:
            yield diag("OML415", "a tumbling window runs from the previous fire time to this one; `size` is ignored",
                       at("window", "size"), "remove `size`, or use a sliding window")
        if w.format is not None and w.format != "iso" and "%" not in w.format:
            yield diag("OML414", f"window format {w.format!r} has no strftime directive, so every window renders "
                       "the same text", at("window", "format"), "use 'iso' or a pattern like '%Y-%m-%d %H:%M'")
    if s.catchup and s.start_date is None:
        yield diag("OML410", "catchup: true but no start_date: engines backfill from an arbitrary point",
                   at("catchup"), "add start_date so the backfill has a defined beginning")
    if not ok:
        return
    if spec is not None:
        yield from _cron_checks(p, spec, at, loc)
        if not spec.can_fire():
            yield diag("OML405", f"cron {s.expression!r} never fires: no month has that day", at("expression"),
                       "check the day-of-month and month fields")
            return
    timetable = Timetable(s)
    start = timetable.start or now()
    end = start + HORIZON
    if spec is not None:
        yield from _dst_checks(p, timetable, start, end, at)
    yield from _budget_checks(p, timetable, start, at)
    if s.window is not None and (s.window.type == "tumbling" or s.window.size is not None):
        yield from _coverage_checks(p, timetable, start, end, at)


def _cron_checks(p, spec, at, loc) -> Iterator[Diagnostic]:
    from omlc.schedule.cron import FIELDS

    for message, column, length in spec.notes:
        fragment = p.schedule.expression[column:column + length]
        yield diag("OML416", message, loc.within(("schedule", "expression"), fragment), None)
    for index, field in enumerate(spec.fields[:2]):
        for item in field.split(","):
            if "/" in item and item.split("/")[0] in ("*", "0", "0-59", "0-23"):
                n = int(item.split("/")[1])
                size = 60 if index == 0 else 24
                if size % n:
                    last = (size - 1) // n * n
                    yield diag("OML406", f"{item!r} in the {FIELDS[index]} field runs at 0, {n}, ..., {last} and then "
                               f"0 again: the last gap is {size - last} instead of {n}", at("expression"),
                               f"use a step that divides {size} (e.g. {_divisor_near(n, size)}) or list the values")


def _divisor_near(n: int, size: int) -> int:
    return min((d for d in range(1, size + 1) if size % d == 0), key=lambda d: (abs(d - n), d))


def _dst_checks(p, timetable, start, end, at) -> Iterator[Diagnostic]:
    from omlc.schedule.analysis import dst_hits
    from omlc.schedule.targets import MODELS, model_caveat

    models = list(MODELS.values())
    hits = dst_hits(timetable.fires, start, end, [m.policy for m in models])
    tz = timetable.tz
    caveats = [c for m in models if (c := model_caveat(m.name, tz, start, end))] if hits else []
    for hit in hits:
        tr = hit.transition
        walls = ", ".join(w.strftime("%H:%M") for w in hit.walls[:4]) + (" ..." if len(hit.walls) > 4 else "")
        day = hit.walls[0].strftime("%Y-%m-%d")

        def said(instants) -> str:
            if not instants:
                return "does not run"
            return "runs at " + " and ".join(
                i.astimezone(tz).strftime("%H:%M") + (f" (UTC {i.strftime('%H:%M')})" if tr.kind == "fold" else "")
                for i in instants[:3])

        per_target = "; ".join(f"{m.title} {said(hit.instants[m.policy.name])}" for m in models)
        if caveats:
            per_target += " (" + "; ".join(caveats) + ")"
        if tr.kind == "gap":
            yield diag("OML403", f"on {day}, {walls} does not exist in {p.schedule.timezone} (clocks jump "
                       f"{_hm(tr.jump)} forward): OML {said(hit.instants['oml'])}; {per_target}", at("expression"),
                       "schedule outside the transition hour, or use timezone UTC, to run at the same time everywhere")
        else:
            yield diag("OML404", f"on {day}, {walls} happens twice in {p.schedule.timezone} (clocks go back "
                       f"{_hm(-tr.jump)}): OML {said(hit.instants['oml'])}; {per_target}", at("expression"),
                       "schedule outside the transition hour, or use timezone UTC")


def _hm(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes % 60 else f"{minutes // 60}h"


def _budget_checks(p, timetable, start, at) -> Iterator[Diagnostic]:
    from omlc.schedule.timetable import retry_delays

    s = p.schedule
    if (s.concurrency or 1) != 1 or s.timeout is None:
        return
    fires = timetable.fires.next_n(start, 12)
    gaps = [b - a for a, b in zip(fires, fires[1:])]
    if not gaps:
        return
    interval = min(gaps)
    runs = 1 + (s.retry.attempts if s.retry else 0)
    budget = timedelta(seconds=s.timeout.nominal_seconds * runs + sum(retry_delays(s.retry)))
    if budget > interval:
        what = "the timeout" if runs == 1 else f"{runs} attempts of the timeout plus retry delays"
        yield diag("OML407", f"a run may take up to {budget} ({what}) but runs start every {interval}: with "
                   "concurrency 1, later runs queue behind it and the backlog grows", at("timeout"),
                   "shorten the timeout or retries, raise concurrency, or schedule less often")


def _coverage_checks(p, timetable, start, end, at) -> Iterator[Diagnostic]:
    from omlc.schedule.analysis import coverage

    loc = p.locations
    issues = coverage(timetable, start, end)
    if not issues:
        return
    tz = timetable.tz
    for kind, code in (("gap", "OML408"), ("overlap", "OML409")):
        found = [i for i in issues if i.kind == kind]
        if not found:
            continue
        what = "no run reads" if kind == "gap" else "is read twice"
        steady = [i for i in found if not i.dst]
        dst = [i for i in found if i.dst]
        if steady:
            i = steady[0]
            yield diag(code, f"consecutive windows leave {'a gap' if kind == 'gap' else 'an overlap'} of "
                       f"{i.length} at every run (first {i.start.astimezone(tz):%Y-%m-%d %H:%M}): data that "
                       f"{what}", loc.key(("schedule", "window")), "make size equal to the interval between runs, or use a tumbling window")
        if dst:
            dates = ", ".join(f"{i.start.astimezone(tz):%Y-%m-%d} ({i.length})" for i in dst[:4])
            yield diag(code, f"DST makes consecutive windows {'leave a gap' if kind == 'gap' else 'overlap'}: {dates} "
                       f"— data that {what}", loc.key(("schedule", "window")),
                       "use a tumbling window, a calendar size ('1d' instead of '24h'), or timezone UTC")


def _timezone_hint(name: str) -> str:
    import zoneinfo

    names = sorted(zoneinfo.available_timezones())
    lowered = {n.lower(): n for n in names}
    if name.lower() in lowered:
        return f"timezone names are case-sensitive: {lowered[name.lower()]!r}"
    close = difflib.get_close_matches(name, names, 1, 0.6)
    return f"did you mean {close[0]!r}?" if close else "use an IANA name like 'Europe/Prague' or 'UTC'"


@hookimpl
def register_rules(register):
    register(check_schedule)
