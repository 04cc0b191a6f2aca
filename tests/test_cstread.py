"""omlc.cstread: a reader parses only the statements it reads (a function's head, some
statements of its body), and what it finds there is located at its place in the file."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import libcst as cst
import pytest

import omlc_prefect.reader as prefect_reader
from omlc.compile import compile_paths
from omlc.cstread import HEAD, Source, method_calls, statements_with
from omlc_prefect.target import PrefectTarget

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"

FLOW = textwrap.dedent('''\
    import x

    @flow(name="f")
    def run(a=1):
        """doc"""
        first = a.submit(1)
        if a:
            for i in range(3):
                second = b.submit(2,
            wait_for=[first])
        else:
            pass
        try:
            third = c.submit(3); other = 1
        finally:
            last = d.submit(4)
        return None
''')


def _submit(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "submit"


def _flow(text: str) -> ast.FunctionDef:
    return next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef))


def test_the_statements_asked_for_are_parsed_alone_and_located_in_the_file():
    wanted = statements_with(_flow(FLOW), _submit)
    assert [s.lineno for s in wanted] == [6, 9, 14, 16]
    source = Source(FLOW, "flow.py", lambda node: statements_with(node, _submit)
                    if isinstance(node, ast.FunctionDef) else False, "test")
    assert source.error is None
    [function] = source.statements
    assert isinstance(function, cst.FunctionDef) and function.name.value == "run"
    calls = [c for stmt in source.inner[function] for c in method_calls(stmt, "submit")]
    # each call where ast (over the whole file) puts it: line, column, end line, end column
    expected = [(n.lineno, n.col_offset + 1, n.end_lineno, n.end_col_offset + 1)
                for n in ast.walk(ast.parse(FLOW)) if _submit(n)]
    found = [(s.line, s.col, s.end_line, s.end_col) for s in map(source.span, calls)]
    assert sorted(found) == sorted(expected)
    # the decorator is parsed too (the head), and located
    assert source.span(function.decorators[0].decorator).line == 3


@pytest.mark.parametrize("text", [
    FLOW.replace("for i in range(3):", "for i in [z.submit()]:"),  # in a compound statement's header
    FLOW.replace("def run(a=1):", "def run(a=q.submit()):"),  # in a default
    FLOW.replace("    first = a.submit(1)\n", "    if a: first = a.submit(1)\n"),  # not first on its line
])
def test_a_statement_that_would_not_parse_alone_reads_the_whole_function(text):
    source = Source(text, "flow.py", lambda node: statements_with(node, _submit)
                    if isinstance(node, ast.FunctionDef) else False, "test")
    assert source.error is None and source.inner == {}
    [function] = source.statements
    assert len(method_calls(function, "submit")) == sum(map(_submit, ast.walk(ast.parse(text))))
    assert isinstance(function.body, cst.IndentedBlock) and len(function.body.body) == 5


def test_a_head_is_decorators_and_signature():
    source = Source(FLOW, "flow.py", lambda node: HEAD if isinstance(node, ast.FunctionDef) else False, "test")
    [function] = source.statements
    assert method_calls(function, "submit") == [] and source.span(function.params).line == 4


def test_what_libcst_cannot_parse_is_a_located_finding(monkeypatch):
    def refuse(code):
        raise cst.ParserSyntaxError("unsupported", lines=code.splitlines(True), raw_line=2, raw_column=4)

    monkeypatch.setattr(cst, "parse_module", refuse)
    source = Source("import x\n\nDAG = 1\ny = 2\n", "dag.py", lambda node: isinstance(node, ast.Assign), "test")
    assert source.statements == [] and source.error is not None
    assert (source.error.code, source.error.span.line, source.error.span.col) == ("OML702", 4, 5)


@pytest.mark.parametrize("granularity", ["pipeline", "step"])
def test_reading_the_flow_in_parts_reads_what_reading_it_whole_does(tmp_path, monkeypatch, granularity):
    """The Prefect reader reads the flow's submit statements only; every fixture's facts,
    and where each is, are the same as when it parses the flow's whole body."""
    result = compile_paths([str(FIXTURES)], [PrefectTarget()], out=str(tmp_path), granularity=granularity)
    assert result.exit_code() == 0
    files = sorted(tmp_path.glob("*.py"))
    assert files

    def read_all():
        out = {}
        for path in files:
            rb = prefect_reader.PrefectReader().read(path.read_text(encoding="utf-8"), str(path))
            out[path.name] = (rb.facts, {k: (s.line, s.col, s.end_line, s.end_col) for k, s in rb.spans.items()},
                              [str(d) for d in rb.diagnostics])
        return out

    parts = read_all()
    monkeypatch.setattr(prefect_reader, "statements_with", lambda node, match: True)
    assert read_all() == parts
    if granularity == "step":  # the parts do hold the task graph
        assert any(k.endswith(".needs") and v for facts, _, _ in parts.values() for k, v in facts.items())


def test_garbage_collection_is_restored():
    import gc

    Source("x = 1\n", "a.py", lambda node: True, "test")
    assert gc.isenabled()
    gc.disable()
    try:
        Source("x = 1\n", "a.py", lambda node: True, "test")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_positions_are_computed_only_when_a_location_is_read(monkeypatch, tmp_path):
    """A read without findings never pays for libcst's position pass; the first location
    asked for computes it once, and a diagnostic always holds a plain Span."""
    from omlc import cstread
    from omlc.diagnostics import Span, diag

    passes = []
    real = cstread._positions
    monkeypatch.setattr(cstread, "_positions", lambda module: passes.append(1) or real(module))
    source = Source(FLOW, "flow.py", lambda node: statements_with(node, _submit)
                    if isinstance(node, ast.FunctionDef) else False, "test")
    [function] = source.statements
    first, *_ = [c for stmt in source.inner[function] for c in method_calls(stmt, "submit")]
    pending = source.span(first)
    assert isinstance(pending, cstread.PendingSpan) and passes == []
    assert (pending.line, pending.col) == (6, 13) and str(pending) == "flow.py:6:13" and passes == [1]
    found = diag("OML702", "x", source.span(function.decorators[0].decorator))
    assert type(found.span) is Span and found.span.line == 3 and passes == [1]
    # a whole clean read back: no position pass
    result = compile_paths([str(FIXTURES / "daily_customer_sync.oml.yaml")], [PrefectTarget()], out=str(tmp_path))
    assert result.exit_code() == 0
    path = tmp_path / "daily_customer_sync.py"
    passes.clear()
    rb = prefect_reader.PrefectReader().read(path.read_text(encoding="utf-8"), str(path))
    assert rb.diagnostics == [] and passes == []
    assert rb.spans["schedule.retry.attempts"].line > 1 and passes == [1]
