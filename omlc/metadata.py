"""What every target does with ``metadata``: the data checks a run ends with, and who is
told what when. Targets turn these plans into their engine's mechanism; the plans are
computed here once so the three targets run the same commands and send the same messages.

Data checks (``metadata.tests``): each test is one check, run after every step of the
pipeline in the same run; a failing check fails the run. ``row_count``, ``schema`` and
``freshness`` run the project's check command (``checks.command`` in ``omlc.yaml``; the
default targets the reference CLI: ``osiris test {oml_path} --test {test_index}`` plus the
window as params); ``custom`` runs its script (``python3`` for a ``.py`` file, else the
file itself) with its ``args``. Every check gets the run's OMLC_* variables (window,
fire time, run id) and OMLC_TEST_INDEX, OMLC_TEST_TYPE, OMLC_TEST_SPEC (the test as JSON),
OMLC_TEST_STEP and OMLC_TEST_SCRIPT.

A custom script's path is relative to the pipeline file in OML; generated code holds it
relative to its own folder (:attr:`Check.script`) and resolves it at run time, so the
project can be deployed anywhere as long as the script keeps its place relative to the
generated code.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

EVENTS = ("on_failure", "on_success", "on_sla_breach")
# metadata.criticality -> the PagerDuty severity of an event
SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info", None: "error"}


@dataclass(frozen=True)
class Check:
    """One data test as a task: ``id`` is unique among the pipeline's task names."""

    id: str
    index: int  # 1-based position in metadata.tests
    type: str
    spec: dict[str, Any]  # the test, JSON-ready (durations in seconds)
    command: str  # shell text: placeholders are "$OMLC_*" variables (RunnerCommand.shell)
    values: dict[str, str] = field(default_factory=dict)  # OMLC_TEST_* that do not change per run
    script: str | None = None  # custom: the script's path relative to the generated code's folder


def check_ids(pipeline) -> list[str]:
    """The task name of each data test, in order: ``check_<type>``, or
    ``check_<n>_<type>`` when a type repeats or the name is a step's; never a step id."""
    md = pipeline.metadata
    tests = md.tests if md is not None else []
    taken = {s.id for s in pipeline.steps}
    counts: dict[str, int] = {}
    for test in tests:
        counts[test.type] = counts.get(test.type, 0) + 1
    ids = []
    for index, test in enumerate(tests, 1):
        name = f"check_{test.type}"
        if counts[test.type] > 1 or name in taken:
            name = f"check_{index}_{test.type}"
        while name in taken:
            name = "_" + name
        taken.add(name)
        ids.append(name)
    return ids


def checks(pipeline, project, code_folder: str) -> list[Check]:
    """The checks of ``pipeline``'s data tests, for code written to ``code_folder``."""
    from omlc.project import CHECK_PLACEHOLDERS, RunnerCommand

    md = pipeline.metadata
    tests = md.tests if md is not None else []
    window = pipeline.schedule.window if pipeline.schedule is not None else None
    last_step = pipeline.steps[-1].id if pipeline.steps else None
    found = []
    for index, (name, test) in enumerate(zip(check_ids(pipeline), tests), 1):
        spec = test_spec(test, window, last_step)
        script = None
        if test.type == "custom":
            source_folder = os.path.dirname(os.path.abspath(pipeline.path)) if pipeline.path else os.getcwd()
            target = os.path.normpath(os.path.join(source_folder, test.script))
            script = os.path.relpath(target, os.path.abspath(code_folder)).replace(os.sep, "/")
            runner = "python3 " if test.script.endswith(".py") else ""
            template = runner + "{test_script}" + "".join(" " + shlex.quote(a).replace("{", "{{").replace("}", "}}")
                                                          for a in test.args)
            command = RunnerCommand(template, CHECK_PLACEHOLDERS).shell()
        else:
            command = project.check().shell()
        values = {"OMLC_TEST_INDEX": str(index), "OMLC_TEST_TYPE": test.type,
                  "OMLC_TEST_SPEC": json.dumps(spec, sort_keys=True, ensure_ascii=False),
                  "OMLC_TEST_STEP": spec.get("step") or ""}
        found.append(Check(name, index, test.type, spec, command, values, script))
    return found


def test_spec(test, window, last_step) -> dict[str, Any]:
    """A data test as its check receives it (OMLC_TEST_SPEC) and as read-back compares it:
    defaults resolved (the step checked, the timestamp column), durations in seconds."""
    spec: dict[str, Any] = {"type": test.type}
    if test.type == "row_count":
        spec.update({k: getattr(test, k) for k in ("min", "max") if getattr(test, k) is not None})
    elif test.type == "schema":
        spec["expected"] = test.expected
    elif test.type == "freshness":
        spec["max_age_seconds"] = test.max_age.nominal_seconds
        column = test.field or (window.field if window is not None else None)
        if column:
            spec["field"] = column
    else:
        spec["script"] = test.script
        spec["args"] = list(test.args)
    if test.type != "custom":
        spec["step"] = test.step or last_step
    return spec


@dataclass(frozen=True)
class Notice:
    channel: str  # email | slack | pagerduty
    target: str  # the address, the channel, the service


def notices(pipeline) -> dict[str, list[Notice]]:
    """event -> who is told (only events that have someone), in the OML's order."""
    notes = pipeline.metadata.notifications if pipeline.metadata is not None else None
    out: dict[str, list[Notice]] = {}
    for event in EVENTS:
        got = [Notice(n.channel, n.target) for n in (getattr(notes, event) if notes else [])]
        if got:
            out[event] = got
    return out


