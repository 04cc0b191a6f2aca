"""``omlc compile``: validated pipelines -> each target's files, plus the loss report.

For every pipeline that validates without errors and every requested target: find the
project settings (:mod:`omlc.project`), let the target compile (:class:`omlc.targets.Target`),
report its losses as located diagnostics, and write its files atomically, together with
the runtime copy of the pipeline (DESIGN.md section 4). A pipeline with errors, or with
losses or warnings under ``--strict``, writes nothing; the others are written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from omlc.diagnostics import Diagnostic, Severity, Span, diag
from omlc.validate import Report, validate_paths

WINDOW_REFERENCE = re.compile(r"\$\{\s*window\.(start|end)\s*\}")
PARAM_WINDOW_REFERENCE = re.compile(r"\$\{\s*params\.window_(start|end)\s*\}")  # what the runtime copy says


def as_param(match: re.Match) -> str:
    """``${window.start}`` as the runtime copy writes it: ``${params.window_start}``."""
    return "${params.window_" + match.group(1) + "}"


def as_window(match: re.Match) -> str:
    """The runtime copy's ``${params.window_start}`` back as ``${window.start}``."""
    return "${window." + match.group(1) + "}"
RUNTIME_SUFFIX = ".runtime.yaml"


class UnknownTarget(ValueError):
    pass


@dataclass
class CompileResult:
    report: Report
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)  # check mode: (path, "missing" | "differs")
    outputs: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (path, target) -> files

    def exit_code(self, strict: bool = False) -> int:
        code = self.report.exit_code(strict)
        return code or (1 if self.stale else 0)


def resolve_targets(names: Iterable[str]) -> list:
    from omlc.plugins import get_registry

    available = get_registry().targets()
    chosen = []
    for name in names:
        if name == "all":
            chosen.extend(t for n, t in sorted(available.items()) if t not in chosen)
        elif name in available:
            if available[name] not in chosen:
                chosen.append(available[name])
        else:
            known = ", ".join(sorted(available)) or "none installed"
            raise UnknownTarget(f"unknown target {name!r} (installed: {known}; or all)")
    return chosen


def compile_paths(paths: Iterable[str], targets: list, *, out: str | None = None, granularity: str = "pipeline",
                  strict: bool = False, write: bool = True, check: bool = False, profile: str | None = None,
                  params: Mapping[str, str] | None = None) -> CompileResult:
    """Validate ``paths`` and compile each clean pipeline for each target. ``write``
    writes the files (atomically; unchanged ones are left alone); ``check`` writes
    nothing and lists in ``stale`` each file that is missing or differs from what would
    be written now."""
    from omlc.files import write_atomic
    from omlc.project import project_for
    from omlc.targets import loss_diagnostics

    report = validate_paths(paths, profile=profile, params=params)
    result = CompileResult(report)
    project_problems: set[str] = set()
    for loaded in report.files:
        pipeline = loaded.pipeline
        mine = [d for d in report.diagnostics if d.span.path == loaded.path]
        if pipeline is None or any(d.severity is Severity.ERROR for d in mine):
            continue
        project, problems = project_for(loaded.path)
        if problems:
            if project.path not in project_problems:  # report a project file once
                project_problems.add(project.path or "")
                report.diagnostics.extend(problems)
            continue
        for target in targets:
            folder = output_folder(out, project, target.name, len(targets) > 1)
            unit = make_unit(pipeline, loaded.source.text, loaded.path, project, target.name, granularity, folder)
            output = target.compile(unit)
            found: list[Diagnostic] = list(output.problems)
            found.extend(loss_diagnostics(pipeline, output.losses))
            report.diagnostics.extend(found)
            blocked = any(d.severity is Severity.ERROR for d in found) or (
                strict and any(d.severity is Severity.WARNING for d in mine + found))
            if blocked:
                continue
            files = dict(output.files)
            files[unit.runtime_name] = runtime_copy(loaded.source.text, unit.source_path, unit.regenerate)
            result.outputs[(loaded.path, target.name)] = files
            if write or check:
                for name, text in sorted(files.items()):
                    path = os.path.join(folder, name)
                    if _same(path, text):
                        result.unchanged.append(path)
                        continue
                    if check:
                        result.stale.append((path, "differs" if os.path.exists(path) else "missing"))
                        continue
                    try:
                        write_atomic(path, text)
                    except OSError as exc:
                        report.diagnostics.append(diag("OML001", f"cannot write {path}: {exc.strerror or exc}",
                                                       Span(loaded.path, 1, 1)))
                        report.io_error = True
                        continue
                    result.written.append(path)
    return result


