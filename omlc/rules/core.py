"""The OML 0.1.0 rules: names, steps and their graph, components, connections, secrets, params.

Registered through the same ``register_rules`` hook a third-party policy plugin uses.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterator

from omlc import components, params as P
from omlc.diagnostics import Diagnostic, diag
from omlc.hookspecs import hookimpl
from omlc.ir import Pipeline
from omlc.rules import Rule, RuleContext

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_NAME = 200


def _close(word: str, options: list[str]) -> str | None:
    found = difflib.get_close_matches(word, options, 1, 0.6)
    return found[0] if found else None


@Rule.define("names")
def check_names(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    loc = p.locations
    if not NAME.match(p.name) or len(p.name) > MAX_NAME:
        yield diag("OML115", f"pipeline name {p.name!r} cannot be a DAG, flow or job id", loc.value(("name",)),
                   f"use letters, digits, '_', '-' and '.', starting with a letter or digit, at most {MAX_NAME} characters")
    for i, step in enumerate(p.steps):
        if not NAME.match(step.id) or len(step.id) > MAX_NAME:
            yield diag("OML115", f"step id {step.id!r} cannot be a task or op name", loc.value(("steps", i, "id")),
                       "use letters, digits, '_', '-' and '.', starting with a letter or digit")


@Rule.define("steps")
def check_steps(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    loc = p.locations
    first_at: dict[str, int] = {}
    for i, step in enumerate(p.steps):
        if step.id in first_at:
            first = first_at[step.id]
            yield diag("OML201", f"step id {step.id!r} is already used by step {first + 1}",
                       loc.value(("steps", i, "id")), "step ids must be unique; rename one",
                       related=(loc.value(("steps", first, "id")),))
        else:
            first_at[step.id] = i
    ids = list(first_at)
    for i, step in enumerate(p.steps):
        if step.needs is None:
            continue
        seen: set[str] = set()
        for j, dep in enumerate(step.needs):
            where = loc.value(("steps", i, "needs", j))
            if dep == step.id:
                yield diag("OML205", f"step {step.id!r} needs itself", where, "remove it from `needs`")
            elif dep in seen:
                yield diag("OML205", f"step {step.id!r} lists {dep!r} twice in `needs`", where, "remove the repeat")
            elif dep not in first_at:
                close = _close(dep, ids)
                yield diag("OML202", f"step {step.id!r} needs {dep!r}, which is not a step of this pipeline", where,
                           f"did you mean {close!r}?" if close else f"steps: {', '.join(ids)}")
            elif first_at[dep] > i:
                yield diag("OML204", f"step {step.id!r} needs {dep!r}, which is defined later in the file", where,
                           f"move {dep!r} above {step.id!r} so the file reads in execution order")
            seen.add(dep)
    yield from _cycles(p)


def _cycles(p: Pipeline) -> Iterator[Diagnostic]:
    graph = {sid: [d for d in deps if d != sid] for sid, deps in p.effective_needs().items()}
    index = {s.id: i for i, s in reversed(list(enumerate(p.steps)))}
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()
    for root in graph:
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph.get(root, ())))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            if child not in graph:
                continue
            if state.get(child) == 1:
                cycle = path[path.index(child):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    start = min(cycle, key=lambda s: index[s])
                    k = cycle.index(start)
                    ordered = cycle[k:] + cycle[:k]
                    shown = " -> ".join(ordered + [ordered[0]])
                    i = index[start]
                    step = p.steps[i]
                    where = (p.locations.value(("steps", i, "needs")) if step.needs is not None
                             else p.locations.value(("steps", i, "id")))
                    yield diag("OML203", f"the steps depend on each other in a cycle: {shown} (each needs the next)",
                               where, "remove one of these `needs` entries")
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(graph.get(child, ()))))


@Rule.define("components")
def check_components(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    loc = p.locations
    known = list(components.COMPONENTS)
    for i, step in enumerate(p.steps):
        modes = components.COMPONENTS.get(step.component)
        if modes is None:
            close = _close(step.component, known)
            yield diag("OML209", f"unknown component {step.component!r}", loc.value(("steps", i, "component")),
                       f"did you mean {close!r}?" if close else
                       "not in the reference registry; fine if your runner provides it")
        elif step.mode not in modes:
            yield diag("OML210", f"component {step.component!r} does not support mode {step.mode!r}",
                       loc.value(("steps", i, "mode")), f"{step.component} supports: {', '.join(modes)}")


@Rule.define("connections")
def check_connections(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    loc = p.locations
    for i, step in enumerate(p.steps):
        ref = step.config.get("connection")
        if not isinstance(ref, str) or not ref.startswith("@"):
            continue
        where = loc.value(("steps", i, "config", "connection"))
        m = components.CONNECTION_REF.match(ref)
        if not m:
            yield diag("OML206", f"connection reference {ref!r} is not of the form '@family.alias'", where,
                       f"e.g. '@{components.family(step.component)}.primary'")
        elif "." in step.component and m.group(1) != components.family(step.component):
            yield diag("OML207", f"connection {ref!r} is a {m.group(1)} connection but {step.component!r} "
                       f"needs a {components.family(step.component)} one", where,
                       f"use '@{components.family(step.component)}.{m.group(2)}' or a matching component")


@Rule.define("secrets")
def check_secrets(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    loc = p.locations
    for i, step in enumerate(p.steps):
        yield from _secrets_in(step.config, ("steps", i, "config"), loc)


def _secrets_in(value: object, path: tuple, loc) -> Iterator[Diagnostic]:
    if isinstance(value, dict):
        for k, v in value.items():
            sub = path + (k,)
            if isinstance(k, str) and components.is_secret_key(k) and _literal_secret(v):
                yield diag("OML208", f"`{k}` holds a literal secret", loc.value(sub),
                           "never write credentials in a pipeline: use a connection ('@family.alias') "
                           f"or an environment reference ('${{{k.upper()}}}')")
            else:
                yield from _secrets_in(v, sub, loc)
    elif isinstance(value, list):
        for j, v in enumerate(value):
            yield from _secrets_in(v, path + (j,), loc)


def _literal_secret(value: object) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        return bool(value.strip()) and not components.SECRET_REFERENCE.match(value)
    return False


@Rule.define("params")
def check_params(p: Pipeline, ctx: RuleContext) -> Iterator[Diagnostic]:
    loc = p.locations
    top = loc.value(())
    if ctx.profile and ctx.profile not in p.profiles:
        yield diag("OML302", f"profile {ctx.profile!r} is not defined in this pipeline",
                   loc.key(("profiles",)) or top,
                   f"profiles: {', '.join(p.profiles)}" if p.profiles else "add a `profiles:` block")
    declared = set(p.params)
    for name in ctx.params:
        if name not in declared:
            close = _close(name, sorted(declared))
            yield diag("OML304", f"--param {name} is not a parameter of this pipeline",
                       loc.key(("params",)) or top, f"did you mean {close!r}?" if close else "declare it under `params:`")
    available = set(P.effective_params(p.params, p.profiles, ctx.profile, ctx.params)) | declared
    has_window = p.schedule is not None and p.schedule.window is not None
    for i, step in enumerate(p.steps):
        base = ("steps", i, "config")
        for path, text in P.walk_strings(step.config, base):
            counts: dict[str, int] = {}
            for ref in P.references(text):
                occurrence = counts.get(ref.text, 0)
                counts[ref.text] = occurrence + 1
                where = loc.within(path, ref.text, occurrence)
                yield from _check_reference(ref, where, available, has_window)


def _check_reference(ref: P.Reference, where, available: set[str], has_window: bool) -> Iterator[Diagnostic]:
    if ref.namespace == "params":
        if not P.PARAM_NAME.match(ref.name):
            yield diag("OML303", f"{ref.text} is not a valid parameter reference", where, "write ${params.NAME}")
        elif ref.name not in available:
            close = _close(ref.name, sorted(available))
            yield diag("OML301", f"{ref.text} refers to parameter {ref.name!r}, which is not defined", where,
                       f"did you mean ${{params.{close}}}?" if close else
                       f"declare it under `params:` (params: {{{ref.name}: {{default: ...}}}}) or pass --param {ref.name}=...")
    elif ref.namespace == "window":
        if ref.name not in P.WINDOW_FIELDS:
            yield diag("OML303", f"{ref.text}: a window has only start and end", where,
                       "write ${window.start} or ${window.end}")
        elif not has_window:
            yield diag("OML305", f"{ref.text} is used but the pipeline has no schedule window", where,
                       "add schedule.window (type, size, offset) so the value is defined")
    elif ref.namespace in ("", "env"):
        if not ref.name:
            yield diag("OML303", f"{ref.text} is empty", where, "write ${params.NAME} or ${ENV_VAR}")
    else:
        close = _close(ref.namespace, list(P.NAMESPACES) + ["env"])
        yield diag("OML303", f"{ref.text} uses the unknown namespace {ref.namespace!r}", where,
                   f"did you mean ${{{close}.{ref.name}}}?" if close else "known: ${params.NAME}, ${window.start}, "
                   "${window.end}, ${ENV_VAR}")


@hookimpl
def register_rules(register):
    from omlc.lineage import check_lineage  # project scope: lineage over every pipeline read

    for rule in (check_names, check_steps, check_components, check_connections, check_secrets, check_params,
                 check_lineage):
        register(rule)
