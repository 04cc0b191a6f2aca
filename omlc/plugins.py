"""The plugin manager: built-in rules plus every entry point of the ``omlc`` group.

Entry points load one at a time; a plugin that fails to import or to register is
recorded (name, distribution, version, error) and skipped, so one broken plugin never
breaks omlc. ``OMLC_PLUGINS`` restricts which entry points load: a comma-separated list
of entry-point names (``OMLC_PLUGINS=airflow,dagster``); empty means none. Built-in
rules always load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pluggy

from omlc import hookspecs

ENTRY_POINT_GROUP = "omlc"
ENV_VAR = "OMLC_PLUGINS"
BUILTIN_PLUGINS = ("omlc.rules.core", "omlc.rules.schedule", "omlc.rules.metadata")


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    error: str | None = None
    rules: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    readers: list[str] = field(default_factory=list)


@dataclass
class Registry:
    manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    _rules: dict[str, Any] | None = None
    _readers: dict[str, Any] | None = None
    _targets: dict[str, Any] | None = None

    @property
    def problems(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.error]

    def rules(self) -> dict[str, Any]:
        if self._rules is None:
            self._rules = self._collect("register_rules", "rules")
        return self._rules

    def targets(self) -> dict[str, Any]:
        if self._targets is None:
            self._targets = self._collect("register_targets", "targets")
        return self._targets

    def readers(self) -> dict[str, Any]:
        if self._readers is None:
            self._readers = self._collect("register_readers", "readers")
        return self._readers

    def _collect(self, hook_name: str, attr: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        hook = getattr(self.manager.hook, hook_name)
        for impl in hook.get_hookimpls():  # registration order: built-ins first
            info = self.plugins.get(impl.plugin_name)
            owner = info.name if info else impl.plugin_name

            def register(item: Any, _owner: str = owner, _info: PluginInfo | None = info) -> None:
                name = item.name
                if name in found:
                    raise ValueError(f"{attr[:-1]} {name!r} is already registered")
                found[name] = item
                if _info is not None:
                    getattr(_info, attr).append(name)

            try:
                impl.function(register=register)
            except Exception as exc:  # a broken plugin must not break omlc
                if info is not None:
                    info.error = f"{hook_name} failed: {type(exc).__name__}: {exc}"
        return found


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def reset_registry() -> None:
    global _REGISTRY
    _REGISTRY = None


def load_registry(*, entry_points: bool = True, extra: list[tuple[str, Any]] | None = None) -> Registry:
    import importlib

    pm = pluggy.PluginManager("omlc")
    pm.add_hookspecs(hookspecs)
    plugins: dict[str, PluginInfo] = {}
    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        plugins[module_name] = PluginInfo(module_name, module_name, "omlc", _own_version(), builtin=True)
    if entry_points:
        for info, obj in _load_entry_points():
            plugins[info.name] = info
            if obj is not None:
                _register(pm, obj, info)
    for name, obj in extra or []:
        info = PluginInfo(name, getattr(obj, "__name__", repr(obj)))
        plugins[name] = info
        _register(pm, obj, info)
    return Registry(pm, plugins)


def _register(pm: pluggy.PluginManager, obj: Any, info: PluginInfo) -> None:
    try:
        pm.register(obj, name=info.name)
    except Exception as exc:
        info.error = f"cannot register: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class EntryPoint:
    name: str
    value: str
    distribution: str | None
    version: str | None

    def load(self) -> Any:
        import importlib

        module, _, attr = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def find_entry_points(group: str = ENTRY_POINT_GROUP) -> list[EntryPoint]:
    """Entry points of ``group`` from the distributions on ``sys.path``.

    A direct scan of ``*.dist-info`` / ``*.egg-info`` ``entry_points.txt`` files: it gives
    what ``importlib.metadata.entry_points(group=...)`` gives (the first distribution of a
    name on ``sys.path`` wins) at a fraction of the start-up cost, which pre-commit pays on
    every commit.
    """
    import sys

    found: list[EntryPoint] = []
    seen_dists: set[str] = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in sorted(names):
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            dist_name, _, rest = name.rpartition(".")[0].partition("-")
            key = dist_name.lower().replace("-", "_").replace(".", "_")
            if key in seen_dists:
                continue
            seen_dists.add(key)
            path = os.path.join(entry or ".", name)
            try:
                with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            points = _parse_group(text, group)
            if points:
                meta_name, version = _name_and_version(path, dist_name, rest)
                found.extend(EntryPoint(n, v, meta_name, version) for n, v in points)
    return found


def _parse_group(text: str, group: str) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group and "=" in line:
            name, _, value = line.partition("=")
            result.append((name.strip(), value.strip()))
    return result


def _name_and_version(path: str, dist_name: str, rest: str) -> tuple[str, str | None]:
    for meta in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(path, meta), encoding="utf-8") as fh:
                name = version = None
                for line in fh:
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
                    elif not line.strip():
                        break
                    if name and version:
                        break
                return name or dist_name, version
        except OSError:
            continue
    return dist_name, rest or None


def _load_entry_points() -> list[tuple[PluginInfo, Any]]:
    allowed = os.environ.get(ENV_VAR)
    wanted = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
    results: list[tuple[PluginInfo, Any]] = []
    seen: set[str] = set()
    for ep in sorted(find_entry_points(), key=lambda e: e.name):
        if ep.name in seen or (wanted is not None and ep.name not in wanted):
            continue
        seen.add(ep.name)
        info = PluginInfo(ep.name, ep.value, distribution=ep.distribution, version=ep.version)
        try:
            obj = ep.load()
        except Exception as exc:
            info.error = f"cannot import {ep.value}: {type(exc).__name__}: {exc}"
            obj = None
        results.append((info, obj))
    return results


def _own_version() -> str:
    from omlc import __version__

    return __version__

