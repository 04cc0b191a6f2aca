"""Build the IR from a located YAML tree, with a located diagnostic for every problem.

The walk is driven by the IR models' own fields (types, defaults, constraints, aliases),
so the models stay the one description of the language. Instances are made with
:func:`construct` (what ``model_construct`` does) after the walk has checked every value:
the types are exactly what pydantic would accept (a test round-trips every fixture
through ``model_validate``), without paying for pydantic's schema build on the command
line's start-up path.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel

from omlc import ir
from omlc.diagnostics import Diagnostic, Span, diag
from omlc.durations import DurationError, parse_duration
from omlc.loader import Source, YNode

Path = tuple  # a path of keys and indices into the document: ("steps", 0, "config", "query")

_set = object.__setattr__


@functools.lru_cache(maxsize=None)
def _defaults(cls: type[BaseModel]) -> tuple[tuple[str, Any, Any], ...]:
    """(name, default, default_factory) of every field of ``cls``."""
    return tuple((name, f.default, f.default_factory) for name, f in cls.model_fields.items())


def construct(cls: type[BaseModel], values: dict[str, Any]) -> Any:
    """Make a model from values the builder has already checked.

    What ``BaseModel.model_construct`` does, minus its per-call introspection of default
    factories (``inspect.signature``), which cost more than parsing the YAML.
    ``tests/test_fixtures.py`` checks the result against pydantic's own validation.
    """
    data = {}
    for name, default, factory in _defaults(cls):
        if name in values:
            data[name] = values[name]
        elif factory is not None:
            data[name] = factory()
        else:
            data[name] = default
    obj = cls.__new__(cls)
    _set(obj, "__dict__", data)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


@functools.lru_cache(maxsize=None)
def _shape(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    return typing.get_origin(annotation), typing.get_args(annotation)


class _Invalid:
    def __repr__(self) -> str:
        return "<invalid>"


INVALID: Any = _Invalid()


@dataclass
class Locations:
    """Spans of every key and value of a document, by path."""

    source: Source
    values: dict[Path, YNode] = field(default_factory=dict)
    keys: dict[Path, YNode] = field(default_factory=dict)

    def value(self, path: Path) -> Span | None:
        node = self.values.get(tuple(path))
        return node.span if node is not None else None

    def key(self, path: Path) -> Span | None:
        node = self.keys.get(tuple(path))
        return node.span if node is not None else self.value(path)

    def nearest(self, path: Path) -> Span:
        """The span of ``path``, or of its closest ancestor that exists."""
        p = tuple(path)
        while p:
            span = self.value(p)
            if span is not None:
                return span
            p = p[:-1]
        return self.values[()].span

    def within(self, path: Path, needle: str, occurrence: int = 0) -> Span:
        """Span of ``needle`` inside the scalar at ``path`` (exact when it appears verbatim)."""
        node = self.values.get(tuple(path))
        if node is None:
            return self.nearest(path)
        text = self.source.text
        pos = node.start - 1
        for _ in range(occurrence + 1):
            pos = text.find(needle, pos + 1, node.end)
            if pos < 0:
                return node.span
        return self.source.span_at(pos, pos + len(needle))


class Builder:
    def __init__(self, source: Source):
        self.source = source
        self.locations = Locations(source)
        self.diagnostics: list[Diagnostic] = []

    # -- reporting ---------------------------------------------------------------------
    def error(self, code: str, message: str, span: Span, hint: str | None = None, **kw: Any) -> Any:
        self.diagnostics.append(diag(code, message, span, hint, **kw))
        return INVALID

    @property
    def has_errors(self) -> bool:
        return any(d.severity.value == "error" for d in self.diagnostics)

    # -- entry point -------------------------------------------------------------------
    def pipeline(self, root: YNode) -> ir.Pipeline | None:
        self.locations.values[()] = root
        if root.kind != "map":
            self.error("OML104", f"an OML file is a mapping of keys, not {_describe(root)}", root.span,
                       "start the file with `oml_version:`, `name:` and `steps:`")
            return None
        version_node = root.get("oml_version")
        for key, _ in root.value:
            why = ir.FORBIDDEN_TOP_LEVEL.get(key.value)
            if why:
                self.error("OML102", f"`{key.value}` is a legacy key that OML forbids", key.span, why)
        if version_node is not None:
            self.check_version(version_node)
        result = self.model(ir.Pipeline, root, (), "the pipeline")
        if result is INVALID or self.has_errors:
            return None
        _set(result, "__dict__", {**result.__dict__, "path": self.source.path, "locations": self.locations})
        return result

    def check_version(self, node: YNode) -> None:
        if node.kind == "scalar" and node.type in ("float", "int"):
            self.error("OML108", f"oml_version is the number {node.text}, not a version string",
                       node.span, f'quote the full version: oml_version: "{ir.LATEST_OML_VERSION}"')
        elif node.kind == "scalar" and node.type == "str" and node.value not in ir.OML_VERSIONS:
            close = difflib.get_close_matches(node.value, ir.OML_VERSIONS, 1, 0.6)
            self.error("OML109", f"unsupported oml_version {node.value!r}", node.span,
                       f"supported: {', '.join(ir.OML_VERSIONS)}" + (f"; did you mean {close[0]!r}?" if close else ""))
        if node.kind == "scalar" and node.type == "str":
            self.locations.values[("oml_version",)] = node

    # -- models ------------------------------------------------------------------------
    def model(self, cls: type[ir.Node], node: YNode, path: Path, what: str) -> Any:
        special = _SPECIAL.get(cls)
        if special is not None:
            return special(self, node, path)
        if node.kind != "map":
            return self.error("OML104", f"{what} must be a mapping, not {_describe(node)}", node.span)
        fields = cls.model_fields
        by_key = {(f.alias or name): name for name, f in fields.items() if name not in _HIDDEN}
        values: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        for key, value in node.value:
            self.locations.keys[path + (key.value,)] = key
            self.locations.values[path + (key.value,)] = value
            name = by_key.get(key.value)
            if name is None:
                if cls.extension_prefix and key.value.startswith(cls.extension_prefix):
                    extensions[key.value] = value.to_python()
                elif key.value in cls.tolerated_keys:
                    pass
                elif cls is ir.Pipeline and key.value in ir.FORBIDDEN_TOP_LEVEL:
                    pass  # reported as OML102
                else:
                    self.unknown_key(cls, key, list(by_key))
                continue
            if cls is ir.Pipeline and name == "oml_version":
                if value.kind == "scalar" and value.type == "str" and value.value in ir.OML_VERSIONS:
                    values[name] = value.value
                else:
                    values[name] = INVALID  # reported by check_version
                    if value.kind != "scalar":
                        self.error("OML108", f"oml_version must be a version string, not {_describe(value)}",
                                   value.span, f'write oml_version: "{ir.LATEST_OML_VERSION}"')
                continue
            values[name] = self.value(fields[name].annotation, fields[name].metadata, value,
                                      path + (key.value,), f"`{key.value}`")
        for name, f in fields.items():
            if name in _HIDDEN or name in values or not f.is_required():
                continue
            key = f.alias or name
            where = self.locations.key(path) if path else None
            self.error("OML101", f"{what} has no `{key}`", where or node.span,
                       _REQUIRED_HINTS.get((cls.__name__, key)))
            values[name] = INVALID
        if any(v is INVALID for v in values.values()):
            return INVALID
        if extensions:
            values["extensions"] = extensions
        values["span"] = node.span
        return construct(cls, values)

    def unknown_key(self, cls: type[ir.Node], key: YNode, known: list[str]) -> None:
        close = difflib.get_close_matches(key.value, known, 1, 0.6)
        hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(known)}"
        if cls.extension_prefix:
            hint += f" (extension keys start with `{cls.extension_prefix}`)"
        where = {"OML103": "at the top level", "OML106": "in `schedule`",
                 "OML107": "in `metadata`"}.get(cls.unknown_key_code, f"in {_model_what(cls)}")
        self.error(cls.unknown_key_code, f"unknown key `{key.value}` {where}", key.span, hint)

    # -- values ------------------------------------------------------------------------
    def value(self, annotation: Any, metadata: list[Any], node: YNode, path: Path, what: str) -> Any:
        self.locations.values[path] = node
        origin, args = _shape(annotation)
        if origin is typing.Annotated:
            base, *extra = args
            discriminator = next((getattr(m, "discriminator", None) for m in extra
                                  if getattr(m, "discriminator", None)), None)
            if discriminator:
                return self.tagged_union(typing.get_args(base), discriminator, node, path, what)
            return self.value(base, list(metadata) + list(extra), node, path, what)
        if origin in (Union, types.UnionType):
            non_none = [a for a in args if a is not type(None)]
            if node.kind == "scalar" and node.value is None and len(non_none) < len(args):
                return None
            if len(non_none) == 1:
                return self.value(non_none[0], metadata, node, path, what)
            raise TypeError(f"unsupported union {annotation}")
        if origin is Literal:
            return self.choice(args, node, what)
        if origin is list:
            if node.kind != "seq":
                return self.error("OML104", f"{what} must be a list, not {_describe(node)}", node.span,
                                  _list_hint(node))
            items = [self.value(args[0], [], item, path + (i,), f"item {i + 1} of {what}")
                     for i, item in enumerate(node.value)]
            if not items and any(isinstance(m, annotated_types.MinLen) for m in metadata):
                return self.error("OML111", f"{what} must not be empty", node.span)
            return INVALID if any(i is INVALID for i in items) else items
        if origin is dict:
            if node.kind != "map":
                return self.error("OML104", f"{what} must be a mapping, not {_describe(node)}", node.span)
            self.record(node, path)
            return node.to_python()
        if annotation is Any:
            self.record(node, path)
            return node.to_python()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.model(annotation, node, path, what)
        if annotation is ir.Duration:
            return self.duration(node, what)
        if annotation is str:
            return self.scalar_of(node, ("str",), "a string", what)
        if annotation is bool:
            return self.scalar_of(node, ("bool",), "true or false", what)
        if annotation is int:
            value = self.scalar_of(node, ("int",), "a whole number", what)
            return value if value is INVALID else self.bounds(value, metadata, node, what)
        if annotation is float:
            value = self.scalar_of(node, ("int", "float"), "a number", what)
            return value if value is INVALID else self.bounds(value, metadata, node, what)
        raise TypeError(f"the builder does not know the type {annotation!r}")

    def record(self, node: YNode, path: Path) -> None:
        """Remember spans of a free-form subtree (config, params) for later rules."""
        self.locations.values[path] = node
        if node.kind == "map":
            for k, v in node.value:
                self.locations.keys[path + (k.value,)] = k
                self.record(v, path + (k.value,))
        elif node.kind == "seq":
            for i, v in enumerate(node.value):
                self.record(v, path + (i,))

    def scalar_of(self, node: YNode, types_: tuple[str, ...], expected: str, what: str) -> Any:
        if node.kind == "scalar" and node.type in types_:
            return node.value
        hint = None
        if "str" in types_ and node.kind == "scalar" and node.value is not None:
            hint = f'quote it: "{node.text}"'
        elif "str" in types_ and node.kind == "map" and len(node.value) == 1:
            hint = "a `: ` inside an unquoted value starts a mapping; quote the whole value"
        elif types_ == ("bool",) and node.kind == "scalar" and node.type == "str" and node.text.lower() in (
            "yes", "no", "on", "off", "y", "n"
        ):
            hint = f"OML is YAML 1.2: write {'true' if node.text.lower() in ('yes', 'on', 'y') else 'false'}"
        return self.error("OML104", f"{what} must be {expected}, not {_describe(node)}", node.span, hint)

    def bounds(self, value: Any, metadata: list[Any], node: YNode, what: str) -> Any:
        for m in metadata:
            if isinstance(m, annotated_types.Ge) and value < m.ge:
                return self.error("OML114", f"{what} must be at least {m.ge}, not {value}", node.span)
            if isinstance(m, annotated_types.Gt) and value <= m.gt:
                return self.error("OML114", f"{what} must be greater than {m.gt}, not {value}", node.span)
            if isinstance(m, annotated_types.Le) and value > m.le:
                return self.error("OML114", f"{what} must be at most {m.le}, not {value}", node.span)
        return value

    def choice(self, choices: tuple[str, ...], node: YNode, what: str) -> Any:
        if node.kind == "scalar" and node.value in choices:
            return node.value
        shown = ", ".join(repr(c) for c in choices)
        if node.kind == "scalar" and isinstance(node.value, str):
            close = difflib.get_close_matches(node.value.lower(), choices, 1, 0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"one of {shown}"
            return self.error("OML105", f"{what} is {node.value!r}; expected one of {shown}", node.span, hint)
        return self.error("OML104", f"{what} must be one of {shown}, not {_describe(node)}", node.span)

    def duration(self, node: YNode, what: str) -> Any:
        if node.kind != "scalar":
            return self.error("OML110", f"{what} must be a duration, not {_describe(node)}", node.span,
                              "e.g. 300, '15m', '24h', '-1h', '1d'")
        try:
            return parse_duration(node.value)
        except DurationError as exc:
            return self.error("OML110", f"{what}: {exc}", node.span)

    def tagged_union(self, members: tuple[type[ir.Node], ...], tag: str, node: YNode, path: Path, what: str) -> Any:
        by_tag = {typing.get_args(m.model_fields[tag].annotation)[0]: m for m in members}
        if node.kind != "map":
            return self.error("OML104", f"{what} must be a mapping with `{tag}`, not {_describe(node)}", node.span)
        tag_node = node.get(tag)
        if tag_node is None:
            return self.error("OML101", f"{what} has no `{tag}`", node.span, f"`{tag}` is one of {', '.join(by_tag)}")
        if tag_node.kind != "scalar" or tag_node.value not in by_tag:
            return self.choice(tuple(by_tag), tag_node, f"`{tag}` of {what}")
        return self.model(by_tag[tag_node.value], node, path, what)

    # -- special shapes ------------------------------------------------------------------
    def lineage_ref(self, node: YNode, path: Path) -> Any:
        if node.kind == "scalar" and node.type == "str" and ":" in node.value:
            kind, _, name = node.value.partition(":")
            kind, name = kind.strip(), name.strip()
        elif node.kind == "map" and len(node.value) == 1 and node.value[0][1].kind == "scalar":
            kind, name = node.value[0][0].value, node.value[0][1].value
            name = "" if name is None else str(name)
        else:
            return self.error("OML104", f"a lineage reference is `kind: name`, not {_describe(node)}", node.span,
                              'e.g. "table: mysql.orders" or "pipeline: order_processing"')
        if not kind or not name:
            return self.error("OML104", "a lineage reference needs a kind and a name", node.span,
                              'e.g. "table: mysql.orders"')
        if kind not in ir.LINEAGE_KINDS:
            close = difflib.get_close_matches(kind, ir.LINEAGE_KINDS, 1, 0.6)
            return self.error("OML105", f"unknown lineage kind {kind!r}", node.span,
                              f"did you mean {close[0]!r}?" if close else f"one of {', '.join(ir.LINEAGE_KINDS)}")
        return construct(ir.LineageRef, {"span": node.span, "kind": kind, "name": name})

    def notification_target(self, node: YNode, path: Path) -> Any:
        if node.kind != "map" or len(node.value) != 1:
            return self.error("OML104", f"a notification target is one `channel: target` pair, not {_describe(node)}",
                              node.span, 'e.g. `- email: "oncall@company.com"` or `- slack: "#data-alerts"`')
        key, value = node.value[0]
        self.locations.keys[path + (key.value,)] = key
        self.locations.values[path + (key.value,)] = value
        channel = self.choice(ir.NOTIFICATION_CHANNELS, key, "the notification channel")
        target = self.scalar_of(value, ("str",), "a string", f"the {key.value} target")
        if channel is INVALID or target is INVALID:
            return INVALID
        return construct(ir.NotificationTarget, {"span": node.span, "channel": channel, "target": target})


_SPECIAL = {ir.LineageRef: Builder.lineage_ref, ir.NotificationTarget: Builder.notification_target}
_HIDDEN = {"span", "extensions", "path", "locations"}
_REQUIRED_HINTS = {
    ("Pipeline", "oml_version"): f'add oml_version: "{ir.LATEST_OML_VERSION}"',
    ("Pipeline", "steps"): "a pipeline is a list of steps under `steps:`",
    ("Step", "mode"): "one of read, write, transform",
    ("Schedule", "expression"): "e.g. expression: \"0 2 * * *\"",
}


def _model_what(cls: type) -> str:
    return {"Step": "a step", "Retry": "`retry`", "Window": "`window`", "Lineage": "`lineage`",
            "Notifications": "`notifications`"}.get(cls.__name__, f"a {cls.__name__.lower()}")


def _list_hint(node: YNode) -> str | None:
    if node.kind == "scalar" and isinstance(node.value, str):
        return f'write a list: ["{node.value}"] or one `- item` per line'
    return None


def _describe(node: YNode) -> str:
    if node.kind == "map":
        return "a mapping"
    if node.kind == "seq":
        return "a list"
    return {
        "str": f"the string {node.value!r}" if len(str(node.value)) <= 40 else "a string",
        "int": f"the number {node.text}",
        "float": f"the number {node.text}",
        "bool": f"the boolean {node.text}",
        "null": "empty (null)",
    }[node.type]
