"""Importing Airflow DAGs that omlc did not write: ``omlc import`` of a hand-written DAG.

The file is parsed with libcst (with positions) and *followed*, never executed: Airflow is
not imported. Assignments, ``for`` loops and comprehensions over literal lists, dicts and
ranges (unrolled, at most 100 items each), ``if`` on known values, ``with`` blocks, calls of
the file's own functions (a helper that adds tasks, a DAG factory called with literal
arguments), ``@dag`` functions that are called, and simple values (literals, f-strings over
known names, ``timedelta``, ``pendulum.datetime``, ``dict(...)``, a module-level
``default_args`` variable, ``__doc__``, ``__file__``) are understood; DAGs and tasks built
where the walk cannot follow (a loop over ``os.listdir()``, a factory called with a
Variable) and anything else are located diagnostics, never an exception.

What becomes OML:

- DAGs: ``with DAG(...)`` (also ``models.DAG``, any import alias), ``dag = DAG(...)`` with
  ``Operator(..., dag=dag)`` or ``with dag:``, ``@dag``-decorated functions (their name when
  no dag_id is given; their parameters' defaults become params). One file gives one pipeline:
  the first DAG, or the one ``--dag ID`` names; the others are reported.
- DAG arguments: dag_id -> name, description -> description, doc_md (or ``__doc__``) ->
  metadata.description, tags -> metadata.tags, params -> params, default_args owner ->
  metadata.owner, email (with email_on_failure, Airflow's default true) ->
  metadata.notifications.on_failure; schedule facts go to the schedule block: catchup,
  max_active_runs -> concurrency, dagrun_timeout -> timeout, retries / retry_delay
  (Airflow's default 5 minutes) / retry_exponential_backoff (warned: Airflow adds jitter) /
  max_retry_delay -> retry, start_date / end_date (``pendulum.datetime``, ``datetime``; a
  relative ``days_ago(n)`` or ``now()`` is reported and dropped). The timezone is the
  timetable's, else the start_date's, else UTC (Airflow's default ``default_timezone``).
- Schedules: cron strings and presets (``@quarterly`` as ``0 0 1 1,4,7,10 *``),
  ``timedelta`` (an OML interval), ``CronTriggerTimetable``, ``CronDataIntervalTimetable``,
  ``DeltaTriggerTimetable``, ``DeltaDataIntervalTimetable``, ``MultipleCronTriggerTimetable``
  with one cron; ``schedule_interval=`` / ``timetable=`` (removed in Airflow 3) are read with
  a warning. ``@once``, ``@continuous``, asset/dataset schedules (recorded as lineage) and any
  other timetable are not expressible (OML704) and the pipeline gets no schedule.
- Airflow 2 vs 3: a cron string or timedelta is a *data-interval* timetable in Airflow 2
  (the run at time T covers the previous period and fires at its end) and a *trigger*
  timetable in Airflow 3 (``create_cron_data_intervals=False``: the interval is empty).
  A file that imports ``airflow.sdk`` (Airflow 3 only) is read as Airflow 3, any other file
  (and ``schedule_interval=``) as Airflow 2. With data-interval semantics, OML's start_date
  is the end of the DAG's first interval (its first fire time), and
  ``{{ data_interval_start }}`` / ``{{ data_interval_end }}`` become ``${window.start}`` /
  ``${window.end}`` of a tumbling window, which is exactly "previous fire time to this fire
  time"; with a trigger timetable both are the fire time (``${window.end}``), or, with
  ``interval=``, a sliding window of that size. The window's format is ``iso``, as Airflow
  renders those values (in UTC; OML in the schedule timezone: the same instant). A note says
  which reading was used.
- Tasks: every task that does work becomes one step (``mode: transform``), so the graph
  keeps its shape. The reference component registry has no shell component, so a
  ``BashOperator`` (or ``@task.bash`` returning a literal command) becomes a step of the
  custom component ``shell.command`` with config ``command`` (and ``env``, ``append_env``,
  ``cwd`` with BashOperator's meanings): a runner has to provide that component (OML
  validation warns OML209 about unknown components, as for any custom component). Any
  other operator or ``@task`` function (Python code, sensors, branching, mapped tasks...) is
  not expressible: it becomes a placeholder step of component ``airflow.<operator>`` with
  config ``airflow_operator`` (and ``function``), and an OML704 error at the task says what
  is lost. ``EmptyOperator`` / ``DummyOperator`` tasks do no work: they are dropped and
  their upstream tasks connected to their downstream ones (exact, unless a trigger_rule is
  set, which is reported). Task groups prefix task ids as Airflow does (``group.task``).
  Task ids that are not OML step ids are sanitized, with a warning. A literal secret in
  ``env`` (OML rejects inline secrets) becomes ``${NAME}``, read from the runner's environment.
- Dependencies: ``a >> b``, ``a << b``, lists on either side, edge ``Label``s, ``chain``
  (lists pairwise), ``chain_linear``, ``cross_downstream``, ``set_downstream`` / ``set_upstream``, task
  groups as endpoints, TaskFlow calls (``b(a())``, ``x = a(); b(x)``) -> step ``needs``.
- Jinja in commands and env values: data interval values as above, ``{{ params.NAME }}``
  -> ``${params.NAME}``; anything else (``{{ ds }}``, macros, variables) stays as written,
  with a warning (OML does not render Jinja).
- Task-level arguments OML has no per-step field for (retries, trigger_rule, pools,
  callbacks, execution_timeout...) and DAG arguments it has no field for are reported.

Diagnostics: OML702 (error) what cannot be read (syntax, no DAG, a non-literal task id or
command); OML703 (warning) what is imported approximately or dropped, and notes (info) on
how a construct was read; OML704 (error) what OML cannot express. The document is checked
with omlc's own validation before it is returned: a step that would not be valid OML
becomes a bare placeholder, a field that would not be valid is dropped, each with an error.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from omlc.cstread import UNREADABLE, dotted
from omlc.diagnostics import Diagnostic, Severity, Span, diag

SHELL_COMPONENT = "shell.command"
_LOOP_LIMIT = 100  # items of one unrolled loop
_BUDGET = 2000  # statements followed in one file (unrolled loops included)
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_JINJA = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_PRESETS = {"@quarterly": "0 0 1 1,4,7,10 *"}
_INFO = Severity.INFO

# arguments that change nothing about what runs or when (display, registration): a note
_COSMETIC_DAG = {"is_paused_upon_creation", "owner_links", "dag_display_name", "access_control", "auto_register",
                 "jinja_environment_kwargs", "template_undefined", "render_template_as_native_obj",
                 "disable_bundle_versioning", "rerun_with_latest_version", "default_view", "orientation",
                 "doc", "doc_rst", "doc_json", "doc_yaml"}
_COSMETIC_TASK = {"do_xcom_push", "task_display_name", "multiple_outputs", "output_encoding", "doc_rst",
                  "doc_json", "doc_yaml", "ui_color", "ui_fgcolor", "provide_context"}
# task arguments whose Airflow default is harmless: no diagnostic when set to it
_TASK_DEFAULTS = {"trigger_rule": "all_success", "depends_on_past": False, "wait_for_downstream": False,
                  "email_on_failure": True, "email_on_retry": True, "pool_slots": 1, "priority_weight": 1}
_RETRY_KEYS = ("retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay")


# -- values the walk computes ------------------------------------------------------------------
@dataclass(eq=False)
class _Delta:
    seconds: float


@dataclass(eq=False)
class _Zone:
    name: str


@dataclass(eq=False)
class _Instant:
    fields: tuple
    zone: str | None


@dataclass(eq=False)
class _Relative:
    text: str


@dataclass(eq=False)
class _Assets:
    uris: list


@dataclass(eq=False)
class _Param:
    default: Any
    has_default: bool


@dataclass(eq=False)
class _Function:
    name: str
    node: Any = None  # the FunctionDef


@dataclass(eq=False)
class _Label:
    """``Label("text")`` between two tasks: it only names the edge."""

    ups: list = field(default_factory=list)


@dataclass(eq=False)
class _Timetable:
    kind: str
    pos: list
    kw: dict


@dataclass(eq=False)
class _Task:
    airflow_id: str
    span: Span
    kind: str  # shell | empty | placeholder
    operator: str
    config: dict = field(default_factory=dict)
    templated: list = field(default_factory=list)  # (config path, libcst node of the text)
    description: str | None = None
    lineage: dict = field(default_factory=lambda: {"upstream": [], "downstream": []})
    dag: Any = None


@dataclass(eq=False)
class _Group:
    group_id: str
    prefix: bool
    span: Span
    members: list = field(default_factory=list)


@dataclass(eq=False)
class _Dag:
    name: str
    span: Span
    args: dict  # keyword -> (node, value)
    name_node: Any = None
    params: dict = field(default_factory=dict)  # from a @dag function's parameters
    tasks: list = field(default_factory=list)
    edges: list = field(default_factory=list)  # (upstream ref, downstream ref, span)
    doc_md: tuple | None = None  # (node, value) of `dag.doc_md = ...`
    ids: dict = field(default_factory=dict)  # TaskFlow call counts per task id


@dataclass(eq=False)
class _TaskFactory:
    name: str
    node: Any  # the FunctionDef
    kind: str  # "" for @task, else the attribute: bash, virtualenv, docker...
    kw: dict  # decorator keyword -> (node, value)


@dataclass(eq=False)
class _DagFactory:
    node: Any
    decorator: Any  # the @dag(...) call, or None for a bare @dag
    called: bool = False


@dataclass(eq=False)
class _GroupFactory:
    node: Any
    decorator: Any


@dataclass(eq=False)
class _Partial:
    operator: str
    call: Any


class _Env:
    """A scope: name -> (node it was assigned from, value)."""

    def __init__(self, parent: _Env | None = None) -> None:
        self.vars: dict[str, tuple[Any, Any]] = {}
        self.parent = parent

    def get(self, name: str):
        scope: _Env | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        return None

    def set(self, name: str, node, value) -> None:
        self.vars[name] = (node, value)


@dataclass(frozen=True)
class _Ctx:
    dag: _Dag | None = None
    groups: tuple = ()


class _Stop(Exception):
    """The statement budget is spent (a loop that unrolls into too much)."""


class _Return(Exception):
    """A ``return`` in a function the walk follows."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def migrate(text: str, path: str, dag_id: str | None = None) -> tuple[Any, list[Diagnostic]]:
    """The OML document (a ruamel round-trip map) of a hand-written DAG file, or None when
    nothing could be imported, and the located findings."""
    walk = _Migration(text, path)
    try:
        document = walk.run(dag_id)
    except RecursionError:  # libcst and the walk recurse over the syntax tree
        walk.found.append(diag("OML702", "[airflow] the file is nested too deeply to read", Span(path, 1, 1)))
        document = None
    return document, walk.diagnostics()


