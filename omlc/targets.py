"""Compilation targets: the base class every target plugin subclasses, and the loss report.

A target (``AirflowTarget``, ``PrefectTarget``, ... registered through the
``register_targets`` hook) turns one validated pipeline into files. It declares, per OML
field, how it expresses that field, in :attr:`Target.support`:

- ``exact``: the engine does what OML says, with its own mechanism;
- ``emulated``: the engine has no such feature; generated code does it (same result);
- ``approximated``: the engine does something close; the loss report says how it differs;
- ``unsupported``: the field has no effect on this target.

The base class owns the loop (sqlglot's shape: the dialect overrides tables and a few
methods): it finds which fields a pipeline sets, turns the table into the loss report
(value-dependent entries come from :meth:`Target.value_losses`), and collects the
target's own blocking problems (:meth:`Target.problems`) before :meth:`Target.emit` runs.
Nothing is dropped silently: every field a pipeline sets that is not ``exact`` is in the
report, located at the field in the OML file; ``--strict`` turns losses into errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Literal

from omlc.diagnostics import Diagnostic, Severity, diag

Status = Literal["exact", "emulated", "approximated", "unsupported"]

_LOSS_CODES = {"approximated": "OML601", "unsupported": "OML602", "emulated": "OML603"}


@dataclass(frozen=True)
class Support:
    """One row of a target's support table: how it expresses an OML field."""

    status: Status
    how: str


@dataclass(frozen=True)
class Loss:
    """One entry of the loss report: a field this pipeline sets that the target does not
    express exactly."""

    target: str
    field: str  # dotted OML path: schedule.retry, metadata.sla
    status: Status
    message: str

    def diagnostic(self, pipeline) -> Diagnostic:
        path = tuple(_path_key(p) for p in self.field.split("."))
        span = None
        if pipeline.locations is not None:  # the field's key, or its nearest written ancestor's
            while path and span is None:
                span = pipeline.locations.key(path)
                path = path[:-1]
            span = span or pipeline.locations.nearest(())
        return diag(_LOSS_CODES[self.status], f"[{self.target}] {self.field}: {self.status}: {self.message}", span)


def _path_key(part: str) -> Any:
    return int(part) if part.isdigit() else part


@dataclass(frozen=True)
class Unit:
    """What a target compiles: one validated pipeline and how to run it."""

    pipeline: Any  # omlc.ir.Pipeline
    source_text: str
    source_path: str  # as shown in the provenance header
    runner: Any  # omlc.project.RunnerCommand
    granularity: Literal["pipeline", "step"] = "pipeline"
    regenerate: str = ""  # the command that remakes the files
    runtime_name: str = ""  # file name of the runtime copy of the pipeline, beside the code
    checks: tuple = ()  # omlc.metadata.Check: the data tests, run after the pipeline
    notify: dict = field(default_factory=dict)  # the project's notification settings (omlc.project.NOTIFY_DEFAULTS)


@dataclass
class Output:
    files: dict[str, str] = field(default_factory=dict)  # file name (in the output folder) -> text
    losses: list[Loss] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.problems)


class Target:
    """Base class of compilation targets. Subclasses set the class attributes and
    implement :meth:`emit`; they may add :meth:`problems` and :meth:`value_losses`."""

    name: ClassVar[str]
    title: ClassVar[str]  # "Airflow 3.3"
    engine_versions: ClassVar[str]  # what the generated code is written and tested for
    support: ClassVar[dict[str, Support]]  # dotted OML field -> how this target expresses it
    docs_intro: ClassVar[str] = ""  # docs/targets/<name>.md before the table; {versions}: engine_versions

    def compile(self, unit: Unit) -> Output:
        out = Output(problems=list(self.problems(unit)))
        if not out.ok:
            return out
        out.losses = self.losses(unit)
        out.files = self.emit(unit)
        return out

    def emit(self, unit: Unit) -> dict[str, str]:
        """The generated files: name (relative to the output folder) -> text."""
        raise NotImplementedError

    def render(self, unit: Unit, template: str, values: dict, runtime: tuple[str, ...] | None = ()) -> str:
        """A template of the target's package (``templates/`` beside its module) with the
        provenance header, ``values`` and, unless ``runtime`` is None, the runtime code the
        schedule needs (``values["spec"]``) plus the functions named in ``runtime``."""
        from omlc import __version__
        from omlc.codegen import header, template_environment

        extra = {}
        if runtime is not None:
            from omlc.runtime.embed import runtime_source

            extra["runtime"] = runtime_source(values["spec"], extra=runtime)
        env = template_environment(type(self).__module__.split(".")[0])
        return env.get_template(template).render(
            header=header(unit.source_path, unit.source_text, unit.regenerate, __version__), **extra, **values)

    def problems(self, unit: Unit) -> Iterable[Diagnostic]:
        """Reasons this target cannot compile the pipeline at all (OML610 errors)."""
        return ()

    def value_losses(self, unit: Unit) -> Iterable[Loss]:
        """Losses that depend on the values, not only on which fields are set (a cron
        schedule that hits a DST change, a backoff the engine cannot express); an entry
        replaces the table's entry for the same field."""
        return ()

    def losses(self, unit: Unit) -> list[Loss]:
        by_field: dict[str, Loss] = {}
        for name in fields_set(unit.pipeline):
            row = self.support.get(name)
            if row is None:
                by_field[name] = Loss(self.name, name, "unsupported", "this target does not know the field")
            elif row.status != "exact":
                by_field[name] = Loss(self.name, name, row.status, row.how)
        for loss in self.value_losses(unit):
            by_field[loss.field] = loss
        return [by_field[k] for k in sorted(by_field) if by_field[k].status != "exact"]

    def support_table(self) -> list[tuple[str, Support]]:
        return sorted(self.support.items())

    def support_markdown(self) -> str:
        """The support table as a markdown table, for the target's page in docs/targets/."""
        rows = [f"| `{name}` | {row.status} | {row.how} |" for name, row in self.support_table()]
        return "\n".join(["| OML field | status | how |", "|---|---|---|", *rows]) + "\n"

    def docs_page(self) -> str:
        """docs/targets/<name>.md: the intro, then the support table (the loss report's source)."""
        return self.docs_intro.format(versions=self.engine_versions) + self.support_markdown()


