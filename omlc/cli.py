"""The ``omlc`` command line. Commands are thin: parse arguments, call the library, render, exit.

Exit codes: 0 clean, 1 findings at error level (or warnings with ``--strict``), 2 usage or
I/O errors. Start-up stays light (it runs in pre-commit on every commit): heavy modules
are imported inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from omlc.cli_common import (Granularity, OutputFormat, chosen_targets, emit_report, parse_params,
                              warn_plugin_problems, write_output)

app = typer.Typer(
    name="omlc",
    help="Compile OML pipelines: validate them, preview their schedules, emit orchestrator code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command()
def validate(
    paths: List[str] = typer.Argument(..., help="OML files or directories (searched for *.oml, *.oml.yaml, *.oml.yml)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="Profile whose params apply."),
    param: Optional[List[str]] = typer.Option(None, "--param", help="Override a param: NAME=VALUE (repeatable)."),
) -> None:
    """Validate OML pipelines: syntax, structure, steps, params, schedule and metadata rules."""
    from omlc.validate import validate_paths

    report = validate_paths(paths, profile=profile, params=parse_params(param))
    warn_plugin_problems()
    raise typer.Exit(emit_report(report, fmt, strict))


@app.command("compile")
def compile_cmd(
    paths: List[str] = typer.Argument(..., help="OML files or directories."),
    target: List[str] = typer.Option(..., "--target", "-t", help="A target name (see `omlc plugins`), or all. Repeatable."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Output folder (default: the project file's "
                                      "output.<target>, else build/<target>; with several targets, DIR/<target>)."),
    granularity: Granularity = typer.Option(Granularity.pipeline, "--granularity", "-g",
                                            help="pipeline: one task runs the whole pipeline; step: one task per step."),
    strict: bool = typer.Option(False, "--strict", help="Fail (and write nothing for that pipeline) on any warning or loss."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 when a generated file is missing or "
                               "differs from what the OML gives now (for pre-commit and CI)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format of the findings."),
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="Profile whose params apply to validation."),
    param: Optional[List[str]] = typer.Option(None, "--param", help="Override a param for validation: NAME=VALUE."),
) -> None:
    """Compile pipelines to orchestrator code, with the loss report of each target."""
    from omlc.compile import compile_paths

    targets = chosen_targets(target)
    result = compile_paths(paths, targets, out=out, granularity=granularity.value, strict=strict,
                           write=not check, check=check, profile=profile, params=parse_params(param))
    code = emit_report(result.report, fmt, strict)
    if check:
        for path, why in result.stale:
            typer.echo(f"{path}: {why}: run omlc compile to update it", err=True)
        if result.stale:
            typer.echo(f"{len(result.stale)} generated file(s) out of date", err=True)
        raise typer.Exit(code or (1 if result.stale else 0))
    if fmt is OutputFormat.text:
        for path in result.written:
            typer.echo(f"wrote {path}", err=True)
        if result.unchanged:
            typer.echo(f"{len(result.unchanged)} file(s) unchanged", err=True)
    raise typer.Exit(code)


@app.command("verify")
def verify_cmd(
    paths: List[str] = typer.Argument(..., help="OML files or directories."),
    target: List[str] = typer.Option(..., "--target", "-t", help="A target with a reader, or all. Repeatable."),
    generated: Optional[str] = typer.Option(None, "--generated", help="Compare this generated file (a DAG, a flow "
                                            "module...) with the one pipeline named, instead of compiling."),
    granularity: Granularity = typer.Option(Granularity.pipeline, "--granularity", "-g", help="pipeline or step."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format of the findings."),
) -> None:
    """Compile, read the code back, and report every field where code and OML differ (drift,
    OML701), at the OML field and the code's file:line."""
    from omlc.plugins import get_registry
    from omlc.readback import verify_paths

    targets = chosen_targets(target)
    readers = get_registry().readers()
    missing = [t.name for t in targets if t.name not in readers]
    if missing and "all" not in target:
        raise typer.BadParameter(f"no reader for {', '.join(missing)}", param_hint="--target")
    targets = [t for t in targets if t.name in readers]
    try:
        report = verify_paths(paths, targets, readers, generated=generated, granularity=granularity.value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--generated") from None
    raise typer.Exit(emit_report(report, fmt, strict=False))


@app.command("import")
def import_cmd(
    file: str = typer.Argument(..., help="A generated file (an Airflow DAG written by omlc compile), or a "
                               "hand-written Airflow DAG to migrate."),
    source: str = typer.Option("airflow", "--from", help="The target whose code FILE is."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write OML here (updated in place when it "
                                         "exists: comments, key order and quoting are kept); default stdout."),
    dag: Optional[str] = typer.Option(None, "--dag", help="A hand-written file that defines several DAGs: the "
                                      "dag_id to import (default: the first)."),
) -> None:
    """OML from generated code: name, schedule and metadata from the operative code, steps from
    the runtime copy beside it. A hand-written Airflow DAG is migrated: OML for what omlc
    understands, a located finding for the rest (exit 1 when one is an error)."""
    from omlc.importer import dump, import_code
    from omlc.loader import Source
    from omlc.plugins import get_registry
    from omlc.validate import LoadedFile, Report

    readers = get_registry().readers()
    warn_plugin_problems()
    if source not in readers:
        raise typer.BadParameter(f"no reader for {source!r} (installed: {', '.join(sorted(readers)) or 'none'})",
                                 param_hint="--from")
    try:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"omlc: cannot read {file}: {getattr(exc, 'strerror', None) or exc}", err=True)
        raise typer.Exit(2) from None
    document, found, granularity = import_code(text, file, readers[source], dag)
    code = 0
    if found:
        shown = LoadedFile(file, Source(file, text), None, [])
        code = emit_report(Report(files=[shown], diagnostics=found), OutputFormat.text, strict=False, err=True)
    if document is None:
        raise typer.Exit(1)
    existing = None
    if output is not None:
        try:
            with open(output, encoding="utf-8") as fh:
                existing = fh.read()
        except FileNotFoundError:
            existing = None
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"omlc: cannot read {output}: {getattr(exc, 'strerror', None) or exc}", err=True)
            raise typer.Exit(2) from None
    write_output(dump(document, existing, granularity), output)
    raise typer.Exit(code)