def runtime_notices(pipeline, settings: dict) -> tuple[list, dict]:
    """What the standard-library notification runtime (:mod:`omlc.runtime.notify`) of
    Prefect and Dagster code needs: ``[(event, [[channel, target], ...]), ...]`` for each
    event that has someone to tell, and for each channel used the project's settings that
    name environment variables (``settings``: :attr:`omlc.targets.Unit.notify`)."""
    from omlc.project import NOTIFY_DEFAULTS

    notes = notices(pipeline)
    events = [(event, [[n.channel, n.target] for n in found]) for event, found in notes.items()]
    channels = sorted({n.channel for found in notes.values() for n in found})
    env = {c: {k: v for k, v in (settings.get(c) or NOTIFY_DEFAULTS[c]).items() if k.endswith("_env")}
           for c in channels}
    return events, env


def filled_setting(template: str, channel: str, target: str, env: bool) -> str:
    """A notification setting of omlc.yaml for one target: ``{service}`` (PagerDuty) filled
    with the service, ``{channel}`` (Slack) with the channel without its ``#``; upper-cased
    with ``_`` for anything else in an environment variable name (as the embedded runtime's
    ``omlc_env_setting`` does), as written in a connection id."""
    from omlc.project import NOTIFY_PLACEHOLDERS

    placeholder = NOTIFY_PLACEHOLDERS.get(channel)
    if placeholder is None:
        return template
    value = target.lstrip("#")
    if env:
        value = re.sub(r"[^A-Za-z0-9]", "_", value).upper()
    return template.replace(placeholder, value)


def shared_destinations(unit, setting: str | dict[str, str], then: dict[str, str]) -> dict[str, list[str]]:
    """event -> why it is approximated (empty: it is not), for every event that notifies
    someone: a Slack channel or a PagerDuty service sent through a project setting without
    its placeholder (``setting``: the setting's name, per channel when a dict) shares one
    webhook with every channel, one routing key with every service; ``then[channel]`` says
    what happens to the target then (``{target}`` filled)."""
    from omlc.project import NOTIFY_PLACEHOLDERS

    nouns = {"slack": "channel", "pagerduty": "service"}
    out: dict[str, list[str]] = {}
    for event, found in notices(unit.pipeline).items():
        why = out.setdefault(event, [])
        for n in found:
            key = setting if isinstance(setting, str) else setting.get(n.channel)
            if n.channel not in nouns or key is None:
                continue
            value, placeholder = unit.notify[n.channel][key], NOTIFY_PLACEHOLDERS[n.channel]
            if placeholder not in value:
                why.append(f"{n.channel} {n.target}: sent through {key} {value!r}, the same for every "
                           f"{nouns[n.channel]} (put {placeholder} in notifications.{n.channel}.{key}); "
                           + then[n.channel].format(target=n.target))
    return out


# Prefect and Dagster send with the embedded runtime (omlc/runtime/notify.py): what their
# support tables and loss reports say of Slack and PagerDuty targets
RUNTIME_DESTINATIONS = {"slack": "webhook_env", "pagerduty": "routing_key_env"}
RUNTIME_SHARED = {"slack": "the message names {target} as its channel, which only a legacy incoming webhook honours "
                           "(an app's webhook posts to the channel it was made for)",
                  "pagerduty": "{target} is the event's component"}
RUNTIME_PER_DESTINATION = ("exact when each Slack channel and each PagerDuty service has its own webhook and routing "
                           "key ({channel} in notifications.slack.webhook_env, {service} in notifications.pagerduty."
                           "routing_key_env), approximated otherwise (one webhook posts to the channel it was made "
                           "for; one routing key alerts one service)")


def runtime_notification_losses(target, unit, sla_how: str):
    """The notification losses of a target that sends with the embedded runtime: an event
    is approximated when a Slack or PagerDuty target shares its webhook or routing key
    (:func:`shared_destinations`), else exact (``on_sla_breach``: emulated, ``sla_how``)."""
    from omlc.targets import Loss

    for event, why in shared_destinations(unit, RUNTIME_DESTINATIONS, RUNTIME_SHARED).items():
        field = f"metadata.notifications.{event}"
        if why:
            yield Loss(target.name, field, "approximated", "; ".join(why))
        elif event == "on_sla_breach":
            yield Loss(target.name, field, "emulated", sla_how)
        else:
            yield Loss(target.name, field, "exact", "")


def sla_seconds(pipeline) -> int | None:
    md = pipeline.metadata
    return md.sla.nominal_seconds if md is not None and md.sla is not None else None


def metadata_facts(pipeline) -> dict[str, Any]:
    """The read-back facts of what this module plans (see :mod:`omlc.readback`):
    ``metadata.sla`` in seconds, ``metadata.tests`` as :func:`test_spec` dicts,
    ``metadata.notifications.<event>`` and ``metadata.lineage.<direction>`` as
    ``[channel, target]`` / ``[kind, name]`` pairs."""
    from omlc.lineage import ref_parts

    md = pipeline.metadata
    window = pipeline.schedule.window if pipeline.schedule is not None else None
    last_step = pipeline.steps[-1].id if pipeline.steps else None
    out: dict[str, Any] = {"metadata.sla": sla_seconds(pipeline),
                           "metadata.tests": [test_spec(t, window, last_step) for t in (md.tests if md else [])]}
    notes = md.notifications if md is not None else None
    for event in EVENTS:
        out[f"metadata.notifications.{event}"] = [[n.channel, n.target] for n in (getattr(notes, event) if notes
                                                                                     else [])]
    lineage = md.lineage if md is not None else None
    for direction in ("upstream", "downstream"):
        out[f"metadata.lineage.{direction}"] = [list(ref_parts(r)) for r in (getattr(lineage, direction) if lineage
                                                                              else [])]
    return out
