"""What every reader of generated code shares (libcst): parse only the statements that carry
facts, locate nodes, read literal values. Nothing is executed and no engine is imported.

A generated file is mostly the embedded runtime; a reader asks for the top-level
statements it needs (``wanted``; :data:`HEAD` for a function whose body it does not
read, or the list of the body's statements it reads, see :func:`statements_with`), which
libcst parses together (one parse, one position pass), so reading back costs the size of
those statements, not of the file.
"""

from __future__ import annotations

import ast
import bisect
import warnings
from contextlib import contextmanager
from typing import Any, Callable

from omlc.diagnostics import Diagnostic, Span, diag
from omlc.loader import gc_paused

UNREADABLE = object()  # a value that is not a literal
HEAD = "head"  # ``wanted`` returns it for a function whose decorators and signature are enough
_DURATION_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


class Source:
    """The wanted top-level statements of one file, parsed by libcst with their positions."""

    def __init__(self, text: str, path: str, wanted: Callable[[ast.stmt], bool | str | list], target: str) -> None:
        self.path = path
        self.target = target
        self.error: Diagnostic | None = None
        self.statements: list = []  # libcst statements, in file order
        self.inner: dict[Any, list] = {}  # a function read in parts -> the libcst statements of its body read
        self.literals: dict[str, tuple[Any, Span]] = {}  # NAME = <literal> at the top level
        self._positions: Any = None  # node -> CodeRange, computed when a location is first asked for
        self._module: Any = None
        self._starts: list[tuple[int, int]] = []  # (first line in the parsed text, first line in the file)
        with gc_paused():  # ast and libcst allocate tens of thousands of acyclic objects: no GC passes
            self._parse(text, wanted)

    def _parse(self, text: str, wanted: Callable[[ast.stmt], bool | str | list]) -> None:
        import libcst as cst

        path, target = self.path, self.target
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            self.error = diag("OML702", f"[{target}] not Python: {exc.msg}",
                              Span(path, exc.lineno or 1, max(exc.offset or 1, 1)))
            return
        lines = text.splitlines(keepends=True)
        chunks: list[str] = []
        owners: list[int | None] = []  # per chunk: None for a top-level statement, else its function's chunk
        parsed_lines, last_end = 0, 0

        def add(chunk: str, start: int, end: int, owner: int | None) -> None:
            nonlocal parsed_lines
            if owner is not None:  # a statement of a body, at its own indentation: under `if 1:`
                chunk = "if 1:\n" + chunk
                parsed_lines += 1
            self._starts.append((parsed_lines + 1, start))
            chunks.append(chunk)
            owners.append(owner)
            parsed_lines += end - start + 1

        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id.startswith("OMLC_"):
                try:
                    value = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    value = UNREADABLE
                self.literals[node.targets[0].id] = (value, Span(path, node.value.lineno, node.value.col_offset + 1,
                                                                  node.value.end_lineno, node.value.end_col_offset + 1))
            want = wanted(node)
            if not want and want != []:
                continue
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            if start <= last_end:  # shares a line with the previous wanted statement (a; b)
                continue
            body = getattr(node, "body", None)
            if isinstance(want, list) and not all(lines[i.lineno - 1].encode()[:i.col_offset].isspace()
                                                  or i.col_offset == 0 for i in want):
                want = True  # a statement that shares its first line (`try: x`) does not parse alone
            if (want == HEAD or isinstance(want, list)) and isinstance(node, ast.FunctionDef) \
                    and body[0].lineno > node.lineno:
                # decorators and signature; the body becomes `...` on the line after
                add("".join(lines[start - 1:body[0].lineno - 1]) + " " * body[0].col_offset + "...\n",
                    start, body[0].lineno, None)  # lines of the chunk: start .. the stub's line
                owner = len(chunks) - 1
                for inner in want if isinstance(want, list) else []:  # then the statements of the body asked for
                    add(_lines(lines, inner.lineno, inner.end_lineno), inner.lineno, inner.end_lineno, owner)
            else:
                add(_lines(lines, start, node.end_lineno), start, node.end_lineno, None)
            last_end = node.end_lineno
        if chunks:  # one parse of all wanted statements: positions map back by each one's first line
            try:
                module = cst.parse_module("".join(chunks))
            except cst.ParserSyntaxError as exc:  # Python that this libcst does not parse
                self.error = diag("OML702", f"[{target}] libcst cannot parse this: {exc.message}",
                                  Span(path, self._line(exc.raw_line), exc.raw_column + 1))
                return
            self._module = module
            for owner, stmt in zip(owners, module.body):
                if owner is None:
                    self.statements.append(stmt)
                else:
                    self.inner.setdefault(module.body[owner], []).extend(stmt.body.body)

    def _line(self, line: int) -> int:
        i = bisect.bisect_right(self._starts, (line, float("inf"))) - 1
        parsed, original = self._starts[max(i, 0)]
        return line - parsed + original

    def span(self, node) -> Span:
        """Where ``node`` is in the file. Until a location is first needed (a drift, a
        finding), a :class:`PendingSpan`: libcst's position pass is a third of a read, and a
        file without drift never needs it."""
        if self._positions is None:
            return PendingSpan(self, node)
        return self.locate(node)

    def locate(self, node) -> Span:
        if self._positions is None:
            with gc_paused():
                self._positions = _positions(self._module) if self._module is not None else {}
        pos = self._positions.get(node)
        if pos is None:
            return Span(self.path, 1, 1)
        return Span(self.path, self._line(pos.start.line), pos.start.column + 1, self._line(pos.end.line),
                    pos.end.column + 1)

    def unreadable(self, what: str, node) -> Diagnostic:
        import libcst as cst

        code = " ".join(cst.Module(body=[]).code_for_node(node).split())
        return diag("OML702", f"[{self.target}] cannot read {what}: {code[:77] + '...' if len(code) > 80 else code}",
                    self.span(node))


