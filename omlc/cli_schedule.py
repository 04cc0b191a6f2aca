"""``omlc schedule ...``: validate, next, preview and dry-run test of pipeline schedules."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import List, Optional

import typer

from omlc.cli_common import Granularity, OutputFormat, emit_report as _emit_report, parse_params as _parse_params

app = typer.Typer(help="Check and preview pipeline schedules (fire times, windows, retries, DST).",
                  no_args_is_help=True)

TARGET_HELP = "An engine model (airflow, prefect, dagster), or all."


def _load_one(path: str, fmt: OutputFormat, profile=None, params=None):
    """Validate one pipeline; print its findings and exit 1 if it has errors or no schedule."""
    from omlc.diagnostics import Severity
    from omlc.validate import validate_paths

    report = validate_paths([path], profile=profile, params=params)
    if report.io_error or any(d.severity is Severity.ERROR for d in report.diagnostics):
        raise typer.Exit(_emit_report(report, fmt, strict=False))
    pipeline = report.files[0].pipeline
    if pipeline.schedule is None:
        typer.echo(f"{path}: the pipeline has no schedule", err=True)
        raise typer.Exit(1)
    return pipeline, report


def _moment(text: str | None, tz_name: str) -> datetime:
    from omlc.schedule.timetable import now
    from omlc.schedule.timetable import resolve_wall
    from omlc.schedule.engine import zone

    if text is None:
        return now()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO date or datetime") from None
    return moment if moment.tzinfo else resolve_wall(moment, zone(tz_name))


def _targets(target: str | None) -> list[str]:
    from omlc.schedule.targets import MODELS

    if target is None:
        return []
    if target == "all":
        return list(MODELS)
    if target not in MODELS:
        raise typer.BadParameter(f"{target!r}: one of {', '.join(MODELS)}, all", param_hint="--target")
    return [target]


@app.command("validate")
def validate_cmd(
    paths: List[str] = typer.Argument(..., help="Pipeline files or directories."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
) -> None:
    """The schedule checklist: valid cron, next 5 runs, window, conflicts (all rules run)."""
    from omlc.diagnostics import Severity
    from omlc.schedule.report import iso_local
    from omlc.schedule.timetable import Timetable
    from omlc.schedule.timetable import now
    from omlc.validate import validate_paths

    report = validate_paths(paths)
    results = []
    for f in report.files:
        mine = [d for d in report.diagnostics if d.span.path == f.path]
        entry = {"path": f.path, "pipeline": f.pipeline.name if f.pipeline else None,
                 "schedule": None, "next": [], "window": None, "findings": [d.as_dict() for d in mine]}
        if f.pipeline is not None and f.pipeline.schedule is not None:
            s = f.pipeline.schedule
            entry["schedule"] = {"type": s.type, "expression": s.expression, "timezone": s.timezone}
            if not any(d.severity is Severity.ERROR for d in mine):
                t = Timetable(s)
                after = max(now(), t.start - timedelta(seconds=1)) if t.start else now()
                entry["next"] = [iso_local(x, t.tz) for x in t.next_n(after, 5)]
                if s.window is not None:
                    w = t.window(t.next_n(after, 1)[0])
                    entry["window"] = list(w.render(s.window.format, t.tz))
        results.append(entry)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
        raise typer.Exit(report.exit_code(strict))
    if fmt is OutputFormat.github:
        raise typer.Exit(_emit_report(report, fmt, strict))
    for entry in results:
        _print_checklist(entry)
    typer.echo("")
    raise typer.Exit(_emit_report(report, fmt, strict))


def _print_checklist(entry: dict) -> None:
    ok, bad = "\u2713", "\u2717"
    findings = entry["findings"]
    typer.echo(f"{entry['path']}" + (f" ({entry['pipeline']})" if entry["pipeline"] else ""))
    s = entry["schedule"]
    if s is None:
        typer.echo("  - no schedule" if entry["pipeline"] else f"  {bad} does not load")
        return
    codes = {d["code"] for d in findings if d["severity"] == "error"}
    what = "cron expression" if s["type"] == "cron" else "interval"
    mark = bad if codes & {"OML401", "OML402", "OML405", "OML411", "OML413"} else ok
    typer.echo(f"  {mark} Valid {what}: \"{s['expression']}\" ({s['timezone']})")
    if entry["next"]:
        typer.echo(f"  {ok} Next {len(entry['next'])} runs:")
        for t in entry["next"]:
            typer.echo(f"    - {t}")
    window_codes = {d["code"] for d in findings} & {"OML408", "OML409", "OML412", "OML414", "OML415"}
    if entry["window"]:
        typer.echo(f"  {bad if window_codes else ok} Window calculation {'has findings' if window_codes else 'valid'}: "
                   f"{entry['window'][0]} .. {entry['window'][1]} (next run)")
    conflicts = [d for d in findings if d["code"] in ("OML403", "OML404", "OML406", "OML407", "OML410")]
    typer.echo(f"  {bad if conflicts else ok} " + (f"{len(conflicts)} schedule conflict(s), see below"
                                                   if conflicts else "No schedule conflicts detected"))


@app.command("next")
def next_cmd(
    pipeline: Optional[str] = typer.Argument(None, help="A pipeline file (or use --cron)."),
    count: int = typer.Option(5, "--count", "-n", min=1, max=10000),
    after: Optional[str] = typer.Option(None, "--after", help="ISO datetime (naive: in the schedule timezone)."),
    target: Optional[str] = typer.Option(None, "--target", "-t", help=TARGET_HELP),
    cron: Optional[str] = typer.Option(None, "--cron", help="A cron expression instead of a pipeline."),
    timezone_name: str = typer.Option("UTC", "--timezone", "--tz", help="With --cron: the IANA timezone."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """Next fire times: OML's meaning, or what an engine will actually do (--target)."""
    from omlc.schedule.cron import CronError
    from omlc.schedule.engine import ScheduleError, zone
    from omlc.schedule.report import disagreements, iso_local, next_runs
    from omlc.schedule.timetable import Timetable

    targets = _targets(target)
    if (pipeline is None) == (cron is None):
        raise typer.BadParameter("give a pipeline file or --cron (not both)")
    if pipeline is not None:
        p, _ = _load_one(pipeline, fmt)
        s = p.schedule
        tz = zone(s.timezone)
        start = _moment(after, s.timezone)
        if s.type == "interval" or not targets:
            runs = {"oml": Timetable(s).next_n(start, count)}
            if targets:
                typer.echo("interval schedules fire at the same instants on every engine", err=True)
        else:
            runs = next_runs(s.expression, s.timezone, start, count, targets)
    else:
        try:
            tz = zone(timezone_name)
            runs = next_runs(cron, timezone_name, _moment(after, timezone_name), count, targets)
        except (CronError, ScheduleError) as exc:
            typer.echo(f"omlc: --cron {cron!r}: {exc}" + (f"\n  hint: {exc.hint}" if getattr(exc, "hint", None)
                                                         else ""), err=True)
            raise typer.Exit(1) from None
    if fmt is OutputFormat.json:
        data = {k: [iso_local(t, tz) for t in v] for k, v in runs.items()}
        typer.echo(json.dumps(data["oml"] if len(data) == 1 else data, indent=2))
        return
    if len(runs) == 1:
        for t in runs["oml"]:
            typer.echo(iso_local(t, tz))
        return
    differ = disagreements(runs)
    names = list(runs)
    rows = sorted({t for v in runs.values() for t in v})[: count * 2]
    typer.echo("  ".join(f"{n:<25}" for n in names) + "  differ")
    for t in rows:
        cells = [iso_local(t, tz) if t in runs[n] else "-" for n in names]
        typer.echo("  ".join(f"{c:<25}" for c in cells) + ("  *" if t in differ else ""))


