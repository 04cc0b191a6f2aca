"""Reading a Prefect module back (libcst): the facts of :mod:`omlc.readback` from the operative code.

What is read: the ``@flow(...)`` decorator (name, description, the notification hooks it
attaches), the ``@task(...)`` decorator (retries, retry_delay_seconds), the
``deployment = <flow>.to_deployment(...)`` call (schedule, concurrency limit, tags,
description), the step tasks (``<step> = omlc_task.with_options(name=...)``) and their
``.submit(..., wait_for=[...])`` calls in the flow, the ``@materialize(...)`` decorators of
the lineage tasks (asset keys back to lineage references), and the ``OMLC_*`` literals the
flow computes with (schedule spec, start, end, catchup, timeout, the data checks' test
specs, the SLA, each event's notification targets). Nothing is executed and Prefect is not
imported.
"""

from __future__ import annotations

import ast
import json
from typing import Any

import libcst as cst  # a reader module is imported only to read code
import libcst.matchers as m

from omlc.cstread import (HEAD, Source, assigned_name, call_to, dotted, keywords, method_calls, positional,
                          split_tags, statements_with, value)
from omlc.diagnostics import Span, diag
from omlc.readback import Reader, Readback, facts

# what the reader recognises (libcst matchers)
_FLOW, _TASK, _MATERIALIZE = (m.Call(func=m.Name(name)) for name in ("flow", "task", "materialize"))
_CHECKS = m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(target=m.Name("OMLC_CHECKS"))])])
_STEP_TASK = m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(target=m.Name())],
                                                  value=call_to("with_options"))])
_DEPLOYMENT = m.SimpleStatementLine(body=[m.Assign(value=call_to("to_deployment"))])


ASSET_PREFIX = "omlc://"
# the notification hooks the target attaches: event -> (the @flow keyword, the hook function)
HOOKS = {"on_failure": ("on_failure", "omlc_on_failure"), "on_success": ("on_completion", "omlc_on_success")}
EVENTS = ("on_failure", "on_success", "on_sla_breach")