class _Migration:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.found: list[Diagnostic] = []
        self.dags: list[_Dag] = []
        self.aliases: dict[str, str] = {}  # local name -> imported dotted name
        self.airflow3 = False
        self.handled: set[int] = set()  # id() of DAG and operator calls followed or reported
        self.factories: list[_DagFactory] = []
        self.active: list[str] = []  # the functions being followed, innermost last
        self.budget = _BUDGET
        self.module = None
        self.positions: dict = {}
        self.docstring: str | None = None

    # -- reporting ------------------------------------------------------------------------------
    def report(self, code: str, message: str, span: Span, hint: str | None = None,
               severity: Severity | None = None) -> None:
        self.found.append(diag(code, f"[airflow] {message}", span, hint, severity=severity))

    def diagnostics(self) -> list[Diagnostic]:
        seen, out = set(), []
        for d in self.found:
            key = (d.code, d.severity, d.message, tuple(d.span))
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out

    def span(self, node) -> Span:
        pos = self.positions.get(node) if node is not None else None
        if pos is None:
            return Span(self.path, 1, 1)
        return Span(self.path, pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1)

    def code(self, node, limit: int = 80) -> str:
        text = " ".join(self.module.code_for_node(node).split())
        return text if len(text) <= limit else text[:limit - 3] + "..."

    def locate(self, node, needle: str) -> Span:
        """The span of ``needle`` inside ``node``'s source (the node's span when it is not
        there verbatim)."""
        start = self.span(node)
        source = self.module.code_for_node(node)
        index = source.find(needle)
        if index < 0:
            return start
        line = start.line + source.count("\n", 0, index)
        col = index - (source.rfind("\n", 0, index) + 1) + (start.col - 1 if line == start.line else 0) + 1
        return Span(self.path, line, col, line, col + len(needle))

    # -- the walk -------------------------------------------------------------------------------
    def run(self, dag_id: str | None):
        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider

        try:
            with warnings.catch_warnings():  # an invalid escape sequence is the DAG's business
                warnings.simplefilter("ignore")
                ast.parse(self.text)
        except SyntaxError as exc:
            self.report("OML702", f"not Python: {exc.msg}", Span(self.path, exc.lineno or 1, max(exc.offset or 1, 1)))
            return None
        except (ValueError, MemoryError) as exc:  # null bytes; a file too big to parse
            self.report("OML702", f"not Python: {exc}", Span(self.path, 1, 1))
            return None
        try:
            module = cst.parse_module(self.text)
        except cst.ParserSyntaxError as exc:  # Python syntax newer than libcst reads
            self.report("OML702", f"cannot parse: {exc.message}", Span(self.path, exc.raw_line, exc.raw_column + 1))
            return None
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.positions = wrapper.resolve(PositionProvider)
        self.module = wrapper.module
        self.docstring = self.module.get_docstring(clean=True)
        self._imports()
        env = _Env()
        try:
            self.block(self.module.body, env, _Ctx())
            for factory in self.factories:
                if not factory.called:
                    self.report("OML703", f"@dag function {factory.node.name.value!r} is never called, so Airflow "
                                "does not load it; imported as if it were", self.span(factory.node.name),
                                f"call it at the end of the file: {factory.node.name.value}()")
                    self.instantiate(factory, [], {}, env)
        except _Stop:
            self.report("OML702", f"the file builds more than omlc follows ({_BUDGET} statements with loops "
                        "unrolled): the rest is not read", Span(self.path, 1, 1))
        self._sweep()
        if not self.dags:
            self.report("OML702", "no DAG in this file (no `with DAG(...)`, `DAG(...)` or called @dag function "
                        "that omlc can follow)", Span(self.path, 1, 1),
                        "omlc import reads DAGs declared at the top level of the file")
            return None
        chosen = self.dags[0]
        if dag_id is not None:
            named = [d for d in self.dags if d.name == dag_id]
            if not named:
                self.report("OML702", f"no DAG {dag_id!r} in this file (DAGs: "
                            f"{', '.join(repr(d.name) for d in self.dags)})", Span(self.path, 1, 1))
                return None
            chosen = named[0]
        for other in self.dags:
            if other is not chosen:
                self.report("OML703", f"DAG {other.name!r} is not imported: one file gives one OML pipeline "
                            f"(this run imports {chosen.name!r})", other.span,
                            f"run omlc import again with --dag {other.name}")
        return _Builder(self, chosen).document()

    def _imports(self) -> None:
        import libcst as cst

        outer = self

        class Imports(cst.CSTVisitor):
            def visit_Import(self, node) -> None:
                for alias in node.names:
                    name = dotted(alias.name)
                    if name.startswith("airflow.sdk"):
                        outer.airflow3 = True
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        outer.aliases[alias.asname.name.value] = name

            def visit_ImportFrom(self, node) -> None:
                if node.relative or node.module is None:
                    return
                base = dotted(node.module)
                if base == "airflow.sdk" or base.startswith("airflow.sdk."):
                    outer.airflow3 = True
                if isinstance(node.names, cst.ImportStar):
                    return
                for alias in node.names:
                    name = dotted(alias.name)
                    local = alias.asname.name.value if alias.asname is not None and isinstance(
                        alias.asname.name, cst.Name) else name
                    outer.aliases[local] = f"{base}.{name}"

        self.module.visit(Imports())

    def qualified(self, node) -> str:
        name = dotted(node)
        head, dot, rest = name.partition(".")
        if head in self.aliases:
            return self.aliases[head] + (dot + rest if dot else "")
        return name

    def tick(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise _Stop()

    def block(self, statements, env: _Env, ctx: _Ctx) -> None:
        import libcst as cst

        for stmt in statements:
            self.tick()
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.small(small, env, ctx)
            elif isinstance(stmt, cst.With):
                self.with_block(stmt, env, ctx)
            elif isinstance(stmt, cst.For):
                self.for_block(stmt, env, ctx)
            elif isinstance(stmt, cst.If):
                self.if_block(stmt, env, ctx)
            elif isinstance(stmt, cst.FunctionDef):
                self.define(stmt, env)
            elif isinstance(stmt, cst.Try):
                self.suite(stmt.body, env, ctx)
            elif isinstance(stmt, (cst.While, cst.ClassDef)) or hasattr(stmt, "body"):
                self.not_followed(stmt, "a `while` loop" if isinstance(stmt, cst.While) else "this block")

    def suite(self, body, env: _Env, ctx: _Ctx) -> None:
        """The statements of an indented block, or of a one-line suite (``with x: a >> b``)."""
        import libcst as cst

        if isinstance(body, cst.SimpleStatementSuite):
            for small in body.body:
                self.tick()
                self.small(small, env, ctx)
        else:
            self.block(body.body, env, ctx)

    def not_followed(self, node, what: str) -> None:
        """Report the DAGs and tasks built inside ``node``, which the walk does not follow."""
        builders = self.builders(node)
        if builders:
            self.handled.update(id(b) for b in builders)
            self.report("OML704", f"{what} builds DAGs or tasks from values known only when Airflow runs the "
                        "file: not imported", self.span(node) if not hasattr(node, "iter") else self.span(node.iter),
                        "OML pipelines are static: write one DAG per pipeline, or loop over a literal list")

    def builders(self, node) -> list:
        """The DAG and operator calls inside ``node``."""
        import libcst as cst

        outer = self
        found: list = []

        class Calls(cst.CSTVisitor):
            def visit_Call(self, call) -> None:
                if outer.is_builder(call):
                    found.append(call)

        node.visit(Calls())
        return found

    def is_builder(self, call) -> bool:
        import libcst as cst

        name = self.qualified(call.func)
        last = name.rsplit(".", 1)[-1]
        if last == "DAG":
            return True
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("override", "partial", "expand"):
            return False
        return last.endswith(("Operator", "Sensor")) or (
            last[:1].isupper() and last != "TaskGroup" and any(
                a.keyword is not None and a.keyword.value == "task_id" for a in call.args))

    def _sweep(self) -> None:
        """DAGs and tasks the walk did not reach (in functions, comprehensions...): reported.
        A function that builds a DAG is reported once, at the DAG."""
        import libcst as cst

        outer = self

        class Sweep(cst.CSTVisitor):
            def __init__(self) -> None:
                super().__init__()
                self.functions: list[str] = []

            def visit_FunctionDef(self, node) -> None:
                if not self.functions:
                    calls = [c for c in outer.builders(node) if id(c) not in outer.handled]
                    dags = [c for c in calls if outer.qualified(c.func).rsplit(".", 1)[-1] == "DAG"]
                    for call in dags or calls:
                        outer.report("OML704", f"{'a DAG' if dags else 'a task'} built inside function "
                                     f"{node.name.value!r} (a factory: its arguments are known only when it is "
                                     "called): not imported", outer.span(call),
                                     "OML pipelines are static: declare the DAG and its tasks at the top level")
                    outer.handled.update(id(c) for c in calls)
                self.functions.append(node.name.value)

            def leave_FunctionDef(self, node) -> None:
                self.functions.pop()

            def visit_Call(self, call) -> None:
                if id(call) in outer.handled or not outer.is_builder(call):
                    return
                outer.handled.add(id(call))
                what = "a DAG" if outer.qualified(call.func).rsplit(".", 1)[-1] == "DAG" else "a task"
                outer.report("OML704", f"{what} built where omlc cannot follow it: not imported", outer.span(call),
                             "OML pipelines are static: declare the DAG and its tasks at the top level of the file")

        self.module.visit(Sweep())

    # -- statements -----------------------------------------------------------------------------
    def small(self, small, env: _Env, ctx: _Ctx) -> None:
        import libcst as cst

        if isinstance(small, cst.Assign):
            value = self.eval(small.value, env, ctx)
            for target in small.targets:
                self.assign(target.target, small.value, value, env, ctx)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.assign(small.target, small.value, self.eval(small.value, env, ctx), env, ctx)
        elif isinstance(small, cst.AugAssign):
            value = self.eval(small.value, env, ctx)
            if isinstance(small.target, cst.Name) and isinstance(small.operator, cst.AddAssign):
                bound = env.get(small.target.value)
                if bound is not None and isinstance(bound[1], list) and isinstance(value, list):
                    bound[1].extend(value)
        elif isinstance(small, cst.Expr):
            self.eval(small.value, env, ctx)
        elif isinstance(small, cst.Return):
            value = self.eval(small.value, env, ctx) if small.value is not None else None
            if self.active:
                raise _Return(value)

    def assign(self, target, node, value, env: _Env, ctx: _Ctx) -> None:
        import libcst as cst

        if isinstance(target, cst.Name):
            env.set(target.value, node, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            names = [e.value for e in target.elements]
            values = value if isinstance(value, (list, tuple)) and len(value) == len(names) else None
            for i, name in enumerate(names):
                self.assign(name, None, values[i] if values is not None else UNREADABLE, env, ctx)
        elif isinstance(target, cst.Attribute):
            owner = self.eval(target.value, env, ctx)
            attr = target.attr.value
            if isinstance(owner, _Dag) and attr in ("doc_md", "description"):
                if attr == "doc_md":
                    owner.doc_md = (node, value)
                else:
                    owner.args["description"] = (node, value)
            elif isinstance(owner, _Task) and attr in ("doc_md", "doc"):
                owner.description = value if isinstance(value, str) else owner.description
            elif isinstance(owner, (_Dag, _Task)):
                self.report("OML703", f"`{self.code(target)} = ...` is not imported", self.span(target))
        elif isinstance(target, cst.Subscript):
            owner = self.eval(target.value, env, ctx)
            if isinstance(owner, dict) and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
                key = self.eval(target.slice[0].slice.value, env, ctx)
                if isinstance(key, (str, int)):
                    owner[key] = value

    def with_block(self, stmt, env: _Env, ctx: _Ctx) -> None:
        import libcst as cst

        inner = ctx
        for item in stmt.items:
            expr = item.item
            last = self.qualified(expr.func).rsplit(".", 1)[-1] if isinstance(expr, cst.Call) else ""
            if last == "DAG":
                value: Any = self.new_dag(expr, env, inner)
            elif last == "TaskGroup":
                value = self.new_group(expr, env, inner)
            else:
                value = self.eval(expr, env, inner)
            if isinstance(value, _Dag):
                inner = _Ctx(value, ())
            elif isinstance(value, _Group):
                inner = _Ctx(inner.dag, inner.groups + (value,))
            if item.asname is not None:
                self.assign(item.asname.name, expr, value, env, inner)
        self.suite(stmt.body, env, inner)

    def for_block(self, stmt, env: _Env, ctx: _Ctx) -> None:
        items = self.eval(stmt.iter, env, ctx)
        if isinstance(items, dict):
            items = list(items)
        if isinstance(items, str) or not isinstance(items, (list, tuple)) or len(items) > _LOOP_LIMIT:
            self.not_followed(stmt, f"the loop over `{self.code(stmt.iter, 60)}`")
            return
        for item in items:
            self.assign(stmt.target, None, item, env, ctx)
            self.suite(stmt.body, env, ctx)

    def if_block(self, stmt, env: _Env, ctx: _Ctx) -> None:
        import libcst as cst

        test = stmt.test
        if isinstance(test, cst.Comparison) and self.code(test).replace("'", '"') == '__name__ == "__main__"':
            self.handled.update(id(b) for b in self.builders(stmt.body))  # never true when Airflow loads it
            return
        cond = self.eval(test, env, ctx)
        if isinstance(cond, (bool, int, float, str, list, tuple, dict, type(None))):
            if cond:
                self.suite(stmt.body, env, ctx)
            elif isinstance(stmt.orelse, cst.Else):
                self.suite(stmt.orelse.body, env, ctx)
            elif isinstance(stmt.orelse, cst.If):
                self.if_block(stmt.orelse, env, ctx)
            return
        self.not_followed(stmt, f"the condition `{self.code(test, 60)}`")

    def define(self, stmt, env: _Env) -> None:
        """A function definition: a @dag, @task or @task_group factory, or a plain function."""
        import libcst as cst

        for dec in stmt.decorators:
            expr = dec.decorator
            call = expr if isinstance(expr, cst.Call) else None
            name = self.qualified(call.func if call is not None else expr)
            parts = name.split(".")
            if not (name.startswith("airflow") or parts[0] in ("dag", "task", "task_group")):
                continue  # not Airflow's decorators
            if parts[-1] == "dag":
                factory = _DagFactory(stmt, call)
                self.factories.append(factory)
                env.set(stmt.name.value, None, factory)
                return
            if parts[-1] == "task_group":
                env.set(stmt.name.value, None, _GroupFactory(stmt, call))
                return
            if "task" in parts:
                kind = "" if parts[-1] == "task" else parts[-1]
                kw = {a.keyword.value: (a.value, self.eval(a.value, env, _Ctx()))
                      for a in (call.args if call is not None else []) if a.keyword is not None}
                env.set(stmt.name.value, None, _TaskFactory(stmt.name.value, stmt, kind, kw))
                return
        env.set(stmt.name.value, None, _Function(stmt.name.value, stmt))

    # -- values ---------------------------------------------------------------------------------
    def eval(self, node, env: _Env, ctx: _Ctx) -> Any:
        """The value of an expression, following the DAG-building calls in it (tasks,
        dependencies); UNREADABLE when it is not known before Airflow runs the file."""
        import libcst as cst

        if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
            try:
                result = node.evaluated_value
            except (ValueError, SyntaxError, OverflowError):
                return UNREADABLE
            return UNREADABLE if isinstance(result, bytes) else result
        if isinstance(node, (cst.FormattedString, cst.ConcatenatedString)):
            return self.fstring(node, env, ctx)
        if isinstance(node, cst.Name):
            return self.name(node.value, env)
        if isinstance(node, cst.Attribute):
            return self.attribute(node, env, ctx)
        if isinstance(node, cst.Call):
            return self.call(node, env, ctx)
        if isinstance(node, cst.BinaryOperation):
            return self.binary(node, env, ctx)
        if isinstance(node, cst.UnaryOperation):
            inner = self.eval(node.expression, env, ctx)
            if isinstance(node.operator, cst.Not) and isinstance(inner, (bool, int, str, list, dict)):
                return not inner
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                if isinstance(node.operator, cst.Minus):
                    return -inner
                if isinstance(node.operator, cst.Plus):
                    return inner
            return UNREADABLE
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            items: list = []
            for element in node.elements:
                value = self.eval(element.value, env, ctx)
                if isinstance(element, cst.StarredElement):
                    if not isinstance(value, (list, tuple)):
                        return UNREADABLE
                    items.extend(value)
                else:
                    items.append(value)
            return tuple(items) if isinstance(node, cst.Tuple) else items
        if isinstance(node, cst.Dict):
            out: dict = {}
            for element in node.elements:
                if isinstance(element, cst.StarredDictElement):
                    value = self.eval(element.value, env, ctx)
                    if not isinstance(value, dict):
                        return UNREADABLE
                    out.update(value)
                    continue
                key = self.eval(element.key, env, ctx)
                if not isinstance(key, (str, int, float, bool)) or key is UNREADABLE:
                    return UNREADABLE
                out[key] = self.eval(element.value, env, ctx)
            return out
        if isinstance(node, cst.Subscript):
            owner = self.eval(node.value, env, ctx)
            if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
                key = self.eval(node.slice[0].slice.value, env, ctx)
                if isinstance(owner, dict) and isinstance(key, (str, int)) and key in owner:
                    return owner[key]
                if isinstance(owner, (list, tuple)) and isinstance(key, int) and not isinstance(key, bool) \
                        and -len(owner) <= key < len(owner):
                    return owner[key]
            return UNREADABLE
        if isinstance(node, cst.ListComp):
            return self.comprehension(node, env, ctx)
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            left = self.eval(node.left, env, ctx)
            right = self.eval(node.comparisons[0].comparator, env, ctx)
            operator = node.comparisons[0].operator
            plain = (str, int, float, bool, type(None))
            if isinstance(left, plain) and isinstance(right, plain):
                if isinstance(operator, cst.Equal):
                    return left == right
                if isinstance(operator, cst.NotEqual):
                    return left != right
            return UNREADABLE
        return UNREADABLE

    def name(self, name: str, env: _Env) -> Any:
        bound = env.get(name)
        if bound is not None:
            return bound[1]
        if name in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[name]
        if name == "__doc__":
            return self.docstring if self.docstring is not None else UNREADABLE
        if name == "__file__":
            return self.path
        return UNREADABLE

    def fstring(self, node, env: _Env, ctx: _Ctx) -> Any:
        import libcst as cst

        if isinstance(node, cst.ConcatenatedString):
            left, right = self.eval(node.left, env, ctx), self.eval(node.right, env, ctx)
            return left + right if isinstance(left, str) and isinstance(right, str) else UNREADABLE
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(self.module.code_for_node(node).strip(), mode="eval").body
        except (SyntaxError, ValueError, MemoryError):
            return UNREADABLE
        if not isinstance(tree, ast.JoinedStr):
            return UNREADABLE
        out = []
        for part in tree.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                out.append(part.value)
            elif isinstance(part, ast.FormattedValue) and part.format_spec is None and part.conversion in (-1, 115):
                value: Any = UNREADABLE
                if isinstance(part.value, ast.Name):
                    value = self.name(part.value.id, env)
                elif isinstance(part.value, ast.Constant):
                    value = part.value.value
                if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                    return UNREADABLE
                out.append(str(value))
            else:
                return UNREADABLE
        return "".join(out)

    def comprehension(self, node, env: _Env, ctx: _Ctx) -> Any:
        comp = node.for_in
        if comp.inner_for_in is not None or comp.ifs or comp.asynchronous is not None:
            if self.builders(node):
                self.not_followed(node, "this comprehension")
            return UNREADABLE
        items = self.eval(comp.iter, env, ctx)
        if isinstance(items, dict):
            items = list(items)
        if isinstance(items, str) or not isinstance(items, (list, tuple)) or len(items) > _LOOP_LIMIT:
            if self.builders(node):
                self.not_followed(node, f"the comprehension over `{self.code(comp.iter, 60)}`")
            return UNREADABLE
        scope = _Env(env)
        out = []
        for item in items:
            self.tick()
            self.assign(comp.target, None, item, scope, ctx)
            out.append(self.eval(node.elt, scope, ctx))
        return out

    def attribute(self, node, env: _Env, ctx: _Ctx) -> Any:
        name = self.qualified(node)
        if name in ("datetime.timezone.utc", "timezone.utc", "pendulum.UTC", "pendulum.timezone.utc"):
            return _Zone("UTC")
        if ".TriggerRule." in f".{name}":
            return node.attr.value.lower()
        owner = self.eval(node.value, env, ctx)
        attr = node.attr.value
        import pathlib

        if isinstance(owner, pathlib.PurePath) and attr in ("stem", "name", "suffix"):
            return getattr(owner, attr)
        if isinstance(owner, _Task) and attr == "output":
            return owner
        if isinstance(owner, _Dag) and attr == "dag_id":
            return owner.name
        return UNREADABLE

    def binary(self, node, env: _Env, ctx: _Ctx) -> Any:
        import libcst as cst

        op = node.operator
        left = self.eval(node.left, env, ctx)
        right = self.eval(node.right, env, ctx)
        if isinstance(op, (cst.RightShift, cst.LeftShift)):
            if isinstance(op, cst.RightShift) and isinstance(right, _Label):  # a >> Label("x") >> b
                right.ups = _refs(left) or []
                return right
            if isinstance(op, cst.RightShift) and isinstance(left, _Label):
                left = left.ups
            ups, downs = (left, right) if isinstance(op, cst.RightShift) else (right, left)
            if isinstance(left, list) and isinstance(right, list):
                self.report("OML702", "a list cannot be set upstream of a list (`[a, b] >> [c, d]` is a TypeError "
                            "in Airflow): this dependency is not imported", self.span(node),
                            "use cross_downstream([a, b], [c, d]) or a loop")
                return right
            self.depend(ups, downs, node, (node.left, node.right))
            return right
        if isinstance(op, (cst.BitOr, cst.BitAnd)) and isinstance(left, _Assets) and isinstance(right, _Assets):
            return _Assets(left.uris + right.uris)
        if isinstance(left, _Relative) or isinstance(right, _Relative):
            return _Relative(self.code(node))
        if isinstance(left, bool) or isinstance(right, bool):
            return UNREADABLE
        numbers = (int, float)
        try:
            if isinstance(op, cst.Add):
                if isinstance(left, str) and isinstance(right, str) or isinstance(left, list) and isinstance(right, list):
                    return left + right
                if isinstance(left, _Delta) and isinstance(right, _Delta):
                    return _Delta(left.seconds + right.seconds)
            if isinstance(left, _Delta) and isinstance(right, numbers) and isinstance(op, cst.Multiply):
                return _Delta(left.seconds * right)
            if isinstance(left, numbers) and isinstance(right, numbers):
                if isinstance(op, cst.Add):
                    return left + right
                if isinstance(op, cst.Subtract):
                    return left - right
                if isinstance(op, cst.Multiply):
                    return left * right
                if isinstance(op, cst.Divide):
                    return left / right
                if isinstance(op, cst.FloorDivide):
                    return left // right
        except (ArithmeticError, ValueError):
            return UNREADABLE
        return UNREADABLE

    # -- calls ----------------------------------------------------------------------------------
    def call(self, node, env: _Env, ctx: _Ctx) -> Any:
        import libcst as cst

        func = node.func
        if isinstance(func, cst.Attribute):
            handled, value = self.method(node, func, env, ctx)
            if handled:
                return value
        target = self.eval(func, env, ctx) if isinstance(func, (cst.Name, cst.Call)) else None
        if isinstance(target, _TaskFactory):
            return self.taskflow(target, node, env, ctx)
        if isinstance(target, _DagFactory):
            return self.call_dag_factory(target, node, env, ctx)
        if isinstance(target, _GroupFactory):
            return self.call_group_factory(target, node, env, ctx)
        if isinstance(target, _Function) and target.node is not None:
            return self.call_function(target, node, env, ctx)
        name = self.qualified(func)
        last = name.rsplit(".", 1)[-1]
        if last == "DAG":
            return self.new_dag(node, env, ctx)
        if last == "TaskGroup":
            return self.new_group(node, env, ctx)
        if last in ("chain", "chain_linear", "cross_downstream"):
            self.chain(last, node, env, ctx)
            return None
        if self.is_builder(node):
            return self.new_task(node, last, env, ctx)
        args = [self.eval(a.value, env, ctx) for a in node.args if a.keyword is None and not a.star]
        kw = {a.keyword.value: self.eval(a.value, env, ctx) for a in node.args if a.keyword is not None}
        return self.known_call(name, last, args, kw, node)

    def known_call(self, name: str, last: str, args: list, kw: dict, node) -> Any:
        """Calls whose value omlc knows: timedelta, datetimes, zones, timetables, assets..."""
        if last == "timedelta" and not args[3:]:
            units = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                     "milliseconds": 0.001, "microseconds": 0.000001}
            total = 0.0
            for unit, amount in list(zip(("days", "seconds", "microseconds"), args)) + list(kw.items()):
                if unit not in units or isinstance(amount, bool) or not isinstance(amount, (int, float)):
                    return UNREADABLE
                total += amount * units[unit]
            return _Delta(total)
        if last == "dict" and not args:
            return dict(kw)
        if last == "dict" and len(args) == 1 and isinstance(args[0], dict):
            return {**args[0], **kw}
        if last in ("datetime", "DateTime") and (name.startswith(("pendulum", "datetime")) or name == last
                                                 or name.endswith("timezone.datetime")):
            return self.instant(args, kw)
        if last in ("timezone", "ZoneInfo", "Timezone") and len(args) == 1 and isinstance(args[0], str):
            return _Zone(args[0])
        if last in ("days_ago", "now", "today", "utcnow", "yesterday", "tomorrow"):
            return _Relative(self.code(node))
        if last in ("Asset", "Dataset"):
            uri = args[0] if args else kw.get("uri", kw.get("name"))
            return _Assets([uri]) if isinstance(uri, str) else UNREADABLE
        if last in ("AssetAll", "AssetAny", "DatasetAll", "DatasetAny"):
            uris = [u for a in args if isinstance(a, _Assets) for u in a.uris]
            return _Assets(uris) if len(uris) and all(isinstance(a, _Assets) for a in args) else UNREADABLE
        if last == "Label":
            return _Label()
        if last in ("Path", "PurePath", "PosixPath") and len(args) == 1 and isinstance(args[0], str):
            import pathlib

            return pathlib.PurePosixPath(args[0])
        if last == "Param":
            return _Param(args[0] if args else kw.get("default"), bool(args) or "default" in kw)
        if last == "dedent" and len(args) == 1 and isinstance(args[0], str):
            import textwrap

            return textwrap.dedent(args[0])
        if name in ("os.path.basename", "basename") and len(args) == 1 and isinstance(args[0], str):
            import os

            return os.path.basename(args[0])
        if last == "range" and 1 <= len(args) <= 3 and all(isinstance(a, int) and not isinstance(a, bool)
                                                            for a in args):
            try:
                numbers = range(*args)
            except ValueError:
                return UNREADABLE
            return list(numbers) if len(numbers) <= _LOOP_LIMIT else UNREADABLE
        if last.endswith("Timetable") or last.endswith("Schedule"):
            return _Timetable(last, args, kw)
        return UNREADABLE

    def method(self, node, func, env: _Env, ctx: _Ctx) -> tuple[bool, Any]:
        """``obj.method(...)`` calls the walk understands: (handled, value)."""
        attr = func.attr.value
        args = [a.value for a in node.args if a.keyword is None]
        if attr == "partial":
            return True, _Partial(self.qualified(func.value).rsplit(".", 1)[-1], node)
        owner = self.eval(func.value, env, ctx)
        if attr in ("set_downstream", "set_upstream") and args:
            other = self.eval(args[0], env, ctx)
            if attr == "set_downstream":
                self.depend(owner, other, node, (func.value, args[0]))
            else:
                self.depend(other, owner, node, (args[0], func.value))
            return True, None
        if isinstance(owner, _Relative):  # pendulum.today().add(days=-1)
            return True, _Relative(self.code(node))
        if isinstance(owner, _TaskFactory) and attr == "override":
            kw = {a.keyword.value: (a.value, self.eval(a.value, env, ctx)) for a in node.args if a.keyword is not None}
            return True, _TaskFactory(owner.name, owner.node, owner.kind, {**owner.kw, **kw})
        if attr in ("expand", "expand_kwargs") and isinstance(owner, (_TaskFactory, _Partial)):
            return True, self.mapped(owner, node, env, ctx)
        if isinstance(owner, list) and attr in ("append", "extend") and len(args) == 1:
            value = self.eval(args[0], env, ctx)
            if attr == "append":
                owner.append(value)
            elif isinstance(value, (list, tuple)):
                owner.extend(value)
            return True, None
        if isinstance(owner, dict) and attr in ("items", "keys", "values", "get") and len(args) <= 2:
            if attr == "get":
                key = self.eval(args[0], env, ctx) if args else UNREADABLE
                default = self.eval(args[1], env, ctx) if len(args) > 1 else None
                return True, owner.get(key, default) if isinstance(key, (str, int)) else UNREADABLE
            return True, [list(p) for p in owner.items()] if attr == "items" else list(getattr(owner, attr)())
        if isinstance(owner, dict) and attr == "update" and len(args) == 1:
            value = self.eval(args[0], env, ctx)
            if isinstance(value, dict):
                owner.update(value)
            return True, None
        if isinstance(owner, str) and attr in ("replace", "lower", "upper", "strip", "lstrip", "rstrip", "split",
                                               "join", "format", "removesuffix", "removeprefix", "title",
                                               "partition", "rpartition", "splitlines"):
            values = [self.eval(a, env, ctx) for a in args]
            kw = {a.keyword.value: self.eval(a.value, env, ctx) for a in node.args if a.keyword is not None}
            plain = (str, int, float, list)
            if all(isinstance(v, plain) and not isinstance(v, bool) for v in values + list(kw.values())):
                if attr == "join" and not (len(values) == 1 and isinstance(values[0], list)
                                           and all(isinstance(v, str) for v in values[0])):
                    return True, UNREADABLE
                try:
                    return True, getattr(owner, attr)(*values, **kw)
                except (TypeError, ValueError, IndexError, KeyError, AttributeError):
                    return True, UNREADABLE
            return True, UNREADABLE
        if isinstance(owner, (_Task, _Dag, _Group)) and attr not in ("test", "cli"):
            self.report("OML703", f"`{self.code(node, 60)}` is not imported", self.span(node))
            for a in node.args:
                self.eval(a.value, env, ctx)
            return True, UNREADABLE
        return False, None

    def instant(self, args: list, kw: dict) -> Any:
        names = ("year", "month", "day", "hour", "minute", "second")
        values = list(args) + [kw[n] for n in names[len(args):] if n in kw]
        if not 3 <= len(values) <= 6 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return UNREADABLE
        tz = kw.get("tz", kw.get("tzinfo"))
        if isinstance(tz, _Zone):
            tz = tz.name
        if tz is not None and not isinstance(tz, str):
            return UNREADABLE
        return _Instant(tuple(values), tz)

    # -- DAGs, groups, tasks ----------------------------------------------------------------------
    def new_dag(self, call, env: _Env, ctx: _Ctx, name: str | None = None, span: Span | None = None,
                params: dict | None = None) -> _Dag:
        self.handled.add(id(call))
        args: dict = {}
        positional = []
        for a in call.args:
            if a.keyword is not None:
                args[a.keyword.value] = (a.value, self.eval(a.value, env, ctx))
            elif not a.star:
                positional.append(a.value)
        if "dag_id" not in args and "dag_id_or_func" not in args and positional:
            args["dag_id"] = (positional[0], self.eval(positional[0], env, ctx))
        node, value = args.get("dag_id", args.get("dag_id_or_func", (None, name)))
        if not isinstance(value, str) or not value:
            import os

            value = os.path.splitext(os.path.basename(self.path))[0] or "imported"
            self.report("OML702", f"cannot read the dag_id `{self.code(node) if node is not None else ''}`: the "
                        f"pipeline is named {value!r} after the file", self.span(node if node is not None else call))
        elif node is not None and "__file__" in self.module.code_for_node(self.deref(node)):
            self.report("OML703", f"the dag_id comes from the file name: imported as {value!r}", self.span(node),
                        "the OML pipeline name is fixed; rename it if the file moves")
        dag = _Dag(value, span or self.span(call), args, node, params or {})
        self.dags.append(dag)
        return dag

    def call_dag_factory(self, factory: _DagFactory, node, env: _Env, ctx: _Ctx) -> _Dag | Any:
        args = [self.eval(a.value, env, ctx) for a in node.args if a.keyword is None]
        kw = {a.keyword.value: self.eval(a.value, env, ctx) for a in node.args if a.keyword is not None}
        if factory.called:
            self.report("OML703", f"@dag function {factory.node.name.value!r} is called again: only the first call "
                        "is imported", self.span(node))
            return UNREADABLE
        return self.instantiate(factory, args, kw, env)

    def instantiate(self, factory: _DagFactory, args: list, kw: dict, env: _Env) -> _Dag:
        import libcst as cst

        factory.called = True
        fn = factory.node
        scope = _Env(env)
        params: dict = {}
        positional = len(fn.params.params)
        for i, p in enumerate(list(fn.params.params) + list(fn.params.kwonly_params)):
            name = p.name.value
            value = args[i] if i < min(len(args), positional) else kw.get(name, UNREADABLE)
            if value is UNREADABLE and p.default is not None:
                value = self.eval(p.default, env, _Ctx())
            scope.set(name, None, value)
            if value is not UNREADABLE:
                params[name] = (p.default if p.default is not None else p.name, value)
        call = factory.decorator if factory.decorator is not None else cst.Call(func=cst.Name("dag"))
        dag = self.new_dag(call, env, _Ctx(), name=fn.name.value, span=self.span(fn.name), params=params)
        self.body_of(fn, scope, _Ctx(dag, ()))
        return dag

    def new_group(self, call, env: _Env, ctx: _Ctx, default_id: str | None = None) -> _Group | Any:
        kw = {a.keyword.value: self.eval(a.value, env, ctx) for a in call.args if a.keyword is not None}
        pos = [self.eval(a.value, env, ctx) for a in call.args if a.keyword is None]
        group_id = kw.get("group_id", pos[0] if pos else default_id)
        if not isinstance(group_id, str):
            self.report("OML702", f"cannot read the task group id `{self.code(call, 60)}`: its tasks are imported "
                        "without a prefix", self.span(call))
            group_id = ""
        prefix = kw.get("prefix_group_id", True) is not False
        parent = ctx.groups[-1] if ctx.groups else None
        full = group_id
        if parent is not None and parent.prefix and parent.group_id and group_id:
            full = f"{parent.group_id}.{group_id}"
        return _Group(full, prefix and bool(full), self.span(call))

    def call_group_factory(self, factory: _GroupFactory, node, env: _Env, ctx: _Ctx) -> Any:
        import libcst as cst

        if any(g.group_id.split(".")[-1] == factory.node.name.value for g in ctx.groups) or len(ctx.groups) > 20:
            self.report("OML702", f"@task_group {factory.node.name.value!r} calls itself: not followed", self.span(node))
            return UNREADABLE
        call = factory.decorator if factory.decorator is not None else cst.Call(func=cst.Name("TaskGroup"))
        group = self.new_group(call, env, ctx, default_id=factory.node.name.value)
        scope = _Env(env)
        args = [self.eval(a.value, env, ctx) for a in node.args if a.keyword is None]
        for i, p in enumerate(factory.node.params.params):
            scope.set(p.name.value, None, args[i] if i < len(args) else UNREADABLE)
        inner = _Ctx(ctx.dag, ctx.groups + (group,))
        self.body_of(factory.node, scope, inner)
        return group

    def body_of(self, fn, scope: _Env, ctx: _Ctx) -> Any:
        """Follow a function's body (a @dag or @task_group function, a helper that builds
        tasks); its return value."""
        self.active.append(fn.name.value)
        try:
            self.suite(fn.body, scope, ctx)
        except _Return as done:
            return done.value
        finally:
            self.active.pop()
        return None

    def call_function(self, function: _Function, node, env: _Env, ctx: _Ctx) -> Any:
        """A call of a plain function of the file: followed with its arguments bound, as
        Airflow runs it when it loads the file (a helper that adds tasks, a DAG factory)."""
        import libcst as cst

        fn = function.node
        if fn.name.value in self.active or len(self.active) > 10:
            return UNREADABLE
        args = [self.eval(a.value, env, ctx) for a in node.args if a.keyword is None and not a.star]
        kw = {a.keyword.value: self.eval(a.value, env, ctx) for a in node.args if a.keyword is not None}
        scope = _Env(env)
        params = fn.params
        for i, p in enumerate(list(params.params) + list(params.kwonly_params)):
            value = args[i] if i < min(len(args), len(params.params)) else kw.get(p.name.value, UNREADABLE)
            if value is UNREADABLE and p.default is not None:
                value = self.eval(p.default, env, ctx)
            scope.set(p.name.value, None, value)
        for p in (params.star_arg, params.star_kwarg):
            if isinstance(p, cst.Param):
                scope.set(p.name.value, None, UNREADABLE)
        return self.body_of(fn, scope, ctx)

    def add_task(self, ctx: _Ctx, dag: _Dag, task_id: str, span: Span, kind: str, operator: str) -> _Task:
        group = ctx.groups[-1] if ctx.groups else None
        airflow_id = f"{group.group_id}.{task_id}" if group is not None and group.prefix else task_id
        task = _Task(airflow_id, span, kind, operator, dag=dag)
        dag.tasks.append(task)
        for g in ctx.groups:
            g.members.append(task)
        return task

    def new_task(self, call, operator: str, env: _Env, ctx: _Ctx, mapped: bool = False) -> Any:
        self.handled.add(id(call))
        kw = {a.keyword.value: (a.value, self.eval(a.value, env, ctx)) for a in call.args if a.keyword is not None}
        dag = ctx.dag
        if "dag" in kw and isinstance(kw["dag"][1], _Dag):
            dag = kw["dag"][1]
        if dag is None:
            self.report("OML703", f"{operator} task outside any DAG (no `with DAG` block, no dag=...): not imported",
                        self.span(call))
            return UNREADABLE
        id_node, task_id = kw.get("task_id", (call, UNREADABLE))
        if not isinstance(task_id, str) or not task_id:
            task_id = f"task_{self.span(call).line}"
            self.report("OML702", f"cannot read the task_id of this {operator}: imported as {task_id!r}",
                        self.span(id_node))
        span = self.span(call)
        if operator in ("EmptyOperator", "DummyOperator") and not mapped:
            task = self.add_task(ctx, dag, task_id, span, "empty", operator)
        elif operator == "BashOperator" and not mapped:
            task = self.add_task(ctx, dag, task_id, span, "shell", operator)
            self.shell_config(task, kw, "bash_command", call)
        else:
            task = self.add_task(ctx, dag, task_id, span, "placeholder", operator)
            self.placeholder(task, operator, kw, span, mapped)
        self.task_arguments(task, kw, dag, skip=("task_id", "dag", "bash_command", "env", "append_env", "cwd"))
        return task

    def shell_config(self, task: _Task, kw: dict, command_key: str, where) -> None:
        node, command = kw.get(command_key, (where, UNREADABLE))
        if not isinstance(command, str):
            what = f"`{self.code(node, 60)}`" if command_key in kw else "no command"
            self.report("OML702", f"cannot read the command of task {task.airflow_id!r} ({what}): imported as a "
                        "placeholder step", self.span(node), "write the command as a literal string")
            task.kind, task.config = "placeholder", {"airflow_operator": task.operator}
            return
        task.config["command"] = command
        task.templated.append((("command",), self.deref(node)))
        if command.strip().endswith((".sh", ".bash")):
            self.report("OML703", f"task {task.airflow_id!r} runs a script file: Airflow reads {command.strip()!r} "
                        "as a Jinja template found from the DAG folder and runs its rendered text; OML keeps the "
                        "command as written", self.span(node), "add a space after the file name in Airflow, or "
                        "check the runner's working directory")
        if "env" in kw:
            node, env = kw["env"]
            if isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
                task.config["env"] = dict(env)
                source = self.deref(node)
                for key in env:
                    task.templated.append((("env", key), source))
                self.env_secrets(task, source)
            elif env is not None:
                self.report("OML702", f"cannot read the env of task {task.airflow_id!r} (`{self.code(node, 60)}`): "
                            "not imported", self.span(node), "write env as a literal dict of strings")
        if "append_env" in kw:
            node, append = kw["append_env"]
            if append is True:
                task.config["append_env"] = True
            elif append is not False:
                self.report("OML702", f"cannot read append_env `{self.code(node)}`: not imported", self.span(node))
        if "cwd" in kw:
            node, cwd = kw["cwd"]
            if isinstance(cwd, str):
                task.config["cwd"] = cwd
            elif cwd is not None:
                self.report("OML702", f"cannot read cwd `{self.code(node)}`: not imported", self.span(node))

    def env_secrets(self, task: _Task, source) -> None:
        """Literal secrets in env (an API token...) are not copied: OML rejects inline
        secrets. The variable reads the runner's environment instead."""
        from omlc.components import is_secret_key

        for key, value in list(task.config["env"].items()):
            if is_secret_key(key) and value.strip() and not re.fullmatch(r"\s*\$\{[^}]+\}\s*", value):
                task.config["env"][key] = "${" + key + "}"
                self.report("OML703", f"env {key!r} of task {task.airflow_id!r} holds a literal secret, which OML "
                            f"does not allow: imported as ${{{key}}} (read from the runner's environment)",
                            self.locate(source, key), "set it in the runner's environment or a secrets backend")

    def placeholder(self, task: _Task, operator: str, kw: dict, span: Span, mapped: bool) -> None:
        task.config = {"airflow_operator": operator}
        callable_ = kw.get("python_callable", (None, None))[1]
        if isinstance(callable_, _Function):
            task.config["function"] = callable_.name
        if operator == "ExternalTaskSensor":
            upstream = kw.get("external_dag_id", (None, None))[1]
            if isinstance(upstream, str):
                task.lineage["upstream"].append(f"pipeline: {upstream}")
        what = _not_expressible(operator)
        if mapped:
            what = "dynamic task mapping (.expand) makes one task per item at run time; OML runs each step once"
        self.report("OML704", f"{operator} is not expressible in OML: {what}; imported as placeholder step "
                    f"{task.airflow_id!r} (component {_component(operator)}) that keeps its place in the graph",
                    span, "replace the step with a component your runner provides, or run it as a shell command")

    def task_arguments(self, task: _Task, kw: dict, dag: _Dag, skip: tuple) -> None:
        """Per-task arguments: docs and lineage are imported; the rest has no per-step field."""
        for key, (node, value) in kw.items():
            if key in skip:
                continue
            if key in ("doc_md", "doc"):
                if isinstance(value, str):
                    task.description = value
                continue
            if key in ("outlets", "inlets"):
                items = value if isinstance(value, list) else [value]
                uris = [u for item in items if isinstance(item, _Assets) for u in item.uris]
                if uris and len(uris) == sum(len(i.uris) for i in items if isinstance(i, _Assets)) \
                        and all(isinstance(i, _Assets) for i in items):
                    side = "downstream" if key == "outlets" else "upstream"
                    task.lineage[side].extend(f"dataset: {u}" for u in uris)
                    continue
            if task.kind == "placeholder" or key in _COSMETIC_TASK:
                continue
            if key in _TASK_DEFAULTS and value == _TASK_DEFAULTS[key] and type(value) is type(_TASK_DEFAULTS[key]):
                continue
            default = self.default_args_value(dag, key)
            if default is not UNREADABLE and _same_value(default, value):
                continue
            if key == "owner" and isinstance(value, str):
                self.report("OML703", f"task {task.airflow_id!r} has its own owner {value!r}: OML has one owner "
                            "per pipeline (metadata.owner); not imported", self.span(node))
                continue
            why = _WHY.get(key) or ("OML sets it per pipeline (schedule block)" if key in _RETRY_KEYS else
                                    "OML steps run when all their needs succeed" if key == "trigger_rule" else
                                    "callbacks run Python code inside Airflow" if key.endswith("_callback") else
                                    "OML has no per-step field for it")
            self.report("OML703", f"argument {key}= of task {task.airflow_id!r} is not imported: {why}",
                        self.span(node))

    def default_args_value(self, dag: _Dag, key: str) -> Any:
        entries = dag.args.get("default_args", (None, None))[1]
        if isinstance(entries, dict) and key in entries:
            return entries[key]
        return UNREADABLE

    def mapped(self, owner, node, env: _Env, ctx: _Ctx) -> Any:
        for a in node.args:
            self.eval(a.value, env, ctx)
        if isinstance(owner, _TaskFactory):
            return self.taskflow(owner, node, env, ctx, mapped=True)
        partial = owner.call
        self.handled.add(id(partial))
        return self.new_task(partial, owner.operator, env, ctx, mapped=True)

    def taskflow(self, factory: _TaskFactory, node, env: _Env, ctx: _Ctx, mapped: bool = False) -> Any:
        """A call of a @task function inside a DAG: one task, after the tasks its arguments come from."""
        upstream = [self.eval(a.value, env, ctx) for a in node.args]
        dag = ctx.dag
        if dag is None:
            return UNREADABLE
        task_id = factory.kw.get("task_id", (None, factory.name))[1]
        if not isinstance(task_id, str) or not task_id:
            task_id = factory.name
        group = ctx.groups[-1] if ctx.groups else None
        full = f"{group.group_id}.{task_id}" if group is not None and group.prefix else task_id
        count = dag.ids.get(full, 0)
        dag.ids[full] = count + 1
        if count:
            task_id = f"{task_id}__{count}"  # Airflow's id for a second call of the same @task
        operator = f"@task.{factory.kind}" if factory.kind else "@task"
        span = self.span(factory.node.name)
        if factory.kind == "bash" and not mapped:
            task = self.add_task(ctx, dag, task_id, span, "shell", operator)
            command = self.returned_literal(factory.node)
            kw = {k: v for k, v in factory.kw.items()}
            kw["bash_command"] = command if command is not None else (factory.node, UNREADABLE)
            self.shell_config(task, kw, "bash_command", factory.node)
            self.task_arguments(task, factory.kw, dag, skip=("task_id", "env", "append_env", "cwd", "bash_command"))
        else:
            task = self.add_task(ctx, dag, task_id, span, "placeholder", operator)
            what = ("dynamic task mapping (.expand) makes one task per item at run time; OML runs each step once"
                    if mapped else _not_expressible(operator))
            task.config = {"airflow_operator": operator, "function": factory.name}
            self.report("OML704", f"{operator} function {factory.name!r} is not expressible in OML: {what}; imported "
                        f"as placeholder step {task.airflow_id!r} (component {_component(operator)}) that keeps its "
                        "place in the graph", self.span(node) if mapped else span,
                        "replace the step with a component your runner provides, or run it as a shell command")
        for value in upstream:
            for ref in _refs(value) or []:
                dag.edges.append((ref, task, self.span(node)))
        return task

    def returned_literal(self, fn) -> tuple | None:
        """``(node, value)`` of a function whose body only returns a literal string."""
        import libcst as cst

        body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else [cst.SimpleStatementLine(fn.body.body)]
        if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) \
                and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            body = body[1:]  # the docstring
        if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1 \
                and isinstance(body[0].body[0], cst.Return) and body[0].body[0].value is not None:
            node = body[0].body[0].value
            value = self.eval(node, _Env(), _Ctx())
            return (node, value) if isinstance(value, str) else None
        return None

    def deref(self, node):
        """The literal node a name was assigned from (for locating text inside it)."""
        import libcst as cst

        for _ in range(20):
            if not isinstance(node, cst.Name):
                return node
            found = None
            for stmt in self.module.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                                and isinstance(small.targets[0].target, cst.Name) \
                                and small.targets[0].target.value == node.value:
                            found = small.value
            if found is None:
                return node
            node = found
        return node

    # -- dependencies ---------------------------------------------------------------------------
    def depend(self, ups, downs, node, operands) -> None:
        dag = None
        sides = []
        for value, operand in ((ups, operands[0]), (downs, operands[1])):
            refs = _refs(value)
            if refs is None or not refs:
                self.report("OML702", f"cannot read the dependency `{self.code(node, 60)}`: "
                            f"`{self.code(operand, 40)}` is not a task of this file", self.span(operand))
                return
            sides.append(refs)
        for ref in sides[0] + sides[1]:
            dag = dag or self.dag_of(ref)
        if dag is None:
            return
        span = self.span(node)
        for u in sides[0]:
            for d in sides[1]:
                dag.edges.append((u, d, span))

    def dag_of(self, ref) -> _Dag | None:
        if isinstance(ref, _Group):
            return ref.members[0].dag if ref.members else None
        return ref.dag

    def chain(self, kind: str, node, env: _Env, ctx: _Ctx) -> None:
        values, operands = [], []
        for a in node.args:
            value = self.eval(a.value, env, ctx)
            if a.star == "*" and isinstance(value, (list, tuple)):  # chain(start, *tasks)
                values.extend(value)
                operands.extend([a.value] * len(value))
            elif a.star:
                self.report("OML702", f"cannot read `{self.code(node, 60)}`: `{self.code(a.value, 40)}` is not a "
                            "list omlc knows", self.span(a.value))
                return
            else:
                values.append(value)
                operands.append(a.value)
        if kind == "cross_downstream":
            if len(values) == 2:
                self.depend(values[0], values[1], node, operands)
            return
        for (a, na), (b, nb) in zip(zip(values, operands), list(zip(values, operands))[1:]):
            if kind == "chain" and isinstance(a, list) and isinstance(b, list):
                if len(a) != len(b):
                    self.report("OML702", f"chain() of lists of different lengths ({len(a)} and {len(b)}) is an "
                                "error in Airflow: not imported", self.span(node))
                    return
                for x, y in zip(a, b):
                    self.depend(x, y, node, (na, nb))
            else:
                self.depend(a, b, node, (na, nb))