@app.command("preview")
def preview_cmd(
    pipeline: str = typer.Argument(..., help="A pipeline file."),
    day: str = typer.Option(..., "--date", "-d", help="Local date YYYY-MM-DD in the schedule timezone."),
    profile: Optional[str] = typer.Option(None, "--profile", "-p"),
    param: Optional[List[str]] = typer.Option(None, "--param", help="NAME=VALUE (repeatable)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """Every run on a date, its window, and each step's config with the window values filled in."""
    from omlc.schedule.report import iso_local, preview_day, to_jsonable

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not YYYY-MM-DD", param_hint="--date") from None
    overrides = _parse_params(param)
    p, _ = _load_one(pipeline, fmt, profile, overrides)
    from omlc.schedule.engine import zone

    tz = zone(p.schedule.timezone)
    runs = preview_day(p, when, profile, overrides)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(to_jsonable(runs, tz), indent=2, ensure_ascii=False))
        return
    if not runs:
        typer.echo(f"No runs on {when} ({p.schedule.timezone}).")
        return
    for run in runs:
        typer.echo(f"Run at {iso_local(run.fire, tz)}:")
        if run.window:
            typer.echo(f"  Window for {when}:")
            typer.echo(f"    Start: {run.window[0]}")
            typer.echo(f"    End:   {run.window[1]}")
        if run.sla_deadline is not None:
            typer.echo(f"  SLA deadline: {iso_local(run.sla_deadline, tz)} (sla {p.metadata.sla.to_text()})")
        for step_id, config in run.configs.items():
            typer.echo(f"  {step_id}:")
            for key, value in config.items():
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                lines = str(text).rstrip("\n").splitlines() or [""]
                typer.echo(f"    {key}: {lines[0]}")
                for line in lines[1:]:
                    typer.echo(f"    {' ' * len(key)}  {line}")


@app.command("test")
def test_cmd(
    pipeline: str = typer.Argument(..., help="A pipeline file."),
    dry_run: bool = typer.Option(True, "--dry-run/--no-dry-run", help="Simulate (the only mode)."),
    start: Optional[str] = typer.Option(None, "--from", help="Start of the period (ISO; default now)."),
    end: Optional[str] = typer.Option(None, "--to", help="End of the period (ISO; default start + 2 days)."),
    downtime: Optional[str] = typer.Option(None, "--downtime", help="FROM/TO (ISO): the scheduler is down."),
    fail: Optional[List[int]] = typer.Option(None, "--fail", help="Run number (1-based) that fails every attempt."),
    duration: str = typer.Option("1m", "--duration", help="How long each run takes (e.g. 90m)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """Simulate runs over a period: windows, catchup after downtime, retries, queueing."""
    from omlc.durations import DurationError, parse_duration
    from omlc.schedule.engine import zone
    from omlc.schedule.report import iso_local, simulate, to_jsonable

    if not dry_run:
        typer.echo("omlc: only --dry-run is supported; to run pipelines, compile them to an orchestrator", err=True)
        raise typer.Exit(2)
    p, _ = _load_one(pipeline, fmt)
    tz_name = p.schedule.timezone
    tz = zone(tz_name)
    a = _moment(start, tz_name)
    b = _moment(end, tz_name) if end else a + timedelta(days=2)
    down = None
    if downtime:
        first, sep, second = downtime.partition("/")
        if not sep:
            raise typer.BadParameter("FROM/TO", param_hint="--downtime")
        down = (_moment(first, tz_name), _moment(second, tz_name))
    try:
        took = timedelta(seconds=parse_duration(duration).nominal_seconds)
    except DurationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--duration") from None
    runs = simulate(p, a, b, downtime=down, duration=took, fail_runs=set(fail or []))
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(to_jsonable(runs, tz), indent=2, ensure_ascii=False))
        return
    typer.echo(f"{p.name}: {len(runs)} runs from {iso_local(a, tz)} to {iso_local(b, tz)}"
               f" (concurrency {p.schedule.concurrency or 1}, catchup {'on' if p.schedule.catchup else 'off'})")
    for i, run in enumerate(runs, 1):
        line = f"{i:>4}. {iso_local(run.fire, tz)}  {run.status}"
        if run.window:
            line += f"  window {run.window[0]} .. {run.window[1]}"
        if run.queued:
            line += f"  queued {run.queued}"
        if run.note:
            line += f"  ({run.note})"
        typer.echo(line)
        if len(run.attempts) > 1 or (run.attempts and run.attempts[0].outcome != "success"):
            for attempt in run.attempts:
                typer.echo(f"        attempt {attempt.number}: {iso_local(attempt.start, tz)} -> "
                           f"{iso_local(attempt.end, tz)} {attempt.outcome}")


@app.command("export")
def export_cmd(
    pipeline: str = typer.Argument(..., help="A pipeline file."),
    target: str = typer.Option(..., "--format", "-f", help="A target name (see `omlc plugins`): airflow, prefect, dagster, ..."),
    granularity: Granularity = typer.Option(Granularity.pipeline, "--granularity", "-g", help="pipeline or step."),
) -> None:
    """Print the generated code of one pipeline for one target (`> dag.py`); findings go to stderr.

    The code runs the runtime copy of the pipeline from beside itself: `omlc compile`
    writes both."""
    import sys

    from omlc.cli_common import chosen_targets
    from omlc.compile import compile_paths

    targets = chosen_targets([target], "--format")
    result = compile_paths([pipeline], targets, granularity=granularity.value, write=False)
    report = result.report
    _emit_report(report, OutputFormat.text, strict=False, err=True)
    files = next(iter(result.outputs.values()), None)
    if files is None:
        raise typer.Exit(report.exit_code() or 1)
    code = [name for name in files if name.endswith(".py")]  # not the runtime copy or config fragments
    sys.stdout.write(files[code[0]])
    raise typer.Exit(report.exit_code())
