"""Pieces every command shares: output formats, rendering a report, parsing --param."""

from __future__ import annotations

import os
import sys
from enum import Enum

import typer


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


class Granularity(str, Enum):
    pipeline = "pipeline"
    step = "step"


def parse_params(values: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        params[name.strip()] = value
    return params


def write_output(text: str, output: str | None, announce: bool = True) -> None:
    """``text`` to stdout, or atomically to the file ``output`` (then ``wrote FILE`` on
    stderr when ``announce``); a file that cannot be written is exit code 2."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from omlc.files import write_atomic

    try:
        write_atomic(output, text)
    except OSError as exc:
        typer.echo(f"omlc: cannot write {output}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    if announce:
        typer.echo(f"wrote {output}", err=True)


def use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def emit_report(report, fmt: OutputFormat, strict: bool, err: bool = False) -> int:
    """Print a report's findings (to stderr with ``err``, uncoloured); return the exit code."""
    from omlc.diagnostics import Severity
    from omlc.render import render

    diagnostics = report.sorted()
    if strict:
        from dataclasses import replace

        diagnostics = [replace(d, severity=Severity.ERROR) if d.severity is Severity.WARNING else d
                       for d in diagnostics]
    sources = {f.path: f.source for f in report.files if f.source is not None}

    def line_of(path: str, line: int) -> str:
        src = sources.get(path)
        return src.line_text(line) if src is not None else ""

    out = render(diagnostics, fmt.value, line_of, color=use_color() and not err, files=len(report.files))
    if out:
        typer.echo(out, err=err)
    return report.exit_code(strict=strict)


def chosen_targets(names: list[str], option: str = "--target") -> list:
    """The targets a command names (``all``: every installed one), as a usage error when one
    is unknown; plugins that failed to load are reported either way."""
    from omlc.compile import UnknownTarget, resolve_targets

    try:
        return resolve_targets(names)
    except UnknownTarget as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    finally:
        warn_plugin_problems()


def warn_plugin_problems() -> None:
    from omlc.plugins import get_registry

    for info in get_registry().problems:
        version = f" {info.version}" if info.version else ""
        typer.echo(f"omlc: plugin {info.name}{version} was skipped: {info.error}", err=True)
