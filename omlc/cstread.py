"""What every reader of generated code shares (libcst): parse only the statements that carry
facts, locate nodes, read literal values. Nothing is executed and no engine is imported.

A generated file is mostly the embedded runtime; a reader asks for the top-level
statements it needs (``wanted``; :data:`HEAD` for a function whose body it does not
read), which libcst parses together (one parse, one position pass), so reading back costs
the size of those statements, not of the file.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

from omlc.diagnostics import Diagnostic, Span, diag

UNREADABLE = object()  # a value that is not a literal
HEAD = "head"  # ``wanted`` returns it for a function whose decorators and signature are enough
_DURATION_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


class Source:
    """The wanted top-level statements of one file, parsed by libcst with their positions."""

    def __init__(self, text: str, path: str, wanted: Callable[[ast.stmt], bool | str], target: str) -> None:
        import libcst as cst

        self.path = path
        self.target = target
        self.error: Diagnostic | None = None
        self.statements: list = []  # libcst statements, in file order
        self.literals: dict[str, tuple[Any, Span]] = {}  # NAME = <literal> at the top level
        self._positions: Any = {}
        self._starts: list[tuple[int, int]] = []  # (first line in the parsed text, first line in the file)
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            self.error = diag("OML702", f"[{target}] not Python: {exc.msg}",
                              Span(path, exc.lineno or 1, max(exc.offset or 1, 1)))
            return
        lines = text.splitlines(keepends=True)
        chunks: list[str] = []
        parsed_lines, last_end = 0, 0
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
            if want:
                start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                if start <= last_end:  # shares a line with the previous wanted statement (a; b)
                    continue
                end = node.end_lineno
                body = getattr(node, "body", None)
                if want == HEAD and isinstance(node, ast.FunctionDef) and body[0].lineno > node.lineno:
                    # decorators and signature only: the body becomes `...` on the line after
                    chunk = "".join(lines[start - 1:body[0].lineno - 1]) + " " * body[0].col_offset + "...\n"
                    end = body[0].lineno  # lines of the chunk: start .. the stub's line
                else:
                    chunk = "".join(lines[start - 1:end])
                    if not chunk.endswith("\n"):
                        chunk += "\n"
                self._starts.append((parsed_lines + 1, start))
                chunks.append(chunk)
                parsed_lines += end - start + 1
                last_end = node.end_lineno
        if chunks:  # one parse of all wanted statements: positions map back by each one's first line
            module = cst.parse_module("".join(chunks))
            self._positions = _positions(module)
            self.statements = list(module.body)

    def _line(self, line: int) -> int:
        import bisect

        i = bisect.bisect_right(self._starts, (line, float("inf"))) - 1
        parsed, original = self._starts[max(i, 0)]
        return line - parsed + original

    def span(self, node) -> Span:
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
