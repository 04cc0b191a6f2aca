"""Read an OML file into a located YAML tree.

Reading is guarded: size limit, binary/encoding detection, a single document, no
duplicate keys, bounded nesting and bounded alias expansion. Every key and value of the
tree carries a 1-based :class:`~omlc.diagnostics.Span`; ruamel's 0-based marks are
converted here, once.

Parsing uses ruamel.yaml's libyaml-backed composer (``typ="safe"``), which keeps the
line, column and character index of every node and is an order of magnitude faster
than the pure-Python round-trip parser. The round-trip parser is used where omlc writes
YAML back (``omlc import -o``), where comments and key order must survive.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omlc.diagnostics import Diagnostic, Span, diag

MAX_FILE_BYTES = int(os.environ.get("OMLC_MAX_FILE_BYTES", 2 * 1024 * 1024))
MAX_DEPTH = 64
MAX_NODES = 100_000

_TAG = "tag:yaml.org,2002:"
_YAML11_BOOLS = frozenset(
    "y Y yes Yes YES n N no No NO on On ON off Off OFF".split()
)
_YAML11_FIRST = frozenset("yYnNoO+-0123456789")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
_OCTAL_11 = re.compile(r"^[-+]?0[0-7_]+$")


class LoadError(Exception):
    """Raised with a diagnostic when a file cannot be turned into a YAML tree."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass(slots=True, eq=False)
class YNode:
    """A YAML node with its source span.

    ``kind`` is ``map`` (``value``: list of (key YNode, value YNode)), ``seq``
    (``value``: list of YNode) or ``scalar`` (``value``: the Python value; ``text``:
    the source text; ``type``: str, int, float, bool or null).
    """

    kind: str
    value: Any
    span: Span
    type: str = ""
    text: str = ""
    style: str | None = None
    start: int = 0
    end: int = 0

    def get(self, key: str) -> YNode | None:
        for k, v in self.value:
            if k.value == key:
                return v
        return None

    def key_node(self, key: str) -> YNode | None:
        for k, _ in self.value:
            if k.value == key:
                return k
        return None

    def to_python(self) -> Any:
        if self.kind == "map":
            return {k.value: v.to_python() for k, v in self.value}
        if self.kind == "seq":
            return [v.to_python() for v in self.value]
        return self.value


@dataclass(slots=True)
class Source:
    """The text of one file, for spans, carets and offsets inside scalars."""

    path: str
    text: str
    _line_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        starts = [0]
        for m in re.finditer("\n", self.text):
            starts.append(m.end())
        self._line_starts = starts

    def line_text(self, line: int) -> str:
        if not 1 <= line <= len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start : end if end >= 0 else len(self.text)].rstrip("\r")

    def span_at(self, start: int, end: int | None = None) -> Span:
        """Span of the character offsets ``[start, end)``."""
        line, col = self.position(start)
        if end is None or end <= start:
            return Span(self.path, line, col)
        eline, ecol = self.position(end)
        return Span(self.path, line, col, eline, ecol)

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        idx = bisect.bisect_right(self._line_starts, offset) - 1
        return idx + 1, offset - self._line_starts[idx] + 1


def read_source(path: str | os.PathLike[str], display: str | None = None) -> Source:
    """Read a file as UTF-8 text; raises LoadError for I/O, size and binary problems."""
    p = Path(path)
    shown = display or str(path)
    top = Span(shown, 1, 1)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise IsADirectoryError(shown)
        if size > MAX_FILE_BYTES:
            raise LoadError(diag(
                "OML002",
                f"file is {size / 1048576:.1f} MiB; OML files are limited to "
                f"{MAX_FILE_BYTES / 1048576:.1f} MiB",
                top,
                "split the pipeline, or raise the limit with OMLC_MAX_FILE_BYTES",
            ))
        data = p.read_bytes()
    except LoadError:
        raise
    except FileNotFoundError:
        raise LoadError(diag("OML001", "no such file", top)) from None
    except IsADirectoryError:
        raise LoadError(diag("OML001", "is a directory, not a file", top)) from None
    except OSError as exc:
        raise LoadError(diag("OML001", f"cannot read file: {exc.strerror or exc}", top)) from None
    return decode_source(data, shown)


def decode_source(data: bytes, path: str) -> Source:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        col = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        raise LoadError(diag(
            "OML003", "file contains NUL bytes: this is a binary file, not OML",
            Span(path, line, col), "OML files are UTF-8 YAML text",
        ))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        raise LoadError(diag(
            "OML003", f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            Span(path, line, col), "save the file as UTF-8",
        )) from None
    return Source(path, text)


