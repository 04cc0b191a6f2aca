"""``omlc lineage PATH...``: the lineage graph of a folder of pipelines.

Pipelines, and the tables, dashboards... they name in ``metadata.lineage``, are the nodes;
each pipeline shows its schedule. Files are found and validated as ``omlc validate`` does;
their findings go to stderr. Every pipeline omlc could read is drawn (one whose file has
errors is marked); the exit code is validate's: 1 with errors, 2 when a path cannot be
read or the output cannot be written.
"""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer


class LineageFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    html = "html"
    json = "json"


def lineage_cmd(
    paths: List[str] = typer.Argument(..., help="OML files or directories (searched as omlc validate does)."),
    fmt: LineageFormat = typer.Option(LineageFormat.mermaid, "--format", "-f",
                                      help="mermaid (flowchart), dot (Graphviz), html (one self-contained page), json."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file (atomically) instead of stdout."),
) -> None:
    """Draw the lineage of pipelines: pipelines, tables, dashboards... as nodes, each
    pipeline with its schedule; edges from metadata.lineage upstream/downstream."""
    from omlc.cli_common import OutputFormat, emit_report, warn_plugin_problems, write_output
    from omlc.diagnostics import Severity
    from omlc.lineage import build_graph, to_dot, to_json, to_mermaid
    from omlc.validate import validate_paths

    report = validate_paths(paths)
    warn_plugin_problems()
    code = report.exit_code()
    if report.diagnostics:
        emit_report(report, OutputFormat.text, strict=False, err=True)
    invalid = {d.span.path for d in report.diagnostics if d.severity is Severity.ERROR}
    graph = build_graph([f.pipeline for f in report.files if f.pipeline is not None], invalid)
    if fmt is LineageFormat.html:
        from omlc.lineage_html import render_html

        text = render_html(graph)
    else:
        text = {LineageFormat.mermaid: to_mermaid, LineageFormat.dot: to_dot, LineageFormat.json: to_json}[fmt](graph)
    write_output(text, output)
    raise typer.Exit(code)
