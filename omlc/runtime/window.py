"""A pipeline run's data window, from its fire time: the runtime half of OML's schedule.

This module is the one definition of window arithmetic. omlc's own previews use it
(:mod:`omlc.schedule.timetable`), and every target copies its source, verbatim, into the
code it generates, so the window an orchestrator computes at run time is the window
``omlc schedule preview`` shows. It therefore imports only the standard library and
nothing from omlc, has no ``from __future__`` import, and its names start with ``omlc_``
or ``_omlc_`` so they cannot meet the names of the code around them.

A schedule reaches it as ``spec``, a dict of plain literals that the generated code
carries (and the round-trip reader reads back):

- ``timezone``: the IANA name;
- ``cron``: ``{"minutes": [...], "hours": [...], "days": [...], "months": [...],
  "weekdays": [...] (0 = Sunday), "dom_star": bool, "dow_star": bool, "wildcard": bool}``,
  the expanded fields of the (normalised) cron expression; or ``interval``:
  ``{"days": d, "seconds": s, "anchor": "<UTC ISO instant>"}``;
- ``window``: ``{"type": "sliding" | "tumbling", "size": [days, seconds],
  "offset": [days, seconds], "format": None | "iso" | "<strftime pattern>"}``.

Durations are ``[days, seconds]``: calendar days move the wall clock in the schedule's
timezone, seconds are elapsed time. A wall time that does not exist resolves to the first
instant after the gap, one that exists twice to the first of the two, as fire times do.
"""

from datetime import date as _omlc_date
from datetime import datetime as _omlc_datetime
from datetime import timedelta as _omlc_timedelta
from datetime import timezone as _omlc_timezone

_OMLC_UTC = _omlc_timezone.utc
_OMLC_DAY = _omlc_timedelta(days=1)
_OMLC_CLOCK_CORRECTION = _omlc_timedelta(hours=3)
OMLC_DEFAULT_FORMAT = "%Y-%m-%d %H:%M:%S"


def omlc_zone(name):
    """The tzinfo of an IANA name (``UTC`` without tz data)."""
    if name.upper() in ("UTC", "Z", "ETC/UTC", "GMT"):
        return _OMLC_UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def omlc_instant(moment):
    """Any aware datetime (pendulum's too) as a stdlib UTC datetime."""
    if moment.tzinfo is None:
        raise ValueError("a fire time must carry its timezone")
    return _omlc_datetime.fromtimestamp(moment.timestamp(), _OMLC_UTC)


def _omlc_transition(tz, lo, hi):
    """The first instant in ``(lo, hi]`` with ``hi``'s UTC offset (minute resolution)."""
    target = hi.astimezone(tz).utcoffset()
    lo_m, hi_m = int(lo.timestamp()) // 60, int(hi.timestamp()) // 60
    while hi_m - lo_m > 1:
        mid = (lo_m + hi_m) // 2
        if _omlc_datetime.fromtimestamp(mid * 60, _OMLC_UTC).astimezone(tz).utcoffset() == target:
            hi_m = mid
        else:
            lo_m = mid
    return _omlc_datetime.fromtimestamp(hi_m * 60, _OMLC_UTC)


def omlc_resolve_wall(wall, tz):
    """The instant of a local wall time: the first of two; the first instant after a gap."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(_OMLC_UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(_OMLC_UTC)
    if first <= second:
        return first
    return _omlc_transition(tz, second, first)


def omlc_shift(moment, duration, tz, wall=None):
    """``moment`` plus ``duration`` (``[days, seconds]``): calendar days on the local wall
    clock (from ``wall`` when given: a run moved by a DST gap counts from its scheduled
    time), then elapsed seconds."""
    days, seconds = duration
    result = moment
    if days:
        if wall is None:
            wall = moment.astimezone(tz).replace(tzinfo=None)
        result = omlc_resolve_wall(wall + _omlc_timedelta(days=days), tz)
    if seconds:
        result = result.astimezone(_OMLC_UTC) + _omlc_timedelta(seconds=seconds)
    return result.astimezone(_OMLC_UTC)


def omlc_render_time(moment, fmt, tz):
    """``${window.*}`` text: the wall time in ``tz`` (default ``YYYY-MM-DD HH:MM:SS``)."""
    moment = moment.astimezone(tz)
    if fmt is None:
        return moment.strftime(OMLC_DEFAULT_FORMAT)
    if fmt == "iso":
        return moment.isoformat()
    return moment.strftime(fmt)


# -- OML's fire times (classic cron in the schedule's timezone) ---------------------------

def _omlc_wall_instants(wall, tz, wildcard):
    """The fire instants of one local wall time: a repeated time fires once (fixed-time
    jobs) or twice (wildcard jobs); a missing time fires at the end of the gap (fixed-time
    jobs, jumps under 3 hours) or not at all."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(_OMLC_UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(_OMLC_UTC)
    if first == second:
        return [first]
    if first < second:
        return [first, second] if wildcard else [first]
    if wildcard or first - second >= _OMLC_CLOCK_CORRECTION:
        return []
    return [_omlc_transition(tz, second, first)]


def _omlc_day_matches(cron, day):
    if day.month not in cron["months"]:
        return False
    dom = day.day in cron["days"]
    dow = (day.weekday() + 1) % 7 in cron["weekdays"]
    if cron["dom_star"] or cron["dow_star"]:
        return dom and dow
    return dom or dow


def _omlc_day_instants(cron, tz, day):
    if not _omlc_day_matches(cron, day):
        return []
    found = set()
    for hour in cron["hours"]:
        for minute in cron["minutes"]:
            wall = _omlc_datetime(day.year, day.month, day.day, hour, minute)
            found.update(_omlc_wall_instants(wall, tz, cron["wildcard"]))
    return sorted(found)


