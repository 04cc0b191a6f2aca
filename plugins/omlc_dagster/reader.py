"""Reading a Dagster module back (libcst): the facts of :mod:`omlc.readback` from the operative code.

What is read: the ``defs = dg.Definitions(...)`` call (which job and schedule Dagster
loads), the ``@dg.job(...)`` decorator (name, description, the ``description`` of its
metadata, tags: owner, team, criticality, plain tags, ``dagster/max_runtime``,
``omlc/concurrency_key``), the ``@dg.op(...)`` decorators (op name, retry policy) and the
step id each op passes to ``omlc_run_step``, the op invocations in the job function (the
dependency graph), the ``@dg.schedule(...)`` decorator (cron_schedule,
execution_timezone) and what its function checks (start, end, OML's interval grid), and
the ``OMLC_*`` literals the ops and the schedule compute with (pipeline name, schedule
spec, retry delays, timeout, start, end, op names of the run config). ``metadata``
(:func:`omlc.metadata.metadata_facts`): the test spec of each ``OMLC_CHECKS`` row that a
check op of the job runs (``omlc_run_check(context, i)``), the ``OMLC_<EVENT>`` targets of
each notification sensor that ``defs`` loads (``on_sla_breach`` and ``OMLC_SLA``: the SLA
sensor's), and the ``(key, kind, name)`` rows of ``OMLC_UPSTREAM``/``OMLC_DOWNSTREAM`` when
``defs`` loads ``omlc_assets()`` (a row whose key is not ``asset_key(kind, name)`` reads as
its key, so a hand-edited key is drift), and whether the job invokes the op that records
lineage (``omlc_record_lineage(context)``; ``dagster.lineage_recorded``). Nothing is
executed and Dagster is not imported.

Not read, because the module does not carry them (both are in the loss report):
``schedule.concurrency`` (the limit is in ``<name>.dagster.yaml``; the module carries only
the tag that the limit applies to) and ``schedule.catchup`` (a Dagster schedule without
partitions has no such setting).
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst  # a reader module is imported only to read code
import libcst.matchers as m

from omlc.cstread import HEAD, UNREADABLE, Source, call_to, dotted, keywords, positional, value
from omlc.diagnostics import Span, diag
from omlc.readback import Reader, Readback, facts

_DECORATORS = ("op", "job", "schedule", "run_failure_sensor", "run_status_sensor", "sensor")
_LIST_LITERALS = ("OMLC_CHECKS", "OMLC_UPSTREAM", "OMLC_DOWNSTREAM")  # read element by element
# the sensor of each notification event (the function name omlc emits, the decorator)
_SENSORS = {"on_failure": "run_failure_sensor", "on_success": "run_status_sensor"}
_MODULES = ("", "dg", "dagster")
# fact keys of facts() the module does not carry (see the module docstring)
NOT_CARRIED = ("schedule.concurrency", "schedule.catchup")
# the job tags of metadata fields (with a value; an OML tag of that name has an empty one)
_PREFIXED = ("owner", "team", "criticality")


def _kind(decorator) -> str:
    """``op``/``job``/``schedule`` for ``@dg.op(...)``, ``@dagster.job``, ``@schedule(...)``; else ""."""
    name = decorator.func if isinstance(decorator, ast.Call) else decorator
    parts = (name.value.id + "." + name.attr if isinstance(name, ast.Attribute) and isinstance(name.value, ast.Name)
             else name.id if isinstance(name, ast.Name) else "").rpartition(".")
    return parts[2] if parts[0] in _MODULES and parts[2] in _DECORATORS else ""


def _wanted(node) -> bool | str:
    if isinstance(node, ast.FunctionDef):  # a sensor is read by its decorator (and whether defs loads it)
        kinds = [_kind(d) for d in node.decorator_list]
        return HEAD if any(k.endswith("sensor") for k in kinds) else any(kinds)
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
            and node.targets[0].id in _LIST_LITERALS:
        return True
    return isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and (
        isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "Definitions"
        or isinstance(node.value.func, ast.Name) and node.value.func.id == "Definitions")


# what the reader recognises (libcst matchers): a decorator, bare or called, named as
# ``name`` or ``module.name`` (``@dg.op(...)``, ``@dagster.job``, ``@schedule(...)``);
# _decorated checks the names
_NAME = m.Name() | m.Attribute(value=m.Name())
_DECORATOR = m.Decorator(decorator=_NAME | m.Call(func=_NAME))
_LIST_LITERAL = m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(
    target=m.OneOf(*(m.Name(n) for n in _LIST_LITERALS)))])])
_DEFINITIONS = m.SimpleStatementLine(body=[m.Assign(value=call_to("Definitions"))])
_RETRY_POLICY = call_to("RetryPolicy")


def _decorated(stmt) -> tuple[str, Any]:
    """The Dagster decorator of a libcst function: its kind and its call (None when bare)."""
    for deco in stmt.decorators:
        if m.matches(deco, _DECORATOR):
            node = deco.decorator
            call = node if isinstance(node, cst.Call) else None
            module, _, name = dotted(call.func if call is not None else node).rpartition(".")
            if module in _MODULES and name in _DECORATORS:
                return name, call
    return "", None


def op_order(pipeline) -> list[str]:
    """The step ids in the order the target emits its ops (each after its upstreams; a
    stable topological order of the OML's steps)."""
    needs = pipeline.effective_needs()
    done: dict[str, None] = {}
    while len(done) < len(pipeline.steps):
        for step in pipeline.steps:
            if step.id not in done and all(u in done for u in needs[step.id]):
                done[step.id] = None
    return list(done)


class DagsterReader(Reader):
    name = "dagster"
    oml_paths = {
        "dagster.schedule": ("schedule", "expression"),
        "dagster.job": ("name",),
        "dagster.ops": ("steps",),
        "dagster.run_config_ops": ("steps",),
        "dagster.retry_delay": ("schedule", "retry"),
        "dagster.max_runtime": ("schedule", "timeout"),
        "dagster.concurrency_key": ("schedule", "concurrency"),
        "dagster.lineage_recorded": ("metadata", "lineage"),
    }

    def expected(self, pipeline, granularity: str) -> dict[str, Any]:
        from omlc.metadata import check_ids
        from omlc.schedule.timetable import retry_delays
        from omlc.targets import step_names
        from omlc_dagster.target import PIPELINE_OP, dagster_name, dagster_schedule

        found = facts(pipeline, granularity)
        for key in NOT_CARRIED:
            found.pop(key, None)
        job = dagster_name(pipeline.name)
        found["dagster.job"] = job
        found["dagster.lineage_recorded"] = bool(found["metadata.lineage.upstream"] or found["metadata.lineage.downstream"])
        if granularity == "step":
            names = step_names(pipeline.steps)
            found["steps"] = op_order(pipeline)
            found["dagster.ops"] = sorted(f"{job}__{names[i]}" for i in found["steps"])
        else:
            found["dagster.ops"] = [f"{job}__{PIPELINE_OP}"]
        s = pipeline.schedule
        if s is not None:
            found["dagster.run_config_ops"] = sorted(found["dagster.ops"] + [f"{job}__{c}" for c in check_ids(pipeline)])
            delays = retry_delays(s.retry)
            found["dagster.retry_delay"] = delays[0] if delays else None
            found["dagster.max_runtime"] = str(s.timeout.nominal_seconds) if s.timeout is not None else None
            found["dagster.concurrency_key"] = job if s.concurrency is not None else None
            if s.type == "interval":  # cron: schedule.cron
                mapped = dagster_schedule(s)
                found["dagster.schedule"] = [mapped.expression, mapped.timezone, mapped.grid]
        return found

    def read(self, text: str, path: str) -> Readback:
        rb = Readback(path)
        source = Source(text, path, _wanted, self.name)
        if source.error is not None:
            rb.diagnostics.append(source.error)
            return rb
        _Walk(rb, source).run()
        return rb


class _Walk:
    def __init__(self, rb: Readback, source: Source) -> None:
        self.rb = rb
        self.source = source
        self.span = source.span
        self.put = rb.put
        self.ops: dict[str, dict] = {}  # function name -> name, step id, retries, delay and their nodes
        self.job = self.job_function = self.schedule = self.schedule_function = None
        self.lists: dict[str, Any] = {}  # OMLC_CHECKS, OMLC_UPSTREAM, OMLC_DOWNSTREAM: their libcst values
        self.sensors: dict[str, tuple] = {}  # function name -> decorator kind, call, function
        self.deployed: set[str] = set()
        self.assets = None  # the Definitions' assets= node
        self.invoked: list[str] = []  # the op functions the job invokes

    # -- helpers -----------------------------------------------------------------------
    def unreadable(self, what: str, node) -> None:
        self.rb.diagnostics.append(self.source.unreadable(what, node))

    def literal(self, name: str, *, required: bool = True) -> tuple[Any, Span] | None:
        """An ``OMLC_*`` literal and where its value is; None (and an OML702 when
        ``required``) when it is missing or not a literal."""
        if name not in self.source.literals:
            if required:
                self.rb.diagnostics.append(diag("OML702", f"[dagster] no {name} literal", Span(self.rb.path, 1, 1)))
            return None
        found, at = self.source.literals[name]
        if found is UNREADABLE:
            self.rb.diagnostics.append(diag("OML702", f"[dagster] cannot read {name}: not a literal", at))
            return None
        return found, at

    def keyword(self, call, name: str, default: Any, absent) -> tuple[Any, Any]:
        """A keyword argument's literal value and its node (``default`` and the node
        ``absent`` when the call does not pass it); UNREADABLE (reported) when it is not a
        literal."""
        node = keywords(call).get(name) if call is not None else None
        if node is None:
            return default, absent
        found = value(node)
        if found is UNREADABLE:
            self.unreadable(name, node)
        return found, node

    # -- the walk ----------------------------------------------------------------------
    def run(self) -> None:
        definitions = None
        for stmt in self.source.statements:
            if m.matches(stmt, _LIST_LITERAL):
                self.lists[stmt.body[0].targets[0].target.value] = stmt.body[0].value
                continue
            if m.matches(stmt, _DEFINITIONS):
                definitions = stmt.body[0].value
                continue
            if not m.matches(stmt, m.FunctionDef()):
                continue
            kind, call = _decorated(stmt)
            if kind.endswith("sensor"):
                self.sensors[stmt.name.value] = (kind, call, stmt)
            elif kind == "op":
                self.op(stmt, call)
            elif kind == "job":
                self.job, self.job_function = call, stmt
            elif kind == "schedule":
                self.schedule, self.schedule_function = call, stmt
        if self.job_function is None or definitions is None:
            self.rb.diagnostics.append(diag("OML702", "[dagster] no @dg.job(...) function or no `defs = "
                                                      "dg.Definitions(...)`", Span(self.rb.path, 1, 1)))
            return
        deployed = self.definitions(definitions)
        self.deployed = deployed
        name = self.literal("OMLC_PIPELINE")
        spec = self.literal("OMLC_SCHEDULE")
        if spec is not None and not isinstance(spec[0], dict):
            self.rb.diagnostics.append(diag("OML702", "[dagster] cannot read OMLC_SCHEDULE: not a dict", spec[1]))
            spec = None
        if name is None or spec is None:
            return
        self.put("name", name[0], name[1])
        self.job_facts()
        if self.job_function.name.value not in deployed:  # a job Dagster does not load
            self.put("dagster.job", None, self.span(definitions), "no job in defs")
        self.graph()
        if self.schedule_function is not None and self.schedule_function.name.value in deployed:
            self.schedule_facts(*spec)
            self.retry_facts()
        else:  # no schedule (or one Dagster does not load): the OML's schedule, if any, differs
            at = self.span(keywords(definitions).get("schedules", definitions) if self.schedule_function is not None
                           else self.job_function.name)
            for key in ("schedule.cron", "schedule.interval"):
                self.put(key, None, at, "no schedule")
        self.metadata(definitions)

    def definitions(self, call) -> set[str]:
        """The jobs and schedules ``defs = dg.Definitions(...)`` loads (function names)."""
        found: set[str] = set()
        self.assets = keywords(call).get("assets")
        for key in ("jobs", "schedules", "sensors"):
            node = keywords(call).get(key)
            if node is None:
                continue
            if not isinstance(node, (cst.List, cst.Tuple)):
                self.unreadable(f"the Definitions {key}", node)
                continue
            for element in node.elements:
                if isinstance(element.value, cst.Name):
                    found.add(element.value.value)
                else:
                    self.unreadable(f"the Definitions {key}", element.value)
        return found

    def op(self, stmt, call) -> None:
        """One op: its name, retry policy and the step id it runs."""
        name, name_node = self.keyword(call, "name", stmt.name.value, call or stmt.name)
        policy = keywords(call).get("retry_policy") if call is not None else None
        retries, delay, policy_node = 0, None, call or stmt
        if policy is not None:
            policy_kw = keywords(policy) if isinstance(policy, cst.Call) else {}
            if not m.matches(policy, _RETRY_POLICY) or positional(policy):
                self.unreadable("the retry policy", policy)
            else:
                retries, _ = self.keyword(policy, "max_retries", 1, policy)  # Dagster's default
                delay, _ = self.keyword(policy, "delay", None, policy)
                policy_node = policy_kw.get("max_retries", policy)
        for node in _calls(stmt, "omlc_run_check"):
            args = positional(node)
            index = value(args[1]) if len(args) == 2 else UNREADABLE
            if not isinstance(index, int):
                self.unreadable("the data check the op runs", node)
                return
            self.ops[stmt.name.value] = {"name": name, "name_node": name_node, "kind": "check", "step": "",
                                         "check": index, "retries": retries, "delay": delay, "policy": policy_node}
            return
        if _calls(stmt, "omlc_record_lineage"):  # the op that records metadata.lineage
            self.ops[stmt.name.value] = {"name": name, "name_node": name_node, "kind": "lineage", "step": "",
                                         "retries": retries, "delay": delay, "policy": policy_node}
            return
        step = None
        for node in _calls(stmt, "omlc_run_step"):
            args = positional(node)
            step = value(args[1]) if len(args) == 2 else UNREADABLE
            if not isinstance(step, str):
                self.unreadable("the step the op runs", node)
                return
            break
        if step is None:
            self.unreadable("the op (it does not call omlc_run_step)", stmt.name)
            return
        self.ops[stmt.name.value] = {"name": name, "name_node": name_node, "kind": "step", "step": step,
                                     "retries": retries, "delay": delay, "policy": policy_node}

    def job_facts(self) -> None:
        job, put, span = self.job, self.put, self.span
        at = job or self.job_function.name
        name, node = self.keyword(job, "name", self.job_function.name.value, at)
        put("dagster.job", name, span(node))
        description, node = self.keyword(job, "description", None, at)
        put("description", description, span(node))
        described = None
        metadata = keywords(job).get("metadata") if job is not None else None
        if isinstance(metadata, cst.Dict):
            for element in metadata.elements:
                if isinstance(element, cst.DictElement) and value(element.key) == "description":
                    at = element.value
                    described = element.value
                    if isinstance(described, cst.Call) and dotted(described.func).rpartition(".")[2] in ("md", "text") \
                            and len(positional(described)) == 1:
                        described = value(positional(described)[0])
                    else:
                        described = value(described)
                    if described is UNREADABLE:
                        self.unreadable("the metadata description", element.value)
        elif metadata is not None:
            self.unreadable("the job metadata", metadata)
        put("metadata.description", described, span(at))
        self.tags(keywords(job).get("tags") if job is not None else None)

    def tags(self, node) -> None:
        """The job's tags (:func:`omlc_dagster.target.dagster_tags`): ``owner``, ``team``
        and ``criticality`` with a value; OML tags as keys with an empty value, or as the
        value of ``omlc/tag.<n>``; omlc's own keys."""
        from omlc_dagster.target import CONCURRENCY_TAG, MAX_RUNTIME_TAG, PIPELINE_TAG

        put, span = self.put, self.span
        at = node if node is not None else self.job or self.job_function.name
        found: dict[str, tuple[Any, Any]] = {}
        plain: list[str] = []
        first_plain = None
        if node is not None and not isinstance(node, cst.Dict):
            self.unreadable("the job tags", node)
            return
        for element in node.elements if node is not None else []:
            key = value(element.key) if isinstance(element, cst.DictElement) else UNREADABLE
            item = value(element.value) if isinstance(element, cst.DictElement) else UNREADABLE
            if not isinstance(key, str) or not isinstance(item, str):
                self.unreadable("a job tag", element)
                continue
            if item == "":  # a plain tag (also one named like omlc's keys: those have values)
                plain.append(key)
            elif key in _PREFIXED or key in (MAX_RUNTIME_TAG, CONCURRENCY_TAG, PIPELINE_TAG):
                found.setdefault(key, (item, element.value))
                continue
            elif key.startswith("omlc/tag.") and key[len("omlc/tag."):].isdigit():
                plain.append(item)
            else:  # a key=value tag OML cannot say: shown as such, so it differs
                plain.append(f"{key}={item}")
            first_plain = first_plain or element
        for key in _PREFIXED:
            item, where = found.get(key, (None, at))
            put(f"metadata.{key}", item, span(where))
        put("metadata.tags", list(dict.fromkeys(plain)), span(first_plain or at))
        if self.schedule_function is not None:
            for key, tag in (("dagster.max_runtime", MAX_RUNTIME_TAG), ("dagster.concurrency_key", CONCURRENCY_TAG)):
                item, where = found.get(tag, (None, at))
                put(key, item, span(where))

    def graph(self) -> None:
        """The op invocations of the job function: steps, each step's upstream steps, and
        the op names."""
        put, span = self.put, self.span
        done: dict[str, str] = {}  # the variable an invocation's result is assigned to -> op function
        invoked: list[tuple[str, list[str], Any]] = []  # op function, upstream op functions, call
        for line in self.job_function.body.body:
            small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
            if isinstance(small, cst.Pass) or isinstance(small, cst.Expr) and isinstance(
                    small.value, (cst.SimpleString, cst.ConcatenatedString)):
                continue  # a docstring, pass
            call = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
            op = call.func.value if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) else None
            if op not in self.ops:
                self.unreadable("the job's op invocation", line)
                continue
            ups: list[str] = []
            for arg in call.args:
                names = arg.value.elements if isinstance(arg.value, (cst.List, cst.Tuple)) else [arg]
                for item in names:
                    if isinstance(item.value, cst.Name) and item.value.value in done:
                        ups.append(done[item.value.value])
                    else:
                        self.unreadable("an op's input", item.value)
            if isinstance(small, cst.Assign):
                if len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
                    self.unreadable("the job's op invocation", line)
                    continue
                done[small.targets[0].target.value] = op
            invoked.append((op, ups, call))
        self.invoked = [op for op, _, _ in invoked]
        ops = [o for o in self.ops.values() if o["kind"] == "step"]
        if ops:
            job = self.rb.facts.get("dagster.job")
            odd = next((o for f, o in self.ops.items() if o["kind"] == "step" and o["name"] != f"{job}__{f}"), ops[0])
            put("dagster.ops", sorted(str(o["name"]) for o in ops), span(odd["name_node"]))
        run_config = self.literal("OMLC_OPS", required=self.schedule_function is not None)
        if run_config is not None and self.schedule_function is not None:
            found = run_config[0]
            put("dagster.run_config_ops", sorted(found) if isinstance(found, list) else found, run_config[1])
        steps = [(self.ops[op], ups, call) for op, ups, call in invoked if self.ops[op]["step"]]
        if not steps:
            return
        self.rb.granularity = "step"
        put("steps", [o["step"] for o, _, _ in steps], span(steps[0][2]))
        for o, ups, call in steps:
            put(f"steps.{o['step']}.needs", sorted(self.ops[u]["step"] for u in ups), span(call))

    def schedule_facts(self, spec: dict, spec_span: Span) -> None:
        from omlc.schedule.cron import CronError, parse_cron
        from omlc.schedule.timetable import cron_fields

        put, span, call = self.put, self.span, self.schedule
        at = call or self.schedule_function.name
        cron, cron_node = self.keyword(call, "cron_schedule", None, at)
        tz, tz_node = self.keyword(call, "execution_timezone", "UTC", at)
        if cron is UNREADABLE or tz is UNREADABLE:
            return
        try:
            fields = cron_fields(parse_cron(cron))
        except (CronError, TypeError, AttributeError):
            self.unreadable("the cron schedule", cron_node)
            return
        self.rb.extra["expression"] = cron
        checks = _checked_names(self.schedule_function)
        if "interval" in spec:
            put("dagster.schedule", [cron, tz, "omlc_prev_fire" in checks], span(at))
            put("schedule.interval", spec["interval"], spec_span)
            put("schedule.timezone", spec.get("timezone"), spec_span)
        else:
            put("schedule.cron", fields, span(cron_node), repr(cron))
            put("schedule.timezone", tz, span(tz_node))
        for name, key in (("OMLC_START", "schedule.start_date"), ("OMLC_END", "schedule.end_date")):
            found = self.literal(name)
            if found is None:
                continue
            moment, at = found
            if moment is not None and name not in checks:  # a literal the schedule does not check
                moment, at = None, span(self.schedule_function.name)
            put(key, moment, at)
        for name, key in (("OMLC_TIMEOUT", "schedule.timeout"), ("OMLC_RETRY_DELAYS", "schedule.retry.delays")):
            found = self.literal(name)
            if found is not None:
                put(key, found[0], found[1])
        put("schedule.window", spec.get("window"), spec_span)

    def metadata(self, definitions) -> None:
        """The facts of omlc.metadata.metadata_facts (see the module docstring)."""
        import json

        from omlc.lineage import asset_key
        from omlc.metadata import EVENTS

        put, span = self.put, self.span
        at_defs = span(definitions)
        literals = self.source.literals
        checks = self.lists.get("OMLC_CHECKS")
        run = {o["check"] for f, o in self.ops.items() if o["kind"] == "check" and f in self.invoked}
        tests, where = [], []
        if checks is not None and not isinstance(checks, cst.List):
            self.unreadable("OMLC_CHECKS", checks)
        for i, element in enumerate(checks.elements if isinstance(checks, cst.List) else []):
            if i not in run:  # a row no check op of the job runs
                continue
            row = value(element.value)
            try:
                tests.append(json.loads(row[2]["OMLC_TEST_SPEC"]))
                where.append(span(element))
            except (TypeError, KeyError, IndexError, ValueError):
                self.unreadable("a data check", element)
        put("metadata.tests", tests, span(checks) if checks is not None else at_defs, items=where)
        # the sensors defs loads that watch this job
        job = self.job_function.name.value
        active: dict[str, Any] = {}
        for function, (kind, call, stmt) in self.sensors.items():
            if function not in self.deployed:
                continue
            kw = keywords(call) if call is not None else {}
            if kind == "sensor":
                active.setdefault("sla", stmt)
                continue
            monitored = kw.get("monitored_jobs")
            if not any(isinstance(e.value, cst.Name) and e.value.value == job
                       for e in getattr(monitored, "elements", [])):
                continue
            if kind == "run_failure_sensor":
                active.setdefault("on_failure", stmt)
            elif dotted(kw["run_status"]).rpartition(".")[2] == "SUCCESS" if "run_status" in kw else False:
                active.setdefault("on_success", stmt)
        at_sensors = span(keywords(definitions).get("sensors", definitions))
        sla = literals.get("OMLC_SLA")
        if sla is not None and "sla" in active:
            put("metadata.sla", sla[0], sla[1])
        else:
            put("metadata.sla", None, at_sensors)
        for event in EVENTS:
            found = literals.get(f"OMLC_{event.upper()}")
            if found is None:
                put(f"metadata.notifications.{event}", [], at_defs)
                continue
            watcher = "sla" if event == "on_sla_breach" else event
            if watcher in active or event == "on_sla_breach" and sla is None:  # no SLA: kept, nothing to breach
                put(f"metadata.notifications.{event}", found[0], found[1])
            else:  # no sensor sends it
                put(f"metadata.notifications.{event}", [], at_sensors)
        # lineage: the asset specs defs loads, and whether the job runs the op that records it
        recorder = next((f for f, o in self.ops.items() if o["kind"] == "lineage"), None)
        put("dagster.lineage_recorded", recorder in self.invoked,
            span(self.ops[recorder]["name_node"]) if recorder is not None else span(self.job_function.name))
        loaded = isinstance(self.assets, cst.Call) and dotted(self.assets.func) == "omlc_assets"
        if self.assets is not None and not loaded:
            self.unreadable("the Definitions assets", self.assets)
        for direction in ("upstream", "downstream"):
            node = self.lists.get(f"OMLC_{direction.upper()}")
            refs, where = [], []
            if node is not None and not isinstance(node, cst.List):
                self.unreadable(f"OMLC_{direction.upper()}", node)
            for element in node.elements if isinstance(node, cst.List) and loaded else []:
                row = value(element.value)
                if not (isinstance(row, tuple) and len(row) == 3 and isinstance(row[0], list)
                        and isinstance(row[1], str) and isinstance(row[2], str)):
                    self.unreadable("a lineage asset", element)
                    continue
                key, kind, name = row
                refs.append([kind, name] if asset_key(kind.strip(), name.strip()) == key else key)
                where.append(span(element))
            put(f"metadata.lineage.{direction}", refs,
                span(node) if node is not None and loaded else span(self.assets) if loaded else at_defs, items=where)

    def retry_facts(self) -> None:
        """Every op's retry policy: the number of retries and the first delay, where all
        ops agree; else the odd op's."""
        ops = [o for o in self.ops.values() if o["kind"] == "step"]  # checks and the lineage op are not retried
        for key, field in (("schedule.retry.attempts", "retries"), ("dagster.retry_delay", "delay")):
            if not ops:
                continue
            values = [o[field] for o in ops]
            if all(v == values[0] for v in values):
                self.put(key, values[0], self.span(ops[0]["policy"]))
                continue
            odd = min(reversed(ops), key=lambda o: values.count(o[field]))
            others = sorted({repr(v) for v in values if v != odd[field]})
            self.put(key, sorted(set(values), key=repr), self.span(odd["policy"]),
                     f"{odd[field]!r} in the op {odd['name']!r} and {', '.join(others)} in the others")


_CALL_STATEMENT = m.SimpleStatementLine(body=[m.Expr(value=m.Call(func=m.Name()))])


def _calls(function, name: str) -> list:
    """The calls of the function ``name`` that are statements of ``function``'s body."""
    return [line.body[0].value for line in function.body.body
            if m.matches(line, _CALL_STATEMENT) and line.body[0].value.func.value == name]


def _checked_names(function) -> set[str]:
    """The names in the conditions of ``function``'s top-level ``if`` statements."""
    found: set[str] = set()
    stack = [line.test for line in function.body.body if isinstance(line, cst.If)]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.add(node.value)
        else:
            stack.extend(node.children)
    return found