@contextmanager
def code_warnings_ignored():
    """Around reading code: Python's warnings about the code read (an invalid escape such
    as ``"\\d"``, from ast.parse and libcst's literal evaluation) are not omlc's to print."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


class PendingSpan:
    """The location of a node, computed when first read: it reads as the :class:`Span` it
    stands for (path, line, col, end_line, end_col, str); :func:`omlc.diagnostics.diag`
    turns it into that Span."""

    __slots__ = ("_source", "_node", "_span")

    def __init__(self, source: Source, node) -> None:
        self._source, self._node, self._span = source, node, None

    def resolve(self) -> Span:
        if self._span is None:
            self._span = self._source.locate(self._node)
        return self._span

    path = property(lambda self: self.resolve().path)
    line = property(lambda self: self.resolve().line)
    col = property(lambda self: self.resolve().col)
    end_line = property(lambda self: self.resolve().end_line)
    end_col = property(lambda self: self.resolve().end_col)

    def __eq__(self, other) -> bool:
        return self.resolve() == (other.resolve() if isinstance(other, PendingSpan) else other)

    def __hash__(self) -> int:
        return hash(self.resolve())

    def __str__(self) -> str:
        return str(self.resolve())

    def __repr__(self) -> str:
        return repr(self.resolve())


def _lines(lines: list[str], start: int, end: int) -> str:
    chunk = "".join(lines[start - 1:end])
    return chunk if chunk.endswith("\n") else chunk + "\n"


def statements_with(function: ast.FunctionDef, match: Callable[[ast.AST], bool]) -> list[ast.stmt] | bool:
    """The simple statements of ``function``'s body, at any depth, that hold a node
    ``match`` accepts, for :class:`Source` to parse instead of the whole body; True (parse it
    whole) when such a node is anywhere else (a decorator, a default, a compound
    statement's header)."""
    found: list[ast.stmt] = []
    blocks = [function.body]
    while blocks:
        for stmt in blocks.pop(0):
            inner = [getattr(stmt, f) for f in ("body", "orelse", "finalbody") if isinstance(getattr(stmt, f, None), list)]
            inner += [h.body for h in getattr(stmt, "handlers", [])] + [c.body for c in getattr(stmt, "cases", [])]
            if not inner:  # a simple statement
                if any(match(n) for n in ast.walk(stmt)):
                    found.append(stmt)
                continue
            blocks.extend(inner)
            header = [n for f, n in ast.iter_fields(stmt) if f not in ("body", "orelse", "finalbody", "handlers", "cases")]
            if any(match(n) for part in header for node in (part if isinstance(part, list) else [part])
                   if isinstance(node, ast.AST) for n in ast.walk(node)):
                return True
    if any(match(n) for part in function.decorator_list + [function.args] for n in ast.walk(part)):
        return True
    found.sort(key=lambda s: (s.lineno, s.col_offset))
    return found


def _positions(module) -> Any:
    """node -> CodeRange for every node of ``module``: libcst's PositionProvider, run
    directly (one codegen pass). Through MetadataWrapper.resolve the same costs a second
    full tree walk for batched providers, half of a read-back's time."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        provider = PositionProvider()
        provider._gen_impl(module)
        return provider._computed
    except (AttributeError, TypeError):  # a libcst without that internal: the public way
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def value(node) -> Any:
    """A literal (strings, numbers, True/False/None, lists, tuples, dicts, unary minus) or a
    ``timedelta(...)`` in seconds, read from the libcst tree; else UNREADABLE."""
    import libcst as cst

    if isinstance(node, cst.Call) and dotted(node.func) in ("timedelta", "datetime.timedelta"):
        total = 0.0
        for arg in node.args:
            unit = arg.keyword.value if arg.keyword else "days"
            amount = value(arg.value)
            if unit not in _DURATION_UNITS or not isinstance(amount, (int, float)) or isinstance(amount, bool):
                return UNREADABLE
            total += amount * _DURATION_UNITS[unit]
        return int(total) if total == int(total) else total
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        try:
            result = node.evaluated_value
        except (ValueError, SyntaxError):
            return UNREADABLE
        return UNREADABLE if result is None and not isinstance(node, cst.Integer) else result
    if isinstance(node, cst.Name):
        return {"True": True, "False": False, "None": None}.get(node.value, UNREADABLE)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = value(node.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else UNREADABLE
    if isinstance(node, (cst.List, cst.Tuple)):
        items = []
        for element in node.elements:
            item = value(element.value) if isinstance(element, cst.Element) else UNREADABLE
            if item is UNREADABLE:
                return UNREADABLE
            items.append(item)
        return items if isinstance(node, cst.List) else tuple(items)
    if isinstance(node, cst.Dict):
        out = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return UNREADABLE
            key, item = value(element.key), value(element.value)
            if key is UNREADABLE or item is UNREADABLE:
                return UNREADABLE
            out[key] = item
        return out
    return UNREADABLE


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_LAYOUT = ("whitespace", "lpar", "rpar", "comma", "semicolon", "header", "footer", "leading_lines", "lines_after")


def method_calls(node, method: str) -> list:
    """Every ``<expr>.<method>(...)`` call inside ``node``, in source order. A direct walk
    over the nodes' fields (layout fields skipped: they hold no code): libcst's visitor
    machinery costs ten times as much, a large part of a read-back."""
    import dataclasses

    import libcst as cst

    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) \
                and current.func.attr.value == method:
            found.append(current)
        names = _CHILD_FIELDS.get(type(current))
        if names is None:
            names = _CHILD_FIELDS[type(current)] = tuple(
                f.name for f in dataclasses.fields(current) if not f.name.startswith(_LAYOUT))
        children = []
        for name in names:
            child = getattr(current, name)
            if isinstance(child, cst.CSTNode):
                children.append(child)
            elif isinstance(child, (list, tuple)):
                children.extend(c for c in child if isinstance(c, cst.CSTNode))
        stack.extend(reversed(children))
    return found


def call_to(*names: str):
    """The libcst matcher of a call to one of ``names``, plain or as an attribute
    (``DAG(...)``, ``dg.op(...)``, ``airflow.sdk.DAG(...)``). Readers recognise the
    constructs that carry facts with matchers and read their arguments directly."""
    import libcst.matchers as m

    return m.Call(func=m.OneOf(*(m.Name(n) for n in names), *(m.Attribute(attr=m.Name(n)) for n in names)))


def callee(call) -> str:
    """The name a call matched by :func:`call_to` calls: ``op`` of ``dg.op(...)``."""
    return call.func.value if hasattr(call.func, "value") and isinstance(call.func.value, str) else call.func.attr.value


def keywords(call) -> dict[str, Any]:
    """A call's keyword arguments: name -> libcst node."""
    return {a.keyword.value: a.value for a in call.args if a.keyword is not None}


def positional(call) -> list:
    return [a.value for a in call.args if a.keyword is None]


def dotted(node) -> str:
    """``a.b.c`` of a Name/Attribute chain ("" for anything else)."""
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = dotted(node.value)
        return inner + "." + node.attr.value if inner else ""
    return ""


def assigned_name(assign) -> str | None:
    import libcst as cst

    if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
        return assign.targets[0].target.value
    return None


def split_tags(tags: list[str], prefixes: tuple[str, ...] = ("team", "criticality")) -> tuple[list[str], dict]:
    """Tags as targets write them (:func:`omlc.targets.metadata_tags`): plain ones, and the
    first ``<prefix>:value`` of each prefix (``team:``, ``criticality:``...)."""
    plain, prefixed = [], {}
    for tag in tags:
        prefix, sep, rest = tag.partition(":")
        if sep and prefix in prefixes and prefix not in prefixed:
            prefixed[prefix] = rest
        else:
            plain.append(tag)
    return plain, prefixed
