"""``${...}`` references in OML strings and ``${params.NAME}`` resolution.

Precedence, lowest first (as the reference implementation): the pipeline's ``params``
defaults (a plain value, or ``{default: value}``), the active profile's ``params``, then
``--param NAME=VALUE`` overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

REFERENCE = re.compile(r"\$\{([^}]*)\}")
PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
WINDOW_FIELDS = ("start", "end")
# namespaces a `${ns.x}` reference may use; anything else is a typo or an unsupported feature
NAMESPACES = ("params", "window")


@dataclass(frozen=True)
class Reference:
    text: str  # the whole `${...}`
    namespace: str  # params, window, ... ("" when there is no dot)
    name: str


def references(value: str) -> Iterator[Reference]:
    for m in REFERENCE.finditer(value):
        inner = m.group(1).strip()
        ns, dot, name = inner.partition(".")
        yield Reference(m.group(0), ns if dot else "", name if dot else inner)


def walk_strings(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string in a config tree with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from walk_strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_strings(v, path + (i,))


def param_defaults(params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: (spec["default"] if isinstance(spec, dict) and "default" in spec else spec)
            for name, spec in params.items()
            if not (isinstance(spec, dict) and "default" not in spec)}


def declared_params(params: Mapping[str, Any]) -> set[str]:
    return set(params)


def profile_params(profiles: Mapping[str, Any], profile: str | None) -> dict[str, Any]:
    if not profile:
        return {}
    spec = profiles.get(profile)
    if isinstance(spec, dict):
        inner = spec.get("params", {})
        return dict(inner) if isinstance(inner, dict) else {}
    return {}


def effective_params(params: Mapping[str, Any], profiles: Mapping[str, Any], profile: str | None,
                     overrides: Mapping[str, Any]) -> dict[str, Any]:
    values = param_defaults(params)
    values.update(profile_params(profiles, profile))
    values.update(overrides)
    return values


def substitute(value: Any, values: Mapping[str, Any]) -> Any:
    """Replace ``${params.NAME}`` in every string of ``value``; other references stay."""
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            inner = m.group(1).strip()
            if inner.startswith("params."):
                name = inner[len("params."):]
                if name in values:
                    return str(values[name])
            return m.group(0)

        return REFERENCE.sub(repl, value)
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value
