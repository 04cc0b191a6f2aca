"""Reading generated code back: the operative facts of a pipeline, and drift between them.

A pipeline's *facts* are what generated code must carry for the pipeline to run as the
OML says, as flat dotted keys with plain values (``schedule.retry.delays``: the delay
before each retry, in seconds). :func:`facts` computes them from the IR; a target's
:class:`Reader` (registered through the ``register_readers`` hook) reads them from the
code with libcst, from the operative code only (the arguments the engine uses, the
literals the runtime computes with), each with its location. :func:`drift` compares
the two: every difference is a diagnostic located at the OML field, naming the line of
the code.

Facts are semantic, so the same pipeline written two ways compares equal: a cron
expression is compared by its expanded fields, instants as UTC, durations in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from omlc.diagnostics import Diagnostic, Span, diag

# fact key -> the OML path its diagnostic points at
OML_PATHS: dict[str, tuple] = {
    "name": ("name",),
    "description": ("description",),
    "schedule.cron": ("schedule", "expression"),
    "schedule.interval": ("schedule", "expression"),
    "schedule.timezone": ("schedule", "timezone"),
    "schedule.start_date": ("schedule", "start_date"),
    "schedule.end_date": ("schedule", "end_date"),
    "schedule.catchup": ("schedule", "catchup"),
    "schedule.concurrency": ("schedule", "concurrency"),
    "schedule.timeout": ("schedule", "timeout"),
    "schedule.retry.attempts": ("schedule", "retry", "attempts"),
    "schedule.retry.delays": ("schedule", "retry"),
    "schedule.window": ("schedule", "window"),
    "metadata.owner": ("metadata", "owner"),
    "metadata.team": ("metadata", "team"),
    "metadata.criticality": ("metadata", "criticality"),
    "metadata.tags": ("metadata", "tags"),
    "metadata.description": ("metadata", "description"),
    "steps": ("steps",),
    # omlc.metadata.metadata_facts
    "metadata.sla": ("metadata", "sla"),
    "metadata.tests": ("metadata", "tests"),
    "metadata.notifications.on_failure": ("metadata", "notifications", "on_failure"),
    "metadata.notifications.on_success": ("metadata", "notifications", "on_success"),
    "metadata.notifications.on_sla_breach": ("metadata", "notifications", "on_sla_breach"),
    "metadata.lineage.upstream": ("metadata", "lineage", "upstream"),
    "metadata.lineage.downstream": ("metadata", "lineage", "downstream"),
}


def facts(pipeline, granularity: str = "pipeline") -> dict[str, Any]:
    """The operative facts of a validated pipeline (see the module docstring)."""
    from omlc.schedule.timetable import Timetable, retry_delays

    out: dict[str, Any] = {"name": pipeline.name, "description": pipeline.description}
    s = pipeline.schedule
    if s is not None:
        t = Timetable(s)
        spec = t.runtime_spec()
        out["schedule.cron" if "cron" in spec else "schedule.interval"] = spec.get("cron", spec.get("interval"))
        out["schedule.timezone"] = s.timezone
        out["schedule.start_date"] = _iso(t.start)
        out["schedule.end_date"] = _iso(t.end)
        out["schedule.catchup"] = bool(s.catchup)
        out["schedule.concurrency"] = s.concurrency
        out["schedule.timeout"] = s.timeout.nominal_seconds if s.timeout is not None else None
        out["schedule.retry.attempts"] = s.retry.attempts if s.retry is not None else 0
        out["schedule.retry.delays"] = retry_delays(s.retry)
        out["schedule.window"] = spec.get("window")
    md = pipeline.metadata
    out["metadata.owner"] = md.owner if md else None
    out["metadata.team"] = md.team if md else None
    out["metadata.criticality"] = md.criticality if md else None
    out["metadata.tags"] = list(dict.fromkeys(md.tags)) if md else []
    out["metadata.description"] = md.description if md else None
    from omlc.metadata import metadata_facts  # tests, SLA, notifications, lineage

    out.update(metadata_facts(pipeline))
    if granularity == "step":  # one task per step: the ids, and each step's upstream steps
        needs = pipeline.effective_needs()
        out["steps"] = [step.id for step in pipeline.steps]
        for step in pipeline.steps:
            out[f"steps.{step.id}.needs"] = sorted(needs.get(step.id, []))
    return out


def _iso(moment) -> str | None:
    if moment is None:
        return None
    from datetime import timezone

    return moment.astimezone(timezone.utc).isoformat()


@dataclass
class Readback:
    """What a reader found in one generated file: facts, where each is, and what it could
    not read (located diagnostics, never exceptions)."""

    path: str
    facts: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    granularity: str = "pipeline"
    shown: dict[str, str] = field(default_factory=dict)  # how a fact reads in the code, when not its value
    extra: dict[str, Any] = field(default_factory=dict)  # for import only: the cron text as written
    items: dict[str, list[Span]] = field(default_factory=dict)  # a list fact: where each element is

    def put(self, key: str, value: Any, span: Span | None, shown: str | None = None,
            items: list[Span] | None = None) -> None:
        self.facts[key] = value
        if span is not None:
            self.spans[key] = span
        if shown is not None:
            self.shown[key] = shown
        if items is not None:
            self.items[key] = items


class Reader:
    """Base class of readers: ``name`` is the target whose code it reads."""

    name: ClassVar[str]
    oml_paths: ClassVar[dict[str, tuple]] = {}  # the OML path of each of the target's own facts

    def read(self, text: str, path: str) -> Readback:
        raise NotImplementedError

    def expected(self, pipeline, granularity: str) -> dict[str, Any]:
        """The facts code for ``pipeline`` must carry: :func:`facts`, plus any of the
        target's own (how it maps a schedule, say)."""
        return facts(pipeline, granularity)