@app.command()
def schema(
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Print the JSON Schema of OML (for editors: yaml-language-server, VS Code, JetBrains)."""
    from omlc.schema import schema_json

    write_output(schema_json(), output or None, announce=False)


@app.command()
def plugins(
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """List loaded plugins, their versions, and the targets and rules they register."""
    from omlc.plugins import get_registry

    registry = get_registry()
    registry.rules()
    registry.targets()
    infos = list(registry.plugins.values())
    if fmt is OutputFormat.json:
        import json

        typer.echo(json.dumps([info.__dict__ for info in infos], indent=2))
    else:
        for info in infos:
            version = f" {info.version}" if info.version else ""
            origin = "built-in" if info.builtin else (info.distribution or "?")
            typer.echo(f"{info.name}{version} ({origin}: {info.module})")
            if info.targets:
                typer.echo(f"  targets: {', '.join(info.targets)}")
            if info.rules:
                typer.echo(f"  rules:   {', '.join(info.rules)}")
            if info.error:
                typer.echo(f"  error:   {info.error}")
    raise typer.Exit(1 if registry.problems else 0)


@app.command()
def codes(
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text, json, or github (markdown table)."),
) -> None:
    """List every diagnostic code (core and plugins) with its default severity."""
    from omlc.diagnostics import CODES, codes_markdown
    from omlc.plugins import get_registry

    get_registry().rules()  # plugin rules declare their codes
    if fmt is OutputFormat.json:
        import json

        typer.echo(json.dumps([{"code": c.code, "severity": c.severity.value, "summary": c.summary}
                               for c in sorted(CODES.values(), key=lambda c: c.code)], indent=2))
    elif fmt is OutputFormat.github:
        typer.echo(codes_markdown(), nl=False)
    else:
        for c in sorted(CODES.values(), key=lambda c: c.code):
            typer.echo(f"{c.code}  {c.severity.value:<7}  {c.summary}")


from omlc.cli_lineage import lineage_cmd  # noqa: E402
from omlc.cli_schedule import app as _schedule_app  # noqa: E402

app.add_typer(_schedule_app, name="schedule")
app.command("lineage")(lineage_cmd)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("omlc: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # never show a traceback for an omlc bug, but keep it findable
        if os.environ.get("OMLC_DEBUG"):
            raise
        typer.echo(f"omlc: internal error: {type(exc).__name__}: {exc}\n"
                   "This is a bug in omlc; rerun with OMLC_DEBUG=1 for the traceback and report it.", err=True)
        sys.exit(70)


if __name__ == "__main__":
    main()