def _is_submit(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "submit"


def _wanted(node) -> bool | str | list:
    if isinstance(node, ast.FunctionDef):  # the flow's statements that submit tasks (the task graph); the
        # other functions, their decorators
        names = {getattr(d.func, "id", "") for d in node.decorator_list if isinstance(d, ast.Call)}
        return statements_with(node, _is_submit) if "flow" in names else \
            HEAD if names & {"task", "materialize"} else False
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
        return node.value.func.attr in ("to_deployment", "with_options")
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id == "OMLC_CHECKS"
    return False


def asset_ref(key: str) -> list[str] | None:
    """The lineage reference ``[kind, name]`` of an asset key the target wrote
    (:func:`omlc_prefect.target.asset_key`), or None when the key is not one (or is a
    shortened one, whose name cannot be recovered)."""
    if not isinstance(key, str) or not key.startswith(ASSET_PREFIX) or "~~" in key:
        return None
    kind, sep, rest = key[len(ASSET_PREFIX):].partition("/")
    if not sep or not kind:
        return None
    data = bytearray()
    i = 0
    try:
        while i < len(rest):
            if rest[i] == "~":
                data += bytes.fromhex(rest[i + 1:i + 3])
                i += 3
            else:
                data += rest[i].encode("utf-8")
                i += 1
        return [kind, data.decode("utf-8")]
    except (ValueError, UnicodeDecodeError):
        return None


class PrefectReader(Reader):
    name = "prefect"
    oml_paths = {"prefect.schedule": ("schedule", "expression")}

    def expected(self, pipeline, granularity: str) -> dict[str, Any]:
        from omlc_prefect.target import prefect_schedule

        found = facts(pipeline, granularity)
        s = pipeline.schedule
        if s is not None and s.type == "interval":  # cron: schedule.cron
            mapped = prefect_schedule(s)
            found["prefect.schedule"] = ([mapped.kind, mapped.expression, mapped.timezone] if mapped.kind == "cron"
                                         else [mapped.kind, mapped.seconds, mapped.anchor, mapped.timezone])
        return found

    def read(self, text: str, path: str) -> Readback:
        rb = Readback(path)
        source = Source(text, path, _wanted, self.name)
        if source.error is not None:
            rb.diagnostics.append(source.error)
            return rb
        put, span = rb.put, source.span
        literals = source.literals
        spec, spec_span = literals.get("OMLC_SCHEDULE", (None, Span(path, 1, 1)))
        if not isinstance(spec, dict):
            rb.diagnostics.append(diag("OML702", "[prefect] no OMLC_SCHEDULE literal", spec_span))
            return rb
        steps: dict[str, dict] = {}  # variable -> {"id", "span"}
        needs: dict[str, tuple[list[str], Span]] = {}
        flow = deployment = checks = None
        lineage: dict[str, Any] = {}  # lineage function name -> its @materialize(...) call
        for stmt in source.statements:
            if m.matches(stmt, m.FunctionDef()):
                for deco in stmt.decorators:
                    call = deco.decorator
                    if m.matches(call, _TASK):
                        self._task(rb, source, call)
                    elif m.matches(call, _MATERIALIZE):
                        lineage[stmt.name.value] = call
                    elif m.matches(call, _FLOW):
                        flow = call
                        for node in method_calls(stmt, "submit") + [
                                call for inner in source.inner.get(stmt, []) for call in method_calls(inner, "submit")]:
                            var = dotted(node.func.value)
                            kw = keywords(node)
                            ups = [dotted(e.value) for e in kw["wait_for"].elements] if "wait_for" in kw else []
                            needs[var] = ([u[:-len("_run")] for u in ups], span(node))
            elif m.matches(stmt, _CHECKS):
                checks = stmt.body[0].value
            elif m.matches(stmt, _STEP_TASK):
                call = stmt.body[0].value
                steps[assigned_name(stmt.body[0])] = {"id": value(keywords(call).get("name")), "span": span(call)}
            elif m.matches(stmt, _DEPLOYMENT):
                deployment = stmt.body[0].value
        if flow is None or deployment is None:
            rb.diagnostics.append(diag("OML702", "[prefect] no @flow(...) or no `deployment = <flow>.to_deployment(...)`",
                                       Span(path, 1, 1)))
            return rb
        fkw = keywords(flow)
        put("name", value(fkw["name"]) if "name" in fkw else None, span(fkw.get("name", flow)))
        put("description", value(fkw["description"]) if "description" in fkw else None,
            span(fkw.get("description", flow)))
        dkw = keywords(deployment)
        put("metadata.description", value(dkw["description"]) if "description" in dkw else None,
            span(dkw.get("description", deployment)))
        tags = value(dkw["tags"]) if "tags" in dkw else []
        if isinstance(tags, list):
            plain, prefixed = split_tags(tags, ("team", "criticality", "owner"))
            at = span(dkw.get("tags", deployment))
            put("metadata.tags", plain, at)
            for key in ("owner", "team", "criticality"):
                put(f"metadata.{key}", prefixed.get(key), at)
        if "schedule" in dkw:
            self._schedule(rb, source, dkw["schedule"], spec, spec_span)
            limit = dkw.get("concurrency_limit")
            concurrency = value(keywords(limit)["limit"]) if isinstance(limit, cst.Call) else None
            put("schedule.concurrency", concurrency, span(limit if limit is not None else deployment))
            for name, key in (("OMLC_START", "schedule.start_date"), ("OMLC_END", "schedule.end_date"),
                              ("OMLC_CATCHUP", "schedule.catchup"), ("OMLC_TIMEOUT", "schedule.timeout")):
                if name in literals:
                    put(key, literals[name][0], literals[name][1])
            put("schedule.window", spec.get("window"), spec_span)
        else:  # no schedule: OML keeps retries in the schedule block
            rb.facts.pop("schedule.retry.attempts", None)
            rb.facts.pop("schedule.retry.delays", None)
        self._metadata(rb, source, flow, checks, lineage)
        if steps:
            rb.granularity = "step"
            ids = [t["id"] for t in steps.values()]
            put("steps", ids, next(iter(steps.values()))["span"])  # the first step task, in file order
            for var, t in steps.items():
                ups, where = needs.get(var, ([], t["span"]))
                put(f"steps.{t['id']}.needs", sorted(steps[u]["id"] for u in ups if u in steps), where)
        return rb

    def _metadata(self, rb: Readback, source: Source, flow, checks, lineage: dict) -> None:
        """The facts of omlc.metadata.metadata_facts: the data checks' test specs, the SLA,
        who each event notifies (through a hook the flow attaches), the lineage assets."""
        put, span, literals = rb.put, source.span, source.literals
        at_flow = span(flow)
        tests, where = [], []
        if checks is not None and not isinstance(checks, cst.List):
            rb.diagnostics.append(source.unreadable("OMLC_CHECKS", checks))
        for element in checks.elements if isinstance(checks, cst.List) else []:
            row = value(element.value) if isinstance(element, cst.Element) else None
            try:
                tests.append(json.loads(row[2]["OMLC_TEST_SPEC"]))
                where.append(span(element))
            except (TypeError, KeyError, IndexError, ValueError):
                rb.diagnostics.append(source.unreadable("a data check", element))
        put("metadata.tests", tests, span(checks) if checks is not None else at_flow, items=where)
        sla, sla_at = literals.get("OMLC_SLA", (None, at_flow))
        put("metadata.sla", sla, sla_at)
        fkw = keywords(flow)
        for event in EVENTS:
            targets, where = literals.get(f"OMLC_{event.upper()}", ([], at_flow))
            if event in HOOKS:  # sent only when the flow attaches the hook
                keyword, hook = HOOKS[event]
                attached = fkw.get(keyword)
                if attached is None or not any(dotted(e.value) == hook for e in getattr(attached, "elements", [])):
                    targets, where = [], span(attached) if attached is not None else at_flow
            put(f"metadata.notifications.{event}", targets, where)
        own = lineage.get("omlc_lineage_pipeline")
        deps = keywords(own).get("asset_deps") if own is not None else None
        refs, where = self._assets(rb, source, deps.elements if isinstance(deps, cst.List) else [])
        if deps is not None and not isinstance(deps, cst.List):
            rb.diagnostics.append(source.unreadable("the upstream assets", deps))
        put("metadata.lineage.upstream", refs, span(deps) if deps is not None else at_flow, items=where)
        out = lineage.get("omlc_lineage_downstream")
        refs, where = self._assets(rb, source, [a for a in out.args if a.keyword is None] if out is not None else [])
        put("metadata.lineage.downstream", refs, span(out) if out is not None else at_flow, items=where)

    @staticmethod
    def _assets(rb: Readback, source: Source, nodes: list) -> tuple[list, list]:
        """The lineage references of asset keys (list elements or arguments), and where each is."""
        refs, where = [], []
        for node in nodes:
            ref = asset_ref(value(node.value))
            if ref is None:
                rb.diagnostics.append(source.unreadable("an asset key", node))
            else:
                refs.append(ref)
                where.append(source.span(node))
        return refs, where

    @staticmethod
    def _task(rb: Readback, source: Source, call) -> None:
        kw = keywords(call)
        retries = value(kw["retries"]) if "retries" in kw else 0
        rb.put("schedule.retry.attempts", retries, source.span(kw.get("retries", call)))
        delays = value(kw["retry_delay_seconds"]) if "retry_delay_seconds" in kw else None
        if isinstance(delays, (int, float)) and isinstance(retries, int):
            delays = [delays] * retries
        if delays is None:
            delays = [0] * retries if isinstance(retries, int) else []
        rb.put("schedule.retry.delays", delays, source.span(kw.get("retry_delay_seconds", call)))

    @staticmethod
    def _schedule(rb: Readback, source: Source, node, spec: dict, spec_span: Span) -> None:
        from omlc.schedule.cron import CronError, parse_cron
        from omlc.schedule.timetable import cron_fields

        if not isinstance(node, cst.Call):
            rb.diagnostics.append(source.unreadable("the schedule", node))
            return
        kind, args, kw = dotted(node.func), positional(node), keywords(node)
        tz = value(kw["timezone"]) if "timezone" in kw else "UTC"
        if kind == "Cron" and args:
            expr = value(args[0])
            try:
                fields = cron_fields(parse_cron(expr))
            except (CronError, TypeError, AttributeError):
                rb.diagnostics.append(source.unreadable("the cron expression", args[0]))
                return
            rb.extra["expression"] = expr
            if "interval" in spec:
                rb.put("prefect.schedule", ["cron", expr, tz], source.span(node))
            else:
                rb.put("schedule.cron", fields, source.span(args[0]), repr(expr))
                rb.put("schedule.timezone", tz, source.span(kw.get("timezone", node)))
        elif kind == "Interval" and args:
            anchor = kw.get("anchor_date")
            anchor_iso = value(positional(anchor)[0]) if isinstance(anchor, cst.Call) and positional(anchor) else None
            rb.put("prefect.schedule", ["interval", value(args[0]), anchor_iso, tz], source.span(node))
        else:
            rb.diagnostics.append(source.unreadable("the schedule", node))
            return
        if "interval" in spec:
            rb.put("schedule.interval", spec["interval"], spec_span)
            rb.put("schedule.timezone", spec.get("timezone"), spec_span)