def _refs(value) -> list | None:
    """The tasks and groups a dependency operand stands for; None when it is not one."""
    if isinstance(value, (_Task, _Group)):
        return [value]
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            inner = _refs(item)
            if inner is None:
                return None
            out.extend(inner)
        return out
    if isinstance(value, dict):
        found = [r for v in value.values() for r in (_refs(v) or [])]
        return found
    return None


def _same_value(a, b) -> bool:
    if isinstance(a, _Delta) and isinstance(b, _Delta):
        return a.seconds == b.seconds
    return type(a) is type(b) and a == b and not isinstance(a, (_Task, _Dag))


def _snake(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name.lstrip("@")).lower()
    text = re.sub(r"[^a-z0-9_]+", "_", text).strip("_")
    return text if text and text[0].isalpha() else f"op_{text}"


def _component(operator: str) -> str:
    return "airflow." + _snake(operator)


def _not_expressible(operator: str) -> str:
    if operator.startswith("@task"):
        kind = operator.partition(".")[2]
        if kind in ("branch", "short_circuit"):
            return "it chooses at run time which downstream tasks run; OML runs every step"
        if kind == "sensor":
            return "it waits for a condition checked by Python code"
        return "it runs Python code inside Airflow"
    if operator.startswith("Branch") or operator == "ShortCircuitOperator":
        return "it chooses at run time which downstream tasks run; OML runs every step"
    if operator == "ExternalTaskSensor":
        return "it waits for a task of another DAG; OML has no cross-pipeline wait (recorded as lineage)"
    if operator.endswith("Sensor"):
        return "a sensor waits for an external condition; OML has no waiting step"
    if operator in ("PythonOperator", "PythonVirtualenvOperator", "ExternalPythonOperator"):
        return "it runs Python code inside Airflow"
    if operator == "TriggerDagRunOperator":
        return "it triggers another DAG; OML has no cross-pipeline trigger"
    return "OML has no component that runs it"