def omlc_prev_fire(spec, before, tz=None):
    """The last fire time strictly before ``before`` (UTC)."""
    tz = tz or omlc_zone(spec["timezone"])
    if "interval" in spec:
        return _omlc_interval_prev(spec["interval"], tz, before)
    cron = spec["cron"]
    day = before.astimezone(tz).date() + _OMLC_DAY
    best = None
    # a fire time of a local day can fall before one of the previous day only through a
    # DST fold (hours, not days): once one day has a candidate, one more day settles it
    for _ in range(366 * 30):
        found = [t for t in _omlc_day_instants(cron, tz, day) if t < before]
        if best is not None:
            return max([best] + found)
        if found:
            best = max(found)
        if day.month not in cron["months"]:  # skip to the last day of the previous month
            day = _omlc_date(day.year, day.month, 1) - _OMLC_DAY
        else:
            day -= _OMLC_DAY
    if best is None:
        raise ValueError("the schedule has no fire time before " + before.isoformat())
    return best


def _omlc_interval_nth(interval, tz, anchor, k):
    if interval["days"]:
        wall = anchor.astimezone(tz).replace(tzinfo=None) + _omlc_timedelta(days=interval["days"] * k)
        return omlc_resolve_wall(wall, tz)
    return anchor + _omlc_timedelta(seconds=interval["seconds"] * k)


def _omlc_interval_prev(interval, tz, before):
    anchor = _omlc_datetime.fromisoformat(interval["anchor"]).astimezone(_OMLC_UTC)
    if interval["days"]:
        k = (before - anchor).days // interval["days"]
        while _omlc_interval_nth(interval, tz, anchor, k) >= before:
            k -= 1
        while _omlc_interval_nth(interval, tz, anchor, k + 1) < before:
            k += 1
    else:
        span = (before - anchor).total_seconds()
        k = int(span // interval["seconds"])
        if k * interval["seconds"] >= span:
            k -= 1
    return _omlc_interval_nth(interval, tz, anchor, k)


def omlc_nominal_wall(spec, fire, tz=None):
    """The scheduled local wall time of a fire time (naive): the instant's wall clock, or,
    for a run moved to the end of a DST gap (02:30 -> 03:00), the time it was scheduled
    for (02:30), so calendar arithmetic counts from the day's schedule, not from the jump."""
    tz = tz or omlc_zone(spec["timezone"])
    local = fire.astimezone(tz)
    wall = local.replace(tzinfo=None)
    cron = spec.get("cron")
    if cron is None:
        return wall
    just_before = (fire - _omlc_timedelta(minutes=1)).astimezone(tz).utcoffset()
    if just_before is not None and local.utcoffset() is not None and just_before < local.utcoffset():
        gap_start = (fire + just_before).replace(tzinfo=None)
        day = gap_start.date()
        for hour in cron["hours"]:
            for minute in cron["minutes"]:
                candidate = _omlc_datetime(day.year, day.month, day.day, hour, minute)
                if gap_start <= candidate < wall and _omlc_wall_instants(candidate, tz, cron["wildcard"]) == [fire]:
                    return candidate
    return wall


# -- the window -----------------------------------------------------------------------

def omlc_window_bounds(window, fire, tz, prev_fire, nominal_wall):
    """``(start, end)`` (UTC) of the window of the run that fires at ``fire``.

    ``prev_fire(t)`` gives the last fire time before ``t`` (tumbling windows start there),
    ``nominal_wall(t)`` the scheduled wall time of a fire time. sliding: end = fire time +
    offset, start = end - size; tumbling: start = previous fire time + offset, end = fire
    time + offset.
    """
    size = window.get("size") or [0, 0]
    offset = window.get("offset") or [0, 0]
    fire = fire.astimezone(_OMLC_UTC)
    if window["type"] == "sliding" and not size[0] and not offset[0]:  # elapsed time only
        end = fire + _omlc_timedelta(seconds=offset[1])
        return end - _omlc_timedelta(seconds=size[1]), end
    if window["type"] == "sliding":
        end = omlc_shift(fire, offset, tz, nominal_wall(fire) if offset[0] else None)
        end_wall = None
        if size[0] and not offset[1]:  # count calendar days from the scheduled wall time
            end_wall = nominal_wall(fire) + _omlc_timedelta(days=offset[0])
        return omlc_shift(end, [-size[0], -size[1]], tz, end_wall), end
    previous = prev_fire(fire)
    start = omlc_shift(previous, offset, tz, nominal_wall(previous) if offset[0] else None)
    end = omlc_shift(fire, offset, tz, nominal_wall(fire) if offset[0] else None)
    return start, end


def omlc_run_values(spec, fire):
    """What a task of the run that fires at ``fire`` gets: the window rendered as OML's
    ``${window.*}`` text (empty strings without a window) and the fire time (ISO 8601 in
    the schedule's timezone)."""
    tz = omlc_zone(spec["timezone"])
    fire = omlc_instant(fire)
    start = end = ""
    window = spec.get("window")
    if window is not None:
        lo, hi = omlc_window_bounds(
            window, fire, tz,
            lambda t: omlc_prev_fire(spec, t, tz),
            lambda t: omlc_nominal_wall(spec, t, tz),
        )
        start = omlc_render_time(lo, window.get("format"), tz)
        end = omlc_render_time(hi, window.get("format"), tz)
    return {"window_start": start, "window_end": end, "fire_time": fire.astimezone(tz).isoformat()}