def make_unit(pipeline, source_text: str, source_path: str, project, target: str, granularity: str,
              code_folder: str | None = None):
    """What ``target`` compiles; ``code_folder`` is where the code goes (custom data-test
    scripts are located relative to it; default: the project's output folder)."""
    from omlc.metadata import checks
    from omlc.targets import Unit

    folder = code_folder if code_folder is not None else output_folder(None, project, target, False)
    source_path = shown_path(source_path, project)
    has_window = pipeline.schedule is not None and pipeline.schedule.window is not None
    regenerate = f"omlc compile {source_path} --target {target}" + (" --granularity step" if granularity == "step"
                                                                     else "")
    return Unit(pipeline=pipeline, source_text=source_text, source_path=source_path,
                runner=project.runner(granularity, has_window), granularity=granularity,
                regenerate=regenerate, runtime_name=pipeline.name + RUNTIME_SUFFIX,
                checks=tuple(checks(pipeline, project, folder)), notify=project.notify)


def shown_path(path: str, project) -> str:
    """The source path that generated files name (header, regenerate command): relative to
    the project file's folder when there is one, else to the working directory when the
    file is below it, so the same pipeline compiles to the same bytes wherever omlc runs
    from (``--check`` in pre-commit compares against what a developer wrote)."""
    full = os.path.abspath(path)
    base = os.path.dirname(project.path) if project.path else os.getcwd()
    rel = os.path.relpath(full, base)
    if rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        return path if project.path is None else full.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def output_folder(out: str | None, project, target: str, several: bool) -> str:
    if out is not None:
        return os.path.join(out, target) if several else out
    if target in project.output:
        return project.output[target]
    return os.path.join("build", target)


def _same(path: str, text: str) -> bool:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read() == text
    except OSError:
        return False


def runtime_copy(source_text: str, source_path: str, regenerate: str) -> str:
    """The pipeline as the runner reads it at run time: ``${window.start}`` and
    ``${window.end}`` become ``${params.window_start}`` and ``${params.window_end}``
    (the reference CLI resolves only params), declared as params with empty defaults.
    Everything else, comments included, is the source's own text: the references are
    replaced in the text, and a file without a ``params`` block gets one appended; only a
    file that already has one goes through a YAML round trip."""
    from omlc import __version__
    from omlc.codegen import header

    top = header(source_path, source_text, regenerate, __version__)
    top += "# The runtime copy of the pipeline that the generated code runs; its window references are params.\n"
    if not WINDOW_REFERENCE.search(source_text):
        return top + source_text
    if _TEXT_EDITABLE.match(source_text) and not _PARAMS_KEY.search(source_text) \
            and not _DOCUMENT_MARKER.search(source_text):
        text = WINDOW_REFERENCE.sub(as_param, source_text)
        if not text.endswith("\n"):
            text += "\n"
        return top + text + "params:\n  window_start: {default: ''}\n  window_end: {default: ''}\n"
    return top + _runtime_copy_yaml(source_text)


# a block mapping at the top level (its first key at column 0), no params key, one document
_TEXT_EDITABLE = re.compile(r"\A(?:\s*#[^\n]*\n|\s*\n)*[A-Za-z_][\w-]*\s*:(?:\s|$)")
_PARAMS_KEY = re.compile(r"^[\"']?params[\"']?\s*:", re.M)
_DOCUMENT_MARKER = re.compile(r"^(?:---|\.\.\.)(?:\s|$)", re.M)


def _runtime_copy_yaml(source_text: str) -> str:
    from io import StringIO

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    document = yaml.load(source_text)
    used = substitute_strings(document, WINDOW_REFERENCE, as_param)
    if used:
        params = document.get("params")
        if not isinstance(params, dict):
            params = CommentedMap()
            document.insert(list(document.keys()).index("steps") if "steps" in document else len(document),
                            "params", params)
        for name in ("window_start", "window_end"):
            params.setdefault(name, {"default": ""})
    buffer = StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def substitute_strings(node, pattern: re.Pattern, replace) -> bool:
    """``pattern.sub(replace, ...)`` in every string of a YAML tree (ruamel's, in place:
    its string types, which carry the quoting, are kept); whether anything changed."""
    changed = False
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str):
            new = pattern.sub(replace, value)
            if new != value:
                node[key] = type(value)(new) if type(value) is not str else new
                changed = True
        elif isinstance(value, (dict, list)):
            changed = substitute_strings(value, pattern, replace) or changed
    return changed