_PLAIN = "?plain"
# YAML 1.2 core schema, as ruamel.yaml's resolver writes it for version 1.2
_RESOLVE = [
    ("bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")),
    ("int", re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")),
    ("float", re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
        r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")),
    ("null", re.compile(r"^(?:~|null|Null|NULL|)$")),
]


def _composer(text: str) -> Any:
    """ruamel.yaml's libyaml-backed composer, with plain scalars left for :func:`_resolve_plain`.

    ruamel's own resolver runs in Python for every node; resolving the YAML 1.2 core
    schema here, once per plain scalar, is what keeps validation under 2 ms a pipeline.
    Without the C extension (a platform without wheels) the pure-Python composer is used.
    """
    try:
        from _ruamel_yaml import CParser
    except ImportError:  # pragma: no cover - exercised only where ruamel.yaml.clib is missing
        from ruamel.yaml import YAML

        return YAML(typ="safe", pure=True).compose(text)
    from ruamel.yaml.nodes import ScalarNode, SequenceNode

    class Composer(CParser):  # type: ignore[misc, valid-type]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is ScalarNode:
                return _PLAIN if implicit[0] else _TAG + "str"
            return _TAG + ("seq" if kind is SequenceNode else "map")

        def descend_resolver(self, *args: Any) -> None:
            pass

        def ascend_resolver(self, *args: Any) -> None:
            pass

    parser = Composer(text)
    try:
        return parser.get_single_node()
    finally:
        parser.dispose()


def _tag(node: Any) -> str:
    """A node's tag. ruamel 0.18 keeps a Tag object whose ``str()`` URI-decodes on every
    call; for the tags our composer set (no handle) the suffix is the tag."""
    ctag = getattr(node, "ctag", None)
    if ctag is not None and getattr(ctag, "handle", "") is None and isinstance(ctag.suffix, str):
        return ctag.suffix
    return node.tag


def _resolve_plain(text: str) -> str:
    if text and (text[0] in "-+.0123456789tTfFnN~"):
        for kind, pattern in _RESOLVE:
            if pattern.match(text):
                return kind
    elif not text:
        return "null"
    return "str"


def parse_yaml(source: Source) -> tuple[YNode, list[Diagnostic]]:
    """Parse one YAML document into a located tree; raises LoadError on fatal problems."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    top = Span(source.path, 1, 1)
    try:
        node = _composer(source.text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc.context or ""):
            raise LoadError(diag(
                "OML014", "the file holds more than one YAML document",
                _mark_span(source, mark), "one pipeline per file: remove the `---` separator",
            )) from None
        hint = None
        if mark is not None and _char_at(source, mark) == "\t":
            hint = "YAML does not allow tabs for indentation: use spaces"
        raise LoadError(diag("OML010", f"YAML syntax error: {problem}", _mark_span(source, mark), hint)) from None
    except RecursionError:
        raise LoadError(diag(
            "OML013", f"the document is nested too deeply (the limit is {MAX_DEPTH} levels)", top,
        )) from None
    except YAMLError as exc:
        raise LoadError(diag("OML010", f"YAML error: {exc}", top)) from None
    if node is None:
        raise LoadError(diag("OML004", "the file is empty", top, "an OML file starts with `oml_version:`"))
    builder = _TreeBuilder(source)
    tree = builder.convert(node, 0)
    return tree, builder.diagnostics


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while loading (or parsing generated code).

    Loading allocates many small acyclic objects (freed by reference counting); the cyclic
    collector would rescan every live tree on each pass, which doubles the cost of
    validating many pipelines in one process, and is a third of a libcst read-back's time
    and most of its variance.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _mark_span(source: Source, mark: Any) -> Span:
    if mark is None:
        return Span(source.path, 1, 1)
    return Span(source.path, mark.line + 1, mark.column + 1)


def _char_at(source: Source, mark: Any) -> str:
    idx = getattr(mark, "index", None)
    if idx is None or not 0 <= idx < len(source.text):
        return ""
    return source.text[idx]


class _TreeBuilder:
    def __init__(self, source: Source):
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.count = 0
        self.entry: Span | None = None  # the top-level entry being read (where alias bombs are reported)

    def span(self, node: Any) -> Span:
        s, e = node.start_mark, node.end_mark
        return tuple.__new__(Span, (self.source.path, s.line + 1, s.column + 1, e.line + 1, e.column + 1))

    def convert(self, node: Any, depth: int) -> YNode:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.count += 1
        if type(node) is ScalarNode and self.count <= MAX_NODES:  # the common case, first
            s, e = node.start_mark, node.end_mark
            span = tuple.__new__(Span, (self.source.path, s.line + 1, s.column + 1, e.line + 1, e.column + 1))
            return self.scalar(node, span, s.index, e.index)
        if self.count > MAX_NODES:
            raise LoadError(diag(
                "OML012",
                f"YAML aliases expand to more than {MAX_NODES:,} nodes",
                self.entry or self.span(node),
                "this looks like an alias bomb; OML files do not need deep alias nesting",
            ))
        if depth > MAX_DEPTH:
            raise LoadError(diag(
                "OML013", f"the document is nested more than {MAX_DEPTH} levels deep", self.span(node),
            ))
        span = self.span(node)
        start, end = node.start_mark.index, node.end_mark.index
        if isinstance(node, ScalarNode):
            return self.scalar(node, span, start, end)
        if isinstance(node, SequenceNode):
            self.check_tag(node, "seq", span)
            items = [self.convert(child, depth + 1) for child in node.value]
            return YNode("seq", items, span, start=start, end=end)
        if isinstance(node, MappingNode):
            self.check_tag(node, "map", span)
            return YNode("map", self.mapping(node, depth), span, start=start, end=end)
        raise LoadError(diag("OML016", f"unsupported YAML node {type(node).__name__}", span))

    def check_tag(self, node: Any, expected: str, span: Span) -> None:
        tag = _tag(node)
        if tag != _TAG + expected:
            raise LoadError(diag(
                "OML016", f"custom YAML tag {tag!r} is not allowed in OML", span,
                "remove the tag; OML uses plain YAML values",
            ))

    def mapping(self, node: Any, depth: int) -> list[tuple[YNode, YNode]]:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        items: list[tuple[YNode, YNode]] = []
        seen: dict[Any, YNode] = {}
        merged: list[tuple[YNode, YNode]] = []
        for key_node, value_node in node.value:
            if key_node.value == "<<" and _tag(key_node) in (_TAG + "merge", _PLAIN) and not key_node.style:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in sources:
                    if not isinstance(src, MappingNode):
                        raise LoadError(diag(
                            "OML016", "a merge key `<<` must refer to a mapping", self.span(src),
                        ))
                    for k, v in self.mapping(src, depth + 1):
                        merged.append((k, v))
                continue
            if not isinstance(key_node, ScalarNode):
                raise LoadError(diag(
                    "OML016", "complex (non-scalar) mapping keys are not allowed in OML",
                    self.span(key_node), "use a plain string key",
                ))
            key = self.convert(key_node, depth + 1)
            if key.type not in ("str",):
                # Keys are names in OML: keep the source text (1: -> "1", true: -> "true").
                key = YNode("scalar", key.text, key.span, "str", key.text, key.style, key.start, key.end)
            hashable = key.value
            if hashable in seen:
                first = seen[hashable]
                raise LoadError(diag(
                    "OML011",
                    f"duplicate key {hashable!r} (first defined at line {first.span.line})",
                    key.span,
                    "YAML keeps only one of them; remove or rename one",
                    related=(first.span,),
                ))
            seen[hashable] = key
            if depth == 0:
                self.entry = key.span
            items.append((key, self.convert(value_node, depth + 1)))
        for k, v in merged:  # explicit keys win over merged ones
            if k.value not in seen:
                seen[k.value] = k
                items.append((k, v))
        return items

    def scalar(self, node: Any, span: Span, start: int, end: int) -> YNode:
        tag = _tag(node)
        text = node.value
        style = node.style or None
        if tag == _PLAIN:
            tag = _TAG + _resolve_plain(text)
        if not tag.startswith(_TAG):
            raise LoadError(diag(
                "OML016", f"custom YAML tag {tag!r} is not allowed in OML", span,
                "remove the tag; OML uses plain YAML values",
            ))
        kind = tag[len(_TAG):]
        value: Any
        if kind == "str" or kind == "timestamp":
            kind, value = "str", text
        elif kind == "int":
            kind, value = "int", _to_int(text)
        elif kind == "float":
            kind, value = "float", _to_float(text)
        elif kind == "bool":
            value = text.lower() == "true"
        elif kind == "null":
            value = None
        else:
            raise LoadError(diag(
                "OML016", f"YAML type {tag!r} is not allowed in OML", span,
                "quote the value to make it a string",
            ))
        if not style and kind in ("str", "int") and text[:1] in _YAML11_FIRST:
            surprise = _yaml11_reading(text)
            if surprise:
                self.diagnostics.append(diag(
                    "OML015",
                    f"{text!r} is {surprise} in YAML 1.1 (PyYAML and many tools) but "
                    f"{'a string' if kind == 'str' else 'a decimal number'} here",
                    span,
                    f'quote it ("{text}") so every tool reads the same value',
                ))
        return YNode("scalar", value, span, kind, text, style, start, end)


def _yaml11_reading(text: str) -> str | None:
    if text in _YAML11_BOOLS:
        return "a boolean"
    if _SEXAGESIMAL.match(text):
        return "a base-60 number"
    if _OCTAL_11.match(text) and text.lstrip("+-") not in ("0",):
        return "an octal number"
    return None


def _to_int(text: str) -> int:
    t = text.replace("_", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    if t[:2].lower() in ("0x", "0o", "0b"):
        return sign * int(t, 0)
    return sign * int(t, 10)


def _to_float(text: str) -> float:
    t = text.replace("_", "").lower()
    if t in (".inf", "+.inf"):
        return math.inf
    if t == "-.inf":
        return -math.inf
    if t == ".nan":
        return math.nan
    return float(t)
