"""OML's fire-time semantics (DESIGN.md section 3) on hand-checked cases, windows, retries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omlc.schedule.cron import CronError, parse_cron
from omlc.schedule.engine import CronSchedule, ScheduleError
from omlc.schedule.timetable import Timetable, retry_delays
from tests.conftest import schedule_pipeline as _pipeline

U = timezone.utc


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=U)


def fires(expr: str, tz: str, after: str, n: int) -> list[str]:
    return [t.astimezone(U).strftime("%Y-%m-%d %H:%M") for t in CronSchedule(expr, tz).next_n(utc(after), n)]


# (expression, zone, after (UTC), expected next fire times (UTC)), each checked by hand
CASES = [
    # the DESIGN.md table: 02:30 does not exist in Prague on 2024-03-31 -> 03:00 local (01:00Z)
    ("30 2 * * *", "Europe/Prague", "2024-03-30 12:00", ["2024-03-31 01:00", "2024-04-01 00:30"]),
    # 02:30 happens twice on 2024-10-27 -> only the first (00:30Z)
    ("30 2 * * *", "Europe/Prague", "2024-10-26 12:00", ["2024-10-27 00:30", "2024-10-28 01:30"]),
    # a wildcard job runs at both instants of the repeated hour, and loses the skipped one
    ("*/30 * * * *", "Europe/Prague", "2024-10-26 23:40",
     ["2024-10-27 00:00", "2024-10-27 00:30", "2024-10-27 01:00", "2024-10-27 01:30", "2024-10-27 02:00"]),
    ("0 * * * *", "Europe/Prague", "2024-03-30 23:30", ["2024-03-31 00:00", "2024-03-31 01:00", "2024-03-31 02:00"]),
    # @hourly is a wildcard job: twice in the fold
    ("@hourly", "Europe/Prague", "2024-10-26 23:30", ["2024-10-27 00:00", "2024-10-27 01:00", "2024-10-27 02:00"]),
    # `0 0-23 * * *` is fixed-time (hour field does not start with *): once in the fold
    ("0 0-23 * * *", "Europe/Prague", "2024-10-26 23:30", ["2024-10-27 00:00", "2024-10-27 02:00"]),
    # New York: 02:00 does not exist on 2024-03-10 -> 03:00 EDT (07:00Z); 01:30 twice on 2024-11-03 -> first
    ("0 2 * * *", "America/New_York", "2024-03-09 12:00", ["2024-03-10 07:00", "2024-03-11 06:00"]),
    ("30 1 * * *", "America/New_York", "2024-11-02 12:00", ["2024-11-03 05:30", "2024-11-04 06:30"]),
    # Lord Howe: 30-minute DST. 02:00 -> 02:30 on 2024-10-06: 02:15 runs at 02:30 (15:30Z)
    ("15 2 * * *", "Australia/Lord_Howe", "2024-10-05 00:00", ["2024-10-05 15:30", "2024-10-06 15:15"]),
    # ... and 01:30-02:00 happens twice on 2024-04-07: 01:45 runs once, the first time (14:45Z)
    ("45 1 * * *", "Australia/Lord_Howe", "2024-04-06 00:00", ["2024-04-06 14:45", "2024-04-07 15:15"]),
    # Kathmandu: +05:30 -> +05:45 on 1986-01-01 00:00 (a 15-minute gap): 00:05 runs at 00:15
    ("5 0 * * *", "Asia/Kathmandu", "1985-12-31 00:00", ["1985-12-31 18:30", "1986-01-01 18:20"]),
    # Sao Paulo: midnight did not exist on 2018-11-04 (00:00 -> 01:00): runs at 01:00 (03:00Z)
    ("0 0 * * *", "America/Sao_Paulo", "2018-11-03 12:00", ["2018-11-04 03:00", "2018-11-05 02:00"]),
    # Samoa skipped 2011-12-30 entirely (a 24-hour jump): a clock correction, nothing caught up
    # (12-29 12:00 -10:00 is 22:00Z; the next run is 12-31 12:00 +14:00, also 22:00Z of the 30th)
    ("0 12 * * *", "Pacific/Apia", "2011-12-28 12:00", ["2011-12-28 22:00", "2011-12-29 22:00", "2011-12-30 22:00"]),
    # Dublin: "negative DST" in tzdata (winter is the DST period); transitions still follow the rules
    ("30 1 * * *", "Europe/Dublin", "2024-10-26 12:00", ["2024-10-27 00:30", "2024-10-28 01:30"]),
    ("30 1 * * *", "Europe/Dublin", "2024-03-30 12:00", ["2024-03-31 01:00", "2024-04-01 00:30"]),
    # day rule: both day fields restricted -> OR; one starting with * -> AND (croniter ORs */2)
    ("0 0 13 * FRI", "UTC", "2024-09-01 00:00", ["2024-09-06 00:00", "2024-09-13 00:00", "2024-09-20 00:00"]),
    ("0 0 */2 * MON", "UTC", "2024-09-01 00:00", ["2024-09-09 00:00", "2024-09-23 00:00", "2024-10-07 00:00"]),
    # 0 and 7 are Sunday; a-a is the single value a
    ("0 0 * * 7", "UTC", "2024-09-01 00:00", ["2024-09-08 00:00"]),
    ("0 0 1-1 * *", "UTC", "2024-09-01 00:00", ["2024-10-01 00:00", "2024-11-01 00:00"]),
    # next is strictly after
    ("0 2 * * *", "UTC", "2024-01-15 02:00", ["2024-01-16 02:00"]),
]


@pytest.mark.parametrize("expr,tz,after,expected", CASES, ids=[f"{c[0]}|{c[1]}|{c[2]}" for c in CASES])
def test_fire_times(expr, tz, after, expected):
    assert fires(expr, tz, after, len(expected)) == expected


def test_coinciding_runs_are_one_run():
    # 02:00 and 02:30 do not exist on 2024-03-31 in Prague; both move to 03:00, where 03:00 also runs
    assert fires("0,30 2,3 * * *", "Europe/Prague", "2024-03-31 00:00", 3) == [
        "2024-03-31 01:00", "2024-03-31 01:30", "2024-04-01 00:00"]


def test_prev_is_strictly_before_and_consistent():
    s = CronSchedule("*/30 * * * *", "Europe/Prague")
    assert s.prev(utc("2024-10-27 01:15")) == utc("2024-10-27 01:00")
    assert s.prev(utc("2024-10-27 00:45")) == utc("2024-10-27 00:30")
    assert s.prev(utc("2024-10-27 01:00")) == utc("2024-10-27 00:30")


def test_results_are_canonical_utc_instants():
    t = CronSchedule("30 2 * * *", "Europe/Prague").next(datetime(2024, 10, 27, tzinfo=U))
    assert t.tzinfo is U and t == utc("2024-10-27 00:30")


def test_naive_datetimes_are_refused():
    with pytest.raises(ScheduleError):
        CronSchedule("0 2 * * *").next(datetime(2024, 1, 1))


@pytest.mark.parametrize("expr,col,length", [
    ("0 0 L * *", 4, 1), ("0 0 ? * MON", 4, 1), ("0 0 * * 1#2", 8, 3), ("0 0 15W * *", 4, 3),
    ("0 0 * * * 2024", 0, 14), ("61 * * * *", 0, 2), ("10-5 * * * *", 0, 4), ("@quarterly", 0, 10),
    ("*/0 * * * *", 0, 3), ("0 0 * FOO *", 6, 3),
])
def test_invalid_and_non_portable_cron(expr, col, length):
    with pytest.raises(CronError) as err:
        parse_cron(expr)
    assert (err.value.column, err.value.length) == (col, length)


def test_normalisation():
    assert parse_cron("0 1-1 1-1 * MON-MON").normalized() == "0 1 1 * MON"
    assert parse_cron("45 23-23/2 * * *").normalized() == "45 23 * * *"  # croniter: every 2 h
    assert parse_cron("5/15 * * * *").minutes == frozenset({5, 20, 35, 50})


def test_seed_window_example():
    """Seed D3: cron 0 2 * * * UTC, sliding 24h, offset -1h, date 2024-01-15."""
    p = _pipeline('  expression: "0 2 * * *"\n  timezone: UTC\n  window: {type: sliding, size: 24h, offset: "-1h"}')
    t = Timetable(p.schedule)
    (fire,) = t.runs_on(date(2024, 1, 15))
    assert t.window(fire).render(None, t.tz) == ("2024-01-14 01:00:00", "2024-01-15 01:00:00")


def test_tumbling_windows_are_gap_free_across_dst():
    p = _pipeline('  expression: "30 2 * * *"\n  timezone: Europe/Prague\n  window: {type: tumbling}')
    t = Timetable(p.schedule)
    runs = t.fires.between(utc("2024-03-29 00:00"), utc("2024-11-01 00:00"))
    windows = [t.window(r) for r in runs]
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))


def test_calendar_day_window_follows_the_wall_clock():
    p = _pipeline('  expression: "0 2 * * *"\n  timezone: Europe/Prague\n  window: {type: sliding, size: 1d}')
    t = Timetable(p.schedule)
    spring = t.window(utc("2024-04-01 00:00"))  # 02:00 CEST, the day after the jump
    assert (spring.start, spring.end) == (utc("2024-03-31 01:00"), utc("2024-04-01 00:00"))  # 23 hours
    w24 = Timetable(_pipeline('  expression: "0 2 * * *"\n  timezone: Europe/Prague\n'
                              '  window: {type: sliding, size: 24h}').schedule).window(utc("2024-04-01 00:00"))
    assert w24.end - w24.start == timedelta(hours=24)


@pytest.mark.parametrize("fmt,expected", [
    (None, "2024-07-01 02:00:00"), ("iso", "2024-07-01T02:00:00+02:00"), ("%Y%m%d", "20240701")])
def test_window_rendering_in_schedule_timezone(fmt, expected):
    from omlc.schedule.engine import zone
    from omlc.schedule.timetable import render_time

    assert render_time(utc("2024-07-01 00:00"), fmt, zone("Europe/Prague")) == expected


@pytest.mark.parametrize("backoff,expected", [
    ("constant", [300, 300, 300]), ("linear", [300, 600, 900]), ("exponential", [300, 600, 1200])])
def test_retry_timelines(backoff, expected):
    p = _pipeline(f'  expression: "0 2 * * *"\n  retry: {{attempts: 3, delay: 300, backoff: {backoff}}}')
    assert retry_delays(p.schedule.retry) == expected


def test_retry_max_delay_caps_each_delay():
    p = _pipeline('  expression: "0 2 * * *"\n  retry: {attempts: 5, delay: 60, backoff: exponential, max_delay: 5m}')
    assert retry_delays(p.schedule.retry) == [60, 120, 240, 300, 300]


def test_interval_schedules():
    p = _pipeline('  type: interval\n  expression: "every 15m"\n  start_date: "2024-06-01T00:05:00"')
    t = Timetable(p.schedule)
    assert [x.strftime("%H:%M") for x in t.next_n(utc("2024-01-01 00:00"), 3)] == ["00:05", "00:20", "00:35"]
    assert [x.strftime("%H:%M") for x in t.next_n(utc("2024-06-02 10:06"), 2)] == ["10:20", "10:35"]
    daily = Timetable(_pipeline('  type: interval\n  expression: "1d"\n  timezone: Europe/Prague\n'
                                '  start_date: "2024-03-30T02:30"').schedule)
    got = [x.astimezone(U).strftime("%m-%d %H:%M") for x in daily.next_n(utc("2024-03-29 00:00"), 3)]
    assert got == ["03-30 01:30", "03-31 01:00", "04-01 00:30"]  # calendar days: the 02:30 wall clock


ZONES = ["America/New_York", "Europe/Prague", "Europe/Dublin", "Australia/Lord_Howe", "America/Sao_Paulo",
         "Asia/Kathmandu", "UTC", "Pacific/Apia", "America/Santiago"]
crons = st.builds(
    lambda m, h, dom, dow: f"{m} {h} {dom} * {dow}",
    st.sampled_from(["0", "30", "*/15", "5,35", "*", "59"]),
    st.sampled_from(["*", "0", "1", "2", "3", "1-3", "*/6", "23"]),
    st.sampled_from(["*", "1", "15", "*/2", "31"]),
    st.sampled_from(["*", "1-5", "0", "SAT,SUN"]),
)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=U))


@settings(max_examples=300, deadline=None)
@given(crons, st.sampled_from(ZONES), moments)
def test_engine_invariants(expr, tz, start):
    s = CronSchedule(expr, tz)
    got = s.next_n(start, 6)
    assert got[0] > start and all(a < b for a, b in zip(got, got[1:]))  # strictly increasing
    for t in got:
        wall = s.nominal_wall(t)  # the scheduled local time (differs from t's clock only after a gap)
        weekday = (wall.weekday() + 1) % 7
        assert wall.minute in s.spec.minutes and wall.hour in s.spec.hours
        assert s.spec.day_matches(wall.day, wall.month, weekday)
    for a, b in zip(got, got[1:]):
        assert s.prev(b) == a and s.next(a) == b  # prev and next agree


def test_weekly_transition_scan_finds_what_a_fine_scan_finds():
    import zoneinfo

    from omlc.schedule.analysis import transitions
    from omlc.schedule.engine import zone

    start, end = utc("2000-01-01 00:00"), utc("2031-01-01 00:00")
    for name in sorted(zoneinfo.available_timezones()):
        tz = zone(name)
        coarse = transitions(tz, start, end)
        fine = transitions(tz, start, end, step=timedelta(days=1))
        assert [t.at for t in coarse] == [t.at for t in fine], name


COVERAGE_CASES = [
    ("0 2 * * *", "Europe/Prague", "24h", "-1h"), ("0 2 * * *", "Europe/Prague", "1d", "0s"),
    ("30 2 * * *", "Europe/Prague", "1d", "-1h"), ("0 0 1 * *", "UTC", "720h", "0s"),
    ("*/30 9-17 * * 1-5", "America/New_York", "30m", "0s"), ("0 6 * 2 *", "UTC", "24h", "0s"),
    ("15 2 * * *", "Australia/Lord_Howe", "24h", "0s"), ("0 * * * *", "Europe/Dublin", "1h", "-5m"),
    ("0 0 * * 0", "America/Sao_Paulo", "1w", "0s"),
]


@pytest.mark.parametrize("expr,tz,size,offset", COVERAGE_CASES)
def test_sampled_coverage_finds_every_kind_of_issue(expr, tz, size, offset):
    from omlc.schedule.analysis import coverage

    p = _pipeline(f'  expression: "{expr}"\n  timezone: {tz}\n  window: {{type: sliding, size: "{size}", '
                  f'offset: "{offset}"}}')
    t = Timetable(p.schedule)
    a, b = utc("2018-01-01 00:00"), utc("2019-01-02 00:00")
    full, sampled = coverage(t, a, b, full=True), coverage(t, a, b)
    kinds = lambda issues: {(i.kind, i.length, i.dst) for i in issues}  # noqa: E731
    assert kinds(sampled) == kinds(full)
    assert {i.fire for i in full if i.dst} <= {i.fire for i in sampled}


def test_dst_hits_show_what_stepping_engines_really_fire():
    """Airflow steps from the previous run's local time: 03:00 shifted to 04:00 hides 03:01-03:04
    (measured against Airflow 3.3.2); Prefect shifts each of them."""
    from omlc.schedule.analysis import dst_hits
    from omlc.schedule.targets import MODELS

    sched = CronSchedule("0-4 3 * * *", "Pacific/Chatham")
    [hit] = dst_hits(sched, utc("2024-09-27 00:00"), utc("2024-10-01 00:00"), [m.policy for m in MODELS.values()])
    local = {name: [t.astimezone(sched.tz).strftime("%H:%M") for t in ts] for name, ts in hit.instants.items()}
    assert local["oml"] == ["03:45"]
    assert local["airflow"] == ["04:00"]
    assert local["prefect"] == ["04:00", "04:01", "04:02", "04:03", "04:04"]
    assert local["dagster"] == ["04:00"]
