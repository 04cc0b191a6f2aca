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

from omlc.diagnostics import Span, diag
from omlc.readback import Reader, Readback, facts

_UNREADABLE = object()
_DURATION_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


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
        """The facts of one DAG file. Only the statements that carry facts (the
        ``OMLC_SCHEDULE`` assignment, ``with DAG(...)`` blocks) go through libcst, each
        with its own position metadata; the rest of the file (the embedded runtime, imports,
        helpers) is only checked to be Python."""
        import ast

        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider

        rb = Readback(path)
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            rb.diagnostics.append(diag("OML702", f"[airflow] not Python: {exc.msg}",
                                       Span(path, exc.lineno or 1, max(exc.offset or 1, 1))))
            return rb
        lines = text.splitlines(keepends=True)
        parts = []
        walk = _Walk(rb, parts)
        for node in tree.body:
            if _is_spec(node):  # a plain literal: ast reads it, no libcst tree needed
                try:
                    walk.spec = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    walk.spec = None
                walk.spec_span = Span(path, node.value.lineno, node.value.col_offset + 1, node.value.end_lineno,
                                      node.value.end_col_offset + 1)
                if not isinstance(walk.spec, dict):
                    walk.spec = None
                    rb.diagnostics.append(diag("OML702", "[airflow] cannot read OMLC_SCHEDULE: not a literal dict",
                                               walk.spec_span))
            elif _is_dag_block(node):
                wrapper = MetadataWrapper(cst.parse_module("".join(lines[node.lineno - 1:node.end_lineno])),
                                          unsafe_skip_copy=True)
                parts.append((wrapper.module, wrapper.resolve(PositionProvider), node.lineno - 1))
        walk.run()
        return rb


def _is_spec(node) -> bool:
    import ast

    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "OMLC_SCHEDULE"
                                                for t in node.targets)


def _is_dag_block(node) -> bool:
    import ast

    return isinstance(node, ast.With) and any(
        isinstance(item.context_expr, ast.Call) and _ast_name(item.context_expr.func) == "DAG" for item in node.items)


def _ast_name(node) -> str:
    import ast

    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


class _Walk:
    def __init__(self, rb: Readback, parts) -> None:
        import libcst as cst

        self.rb = rb
        self.parts = parts  # (libcst module of one statement, its positions, lines before it)
        self.module = cst.Module(body=[])  # code_for_node of any node
        self.spec: dict | None = None
        self.tasks: dict[str, dict] = {}  # variable -> {"id", "step"}
        self.edges: list[tuple[str, str, Span]] = []

    # -- helpers -----------------------------------------------------------------------
    def span(self, node) -> Span:
        for _, positions, before in self.parts:
            pos = positions.get(node)
            if pos is not None:
                return Span(self.rb.path, pos.start.line + before, pos.start.column + 1, pos.end.line + before,
                            pos.end.column + 1)
        return Span(self.rb.path, 1, 1)

    def value(self, node) -> Any:
        """A literal, a timedelta(...) in seconds, a pendulum.datetime(...) as UTC ISO."""
        import libcst as cst

        if isinstance(node, cst.Call):
            name = _dotted(node.func)
            if name in ("timedelta", "datetime.timedelta"):
                total = 0.0
                for arg in node.args:
                    unit = arg.keyword.value if arg.keyword else "days"
                    amount = self.value(arg.value)
                    if unit not in _DURATION_UNITS or not isinstance(amount, (int, float)):
                        return _UNREADABLE
                    total += amount * _DURATION_UNITS[unit]
                return int(total) if total == int(total) else total
            if name in ("pendulum.datetime", "datetime"):
                return _instant(self, node)
            return _UNREADABLE
        return _literal(node)

    def unreadable(self, what: str, node) -> None:
        self.rb.diagnostics.append(diag("OML702", f"[airflow] cannot read {what}: "
                                                  f"{_clip(self.module.code_for_node(node))}", self.span(node)))

    # -- the walk ----------------------------------------------------------------------
    def run(self) -> None:
        import libcst as cst

        found_dag = False
        for stmt in (part[0].body[0] for part in self.parts):
            if isinstance(stmt, cst.With):
                for item in stmt.items:
                    call = item.item
                    if isinstance(call, cst.Call) and _dotted(call.func).split(".")[-1] == "DAG":
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
            plain = [t for t in tags if not t.startswith(("team:", "criticality:"))]
            team = [t[5:] for t in tags if t.startswith("team:")]
            level = [t[12:] for t in tags if t.startswith("criticality:")]
            put("metadata.tags", plain, at)
            put("metadata.team", team[0] if team else None, at)
            put("metadata.criticality", level[0] if level else None, at)
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
        kind = _dotted(node.func).split(".")[-1]
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
            if value is _UNREADABLE:
                self.unreadable(keyword, args[keyword])
                continue
            if key == "schedule.start_date" and "schedule.interval" not in self.rb.facts \
                    and _is_default_start(self, args[keyword]):
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
                    self.task(_target_name(small), small.value)
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