def verify(pipeline, reader: Reader, text: str, path: str) -> list[Diagnostic]:
    """Read generated code and compare it with the pipeline: what the reader could not
    read, then the drift."""
    from omlc.cstread import code_warnings_ignored

    with code_warnings_ignored():
        got = reader.read(text, path)
    if any(d.code == "OML702" for d in got.diagnostics):
        return got.diagnostics
    return got.diagnostics + drift(pipeline, reader.expected(pipeline, got.granularity), got, reader.name,
                                   {**OML_PATHS, **reader.oml_paths})


def drift(pipeline, expected: dict[str, Any], got: Readback, target: str,
          paths: dict[str, tuple] = OML_PATHS) -> list[Diagnostic]:
    """One OML701 per fact that differs between the OML (``expected``) and the code
    (``got``), located at the OML field, with the code's file:line:col in the message.
    Only facts the reader read are compared (a target that does not express a field
    has it in its loss report instead)."""
    found = []
    for key, value in got.facts.items():
        if key not in expected or expected[key] == value:
            continue
        where = _element_span(got, key, value, expected[key]) or got.spans.get(key)
        code_at = f"{where.path}:{where.line}:{where.col}" if where else got.path
        span = _oml_span(pipeline, _oml_path(pipeline, key, paths))
        theirs = got.shown.get(key, _show(value))
        ours = repr(pipeline.schedule.expression) if key == "schedule.cron" else _show(expected[key])
        found.append(diag("OML701", f"[{target}] {key}: the code at {code_at} says {theirs}, the OML says {ours}",
                          span,
                          "run omlc compile to regenerate the code, or change the OML"))
    return found


def _element_span(got: Readback, key: str, value: Any, expected: Any) -> Span | None:
    """Where the first element of a list fact that differs from the OML is in the code
    (when the reader located the elements), so a hand edit inside a list is at its line."""
    items = got.items.get(key)
    if not items or not isinstance(value, list) or not isinstance(expected, list):
        return None
    first = next((i for i, (a, b) in enumerate(zip(value, expected)) if a != b), min(len(value), len(expected)))
    return items[first] if first < len(items) else None


def _oml_path(pipeline, key: str, paths: dict[str, tuple]) -> tuple:
    if key.startswith("steps.") and key.endswith(".needs"):
        step_id = key[len("steps."):-len(".needs")]
        index = next((i for i, s in enumerate(pipeline.steps) if s.id == step_id), None)
        return ("steps",) if index is None else ("steps", index, "needs")
    return paths.get(key, ())


def _oml_span(pipeline, path: tuple) -> Span:
    locations = pipeline.locations
    while path:
        span = locations.key(path)
        if span is not None:
            return span
        path = path[:-1]
    return locations.nearest(())


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def verify_paths(paths, targets: list, readers: dict[str, Reader], *, generated: str | None = None,
                 granularity: str = "pipeline"):
    """``omlc verify``: validate the pipelines, then for each target compile each clean
    pipeline in memory (or take the file ``generated``), read the code back and report
    drift. Returns the validation report with the findings added."""
    import os

    from omlc.compile import make_unit, output_folder
    from omlc.diagnostics import Severity
    from omlc.project import project_for
    from omlc.validate import validate_paths

    report = validate_paths(paths)
    clean = [f for f in report.files if f.pipeline is not None and not any(
        d.severity is Severity.ERROR and d.span.path == f.path for d in report.diagnostics)]
    if generated is not None and len(clean) > 1:
        raise ValueError("--generated compares one pipeline with one file: name one pipeline")
    given = None
    if generated is not None and clean:
        try:
            with open(generated, encoding="utf-8") as fh:
                given = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            report.diagnostics.append(diag("OML001", f"cannot read {generated}: {exc}", Span(generated, 1, 1)))
            report.io_error = True
            return report
    reported_projects: set = set()
    for loaded in clean:
        pipeline = loaded.pipeline
        project, problems = project_for(loaded.path)
        if problems and project.path not in reported_projects:  # a project file's problems, once
            reported_projects.add(project.path)
            report.diagnostics.extend(problems)
        for target in targets:
            if given is not None:
                text, path = given, generated
            else:
                unit = make_unit(pipeline, loaded.source.text, loaded.path, project, target.name, granularity)
                output = target.compile(unit)
                report.diagnostics.extend(output.problems)
                if not output.ok:
                    continue
                name = next(n for n in output.files if n.endswith(".py"))
                text = output.files[name]
                path = os.path.join(output_folder(None, project, target.name, False), name)
            report.diagnostics.extend(verify(pipeline, readers[target.name], text, path))
    return report
