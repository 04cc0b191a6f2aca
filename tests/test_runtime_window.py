"""The window code that generated code carries (omlc/runtime/window.py) computes what
``omlc schedule preview`` computes: same windows, same text, at DST changes too.

The runtime module has its own stdlib-only fire-time code (the previous fire time of a
tumbling window, the scheduled wall time of a run moved by a gap); these tests hold it
to the schedule engine's, for random schedules, windows and fire times around real
offset changes, for scheduled and for manual (off-schedule) runs.
"""

from __future__ import annotations

import ast
import inspect
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omlc.runtime import window as runtime
from omlc.runtime.embed import runtime_source
from omlc.schedule.analysis import transitions
from omlc.schedule.engine import zone
from omlc.schedule.timetable import Timetable
from tests.conftest import schedule_pipeline as _pipeline

U = timezone.utc
ZONES = ["America/New_York", "Europe/Prague", "Europe/Dublin", "Australia/Lord_Howe", "Asia/Kathmandu",
         "UTC", "Pacific/Chatham", "America/St_Johns", "Africa/Casablanca"]
YEAR_OF = {"Asia/Kathmandu": 1986}

crons = st.builds(
    lambda m, h, dom, dow: f"{m} {h} {dom} * {dow}",
    st.sampled_from(["0", "30", "*/15", "5,35", "*/20", "59", "45"]),
    st.sampled_from(["*", "0", "1", "2", "3", "1-3", "*/6", "23", "2,14"]),
    st.sampled_from(["*", "1", "15", "*/2", "31"]),
    st.sampled_from(["*", "1-5", "0", "SAT,SUN"]),
)
durations = st.sampled_from(["1h", "24h", "90m", "1d", "2d", "1w", "1d2h", "30s", "0s"])
offsets = st.sampled_from(["0s", "-1h", "-5m", "1h", "-1d", "1d", "-1d1h", "2h"])
formats = st.sampled_from([None, "iso", "%Y%m%dT%H%M"])
intervals = st.sampled_from(["15m", "every 1h", "7m", "1d", "2d", "90m"])


def _schedule(kind: str, expression: str, tz: str, wtype: str, size: str, offset: str, fmt, start: str | None):
    window = f"{{type: {wtype}, size: {size!r}, offset: {offset!r}" + (f", format: {fmt!r}" if fmt else "") + "}"
    text = (f"  type: {kind}\n  expression: {expression!r}\n  timezone: {tz}\n  window: {window}"
            + (f"\n  start_date: {start!r}" if start else ""))
    return _pipeline(text).schedule


def _near_transition(tz_name: str, pick: int, minutes: int) -> datetime:
    year = YEAR_OF.get(tz_name, 2024)
    found = transitions(zone(tz_name), datetime(year, 1, 1, tzinfo=U), datetime(year + 1, 1, 1, tzinfo=U))
    base = found[pick % len(found)].at if found else datetime(year, 6, 1, tzinfo=U)
    return base + timedelta(minutes=minutes)


def _check(schedule, moment: datetime, scheduled: bool) -> None:
    t = Timetable(schedule)
    fire = t.fires.next(moment) if scheduled else moment
    spec = t.runtime_spec()
    expected = t.window(fire).render(schedule.window.format, t.tz)
    got = runtime.omlc_run_values(spec, fire)
    assert (got["window_start"], got["window_end"]) == expected, (spec, fire)
    assert got["fire_time"] == fire.astimezone(t.tz).isoformat()
    assert ast.literal_eval(repr(spec)) == spec  # the spec is a plain literal
    assert _embedded(spec)["omlc_run_values"](spec, fire) == got  # what generated code carries


def _embedded(spec: dict) -> dict:
    """The namespace of the runtime copy that generated code of ``spec`` carries."""
    namespace: dict = {"__name__": "generated"}
    exec(compile(runtime_source(spec), "<generated>", "exec"), namespace)
    return namespace


@settings(max_examples=400, deadline=None)
@given(crons, st.sampled_from(ZONES), st.sampled_from(["sliding", "tumbling"]), durations, offsets, formats,
       st.integers(0, 5), st.integers(-1440, 2 * 1440), st.booleans())
def test_cron_windows_match_the_schedule_engine(expr, tz, wtype, size, offset, fmt, pick, minutes, scheduled):
    schedule = _schedule("cron", expr, tz, wtype, size, offset, fmt, None)
    _check(schedule, _near_transition(tz, pick, minutes), scheduled)


