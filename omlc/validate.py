"""Load and validate OML files: discovery, loading, rules, one report."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from omlc.diagnostics import Diagnostic, Severity, Span, diag
from omlc.loader import LoadError, Source, gc_paused, parse_yaml, read_source

OML_SUFFIXES = (".oml", ".oml.yaml", ".oml.yml")
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox"}


class UsageError(Exception):
    """A problem with what was asked (exit code 2), carrying a located diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass
class LoadedFile:
    path: str
    source: Source | None
    pipeline: object | None  # omlc.ir.Pipeline
    diagnostics: list[Diagnostic]


@dataclass
class Report:
    files: list[LoadedFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    io_error: bool = False

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.diagnostics, key=Diagnostic.sort_key)

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity is severity)

    def exit_code(self, strict: bool = False) -> int:
        if self.io_error:
            return 2
        worst = {d.severity for d in self.diagnostics}
        if Severity.ERROR in worst or (strict and Severity.WARNING in worst):
            return 1
        return 0


def is_oml_name(name: str) -> bool:
    return name.endswith(OML_SUFFIXES)


def discover(paths: Iterable[str]) -> tuple[list[str], list[Diagnostic]]:
    """Files named on the command line (any extension) and OML files under directories."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = []
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                found.extend(os.path.join(root, n) for n in sorted(names) if is_oml_name(n))
            if not found:
                problems.append(diag(
                    "OML005", f"no OML files under this directory (looked for {', '.join('*' + s for s in OML_SUFFIXES)})",
                    Span(raw, 1, 1), "name pipeline files like `daily_sync.oml.yaml`, or pass the file itself",
                ))
            candidates = found
        else:
            candidates = [raw]
        for c in candidates:
            key = os.path.normpath(c)
            if key not in seen:
                seen.add(key)
                files.append(c)
    return files, problems


def load_file(path: str) -> LoadedFile:
    """Read, parse and build one pipeline; never raises for bad input."""
    try:
        source = read_source(path)
    except LoadError as exc:
        return LoadedFile(path, None, None, [exc.diagnostic])
    return load_source(source)


def load_text(text: str, path: str = "<string>") -> LoadedFile:
    """Like :func:`load_file` for text already in memory (tests, editors, stdin)."""
    return load_source(Source(path, text))


def load_source(source: Source) -> LoadedFile:
    from omlc.build import Builder

    with gc_paused():
        try:
            tree, yaml_diagnostics = parse_yaml(source)
        except LoadError as exc:
            return LoadedFile(source.path, source, None, [exc.diagnostic])
        builder = Builder(source)
        pipeline = builder.pipeline(tree)
    # a YAML 1.1 reading is moot where the value is already an error
    errors_at = {d.span for d in builder.diagnostics if d.severity is Severity.ERROR}
    yaml_diagnostics = [d for d in yaml_diagnostics if d.span not in errors_at]
    return LoadedFile(source.path, source, pipeline, yaml_diagnostics + builder.diagnostics)


def validate_files(files: list[LoadedFile], *, profile: str | None = None,
                   params: Mapping[str, str] | None = None, rules: Iterable | None = None) -> list[Diagnostic]:
    """Run every registered rule over the pipelines that loaded; return all diagnostics."""
    from omlc.rules import RuleContext, run_rules

    if rules is None:
        from omlc.plugins import get_registry

        rules = get_registry().rules().values()
    context = RuleContext(profile=profile, params=dict(params or {}))
    pipelines = [f.pipeline for f in files if f.pipeline is not None]
    found = [d for f in files for d in f.diagnostics]
    found.extend(run_rules(pipelines, rules, context))
    return found


def validate_paths(paths: Iterable[str], *, profile: str | None = None,
                   params: Mapping[str, str] | None = None, rules: Iterable | None = None) -> Report:
    names, problems = discover(paths)
    report = Report()
    report.diagnostics.extend(problems)
    report.io_error = bool(problems)
    for name in names:
        loaded = load_file(name)
        report.files.append(loaded)
        if loaded.source is None and loaded.diagnostics and loaded.diagnostics[0].code == "OML001":
            report.io_error = True
    report.diagnostics.extend(validate_files(report.files, profile=profile, params=params, rules=rules))
    return report
