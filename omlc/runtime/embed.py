"""The runtime as generated code carries it: the parts of :mod:`omlc.runtime.window` (and
of :mod:`omlc.runtime.process` and :mod:`omlc.runtime.notify`) that one schedule uses, copied verbatim.

An orchestrator parses every DAG or flow file over and over, so a generated file carries
only the definitions its schedule can reach: a pipeline without a window needs the fire
time alone, a sliding window of elapsed time no calendar or cron code, and only tumbling
windows need the previous fire time. Each kept definition is the module's own text,
unchanged (comments included); the tests run every kind of schedule through both the
whole module and the copy.
"""

from __future__ import annotations

import ast
import functools
import inspect

# Functions that choose at run time, from the spec, which helpers they call: their calls
# are not followed (``roots`` names what the spec needs), their constants are.
_DISPATCHERS = frozenset({"omlc_run_values", "omlc_window_bounds", "omlc_prev_fire"})


def roots(spec: dict) -> set[str]:
    """The functions a schedule's ``omlc_run_values`` can call."""
    needed = {"omlc_run_values", "omlc_zone", "omlc_instant"}
    window = spec.get("window")
    if window is None:
        return needed
    needed |= {"omlc_window_bounds", "omlc_render_time"}
    size = window.get("size") or [0, 0]
    offset = window.get("offset") or [0, 0]
    if window["type"] == "tumbling":
        needed |= {"omlc_prev_fire", "omlc_shift"}
        needed.add("_omlc_interval_prev" if "interval" in spec else "_omlc_day_instants")
        if offset[0]:
            needed.add("omlc_nominal_wall")
    elif size[0] or offset[0]:
        needed |= {"omlc_shift", "omlc_nominal_wall"}
    return needed


@functools.lru_cache(maxsize=1)
def _definitions() -> list[tuple[set[str], set[str], bool, str]]:
    """The modules' top-level statements after their docstrings, each as (names it
    defines, names it uses, whether it is a function, its source text)."""
    from omlc.runtime import notify, process, window

    parts = []
    for module in (window, process, notify):
        parts.extend(_module_definitions(inspect.getsource(module), module.__name__))
    return parts


def _module_definitions(source: str, name: str) -> list[tuple[set[str], set[str], bool, str]]:
    lines = source.splitlines(keepends=True)
    parts = []
    for node in ast.parse(source).body[1:]:
        if isinstance(node, ast.FunctionDef):
            defined = {node.name}
        elif isinstance(node, ast.Assign):
            defined = {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom):
            defined = {a.asname or a.name for a in node.names}
        else:
            raise TypeError(f"{name}: unexpected top-level {type(node).__name__}")
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - defined
        text = "".join(lines[node.lineno - 1:node.end_lineno])
        parts.append((defined, used, isinstance(node, ast.FunctionDef), text))
    return parts


@functools.lru_cache(maxsize=64)
def _source_for(needed: frozenset[str]) -> str:
    parts = _definitions()
    functions = {name for defined, _, is_function, _ in parts if is_function for name in defined}
    uses = {name: (used, name in _DISPATCHERS) for defined, used, _, _ in parts for name in defined}
    keep, todo = set(), list(needed)
    while todo:
        name = todo.pop()
        if name in keep or name not in uses:
            continue
        keep.add(name)
        used, dispatcher = uses[name]
        todo.extend(u for u in used if not (dispatcher and u in functions))
    kept = [(is_function, text) for defined, _, is_function, text in parts if defined & keep]
    out = []
    for i, (is_function, text) in enumerate(kept):
        if i and (is_function or kept[i - 1][0]):
            out.append("\n\n")
        out.append(text)
    return "".join(out)


def runtime_source(spec: dict, extra: tuple[str, ...] = ()) -> str:
    """The runtime text for generated code of the schedule ``spec``
    (:meth:`omlc.schedule.timetable.Timetable.runtime_spec`), plus the functions named in
    ``extra`` that the generated code calls itself (``omlc_run_command``,
    ``omlc_prev_fire`` for a lateness check, ...) and what they use."""
    return _source_for(frozenset(roots(spec)) | frozenset(extra))
