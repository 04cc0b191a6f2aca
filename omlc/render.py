"""Render diagnostics as text (source line and caret), JSON, or GitHub workflow annotations."""

from __future__ import annotations

import json
from typing import Callable, Iterable

from omlc.diagnostics import Diagnostic, Severity

FORMATS = ("text", "json", "github")

_COLORS = {Severity.ERROR: "\x1b[31;1m", Severity.WARNING: "\x1b[33;1m", Severity.INFO: "\x1b[36m"}
_RESET = "\x1b[0m"


def render(diagnostics: list[Diagnostic], fmt: str, line_of: Callable[[str, int], str],
           color: bool = False, files: int | None = None) -> str:
    if fmt == "json":
        return render_json(diagnostics, files)
    if fmt == "github":
        return render_github(diagnostics)
    return render_text(diagnostics, line_of, color, files)


def render_text(diagnostics: Iterable[Diagnostic], line_of: Callable[[str, int], str],
                color: bool = False, files: int | None = None) -> str:
    out: list[str] = []
    diagnostics = list(diagnostics)
    for d in diagnostics:
        sev = d.severity.value
        if color:
            sev = f"{_COLORS[d.severity]}{sev}{_RESET}"
        out.append(f"{d.span}: {sev} {d.code}: {d.message}")
        text = line_of(d.span.path, d.span.line)
        if text:
            shown = text.expandtabs(1)
            gutter = f"{d.span.line:>5} | "
            out.append(gutter + shown)
            width = 1
            if d.span.end_line == d.span.line and d.span.end_col > d.span.col:
                width = d.span.end_col - d.span.col
            width = max(1, min(width, len(shown) - d.span.col + 1))
            caret = " " * (d.span.col - 1) + "^" * width
            out.append(" " * (len(gutter) - 2) + "| " + (f"{_COLORS[d.severity]}{caret}{_RESET}" if color else caret))
        if d.hint:
            out.append(f"  hint: {d.hint}")
        for related in d.related:
            out.append(f"  see: {related}")
    out.append(summary(diagnostics, files))
    return "\n".join(out)


def summary(diagnostics: list[Diagnostic], files: int | None) -> str:
    counts = {s: sum(1 for d in diagnostics if d.severity is s) for s in Severity}
    parts = [_plural(counts[Severity.ERROR], "error"), _plural(counts[Severity.WARNING], "warning")]
    if counts[Severity.INFO]:
        parts.append(_plural(counts[Severity.INFO], "note"))
    tail = f" in {_plural(files, 'file')}" if files is not None else ""
    return ", ".join(parts) + tail


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_json(diagnostics: list[Diagnostic], files: int | None = None) -> str:
    return json.dumps({
        "files": files,
        "errors": sum(1 for d in diagnostics if d.severity is Severity.ERROR),
        "warnings": sum(1 for d in diagnostics if d.severity is Severity.WARNING),
        "diagnostics": [d.as_dict() for d in diagnostics],
    }, indent=2, ensure_ascii=False)


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: list[Diagnostic]) -> str:
    kinds = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = []
    for d in diagnostics:
        s = d.span
        props = (f"file={_escape_prop(s.path)},line={s.line},col={s.col},"
                 f"endLine={s.end_line},endColumn={s.end_col},title={_escape_prop(d.code)}")
        message = d.message + (f"\n\nhint: {d.hint}" if d.hint else "")
        lines.append(f"::{kinds[d.severity]} {props}::{_escape_data(message)}")
    return "\n".join(lines)