def _literal(node) -> Any:
    """The value of a literal expression (strings, numbers, True/False/None, lists, tuples,
    dicts, unary minus) read from the libcst tree, else _UNREADABLE."""
    import libcst as cst

    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        try:
            value = node.evaluated_value
        except (ValueError, SyntaxError):
            return _UNREADABLE
        return _UNREADABLE if value is None and not isinstance(node, cst.Integer) else value
    if isinstance(node, cst.Name):
        return {"True": True, "False": False, "None": None}.get(node.value, _UNREADABLE)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        value = _literal(node.expression)
        return -value if isinstance(value, (int, float)) and not isinstance(value, bool) else _UNREADABLE
    if isinstance(node, (cst.List, cst.Tuple)):
        items = []
        for element in node.elements:
            if not isinstance(element, cst.Element):
                return _UNREADABLE
            value = _literal(element.value)
            if value is _UNREADABLE:
                return _UNREADABLE
            items.append(value)
        return items if isinstance(node, cst.List) else tuple(items)
    if isinstance(node, cst.Dict):
        out = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return _UNREADABLE
            key, value = _literal(element.key), _literal(element.value)
            if key is _UNREADABLE or value is _UNREADABLE:
                return _UNREADABLE
            out[key] = value
        return out
    return _UNREADABLE


def _instant(walk: _Walk, call) -> Any:
    """pendulum.datetime(y, m, d[, h, mi, s], tz=...) as a UTC ISO instant."""
    parts = [walk.value(a.value) for a in call.args if a.keyword is None]
    kw = {a.keyword.value: walk.value(a.value) for a in call.args if a.keyword is not None}
    if not all(isinstance(p, int) for p in parts) or not 3 <= len(parts) <= 6:
        return _UNREADABLE
    from omlc.schedule.engine import zone
    from omlc.schedule.timetable import resolve_wall

    try:
        tz = zone(kw.get("tz", "UTC"))
        return resolve_wall(datetime(*parts), tz).astimezone(timezone.utc).isoformat()
    except (ValueError, TypeError, KeyError, LookupError):
        return _UNREADABLE


def _is_default_start(walk: _Walk, call) -> bool:
    """``pendulum.datetime(2000, 1, 1, tz=...)``: what the target writes when OML has no
    start_date (local midnight of 2000-01-01, any zone)."""
    import libcst as cst

    from omlc.schedule.timetable import INTERVAL_ANCHOR

    if not isinstance(call, cst.Call):
        return False
    parts = [walk.value(a.value) for a in call.args if a.keyword is None]
    return parts == [INTERVAL_ANCHOR.year, INTERVAL_ANCHOR.month, INTERVAL_ANCHOR.day]


def _dotted(node) -> str:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return _dotted(node.value) + "." + node.attr.value
    return ""


def _target_name(assign) -> str | None:
    import libcst as cst

    if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
        return assign.targets[0].target.value
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."



