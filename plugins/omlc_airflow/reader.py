"""Reading a DAG file back (libcst): the facts of :mod:`omlc.readback` from the operative code.

What is read: the ``DAG(...)`` call of the ``with`` statement (dag_id, description,
doc_md, schedule, start_date, end_date, catchup, max_active_runs, dagrun_timeout, tags,
default_args with owner, retries, retry_delay and the retry policy's delay list; the
notifiers of on_failure_callback and on_success_callback; each DeadlineAlert's reference,
interval and callback), the ``OMLC_SCHEDULE`` literal the runtime computes windows from,
the BashOperator tasks (task_id, OMLC_STEP_ID; a check task's OMLC_TEST_SPEC; inlets and
outlets) and the ``>>`` edges. A notifier's target is its ``to=`` (email), the ``channel:``
line of its ``text=`` (Slack) or its ``component=`` (PagerDuty); values from OML are read
with the target's Jinja escaping undone. Values are read as literals; nothing is executed
and Airflow is not imported. Anything else in the file is ignored.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import libcst as cst  # a reader module is imported only to read code
import libcst.matchers as m

from omlc.cstread import UNREADABLE, assigned_name, call_to, callee, dotted, split_tags
from omlc.diagnostics import Span, diag
from omlc.readback import Reader, Readback, facts



class AirflowReader(Reader):
    name = "airflow"
    oml_paths = {"airflow.timetable": ("schedule", "expression"), "airflow.deadline_reference": ("metadata", "sla")}

    def expected(self, pipeline, granularity: str) -> dict[str, Any]:
        from omlc_airflow.target import airflow_schedule

        found = facts(pipeline, granularity)
        if found["metadata.sla"] is not None:
            found["airflow.deadline_reference"] = DEADLINE_REFERENCE
        if pipeline.schedule is not None and pipeline.schedule.type == "interval":  # cron: schedule.cron
            mapped = airflow_schedule(pipeline.schedule)
            found["airflow.timetable"] = (["cron", mapped.expression, mapped.timezone] if mapped.kind == "cron"
                                          else ["delta", mapped.seconds])
        return found

    def migrate(self, text: str, path: str, dag_id: str | None = None):
        """OML from a DAG omlc did not write (:mod:`omlc_airflow.migrate`): the document
        (or None) and the located findings."""
        from omlc_airflow.migrate import migrate

        return migrate(text, path, dag_id)

    def read(self, text: str, path: str) -> Readback:
        """The facts of one DAG file: the ``with DAG(...)`` blocks go through libcst, the
        ``OMLC_SCHEDULE`` literal through ast; the rest (the embedded runtime, imports) is
        only checked to be Python."""
        from omlc.cstread import UNREADABLE, Source

        rb = Readback(path)
        source = Source(text, path, _is_dag_block, self.name)
        if source.error is not None:
            rb.diagnostics.append(source.error)
            return rb
        walk = _Walk(rb, source)
        if "OMLC_SCHEDULE" in source.literals:
            spec, walk.spec_span = source.literals["OMLC_SCHEDULE"]
            if isinstance(spec, dict) and spec is not UNREADABLE:
                walk.spec = spec
            else:
                rb.diagnostics.append(diag("OML702", "[airflow] cannot read OMLC_SCHEDULE: not a literal dict",
                                           walk.spec_span))
        walk.run()
        return rb


DEADLINE_REFERENCE = "DAGRUN_LOGICAL_DATE"  # the fire time of a run of the generated timetables
NOTIFIER_CHANNELS = {"SmtpNotifier": "email", "SlackWebhookNotifier": "slack", "PagerdutyNotifier": "pagerduty"}
_TARGET_ARGUMENT = {"email": "to", "slack": "text", "pagerduty": "component"}
_JINJA_ESCAPED = re.compile(r"\{\{ '(\{|\\r)' \}\}")
_SLACK_CHANNEL = re.compile(r"^channel: (.*)$", re.M)
_URI_ESCAPE = re.compile(r"(?:~[0-9A-F]{2})+")
# what the reader recognises (libcst matchers)
_DAG = call_to("DAG")
_NOTIFIER = call_to(*NOTIFIER_CHANNELS)
_DEADLINE = call_to("DeadlineAlert")
_ASSET = call_to("Asset")
_TASK = m.Assign(targets=[m.AssignTarget(target=m.Name())], value=m.Call())  # t = Operator(task_id=..., ...)
_CHAIN = m.Expr(value=m.BinaryOperation(operator=m.RightShift()))  # a >> b >> [c, d]


def unescape_jinja(text: str) -> str:
    """What a Jinja-escaped value (:func:`omlc.codegen.jinja_escape`) renders to."""
    return _JINJA_ESCAPED.sub(lambda m: "{" if m.group(1) == "{" else "\r", text)


def lineage_ref(uri: Any, extra: Any) -> tuple[str, str] | None:
    """``(kind, name)`` of an omlc asset URI (omlc.lineage.asset_uri undone), or None.
    A URI that ends in a hash carries the reference in ``extra["omlc_ref"]``."""
    from omlc.lineage import URI_SCHEME

    if not isinstance(uri, str) or not uri.startswith(URI_SCHEME + "://"):
        return None
    kind, slash, text = uri[len(URI_SCHEME) + 3:].partition("/")
    if not slash or not kind:
        return None
    if "~~" in text:
        ref = extra.get("omlc_ref") if isinstance(extra, dict) else None
        if not isinstance(ref, str) or not ref.startswith(kind + ": "):
            return None
        return kind, ref[len(kind) + 2:]
    try:
        return kind, _URI_ESCAPE.sub(lambda m: bytes.fromhex(m.group(0).replace("~", "")).decode("utf-8"), text)
    except UnicodeDecodeError:
        return None


def _is_dag_block(node) -> bool:
    import ast

    def name(func) -> str:
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""

    return isinstance(node, ast.With) and any(
        isinstance(item.context_expr, ast.Call) and name(item.context_expr.func) == "DAG" for item in node.items)


class _Walk:
    def __init__(self, rb: Readback, source) -> None:
        self.rb = rb
        self.source = source
        self.span = source.span
        self.spec: dict | None = None
        self.spec_span: Span | None = None
        self.tasks: dict[str, dict] = {}  # variable -> {"id", "step", "span"}
        self.edges: list[tuple[str, str, Span]] = []
        self.dag_span: Span | None = None
        self.checks: list[tuple[Any, Span]] = []  # each check task's test spec, where it is
        self.lineage: dict[str, list[tuple[list, Span]]] = {"inlets": [], "outlets": []}

    def value(self, node) -> Any:
        """A literal, a timedelta(...) in seconds, a pendulum.datetime(...) as a UTC ISO instant."""
        from omlc.cstread import dotted, value

        if isinstance(node, cst.Call) and dotted(node.func) in ("pendulum.datetime", "datetime"):
            return _instant(self, node)
        return value(node)

    def unreadable(self, what: str, node) -> None:
        self.rb.diagnostics.append(self.source.unreadable(what, node))

    # -- the walk ----------------------------------------------------------------------
    def run(self) -> None:
        found_dag = False
        for stmt in self.source.statements:
            if m.matches(stmt, m.With()):
                for item in stmt.items:
                    call = item.item
                    if m.matches(call, _DAG):
                        found_dag = True
                        self.dag(call)
                        self.body(stmt.body.body)
        if not found_dag:
            self.rb.diagnostics.append(diag("OML702", "[airflow] no `with DAG(...)` block", Span(self.rb.path, 1, 1)))
            return
        if self.spec is not None and "window" in self.spec:
            self.rb.put("schedule.window", self.spec["window"], self.spec_span)
        elif self.spec is not None and "schedule.timezone" in self.rb.facts:
            self.rb.put("schedule.window", None, self.spec_span)
        self.metadata_facts()
        steps = [t for t in self.tasks.values() if t["step"]]
        if steps:
            self.rb.granularity = "step"
            ids = {var: t["id"] for var, t in self.tasks.items() if t["step"]}
            needs: dict[str, set] = {t["id"]: set() for t in steps}
            where = {t["id"]: t["span"] for t in steps}  # a step's first edge in, else its task_id
            for up, down, span in reversed(self.edges):
                if up in ids and down in ids:
                    needs[ids[down]].add(ids[up])
                    where[ids[down]] = span
            self.rb.put("steps", [t["id"] for t in steps], min(where.values(), key=lambda s: (s.line, s.col)))
            for t in steps:
                self.rb.put(f"steps.{t['id']}.needs", sorted(needs[t["id"]]), where[t["id"]])

    def dag(self, call) -> None:
        put = self.rb.put
        args = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        for keyword, key in (("dag_id", "name"), ("description", "description")):
            if keyword in args:
                put(key, self.value(args[keyword]), self.span(args[keyword]))
        if "description" not in args:
            put("description", None, self.span(call))
        doc = self.value(args["doc_md"]) if "doc_md" in args else None
        if isinstance(doc, str) and doc.endswith(".md\n"):
            doc = doc[:-1]  # the target's newline that keeps Airflow from reading a file name
        put("metadata.description", doc, self.span(args.get("doc_md", call)))
        if "schedule" in args:
            self.schedule(args["schedule"], args)
        tags = self.value(args["tags"]) if "tags" in args else []
        if isinstance(tags, list):
            at = self.span(args.get("tags", call))
            plain, prefixed = split_tags(tags)
            put("metadata.tags", plain, at)
            put("metadata.team", prefixed.get("team"), at)
            put("metadata.criticality", prefixed.get("criticality"), at)
        defaults = args.get("default_args")
        if defaults is not None:
            self.default_args(defaults)
        self.dag_span = self.span(call)
        for event in ("on_failure", "on_success"):
            node = args.get(f"{event}_callback")
            targets, items = self.notifiers(node) if node is not None else ([], [])
            put(f"metadata.notifications.{event}", targets, self.span(node if node is not None else call), items=items)
        self.deadlines(args.get("deadline"), call)

    def schedule(self, node, args) -> None:
        put = self.rb.put
        if isinstance(node, cst.Name) and node.value == "None":
            return
        at = self.span(node)
        if not isinstance(node, cst.Call):
            self.unreadable("the schedule", node)
            return
        kind = dotted(node.func).split(".")[-1]
        pos = [a.value for a in node.args if a.keyword is None]
        kw = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        if kind == "CronTriggerTimetable" and pos:
            from omlc.schedule.cron import CronError, parse_cron
            from omlc.schedule.timetable import cron_fields

            expr, tz = self.value(pos[0]), self.value(kw["timezone"]) if "timezone" in kw else "UTC"
            try:
                fields = cron_fields(parse_cron(expr))
            except (CronError, TypeError, AttributeError):
                self.unreadable("the cron expression", pos[0])
                return
            self.rb.extra["expression"] = expr
            if self.spec is not None and "interval" in self.spec:
                put("airflow.timetable", ["cron", expr, tz], at)
            else:
                put("schedule.cron", fields, self.span(pos[0]), repr(expr))
                put("schedule.timezone", tz, self.span(kw.get("timezone", node)))
        elif kind == "DeltaTriggerTimetable" and pos:
            put("airflow.timetable", ["delta", self.value(pos[0])], at)
        else:
            self.unreadable("the schedule", node)
            return
        if self.spec is not None and "interval" in self.spec:
            put("schedule.interval", self.spec["interval"], self.spec_span)
            put("schedule.timezone", self.spec.get("timezone"), self.spec_span)
        for keyword, key in (("start_date", "schedule.start_date"), ("end_date", "schedule.end_date")):
            value = self.value(args[keyword]) if keyword in args else None
            if value is UNREADABLE:
                self.unreadable(keyword, args[keyword])
                continue
            if key == "schedule.start_date" and _is_default_start(self, args[keyword]):
                value = None  # the target's start_date when OML gives none
            put(key, value, self.span(args.get(keyword, node)))
        for keyword, key in (("catchup", "schedule.catchup"), ("max_active_runs", "schedule.concurrency"),
                             ("dagrun_timeout", "schedule.timeout")):
            value = self.value(args[keyword]) if keyword in args else (False if keyword == "catchup" else None)
            put(key, value, self.span(args.get(keyword, node)))

    def default_args(self, node) -> None:
        if not isinstance(node, cst.Dict):
            self.unreadable("default_args", node)
            return
        entries = {}
        for el in node.elements:
            if isinstance(el, cst.DictElement):
                key = self.value(el.key)
                if isinstance(key, str):
                    entries[key] = el.value
        put = self.rb.put
        if "owner" in entries:
            put("metadata.owner", self.value(entries["owner"]), self.span(entries["owner"]))
        else:
            put("metadata.owner", None, self.span(node))
        if "schedule.timezone" not in self.rb.facts and "schedule.interval" not in self.rb.facts:
            return  # no schedule: OML keeps retries in the schedule block
        attempts = self.value(entries["retries"]) if "retries" in entries else 0
        put("schedule.retry.attempts", attempts, self.span(entries.get("retries", node)))
        policy = entries.get("retry_policy")
        if isinstance(policy, cst.Call) and policy.args:
            delays = self.value(policy.args[0].value)
            put("schedule.retry.delays", delays, self.span(policy.args[0].value))
        elif "retry_delay" in entries and isinstance(attempts, int):
            delay = self.value(entries["retry_delay"])
            put("schedule.retry.delays", [delay] * attempts, self.span(entries["retry_delay"]))
        else:
            put("schedule.retry.delays", [0] * attempts if isinstance(attempts, int) else [], self.span(node))

    # -- metadata: notifiers, deadlines, checks, lineage ----------------------------
    def notifiers(self, node) -> tuple[list, list]:
        """``[SmtpNotifier(...), ...]`` (or one notifier): the [channel, target] pairs, and
        where each target is."""
        calls = [e.value for e in node.elements] if isinstance(node, (cst.List, cst.Tuple)) else [node]
        targets, items = [], []
        for call in calls:
            if not m.matches(call, _NOTIFIER):
                self.unreadable("a notifier", call)
                continue
            channel = NOTIFIER_CHANNELS[callee(call)]
            kw = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
            self.target(channel, kw, call, targets, items)
        return targets, items

    def target(self, channel: str, kw: dict, call, targets: list, items: list) -> None:
        """The [channel, target] pairs of one notifier's arguments (keyword -> node)."""
        node = kw.get(_TARGET_ARGUMENT[channel])
        raw = self.value(node) if node is not None else None
        if channel == "email" and isinstance(raw, (str, list)) and all(isinstance(x, str) for x in raw):
            # to= one address, a list, or addresses separated by , or ; (Airflow's SmtpHook splits them)
            found = [a.strip() for x in ([raw] if isinstance(raw, str) else raw)
                     for a in re.split(r"[,;]", unescape_jinja(x)) if a.strip()]
        elif channel == "slack" and isinstance(raw, str) and _SLACK_CHANNEL.search(unescape_jinja(raw)):
            found = [_SLACK_CHANNEL.search(unescape_jinja(raw)).group(1)]
        elif channel != "slack" and isinstance(raw, str):
            found = [unescape_jinja(raw)]
        else:
            self.unreadable(f"the {channel} target", node if node is not None else call)
            return
        for value in found:
            targets.append([channel, value])
            items.append(self.span(node))

    def deadlines(self, node, call) -> None:
        """``deadline=[DeadlineAlert(...), ...]``: the SLA (every alert has the same
        interval), its reference, and the on_sla_breach targets of the callbacks."""
        put = self.rb.put
        alerts = [] if node is None else [e.value for e in node.elements] if isinstance(node, (cst.List, cst.Tuple)) \
            else [node]
        intervals, references, targets, items = [], [], [], []
        for alert in alerts:
            if not m.matches(alert, _DEADLINE):
                self.unreadable("a deadline", alert)
                continue
            kw = {a.keyword.value: a.value for a in alert.args if a.keyword is not None}
            interval = self.value(kw["interval"]) if "interval" in kw else UNREADABLE
            if not isinstance(interval, (int, float)) or isinstance(interval, bool):
                self.unreadable("the deadline interval", kw.get("interval", alert))
                continue
            intervals.append((interval, self.span(kw["interval"])))
            reference = kw.get("reference")
            references.append((dotted(reference).split(".")[-1] if reference is not None else None,
                               self.span(reference if reference is not None else alert)))
            callback = kw.get("callback")
            if not isinstance(callback, cst.Call) or not callback.args:
                self.unreadable("the deadline callback", callback if callback is not None else alert)
                continue
            name = dotted(callback.args[0].value)
            channel = NOTIFIER_CHANNELS.get(name.split(".")[-1])
            if channel is None:
                if name != "asyncio.sleep":  # the target's callback when nobody is to be told
                    self.unreadable("the deadline callback", callback)
                continue
            arguments = next((a.value for a in callback.args if a.keyword is not None and a.keyword.value == "kwargs"),
                             None)
            if not isinstance(arguments, cst.Dict):
                self.unreadable("the deadline callback's kwargs", callback)
                continue
            entries = {}
            for el in arguments.elements:
                key = self.value(el.key) if isinstance(el, cst.DictElement) else None
                if isinstance(key, str):
                    entries[key] = el.value
            self.target(channel, entries, callback, targets, items)
        where = self.span(node if node is not None else call)
        values = [v for v, _ in intervals]
        if not values:
            put("metadata.sla", None, where)
        elif len(set(values)) == 1:
            put("metadata.sla", values[0], intervals[0][1])
        else:  # a hand edit of one alert: the fact is every interval, at the first that differs
            put("metadata.sla", values, next(s for v, s in intervals if v != values[0]))
        names = [r for r, _ in references]
        if len(set(names)) == 1:
            put("airflow.deadline_reference", names[0], references[0][1])
        elif names:
            put("airflow.deadline_reference", names, next(s for r, s in references if r != names[0]))
        put("metadata.notifications.on_sla_breach", targets, where, items=items)

    def metadata_facts(self) -> None:
        """The data tests (the check tasks' specs, in file order) and the lineage (inlets
        and outlets of the tasks, each asset once, the pipeline's own asset left out)."""
        import json

        from omlc.lineage import PIPELINE

        put = self.rb.put
        at = self.dag_span or Span(self.rb.path, 1, 1)
        specs = []
        for raw, span in self.checks:
            try:
                specs.append(json.loads(unescape_jinja(raw)) if isinstance(raw, str) else UNREADABLE)
            except ValueError:
                specs.append(UNREADABLE)
            if specs[-1] is UNREADABLE:
                self.rb.diagnostics.append(diag("OML702", "[airflow] cannot read OMLC_TEST_SPEC: not the JSON of a "
                                                          "data test", span))
        put("metadata.tests", [x for x in specs if x is not UNREADABLE],
            self.checks[0][1] if self.checks else at, items=[s for _, s in self.checks])
        own = (PIPELINE, self.rb.facts.get("name"))
        for side, direction in (("inlets", "upstream"), ("outlets", "downstream")):
            refs, items = [], []
            for ref, span in (pair for task in self.lineage[side] for pair in zip(*task) if pair):
                if list(ref) not in refs and not (side == "outlets" and tuple(ref) == own):
                    refs.append(list(ref))
                    items.append(span)
            put(f"metadata.lineage.{direction}", refs, items[0] if items else at, items=items)

    def assets(self, node) -> tuple[list, list]:
        """``[Asset('omlc://kind/name'), ...]``: the references and where each is."""
        refs, spans = [], []
        for element in node.elements if isinstance(node, (cst.List, cst.Tuple)) else [None]:
            call = element.value if element is not None else node
            if not m.matches(call, _ASSET):
                self.unreadable("an asset", call)
                continue
            kw = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
            pos = [a.value for a in call.args if a.keyword is None]
            uri = self.value(pos[0] if pos else kw.get("uri", call))
            ref = lineage_ref(uri, self.value(kw["extra"]) if "extra" in kw else None)
            if ref is None:
                self.unreadable("an asset (not an omlc lineage URI)", call)
                continue
            refs.append(ref)
            spans.append(self.span(call))
        return refs, spans

    def body(self, statements) -> None:
        for stmt in statements:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if m.matches(small, _TASK):
                    self.task(assigned_name(small), small.value)
                elif m.matches(small, _CHAIN):
                    self.chain(small.value)

    def task(self, var: str | None, call) -> None:
        kw = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        if var is None or "task_id" not in kw:
            return
        env = self.value(kw["env"]) if "env" in kw else {}
        step = env.get("OMLC_STEP_ID", "") if isinstance(env, dict) else ""
        self.tasks[var] = {"id": self.value(kw["task_id"]), "step": bool(step), "span": self.span(kw["task_id"])}
        if isinstance(env, dict) and "OMLC_TEST_SPEC" in env:
            node = kw["env"]
            spec = next((el.value for el in node.elements if isinstance(node, cst.Dict)
                         and isinstance(el, cst.DictElement) and self.value(el.key) == "OMLC_TEST_SPEC"), node)
            self.checks.append((env["OMLC_TEST_SPEC"], self.span(spec)))
        for side in ("inlets", "outlets"):
            if side in kw:
                self.lineage[side].append(self.assets(kw[side]))

    def chain(self, node) -> None:
        """``a >> b >> [c, d]``: edges from each operand's tasks to the next one's."""
        operands = []

        def flatten(n):
            if isinstance(n, cst.BinaryOperation) and isinstance(n.operator, cst.RightShift):
                flatten(n.left)
                flatten(n.right)
            else:
                operands.append(n)

        flatten(node)
        groups = []
        for op in operands:
            if isinstance(op, cst.Name):
                groups.append([op.value])
            elif isinstance(op, (cst.List, cst.Tuple)):
                groups.append([e.value.value for e in op.elements if isinstance(e.value, cst.Name)])
            else:
                return
        span = self.span(node)
        for ups, downs in zip(groups, groups[1:]):
            self.edges.extend((u, d, span) for u in ups for d in downs)


