"""The metadata rules (OML 0.2.0, seed D2): data tests, notifications and the SLA.

Shapes and types are checked when the document is built (an unknown test type or
notification channel is OML105 there); these rules check what the values mean.
"""

from __future__ import annotations

import os
import re
from typing import Iterator

from omlc.diagnostics import Diagnostic, diag
from omlc.hookspecs import hookimpl
from omlc.ir import Pipeline
from omlc.rules import Rule, RuleContext

# an address as SMTP servers take it: local@domain.tld, no spaces, no display name
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
# Slack: "#name" (lowercase letters, digits, '-', '_', '.'; at most 80) or a channel id (C0123ABCD)
SLACK_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$")
# a PagerDuty service, as the project file's routing keys name it
PAGERDUTY_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@Rule.define("metadata.tests", [
    ("OML501", "error", "A row_count test's min is greater than its max, or it has neither."),
    ("OML502", "error", "A custom test's script does not exist (paths are relative to the pipeline file)."),
    ("OML503", "error", "A duration that must be positive is zero or negative (freshness max_age, sla)."),
    ("OML504", "error", "A data test names a step that is not in the pipeline."),
    ("OML505", "warning", "A freshness test has no timestamp column: no `field` and no schedule.window.field."),
])
def check_tests(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    md = p.metadata
    if md is None:
        return
    loc = p.locations
    steps = [s.id for s in p.steps]
    for i, test in enumerate(md.tests):
        path = ("metadata", "tests", i)
        if test.type == "row_count":
            if test.min is None and test.max is None:
                yield diag("OML501", "a row_count test needs `min`, `max` or both", loc.key(path + ("type",)),
                           "e.g. min: 100")
            elif test.min is not None and test.max is not None and test.min > test.max:
                yield diag("OML501", f"row_count min {test.min} is greater than max {test.max}: no count passes",
                           loc.value(path + ("min",)), "swap them", related=(loc.value(path + ("max",)),))
        elif test.type == "freshness":
            if test.max_age.days < 0 or test.max_age.seconds < 0 or test.max_age == type(test.max_age)(0, 0):
                yield diag("OML503", "freshness max_age must be positive", loc.value(path + ("max_age",)),
                           'e.g. max_age: "25h"')
            window = p.schedule.window if p.schedule is not None else None
            if test.field is None and (window is None or window.field is None):
                yield diag("OML505", "this freshness test has no timestamp column to measure age by",
                           loc.key(path + ("type",)), "add `field: updated_at` (or schedule.window.field)")
        elif test.type == "custom":
            folder = os.path.dirname(os.path.abspath(p.path)) if p.path else os.getcwd()
            script = os.path.join(folder, test.script)
            if not os.path.isfile(script):
                yield diag("OML502", f"custom test script {test.script!r} does not exist",
                           loc.value(path + ("script",)), f"looked for {os.path.normpath(script)}")
        step = getattr(test, "step", None)
        if step is not None and step not in steps:
            yield diag("OML504", f"the {test.type} test checks step {step!r}, which is not a step of this pipeline",
                       loc.value(path + ("step",)), f"steps: {', '.join(steps)}")


@Rule.define("metadata.notifications", [
    ("OML506", "error", "A notification email address is not valid."),
    ("OML507", "error", "A Slack channel is not a valid channel name (#lowercase-name) or id."),
    ("OML508", "error", "A PagerDuty service name is not valid."),
    ("OML509", "warning", "on_sla_breach notifications without metadata.sla: they never fire."),
    ("OML510", "error", "metadata.sla needs a schedule: the deadline counts from the fire time."),
    ("OML511", "warning", "The SLA is longer than the time between runs: the next run starts before the deadline."),
])
def check_notifications(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    md = p.metadata
    if md is None:
        return
    loc = p.locations
    notes = md.notifications
    for event in ("on_failure", "on_success", "on_sla_breach"):
        for i, target in enumerate(getattr(notes, event) if notes else []):
            at = loc.value(("metadata", "notifications", event, i, target.channel))
            value = target.target
            if target.channel == "email" and not EMAIL.match(value):
                yield diag("OML506", f"{value!r} is not an email address", at, "e.g. oncall@company.com")
            elif target.channel == "slack" and not SLACK_CHANNEL.match(value):
                fixed = "#" + re.sub(r"[^a-z0-9._-]+", "-", value.lstrip("#").lower()).strip("-")
                yield diag("OML507", f"{value!r} is not a Slack channel", at,
                           f"channel names start with '#' and use lowercase letters, digits, '-', '_', '.': "
                           f"{fixed!r}?")
            elif target.channel == "pagerduty" and not PAGERDUTY_SERVICE.match(value):
                yield diag("OML508", f"{value!r} is not a PagerDuty service name", at,
                           "letters, digits, '_', '-', '.'; the project file maps it to a routing key")
    if notes is not None and notes.on_sla_breach and md.sla is None:
        yield diag("OML509", "on_sla_breach is set but there is no metadata.sla, so no breach is ever detected",
                   loc.key(("metadata", "notifications", "on_sla_breach")), 'add e.g. sla: "4h"')
    if md.sla is None:
        return
    at = loc.value(("metadata", "sla"))
    if md.sla.days < 0 or md.sla.seconds < 0 or (md.sla.days, md.sla.seconds) == (0, 0):
        yield diag("OML503", "metadata.sla must be positive", at, 'e.g. sla: "4h"')
        return
    if p.schedule is None:
        yield diag("OML510", "metadata.sla is the time a run may take after its fire time, but the pipeline "
                             "has no schedule", at, "add a schedule, or remove sla")
        return
    yield from _sla_against_interval(p, at)


def _sla_against_interval(p: Pipeline, at) -> Iterator[Diagnostic]:
    from datetime import datetime, timedelta, timezone

    from omlc.schedule.timetable import Timetable

    try:
        fires = Timetable(p.schedule).next_n(datetime(2024, 1, 1, tzinfo=timezone.utc), 12)
    except Exception:  # an unusable schedule: the schedule rules report it
        return
    gap = min((b - a for a, b in zip(fires, fires[1:])), default=None)
    sla = timedelta(days=p.metadata.sla.days, seconds=p.metadata.sla.seconds)
    if gap is not None and sla > gap:
        yield diag("OML511", f"sla {p.metadata.sla.to_text()} is longer than the {gap} between runs",
                   at, "a run can still be within its SLA when the next one starts; check concurrency")


@hookimpl
def register_rules(register):
    register(check_tests)
    register(check_notifications)