# Metadata kept for people and tools, not for the engine: every target leaves it to the
# runtime copy (its support table includes these rows: ``{**INFORMATIONAL, ...}``).
INFORMATIONAL = {
    name: Support("unsupported", "informational; kept in the runtime copy only")
    for name in ("metadata.intent", "metadata.generated_by", "metadata.created_at", "metadata.source")
}

# OML fields a target's table speaks about: a field is "set" when the pipeline gives it a
# value other than its default. Steps, params and profiles travel in the runtime copy.
REPORTED_FIELDS = (
    "description",
    "schedule.type", "schedule.expression", "schedule.timezone", "schedule.start_date", "schedule.end_date",
    "schedule.retry", "schedule.timeout", "schedule.concurrency", "schedule.catchup", "schedule.window",
    "metadata.owner", "metadata.team", "metadata.sla", "metadata.criticality", "metadata.description",
    "metadata.tags", "metadata.tests", "metadata.lineage.upstream", "metadata.lineage.downstream",
    "metadata.notifications.on_failure", "metadata.notifications.on_success", "metadata.notifications.on_sla_breach",
    "metadata.intent", "metadata.generated_by", "metadata.created_at", "metadata.source",
)


def fields_set(pipeline) -> list[str]:
    """The reported fields a pipeline sets (explicitly, or by a default that acts:
    ``schedule.timezone`` and ``schedule.catchup`` always act when there is a schedule)."""
    found = []
    for name in REPORTED_FIELDS:
        obj = pipeline
        for part in name.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is None or obj == [] or obj == {}:
            continue
        found.append(name)
    return found


def loss_diagnostics(pipeline, losses: Iterable[Loss]) -> list[Diagnostic]:
    return [loss.diagnostic(pipeline) for loss in losses]


def metadata_tags(pipeline) -> list[str]:
    """The tags a pipeline's metadata gives an engine: its tags, then ``team:<team>`` and
    ``criticality:<level>``, without repeats."""
    md = pipeline.metadata
    if md is None:
        return []
    tags = list(md.tags)
    if md.team:
        tags.append(f"team:{md.team}")
    if md.criticality:
        tags.append(f"criticality:{md.criticality}")
    return list(dict.fromkeys(tags))


def step_names(steps) -> dict[str, str]:
    """A Python identifier per step id, for generated code: ``step_<id>`` when the id is
    an ASCII identifier, else ``step_<n>`` (1-based position)."""
    import keyword

    names: dict[str, str] = {}
    for i, step in enumerate(steps, 1):
        var = f"step_{step.id}" if step.id.isidentifier() and step.id.isascii() else f"step_{i}"
        if keyword.iskeyword(var) or var in names.values():
            var = f"step_{i}"
        names[step.id] = var
    return names


def write_docs_pages() -> None:
    """Regenerate docs/targets/<name>.md of every installed target (tests keep them equal):
    ``python -c 'from omlc.targets import write_docs_pages; write_docs_pages()'``."""
    from pathlib import Path

    from omlc.plugins import get_registry

    folder = Path(__file__).resolve().parent.parent / "docs" / "targets"
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in sorted(get_registry().targets().items()):
        folder.joinpath(f"{name}.md").write_text(target.docs_page(), encoding="utf-8")
