"""Reading a DAG file back (libcst): the facts of :mod:`omlc.readback` from the operative code.

What is read: the ``DAG(...)`` call of the ``with`` statement (dag_id, description,
doc_md, schedule, start_date, end_date, catchup, max_active_runs, dagrun_timeout, tags,
default_args with owner, retries, retry_delay and the retry policy's delay list), the
``OMLC_SCHEDULE`` literal the runtime computes windows from, the BashOperator tasks
(task_id, OMLC_STEP_ID) and the ``>>`` edges. Values are read as literals; nothing is
executed and Airflow is not imported. Anything else in the file is ignored.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from omlc.cstread import UNREADABLE, assigned_name, dotted, split_tags
from omlc.diagnostics import Span, diag
from omlc.readback import Reader, Readback, facts



class AirflowReader(Reader):
    name = "airflow"
    oml_paths = {"airflow.timetable": ("schedule", "expression")}

    def expected(self, pipeline, granularity: str) -> dict[str, Any]:
        from omlc_airflow.target import airflow_schedule

        found = facts(pipeline, granularity)
        if pipeline.schedule is not None and pipeline.schedule.type == "interval":  # cron: schedule.cron
            mapped = airflow_schedule(pipeline.schedule)
            found["airflow.timetable"] = (["cron", mapped.expression, mapped.timezone] if mapped.kind == "cron"
                                          else ["delta", mapped.seconds])
        return found

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

    def value(self, node) -> Any:
        """A literal, a timedelta(...) in seconds, a pendulum.datetime(...) as a UTC ISO instant."""
        import libcst as cst

        from omlc.cstread import dotted, value

        if isinstance(node, cst.Call) and dotted(node.func) in ("pendulum.datetime", "datetime"):
            return _instant(self, node)
        return value(node)

    def unreadable(self, what: str, node) -> None:
        self.rb.diagnostics.append(self.source.unreadable(what, node))

    # -- the walk ----------------------------------------------------------------------
    def run(self) -> None:
        import libcst as cst

        found_dag = False
        for stmt in self.source.statements:
            if isinstance(stmt, cst.With):
                for item in stmt.items:
                    call = item.item
                    if isinstance(call, cst.Call) and dotted(call.func).split(".")[-1] == "DAG":
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
        steps = [t for t in self.tasks.values() if t["step"]]
        if steps:
            self.rb.granularity = "step"
            ids = {var: t["id"] for var, t in self.tasks.items()}
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

    def schedule(self, node, args) -> None:
        import libcst as cst

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
        import libcst as cst

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

    def body(self, statements) -> None:
        import libcst as cst

        for stmt in statements:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                    self.task(assigned_name(small), small.value)
                elif isinstance(small, cst.Expr) and isinstance(small.value, cst.BinaryOperation):
                    self.chain(small.value)

    def task(self, var: str | None, call) -> None:
        kw = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        if var is None or "task_id" not in kw:
            return
        env = self.value(kw["env"]) if "env" in kw else {}
        step = env.get("OMLC_STEP_ID", "") if isinstance(env, dict) else ""
        self.tasks[var] = {"id": self.value(kw["task_id"]), "step": bool(step), "span": self.span(kw["task_id"])}

    def chain(self, node) -> None:
        """``a >> b >> [c, d]``: edges from each operand's tasks to the next one's."""
        import libcst as cst

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
    import libcst as cst

    from omlc.schedule.timetable import INTERVAL_ANCHOR

    if not isinstance(call, cst.Call):
        return False
    parts = [walk.value(a.value) for a in call.args if a.keyword is None]
    return parts == [INTERVAL_ANCHOR.year, INTERVAL_ANCHOR.month, INTERVAL_ANCHOR.day]