@settings(max_examples=200, deadline=None)
@given(intervals, st.sampled_from(ZONES), st.sampled_from(["sliding", "tumbling"]), durations, offsets,
       st.sampled_from([None, "2024-03-01", "2024-03-30T01:45"]), st.integers(0, 5),
       st.integers(-3 * 1440, 3 * 1440), st.booleans())
def test_interval_windows_match_the_schedule_engine(every, tz, wtype, size, offset, start, pick, minutes, scheduled):
    schedule = _schedule("interval", every, tz, wtype, size, offset, None, start)
    _check(schedule, _near_transition(tz, pick, minutes), scheduled)


@pytest.mark.parametrize("expr,tz,moment", [
    ("30 1 * * *", "America/New_York", "2024-11-04 00:00"),  # previous run in the repeated hour
    ("30 2 * * *", "Europe/Prague", "2024-04-01 00:00"),  # previous run moved past the gap
    ("*/30 1 * * *", "America/New_York", "2024-11-03 06:10"),  # wildcard: both 01:30s fired
    ("15 2 * * *", "Australia/Lord_Howe", "2024-10-07 00:00"),  # 30-minute gap
    ("0 0 * * *", "America/Santiago", "2024-09-09 12:00"),  # gap at midnight
])
@pytest.mark.parametrize("wtype,size,offset", [("tumbling", "0s", "0s"), ("tumbling", "0s", "-1d"),
                                               ("sliding", "1d", "0s"), ("sliding", "2d", "-1d")])
def test_windows_at_dst_changes(expr, tz, moment, wtype, size, offset):
    schedule = _schedule("cron", expr, tz, wtype, size, offset, "iso", None)
    _check(schedule, datetime.fromisoformat(moment).replace(tzinfo=U), True)


def test_seed_example_and_pendulum_like_input():
    schedule = _schedule("cron", "0 2 * * *", "UTC", "sliding", "24h", "-1h", None, None)

    class Aware(datetime):  # pendulum.DateTime is a datetime subclass with its own tzinfo
        pass

    fire = Aware(2024, 1, 15, 2, 0, tzinfo=U)
    got = runtime.omlc_run_values(Timetable(schedule).runtime_spec(), fire)
    assert got == {"window_start": "2024-01-14 01:00:00", "window_end": "2024-01-15 01:00:00",
                   "fire_time": "2024-01-15T02:00:00+00:00"}


@pytest.mark.parametrize("window,kept,dropped", [
    (None, ["omlc_run_values"], ["omlc_window_bounds", "omlc_prev_fire", "omlc_shift", "_OMLC_DAY"]),
    ({"type": "sliding", "size": [0, 3600], "offset": [0, 0]}, ["omlc_window_bounds", "omlc_render_time"],
     ["omlc_prev_fire", "omlc_shift", "omlc_nominal_wall"]),
    ({"type": "sliding", "size": [1, 0], "offset": [0, 0]}, ["omlc_shift", "omlc_nominal_wall", "_omlc_transition"],
     ["omlc_prev_fire", "_omlc_day_instants"]),
    ({"type": "tumbling", "size": [0, 0], "offset": [0, 0]}, ["omlc_prev_fire", "_omlc_day_instants"],
     ["omlc_nominal_wall", "_omlc_interval_prev"]),
])
def test_generated_code_carries_only_what_the_schedule_reaches(window, kept, dropped):
    spec = {"timezone": "Europe/Prague", "cron": {"minutes": [0], "hours": [2], "days": list(range(1, 32)),
                                                 "months": list(range(1, 13)), "weekdays": list(range(7)),
                                                 "dom_star": True, "dow_star": True, "wildcard": False}}
    if window:
        spec["window"] = {**window, "format": None}
    namespace = _embedded(spec)
    for name in kept:
        assert name in namespace, name
    for name in dropped:
        assert name not in namespace, name
    source = inspect.getsource(runtime)
    embedded = runtime_source(spec)
    assert set(embedded.splitlines()) <= set(source.splitlines())
    for chunk in embedded.split("\n\n\n"):
        if chunk.startswith("def "):
            assert chunk.strip() in source  # functions are the module's text, verbatim


def test_the_runtime_module_is_self_contained():
    """Generated code copies the module verbatim: only stdlib imports, no omlc, no
    ``from __future__`` (Dagster rejects it), every top-level name prefixed."""
    tree = ast.parse(inspect.getsource(runtime))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module in ("datetime", "zoneinfo"), node.module
        elif isinstance(node, ast.Import):
            raise AssertionError(f"unexpected import {ast.dump(node)}")
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.ImportFrom):
            names = [a.asname or a.name for a in node.names]
        for name in names:
            assert name.lower().startswith(("omlc_", "_omlc_")), name