# -- the OML document of one DAG ---------------------------------------------------------------
_HANDLED_DAG_ARGS = {"dag_id", "dag_id_or_func", "description", "schedule", "schedule_interval", "timetable",
                     "start_date", "end_date", "catchup", "max_active_runs", "dagrun_timeout", "tags", "doc_md",
                     "default_args", "params"}
_HANDLED_DEFAULTS = {"owner", "email", "email_on_failure", "email_on_retry", "start_date", "end_date",
                     *_RETRY_KEYS}
_WHY = {
    "max_active_tasks": "OML has no limit of parallel steps within a run",
    "concurrency": "OML has no limit of parallel steps within a run",
    "execution_timeout": "OML's schedule.timeout bounds a whole run, not one step",
    "sla": "OML's metadata.sla counts from the fire time for the whole run (Airflow 3 removed task SLAs)",
    "depends_on_past": "OML runs do not wait for the previous run's steps",
    "wait_for_downstream": "OML runs do not wait for the previous run's steps",
    "template_searchpath": "OML does not render templates",
    "user_defined_macros": "OML does not render templates",
    "user_defined_filters": "OML does not render templates",
}


class _Builder:
    def __init__(self, walk: _Migration, dag: _Dag) -> None:
        self.w = walk
        self.dag = dag
        self.args = dag.args
        self.report = walk.report
        self.defaults: dict[str, tuple] = {}
        self.semantics: str | None = None  # "interval" (Airflow 2 data intervals) or "trigger"
        self.window_size = 0
        self.window_used = False
        self.window_noted = False
        self.has_schedule = False
        self.params: dict = {}
        self.lineage: dict = {"upstream": [], "downstream": []}

    def node(self, key: str):
        return self.args[key][0] if key in self.args else None

    def document(self):
        from ruamel.yaml.comments import CommentedMap

        dag = self.dag
        doc = CommentedMap()
        doc["oml_version"] = "0.2.0"
        doc["name"] = self.pipeline_name()
        node, value = self.args.get("description", (None, None))
        if isinstance(value, str) and value.strip():
            doc["description"] = value
        elif value is not None:
            self.report("OML703", f"cannot read the description `{self.w.code(node)}`: not imported", self.w.span(node))
        self.read_default_args()
        self.params = self.params_block()
        if self.params:
            doc["params"] = self.params
        schedule = self.schedule_block()
        self.has_schedule = schedule is not None
        if schedule is not None:
            self.schedule_facts(schedule)
        else:
            self.without_schedule()
        metadata = self.metadata_block()
        steps, tasks = self.steps()
        if not steps:
            self.report("OML702", f"DAG {dag.name!r} has no task that does work: nothing to import", dag.span,
                        "an OML pipeline needs at least one step")
            return None
        for task in tasks:
            for side in ("upstream", "downstream"):
                self.lineage[side].extend(task.lineage[side])
        lineage = {k: list(dict.fromkeys(v)) for k, v in self.lineage.items() if v}
        if lineage:
            metadata["lineage"] = lineage
        if schedule is not None:
            if self.window_used:
                schedule["window"] = ({"type": "sliding", "size": _duration(self.window_size), "format": "iso"}
                                      if self.window_size else {"type": "tumbling", "format": "iso"})
            doc["schedule"] = schedule
        if metadata:
            doc["metadata"] = metadata
        doc["steps"] = steps
        self.other_dag_arguments()
        return self.validated(doc, tasks)

    def pipeline_name(self) -> str:
        name = self.dag.name
        clean = _sanitize(name)
        if clean != name:
            self.report("OML703", f"dag_id {name!r} is not a valid OML pipeline name: imported as {clean!r}",
                        self.w.span(self.dag.name_node) if self.dag.name_node is not None else self.dag.span,
                        "OML names use letters, digits, '_', '-' and '.', starting with a letter or digit")
        return clean

    # -- default_args ---------------------------------------------------------------------------
    def read_default_args(self) -> None:
        if "default_args" not in self.args:
            return
        node, value = self.args["default_args"]
        if not isinstance(value, dict):
            if value is not None:
                self.report("OML702", f"cannot read default_args `{self.w.code(node, 60)}`: owner, retries and "
                            "emails in it are not imported", self.w.span(node), "write default_args as a dict literal")
            return
        nodes = self.dict_nodes(node)
        for key, item in value.items():
            if not isinstance(key, str):
                continue
            at = nodes.get(key, node)
            self.defaults[key] = (at, item)
            if key in _HANDLED_DEFAULTS or key in _COSMETIC_TASK:
                continue
            if key in _TASK_DEFAULTS and item == _TASK_DEFAULTS[key] and type(item) is type(_TASK_DEFAULTS[key]):
                continue
            why = _WHY.get(key, "callbacks run Python code inside Airflow" if key.startswith("on_")
                           else "OML has no field for it")
            self.report("OML703", f"default_args {key!r} is not imported: {why}", self.w.span(at))

    def dict_nodes(self, node) -> dict:
        """Key -> value node of a dict literal, ``dict(...)`` call or ``{**base, ...}`` (through names)."""
        import libcst as cst

        node = self.w.deref(node)
        out: dict = {}
        if isinstance(node, cst.Dict):
            for element in node.elements:
                if isinstance(element, cst.StarredDictElement):
                    out.update(self.dict_nodes(element.value))
                elif isinstance(element.key, cst.SimpleString):
                    try:
                        key = element.key.evaluated_value
                    except (ValueError, SyntaxError):
                        continue
                    out[key] = element.value
        elif isinstance(node, cst.Call):
            for a in node.args:
                if a.keyword is not None:
                    out[a.keyword.value] = a.value
                elif not a.star:
                    out.update(self.dict_nodes(a.value))
        return out

    def default(self, key: str) -> tuple:
        return self.defaults.get(key, (None, None))

    # -- params ---------------------------------------------------------------------------------
    def params_block(self) -> dict:
        out: dict = {}
        entries: list = []
        if "params" in self.args:
            node, value = self.args["params"]
            if isinstance(value, dict):
                nodes = self.dict_nodes(node)
                entries.extend((k, nodes.get(k, node), v) for k, v in value.items())
            elif value is not None:
                self.report("OML702", f"cannot read params `{self.w.code(node, 60)}`: not imported", self.w.span(node))
        entries.extend((k, n, v) for k, (n, v) in self.dag.params.items())
        for name, node, value in entries:
            if not isinstance(name, str):
                continue
            if isinstance(value, _Param):
                out[name] = {"default": value.default} if value.has_default and _plain(value.default) else {}
                if value.has_default and not _plain(value.default):
                    self.report("OML703", f"cannot read the default of param {name!r}: declared without one",
                                self.w.span(node))
            elif _plain(value):
                out[name] = {"default": value}
            else:
                self.report("OML703", f"cannot read param {name!r} (`{self.w.code(node, 60)}`): not imported",
                            self.w.span(node))
        return out

    # -- schedule -------------------------------------------------------------------------------
    def schedule_block(self) -> dict | None:
        key = next((k for k in ("schedule", "schedule_interval", "timetable") if k in self.args), None)
        dag = self.dag
        if key is None:
            if not self.w.airflow3:
                self.report("OML703", "no schedule: Airflow 2 ran a DAG without one daily (timedelta(days=1)), "
                            "Airflow 3 only when triggered; imported without a schedule", dag.span,
                            "set schedule= explicitly")
            return None
        node, value = self.args[key]
        if key != "schedule":
            self.report("OML703", f"{key}= was removed in Airflow 3 (use schedule=): read with its Airflow 2 meaning",
                        self.w.span(node))
        previous = key != "schedule" or not self.w.airflow3
        return self.schedule_of(node, value, previous)

    def schedule_of(self, node, value, previous: bool) -> dict | None:
        from omlc.durations import Duration
        from omlc.schedule.cron import CronError, parse_cron

        w = self.w
        at = w.span(node)
        cron = interval = tz = None
        if value is None:
            return None
        if isinstance(value, str):
            text = value.strip()
            if text.lower() in ("@once", "@continuous"):
                self.report("OML704", f"schedule {text!r} is not expressible in OML (a cron or an interval): imported "
                            "without a schedule", at, "run the pipeline by hand, or give it a cron schedule")
                return None
            cron = _PRESETS.get(text.lower(), text)
            self.semantics = "interval" if previous else "trigger"
        elif isinstance(value, _Delta):
            interval = value
            self.semantics = "interval" if previous else "trigger"
        elif isinstance(value, _Timetable):
            kind, pos, kw = value.kind, value.pos, value.kw
            if kind in ("CronTriggerTimetable", "CronDataIntervalTimetable", "MultipleCronTriggerTimetable"):
                crons = pos if kind == "MultipleCronTriggerTimetable" else pos[:1] or [kw.get("cron")]
                if len(crons) != 1:
                    self.report("OML704", f"{kind} with {len(crons)} crons is not expressible in OML (one expression "
                                "per schedule): imported without a schedule", at, "make one pipeline per cron")
                    return None
                cron = crons[0]
                tz = kw.get("timezone", pos[1] if kind == "CronDataIntervalTimetable" and len(pos) > 1 else None)
                self.semantics = "interval" if kind == "CronDataIntervalTimetable" else "trigger"
            elif kind in ("DeltaTriggerTimetable", "DeltaDataIntervalTimetable"):
                interval = pos[0] if pos else kw.get("delta")
                self.semantics = "interval" if kind == "DeltaDataIntervalTimetable" else "trigger"
            elif kind in ("AssetOrTimeSchedule", "DatasetOrTimeSchedule"):
                assets = kw.get("assets", kw.get("datasets"))
                self.assets(assets, node, also_time=True)
                return self.schedule_of(node, kw.get("timetable"), previous)
            elif kind == "NullTimetable":
                return None
            else:
                self.report("OML704", f"the timetable {kind} is not expressible in OML (a cron or an interval): "
                            "imported without a schedule", at, "give the pipeline a cron or interval schedule")
                return None
            if self.semantics == "trigger" and "interval" in kw:
                size = kw["interval"]
                if isinstance(size, _Delta) and size.seconds >= 0 and size.seconds == int(size.seconds):
                    self.window_size = int(size.seconds)
                else:
                    self.report("OML702", f"cannot read interval= of {kind}: its data interval is not imported", at)
        elif isinstance(value, _Assets) or (isinstance(value, list) and value
                                             and all(isinstance(v, _Assets) for v in value)):
            self.assets(value, node, also_time=False)
            return None
        else:
            self.report("OML702", f"cannot read the schedule `{w.code(node, 60)}`: imported without a schedule", at,
                        "use a cron string, a timedelta or a known timetable")
            return None
        if isinstance(tz, _Zone):
            tz = tz.name
        block: dict = {}
        if cron is not None:
            if not isinstance(cron, str):
                self.report("OML702", f"cannot read the cron expression of `{w.code(node, 60)}`: imported without "
                            "a schedule", at)
                return None
            try:
                parse_cron(cron)
            except CronError as exc:
                self.report("OML704", f"the cron expression {cron!r} is not one OML accepts ({exc}): imported "
                            "without a schedule", at, exc.hint or "use the portable 5-field cron syntax")
                return None
            block["expression"] = cron
        else:
            if not isinstance(interval, _Delta) or interval.seconds <= 0 or interval.seconds != int(interval.seconds):
                self.report("OML702", f"cannot read the interval of `{w.code(node, 60)}`: imported without a "
                            "schedule", at, "use a timedelta of whole seconds")
                return None
            block["type"] = "interval"
            block["expression"] = Duration(0, int(interval.seconds)).to_text()
        self.cron = cron
        self.interval = int(interval.seconds) if interval is not None else None
        start_node, start = self.args.get("start_date", self.default("start_date"))
        if tz is None and isinstance(start, _Instant) and start.zone:
            tz = start.zone
        if tz is not None and not isinstance(tz, str):
            self.report("OML702", f"cannot read the timezone of `{w.code(node, 60)}`: UTC is used", at)
            tz = None
        tz = tz or "UTC"
        from omlc.schedule.engine import ScheduleError, zone

        try:
            zone(tz)
        except ScheduleError:
            self.report("OML704", f"unknown timezone {tz!r}: imported without a schedule", at)
            return None
        block["timezone"] = "UTC" if tz.upper() in ("UTC", "ETC/UTC", "Z", "GMT") else tz
        self.tz = block["timezone"]
        return block

    def assets(self, value, node, also_time: bool) -> None:
        items = value if isinstance(value, list) else [value]
        uris = [u for v in items if isinstance(v, _Assets) for u in v.uris]
        self.lineage["upstream"].extend(f"dataset: {u}" for u in uris)
        if also_time:
            message = ("runs when its assets are updated as well as on its timetable: only the timetable is "
                       "imported (the assets are recorded as upstream lineage)")
        else:
            message = ("a data-aware schedule (runs when its assets or datasets are updated) is not expressible in "
                       "OML: imported without a schedule (the assets are recorded as upstream lineage)")
        self.report("OML704", message, self.w.span(node), "schedule the pipeline by time, or run it from the "
                    "upstream pipeline (omlc named schedules run pipelines in order)")

    def schedule_facts(self, block: dict) -> None:
        """start/end dates, catchup, concurrency, timeout and retry into the schedule block."""
        from omlc.durations import Duration

        w = self.w
        for key in ("start_date", "end_date"):
            node, value = self.args.get(key, self.default(key))
            moment = self.moment(key, node, value)
            if moment is None:
                continue
            if self.semantics == "interval":
                moment = self.data_interval_fire(key, node, moment)
                if moment is None:
                    continue
            block[key] = _wall(moment, self.tz)
        node, value = self.args.get("catchup", (None, None))
        if value is True:
            block["catchup"] = True
        elif node is None and not w.airflow3:
            self.report("OML703", "catchup is not set: Airflow 2 catches up by default (catchup_by_default), OML "
                        "does not: imported as false", self.dag.span, "set catchup= explicitly")
        elif value is not False and node is not None:
            self.report("OML703", f"cannot read catchup `{w.code(node)}`: imported as false", w.span(node))
        node, value = self.args.get("max_active_runs", (None, None))
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            block["concurrency"] = value
        elif node is not None and value is not None:
            self.report("OML703", f"cannot read max_active_runs `{w.code(node)}`: not imported", w.span(node))
        node, value = self.args.get("dagrun_timeout", (None, None))
        if isinstance(value, _Delta) and value.seconds >= 1:
            block["timeout"] = Duration(0, int(value.seconds)).to_text()
        elif node is not None and value is not None:
            self.report("OML703", f"cannot read dagrun_timeout `{w.code(node)}`: not imported", w.span(node))
        retry = self.retry()
        if retry:
            block["retry"] = retry

    def moment(self, key: str, node, value) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, _Relative):
            self.report("OML703", f"{key} `{self.w.code(node, 60)}` is relative to the time Airflow parses the file: "
                        "not imported", self.w.span(node), "use a fixed date, e.g. pendulum.datetime(2024, 1, 1)")
            return None
        if isinstance(value, _Instant):
            moment = _utc(value)
            if moment is not None:
                return moment
        self.report("OML703", f"cannot read {key} `{self.w.code(node, 60)}`: not imported", self.w.span(node))
        return None

    def data_interval_fire(self, key: str, node, moment: datetime) -> datetime | None:
        """With Airflow 2 data intervals, the run of the interval that starts at (or, for
        end_date, last starts before) ``moment`` fires at that interval's end: OML's date."""
        from omlc.schedule.engine import CronSchedule, ScheduleError

        tick = timedelta(microseconds=1)
        try:
            if self.cron is not None:
                fires = CronSchedule(self.cron, self.tz)
                begin = fires.next(moment - tick) if key == "start_date" else fires.prev(moment + tick)
                fire = fires.next(begin)
            else:
                step = timedelta(seconds=self.interval)
                begin = moment
                if key == "end_date":
                    start = self.args.get("start_date", self.default("start_date"))[1]
                    anchor = _utc(start) if isinstance(start, _Instant) else None
                    if anchor is not None and moment >= anchor:
                        begin = anchor + step * ((moment - anchor) // step)
                fire = begin + step
        except (ScheduleError, StopIteration, OverflowError, ValueError):
            return moment
        if key == "start_date":
            self.report("OML703", f"read as a data-interval schedule: the first run covers "
                        f"{_wall(begin, self.tz)} to {_wall(fire, self.tz)} and fires at its end, so OML's "
                        f"start_date (the first fire time) is {_wall(fire, self.tz)}", self.w.span(node),
                        severity=_INFO)
        return fire

    def retry(self) -> dict | None:
        from omlc.durations import Duration

        w = self.w
        node, retries = self.default("retries")
        if node is None or retries in (0, None):
            return None
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            self.report("OML703", f"cannot read retries `{w.code(node)}`: not imported", w.span(node))
            return None
        if retries > 100:
            self.report("OML703", f"retries={retries}: OML allows at most 100; imported as 100", w.span(node))
            retries = 100
        block: dict = {"attempts": retries}
        node, delay = self.default("retry_delay")
        seconds = _seconds(delay) if node is not None else 300  # Airflow's default_task_retry_delay
        if seconds is None:
            self.report("OML703", f"cannot read retry_delay `{w.code(node)}`: Airflow's default 5m is used",
                        w.span(node))
            seconds = 300
        block["delay"] = Duration(0, seconds).to_text()
        node, backoff = self.default("retry_exponential_backoff")
        if backoff is True:
            block["backoff"] = "exponential"
            self.report("OML703", "retry_exponential_backoff: Airflow doubles the delay and adds a hash-based jitter "
                        "of up to 100%; imported as OML's exponential backoff (delay, 2*delay, 4*delay... exactly)",
                        w.span(node))
        elif node is not None and backoff not in (False, None, 0):
            self.report("OML703", f"cannot read retry_exponential_backoff `{w.code(node)}`: a constant delay is "
                        "imported", w.span(node))
        node, cap = self.default("max_retry_delay")
        if node is not None and cap is not None:
            seconds = _seconds(cap)
            if seconds is None:
                self.report("OML703", f"cannot read max_retry_delay `{w.code(node)}`: not imported", w.span(node))
            else:
                block["max_delay"] = Duration(0, seconds).to_text()
        return block

    def without_schedule(self) -> None:
        """Schedule facts of a DAG OML gets no schedule for: reported where they are set."""
        for key, why in (("catchup", "catchup"), ("max_active_runs", "concurrency"), ("dagrun_timeout", "timeout"),
                         ("end_date", "end_date")):
            node, value = self.args.get(key, (None, None))
            if node is not None and value not in (None, False):
                self.report("OML703", f"{key} is not imported: OML keeps {why} in the schedule block and this "
                            "pipeline has no schedule", self.w.span(node))
        for key in _RETRY_KEYS:
            node, value = self.default(key)
            if node is not None and value not in (None, False, 0):
                self.report("OML703", f"default_args {key!r} is not imported: OML keeps retries in the schedule "
                            "block and this pipeline has no schedule", self.w.span(node))

    # -- metadata -------------------------------------------------------------------------------
    def metadata_block(self) -> dict:
        w = self.w
        block: dict = {}
        node, owner = self.default("owner")
        if isinstance(owner, str) and owner.strip():
            block["owner"] = owner
        elif node is not None:
            self.report("OML703", f"cannot read owner `{w.code(node)}`: not imported", w.span(node))
        node, doc = self.dag.doc_md if self.dag.doc_md is not None else self.args.get("doc_md", (None, None))
        if isinstance(doc, str) and doc.strip():
            from ruamel.yaml.scalarstring import LiteralScalarString

            block["description"] = LiteralScalarString(doc) if _literal_block(doc) else doc
            if doc.strip().endswith(".md") and "\n" not in doc.strip():
                self.report("OML703", f"doc_md {doc.strip()!r} names a file, which Airflow shows instead: the file "
                            "name is imported", w.span(node), "paste the file's text into metadata.description")
        elif node is not None and doc is not None:
            self.report("OML703", f"cannot read doc_md `{w.code(node, 60)}`: not imported", w.span(node))
        node, tags = self.args.get("tags", (None, None))
        if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            if tags:
                block["tags"] = list(dict.fromkeys(tags))
        elif node is not None and tags is not None:
            self.report("OML703", f"cannot read tags `{w.code(node, 60)}`: not imported", w.span(node))
        emails = self.emails()
        if emails:
            block["notifications"] = {"on_failure": [{"email": e} for e in emails]}
        return block

    def emails(self) -> list[str]:
        w = self.w
        node, value = self.default("email")
        if node is None or value is None:
            return []
        items = re.split(r"[,;]", value) if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.report("OML703", f"cannot read email `{w.code(node, 60)}`: not imported", w.span(node))
            return []
        items = [i.strip() for i in items if i.strip()]
        bad = [i for i in items if not _EMAIL.match(i)]
        if bad:
            self.report("OML703", f"{', '.join(map(repr, bad))} is not an email address: not imported", w.span(node))
        good = [i for i in items if _EMAIL.match(i)]
        on_failure = self.default("email_on_failure")[1]
        on_retry = self.default("email_on_retry")[1]
        if good and on_retry is not False:
            self.report("OML703", "Airflow also emails on every retry (email_on_retry defaults to true): OML has no "
                        "on-retry notification; only failures are imported", w.span(node),
                        "set email_on_retry=False to keep the DAG as imported")
        if on_failure is False:
            if good:
                self.report("OML703", "email with email_on_failure=False: no notification is imported",
                            w.span(self.default("email_on_failure")[0]))
            return []
        return good

    # -- steps ----------------------------------------------------------------------------------
    def task_edges(self) -> list[tuple]:
        """The DAG's dependencies between tasks (task groups resolved to their roots and leaves)."""
        dag = self.dag
        memo: dict = {}

        def internal(group: _Group) -> list:
            members = set(map(id, group.members))
            out = []
            for up, down, span in dag.edges:
                inside = all(((isinstance(r, _Task) and id(r) in members) or
                              (isinstance(r, _Group) and r is not group and r.members and
                               set(map(id, r.members)) <= members)) for r in (up, down))
                if inside:
                    out.extend((u, d, span) for u in side(up, "leaves") for d in side(down, "roots"))
            return out

        def side(ref, which: str) -> list:
            if isinstance(ref, _Task):
                return [ref]
            key = (id(ref), which)
            if key not in memo:
                memo[key] = []  # a group inside itself resolves to nothing
                edges = internal(ref)
                if which == "roots":
                    targets = {id(d) for _, d, _ in edges}
                    memo[key] = [t for t in ref.members if id(t) not in targets]
                else:
                    sources = {id(u) for u, _, _ in edges}
                    memo[key] = [t for t in ref.members if id(t) not in sources]
            return memo[key]

        out = []
        for up, down, span in dag.edges:
            out.extend((u, d, span) for u in side(up, "leaves") for d in side(down, "roots"))
        return out

    def steps(self) -> tuple[list, list]:
        from ruamel.yaml.comments import CommentedMap

        tasks = list(self.dag.tasks)
        ups: dict[int, list] = {id(t): [] for t in tasks}
        where: dict[tuple, Span] = {}
        for u, d, span in self.task_edges():
            if u is d or id(u) not in ups or id(d) not in ups:
                continue
            if u in ups[id(d)]:
                continue
            if _reaches(ups, u, d):
                self.report("OML702", f"`{u.airflow_id} >> {d.airflow_id}` closes a dependency cycle, which Airflow "
                            "rejects: this dependency is not imported", span)
                continue
            ups[id(d)].append(u)
            where[(id(u), id(d))] = span
        for task in [t for t in tasks if t.kind == "empty"]:
            below = [t for t in tasks if task in ups[id(t)]]
            for t in below:
                ups[id(t)] = [u for u in ups[id(t)] if u is not task]
                for u in ups[id(task)]:
                    if u not in ups[id(t)]:
                        ups[id(t)].append(u)
            tasks.remove(task)
            self.report("OML703", f"{task.operator} {task.airflow_id!r} does no work: not a step; its upstream "
                        "tasks come directly before its downstream ones", task.span, severity=_INFO)
        # step ids
        ids: dict[int, str] = {}
        used: set[str] = set()
        for task in tasks:
            sid = _sanitize(task.airflow_id)
            base, n = sid, 2
            while sid in used:
                sid = f"{base[:195]}_{n}"
                n += 1
            used.add(sid)
            ids[id(task)] = sid
            if sid != task.airflow_id and base == task.airflow_id:
                self.report("OML703", f"task id {task.airflow_id!r} is used twice, which Airflow rejects: imported "
                            f"as {sid!r}", task.span)
            elif sid != task.airflow_id:
                self.report("OML703", f"task id {task.airflow_id!r} is not a valid OML step id: imported as {sid!r}",
                            task.span, "OML step ids use letters, digits, '_', '-' and '.', starting with a letter "
                            "or digit")
        order = _topological(tasks, ups)
        position = {id(t): i for i, t in enumerate(order)}
        steps = []
        shell_noted = False
        for i, task in enumerate(order):
            step = CommentedMap()
            step["id"] = ids[id(task)]
            if task.kind == "shell":
                step["component"] = SHELL_COMPONENT
                if not shell_noted:
                    shell_noted = True
                    self.report("OML703", f"{task.operator} tasks become steps of component {SHELL_COMPONENT!r} "
                                "(config: command, env, append_env, cwd as BashOperator means them): the reference "
                                "registry has no shell component, so the runner must provide it", task.span,
                                severity=_INFO)
            else:
                step["component"] = _component(task.operator)
            step["mode"] = "transform"
            needs = [ids[id(u)] for u in sorted(ups[id(task)], key=lambda u: position[id(u)])]
            previous = ids[id(order[i - 1])] if i else None
            if not (needs == [previous] or (i == 0 and not needs)):
                step["needs"] = needs
            config = self.config(task)
            if config:
                step["config"] = config
            if task.description:
                step["description"] = task.description
            steps.append(step)
        return steps, order

    def config(self, task: _Task) -> dict:
        from ruamel.yaml.scalarstring import LiteralScalarString

        config = dict(task.config)
        if "env" in config:
            config["env"] = dict(config["env"])
        for path, node in task.templated:
            holder = config
            for part in path[:-1]:
                holder = holder[part]
            holder[path[-1]] = self.template(holder[path[-1]], node, task)
        for key, value in config.items():
            if isinstance(value, str) and _literal_block(value):
                config[key] = LiteralScalarString(value)
        return config

    def template(self, text: str, node, task: _Task) -> str:
        """Jinja in a command or env value: data-interval values and params become OML
        references; the rest stays as written, reported where it is."""
        out: list[str] = []
        last = 0
        seen: dict[str, int] = {}
        for m in _JINJA.finditer(text):
            whole = m.group(0)
            nth = seen.get(whole, 0)
            seen[whole] = nth + 1
            expr = (m.group(1) or "").strip()
            replacement = None
            if expr in ("data_interval_start", "data_interval_end"):
                replacement = self.window_reference(expr, node, whole, nth)
            else:
                pm = re.fullmatch(r"params\.([A-Za-z_][A-Za-z0-9_]*)|params\[\s*['\"]([^'\"]+)['\"]\s*\]", expr)
                name = (pm.group(1) or pm.group(2)) if pm else None
                if name is not None and name in self.params and _PARAM_NAME.match(name):
                    replacement = "${params." + name + "}"
            if replacement is None:
                replacement = whole
                if nth == 0 and not (expr in ("data_interval_start", "data_interval_end")):
                    self.report("OML703", f"{_short(whole)} in task {task.airflow_id!r} stays as written: OML does "
                                "not render Jinja (Airflow rendered it at run time)", self.w.locate(node, whole),
                                "for dates use ${window.start} / ${window.end} (schedule.window.format sets their "
                                "format); for params ${params.NAME}")
            out.append(text[last:m.start()])
            out.append(replacement)
            last = m.end()
        out.append(text[last:])
        return "".join(out)

    def window_reference(self, expr: str, node, whole: str, nth: int) -> str | None:
        at = self.w.locate(node, whole)
        if not self.has_schedule or self.semantics is None:
            if nth == 0:
                self.report("OML703", f"{whole} stays as written: the pipeline has no schedule, so OML has no window "
                            "for it", at, "give the pipeline a schedule with a window and use ${window.start} / "
                            "${window.end}")
            return None
        self.window_used = True
        if self.semantics == "interval":
            reference = "${window.start}" if expr == "data_interval_start" else "${window.end}"
            why = ("read as a data-interval schedule (a *DataIntervalTimetable, or Airflow 2's reading of a cron or "
                   "timedelta: schedule_interval=, or a file that does not import airflow.sdk): a run's data interval "
                   "goes from the previous fire time to its own, which is an OML tumbling window")
        elif self.window_size:
            reference = "${window.start}" if expr == "data_interval_start" else "${window.end}"
            why = (f"the trigger timetable's interval= makes the data interval the {_duration(self.window_size)} "
                   "before the fire time, which is an OML sliding window of that size")
        else:
            reference = "${window.end}"
            why = ("read as an Airflow 3 trigger timetable (the file imports airflow.sdk, or a *TriggerTimetable): "
                   "its data interval is empty, start and end are both the fire time, which is the end of an OML "
                   "tumbling window")
        if not self.window_noted:
            self.window_noted = True
            self.report("OML703", f"{{{{ data_interval_start }}}} / {{{{ data_interval_end }}}} became OML window "
                        f"references: {why}; the window's format is iso (Airflow renders these values in UTC, "
                        "OML in the schedule's timezone: the same instant)", at, severity=_INFO)
        return reference

    def other_dag_arguments(self) -> None:
        for key, (node, value) in self.args.items():
            if key in _HANDLED_DAG_ARGS:
                continue
            if key in _COSMETIC_DAG:
                self.report("OML703", f"DAG argument {key}= only changes how Airflow shows or registers the DAG: "
                            "not imported", self.w.span(node), severity=_INFO)
                continue
            why = _WHY.get(key, "callbacks run Python code inside Airflow" if key.endswith("_callback")
                           else "OML has no field for it")
            self.report("OML703", f"DAG argument {key}= is not imported: {why}", self.w.span(node))

    # -- the result is valid OML ----------------------------------------------------------------
    def validated(self, doc, tasks: list):
        """``doc`` once omlc's validation has no error in it: a step that is not valid OML
        becomes a bare placeholder, a field that is not is dropped, each reported."""
        from omlc.diagnostics import Severity as S
        from omlc.importer import dump
        from omlc.validate import load_text, validate_files

        for _ in range(10):
            text = dump(doc, None)
            loaded = load_text(text, "imported.oml.yaml")
            errors = [d for d in validate_files([loaded]) if d.severity is S.ERROR and d.code.startswith("OML")
                      and d.code != "OML900"]  # not a policy plugin's rule, nor a crashed one
            if not errors:
                return doc
            fixed = False
            for d in errors:
                path = _yaml_path(text, d.span.line)
                if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int) and path[1] < len(tasks):
                    task, step = tasks[path[1]], doc["steps"][path[1]]
                    if step.get("config") != {"airflow_operator": task.operator}:
                        step["component"] = _component(task.operator)
                        step["config"] = {"airflow_operator": task.operator}
                        self.report("OML704", f"task {task.airflow_id!r} would not be valid OML ({d.code}: "
                                    f"{d.message}): imported as a placeholder step", task.span)
                        fixed = True
                elif len(path) >= 2 and path[0] in ("schedule", "metadata", "params") and path[1] in doc[path[0]]:
                    del doc[path[0]][path[1]]
                    if not doc[path[0]] or path[0] == "schedule" and path[1] == "expression":
                        del doc[path[0]]
                    self.report("OML704", f"{'.'.join(map(str, path[:2]))} would not be valid OML ({d.code}: "
                                f"{d.message}): not imported", self.dag.span)
                    fixed = True
                elif path and path[0] in ("description",):
                    del doc[path[0]]
                    fixed = True
            if not fixed:
                break
        for d in errors:
            self.report("OML702", f"the imported pipeline would not be valid OML ({d.code}: {d.message}): nothing "
                        "is written", self.dag.span)
        return None