def _instant(walk: _Walk, call) -> Any:
    """pendulum.datetime(y, m, d[, h, mi, s], tz=...) as a UTC ISO instant."""
    parts = [walk.value(a.value) for a in call.args if a.keyword is None]
    kw = {a.keyword.value: walk.value(a.value) for a in call.args if a.keyword is not None}
    if not all(isinstance(p, int) for p in parts) or not 3 <= len(parts) <= 6:
        return UNREADABLE
    from omlc.schedule.engine import zone
    from omlc.schedule.timetable import resolve_wall

    try:
        tz = zone(kw.get("tz", "UTC"))
        return resolve_wall(datetime(*parts), tz).astimezone(timezone.utc).isoformat()
    except (ValueError, TypeError, KeyError, LookupError):
        return UNREADABLE


def _is_default_start(walk: _Walk, call) -> bool:
    """``pendulum.datetime(2000, 1, 1, tz=...)``: what the target writes when OML has no
    start_date (local midnight of 2000-01-01, any zone)."""
    from omlc.schedule.timetable import INTERVAL_ANCHOR

    if not isinstance(call, cst.Call):
        return False
    parts = [walk.value(a.value) for a in call.args if a.keyword is None]
    return parts == [INTERVAL_ANCHOR.year, INTERVAL_ANCHOR.month, INTERVAL_ANCHOR.day]