def _reaches(ups: dict, start: _Task, target: _Task) -> bool:
    """Whether ``target`` is upstream of ``start`` or ``start`` itself (an edge target->start's... cycle test)."""
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        if node is target:
            return True
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(ups.get(id(node), []))
    return False


def _topological(tasks: list, ups: dict) -> list:
    """Tasks in dependency order, each as early as the order they were written in allows."""
    import heapq

    index = {id(t): i for i, t in enumerate(tasks)}
    waiting = {id(t): len(ups[id(t)]) for t in tasks}
    downs: dict[int, list] = {id(t): [] for t in tasks}
    for t in tasks:
        for u in ups[id(t)]:
            downs[id(u)].append(t)
    ready = [(index[id(t)], t) for t in tasks if not waiting[id(t)]]
    heapq.heapify(ready)
    order = []
    while ready:
        _, task = heapq.heappop(ready)
        order.append(task)
        for d in downs[id(task)]:
            waiting[id(d)] -= 1
            if not waiting[id(d)]:
                heapq.heappush(ready, (index[id(d)], d))
    placed = set(map(id, order))
    return order + [t for t in tasks if id(t) not in placed]  # cycles are not imported: never left over


def _sanitize(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    clean = re.sub(r"^[^A-Za-z0-9]+", "", clean)[:200]
    return clean or "task"


def _plain(value) -> bool:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _seconds(value) -> int | None:
    if isinstance(value, _Delta):
        value = value.seconds
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        return None
    return int(value)


def _duration(seconds: int) -> str:
    from omlc.durations import Duration

    return Duration(0, seconds).to_text()


def _utc(value: _Instant) -> datetime | None:
    from omlc.schedule.engine import ScheduleError, zone
    from omlc.schedule.timetable import resolve_wall

    try:
        return resolve_wall(datetime(*value.fields), zone(value.zone or "UTC")).astimezone(timezone.utc)
    except (ValueError, OverflowError, ScheduleError):
        return None


def _wall(moment: datetime, tz_name: str) -> str:
    """An instant as OML writes start dates: the local wall time (the date alone at midnight)."""
    from omlc.schedule.engine import zone

    local = moment.astimezone(zone(tz_name))
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%dT%H:%M" + (":%S" if local.second else ""))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _literal_block(value: str) -> bool:
    """Whether a multi-line string reads back unchanged from a YAML literal block."""
    lines = value.split("\n")
    return (len(lines) > 1 and not value.startswith((" ", "\n")) and "\r" not in value and "\t" not in value
            and all(line == line.rstrip() for line in lines) and not value.endswith("\n\n"))


def _yaml_path(text: str, line: int) -> tuple:
    """The document path (top-level key, then the sub-key or the list index) of a line of
    the YAML :func:`omlc.importer.dump` writes."""
    lines = text.splitlines()
    top, index, sub = None, -1, None
    for number, content in enumerate(lines[:max(line, 1)], start=1):
        if content and not content.startswith((" ", "#", "-")):
            top, index, sub = content.split(":", 1)[0].strip(), -1, None
        elif content.startswith("  - "):
            index += 1
        elif re.match(r"^  [A-Za-z_]", content):
            sub = content.strip().split(":", 1)[0]
    if top is None:
        return ()
    if top == "steps":
        return (top, index) if index >= 0 else (top,)
    return (top, sub) if sub is not None else (top,)
