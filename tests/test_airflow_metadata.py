"""`metadata` on the Airflow target without Airflow: data-test tasks, notifier callbacks,
deadlines and assets in the generated DAG, the loss report against the support table, and
the reader. What the DAGs do in real Airflow (a failing check fails the run, the notifiers
reach real local servers) is in tests/test_airflow_engine.py."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from omlc.compile import make_unit
from omlc.lineage import asset_uri
from omlc.metadata import metadata_facts
from omlc.project import Project
from omlc.readback import verify
from omlc.validate import load_file, load_text
from omlc_airflow.reader import AirflowReader, lineage_ref, unescape_jinja
from omlc_airflow.target import AirflowTarget

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"
METADATA_FIELDS = ("metadata.sla", "metadata.tests", "metadata.lineage.upstream", "metadata.lineage.downstream",
                   "metadata.notifications.on_failure", "metadata.notifications.on_success",
                   "metadata.notifications.on_sla_breach")

# every metadata field, each event with a Slack target (the table's general case)
EVERYTHING = '''oml_version: "0.2.0"
name: everything
schedule: {expression: "0 2 * * *", timezone: UTC, window: {type: sliding, size: 1d}}
metadata:
  owner: someone@company.com
  team: data
  sla: 4h
  criticality: medium
  description: all of it
  tags: [a]
  tests:
    - {type: row_count, min: 1, max: 10}
    - {type: schema, expected: v1}
    - {type: freshness, max_age: 1d, field: ts}
    - {type: custom, script: check.py, args: [x]}
  lineage:
    upstream: ["table: db.orders", "pipeline: upstream_one"]
    downstream: ["dashboard: sales"]
  notifications:
    on_failure: [{email: a@company.com}, {slack: "#alerts"}, {pagerduty: warehouse}]
    on_success: [{slack: "#done"}]
    on_sla_breach: [{slack: "#sla"}, {pagerduty: warehouse}]
steps:
  - {id: a, component: mysql.extractor, mode: read}
  - {id: b, component: duckdb.processor, mode: transform, needs: [a]}
  - {id: c, component: duckdb.processor, mode: transform, needs: [a]}
'''


def _unit(tmp_path, text: str, granularity: str = "pipeline", project: Project | None = None, name="p.oml.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (tmp_path / "check.py").write_text("print('ok')\n", encoding="utf-8")
    loaded = load_file(str(path))
    assert loaded.pipeline is not None, [str(d) for d in loaded.diagnostics]
    return make_unit(loaded.pipeline, loaded.source.text, str(path), project or Project(), "airflow", granularity,
                     code_folder=str(tmp_path / "dags"))


def _code(unit) -> str:
    out = AirflowTarget().compile(unit)
    assert out.ok, [str(d) for d in out.problems]
    return out.files[f"{unit.pipeline.name}.py"]


def _calls(code: str, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def _kwargs(call: ast.Call) -> dict:
    return {k.arg: k.value for k in call.keywords}


def test_the_loss_report_of_every_metadata_field_is_the_support_table(tmp_path):
    target = AirflowTarget()
    unit = _unit(tmp_path, EVERYTHING)
    losses = {loss.field: loss for loss in target.losses(unit)}
    for field in METADATA_FIELDS:
        row = target.support[field]
        if row.status == "exact":
            assert field not in losses, field
        else:
            assert losses[field].status == row.status, field
    # and the docs page says the same (it is generated from the table)
    page = (Path(__file__).resolve().parent.parent / "docs" / "targets" / "airflow.md").read_text(encoding="utf-8")
    for field in METADATA_FIELDS:
        assert f"| `{field}` | {target.support[field].status} |" in page


@pytest.mark.parametrize("notifications,connections,lost", [
    ("{on_failure: [{email: a@company.com}]}", {}, False),
    ("{on_failure: [{email: a@company.com}, {slack: '#x'}]}", {}, True),
    ("{on_failure: [{pagerduty: warehouse}]}", {}, True),
    ("{on_failure: [{pagerduty: warehouse}]}", {"pagerduty": "pd_{service}"}, False),
    ("{on_failure: [{slack: '#data-alerts'}, {slack: C0123ABCDE}]}", {"slack": "slack_{channel}"}, False),
    ("{on_failure: [{slack: '#x'}, {pagerduty: warehouse}]}", {"slack": "slack_{channel}"}, True),
])
def test_a_notification_event_is_exact_when_every_target_is(tmp_path, notifications, connections, lost):
    """Exact when every Slack channel and PagerDuty service has its own connection
    ({channel}, {service} in the connection id); the loss names the shared one."""
    settings = Project()
    for channel, connection in connections.items():
        settings.notify[channel]["connection"] = connection
    unit = _unit(tmp_path, 'oml_version: "0.2.0"\nname: p\nschedule: {expression: "0 2 * * *"}\n'
                           f'metadata: {{notifications: {notifications}}}\n'
                           'steps: [{id: a, component: mysql.extractor, mode: read}]\n', project=settings)
    losses = {loss.field: loss for loss in AirflowTarget().losses(unit)}
    assert ("metadata.notifications.on_failure" in losses) is lost
    if lost:
        message = losses["metadata.notifications.on_failure"].message
        assert ("slack #x" in message) is ("slack" not in connections and "slack" in notifications)
        assert ("pagerduty warehouse" in message) is ("pagerduty" in notifications)
    code = _code(unit)
    conn_ids = {ast.literal_eval(_kwargs(c)[k]) for name, k in (("PagerdutyNotifier", "pagerduty_events_conn_id"),
                                                                 ("SlackWebhookNotifier", "slack_webhook_conn_id"))
                for c in _calls(code, name)}
    if "pagerduty" in connections:
        assert conn_ids == {"pd_warehouse"}
    if "slack" in connections:
        assert {"slack_data-alerts", "slack_C0123ABCDE"} <= conn_ids if "data-alerts" in notifications \
            else "slack_x" in conn_ids


@pytest.mark.parametrize("sla,zone,lost", [("1d", "Europe/Prague", True), ("1d", "UTC", False),
                                           ("24h", "Europe/Prague", False)])
def test_an_sla_in_calendar_days_across_dst_is_approximated(tmp_path, sla, zone, lost):
    unit = _unit(tmp_path, f'oml_version: "0.2.0"\nname: p\nschedule: {{expression: "0 2 * * 1", timezone: {zone}}}\n'
                           f'metadata: {{sla: "{sla}"}}\nsteps: [{{id: a, component: mysql.extractor, mode: read}}]\n')
    losses = {loss.field: loss for loss in AirflowTarget().losses(unit)}
    assert ("metadata.sla" in losses) is lost
    if lost:
        assert losses["metadata.sla"].status == "approximated" and "DST" in losses["metadata.sla"].message


def test_checks_run_after_the_leaf_steps_with_the_test_in_their_environment(tmp_path):
    code = _code(_unit(tmp_path, EVERYTHING, "step"))
    tasks = {ast.literal_eval(_kwargs(c)["task_id"]): _kwargs(c) for c in _calls(code, "BashOperator")}
    checks = ["check_row_count", "check_schema", "check_freshness", "check_custom"]
    assert list(tasks) == ["a", "b", "c"] + checks
    for index, name in enumerate(checks, 1):
        env = ast.literal_eval(tasks[name]["env"])
        assert env["OMLC_TEST_INDEX"] == str(index) and ast.literal_eval(tasks[name]["retries"]) == 0
        assert json.loads(unescape_jinja(env["OMLC_TEST_SPEC"])) == \
            metadata_facts(load_text(EVERYTHING, "p.oml.yaml").pipeline)["metadata.tests"][index - 1]
        assert f"    [step_b, step_c] >> {name}\n" in code
    custom = ast.literal_eval(tasks["check_custom"]["env"])
    assert custom["OMLC_TEST_SCRIPT"] == "{{ omlc_test_scripts['check_custom'] }}"
    assert ast.literal_eval(tasks["check_custom"]["bash_command"]) == "python3 \"$OMLC_TEST_SCRIPT\" x"
    assert "'check_custom': os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), " \
           "'../check.py'))" in code
    assert '"omlc_test_scripts": OMLC_TEST_SCRIPTS' in code


def test_notifiers_deadlines_and_assets_in_the_dag(tmp_path):
    code = _code(_unit(tmp_path, EVERYTHING, "step"))
    dag = _kwargs(_calls(code, "DAG")[0])
    failure = [c.func.id for c in dag["on_failure_callback"].elts]
    assert failure == ["SmtpNotifier", "SlackWebhookNotifier", "PagerdutyNotifier"]
    pd = _kwargs(dag["on_failure_callback"].elts[2])
    assert ast.literal_eval(pd["severity"]) == "warning" and ast.literal_eval(pd["component"]) == "warehouse"
    assert ast.literal_eval(pd["pagerduty_events_conn_id"]) == "pagerduty_events_default"
    alerts = dag["deadline"].elts
    assert len(alerts) == 2  # one per on_sla_breach target
    for alert in alerts:
        kw = _kwargs(alert)
        assert ast.unparse(kw["reference"]) == "DeadlineReference.DAGRUN_LOGICAL_DATE"
        assert ast.unparse(kw["interval"]) == "timedelta(seconds=14400)"
        assert kw["callback"].func.id == "AsyncCallback"
    assert [_kwargs(a)["callback"].args[0].id for a in alerts] == ["SlackWebhookNotifier", "PagerdutyNotifier"]
    tasks = {ast.literal_eval(_kwargs(c)["task_id"]): _kwargs(c) for c in _calls(code, "BashOperator")}
    assert [ast.literal_eval(a.args[0]) for a in tasks["a"]["inlets"].elts] == \
        [asset_uri("table", "db.orders"), asset_uri("pipeline", "upstream_one")]
    for leaf in ("b", "c"):
        assert [ast.literal_eval(a.args[0]) for a in tasks[leaf]["outlets"].elts] == \
            [asset_uri("dashboard", "sales"), asset_uri("pipeline", "everything")]
    assert "inlets" not in tasks["b"] and "outlets" not in tasks["a"]
    imports = [ln for ln in code.splitlines() if ln.startswith(("from airflow", "import "))]
    assert imports == ["import os", "import pendulum",
                       "from airflow.providers.pagerduty.notifications.pagerduty import PagerdutyNotifier",
                       "from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier",
                       "from airflow.providers.smtp.notifications.smtp import SmtpNotifier",
                       "from airflow.providers.standard.operators.bash import BashOperator",
                       "from airflow.sdk import DAG, Asset, AsyncCallback, CronTriggerTimetable, DeadlineAlert, "
                       "DeadlineReference"]


def test_without_metadata_the_dag_imports_no_notifier_and_has_only_its_own_asset(tmp_path):
    code = _code(_unit(tmp_path, 'oml_version: "0.2.0"\nname: p\nschedule: {expression: "0 2 * * *"}\n'
                                 'steps: [{id: a, component: mysql.extractor, mode: read}]\n'))
    assert "Notifier" not in code and "deadline=" not in code and "callback" not in code
    (task,) = _calls(code, "BashOperator")
    assert "inlets" not in _kwargs(task)
    assert [ast.literal_eval(a.args[0]) for a in _kwargs(task)["outlets"].elts] == ["omlc://pipeline/p"]


def test_an_sla_without_anyone_to_tell_is_still_a_deadline(tmp_path):
    code = _code(_unit(tmp_path, 'oml_version: "0.2.0"\nname: p\nschedule: {expression: "0 2 * * *"}\n'
                                 'metadata: {sla: 2h, notifications: {on_failure: [{email: a@b.org}]}}\n'
                                 'steps: [{id: a, component: mysql.extractor, mode: read}]\n'))
    (alert,) = _calls(code, "DeadlineAlert")
    assert ast.unparse(_kwargs(alert)["callback"]) == "AsyncCallback(asyncio.sleep, kwargs={'delay': 0})"
    assert code.count("\nimport asyncio\n") == 1
    got = AirflowReader().read(code, "p.py")
    assert got.facts["metadata.sla"] == 7200 and got.facts["metadata.notifications.on_sla_breach"] == []


STRINGS = '''oml_version: "0.2.0"
name: strings
schedule: {expression: "0 2 * * *", timezone: Europe/Prague}
metadata:
  sla: 1h
  criticality: low
  tests:
    - {type: schema, expected: "{{ ds }} {% if x %} '\\" \\\\ \\r\\n"}
    - {type: custom, script: check.py, args: ["{{ a }}", "$(id)"]}
  lineage:
    upstream: ["table: café {{ x }}", "file: a/../b/", "api: LONG"]
    downstream: [{dataset: "x/y"}]
  notifications:
    on_failure: [{email: "a{b}c'd@x.com"}, {slack: C0123ABCDE}]
    on_sla_breach: [{email: "{{x}}@y.org"}]
steps: [{id: a, component: mysql.extractor, mode: read}]
'''.replace("LONG", "{{ y }}" + "n" * 600)


@pytest.mark.parametrize("granularity", ["pipeline", "step"])
def test_text_from_oml_is_literal_and_escaped_and_reads_back(tmp_path, granularity):
    unit = _unit(tmp_path, STRINGS, granularity)
    code = _code(unit)
    tree = ast.parse(code)
    compile(code, "dag.py", "exec")
    # every string constant that came from OML is escaped: no "{" but omlc's own Jinja
    own = ("{{ '{' }}", "{{ run_id }}", "{{ reason }}", "{{ dag_run.dag_run_id }}", "{{ deadline.deadline_time }}",
           "{{ omlc_", "{{ '\\r' }}")
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", "") in ("SmtpNotifier", "SlackWebhookNotifier", "AsyncCallback")):
        for node in ast.walk(call):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                for token in own:
                    text = text.replace(token, "")
                assert "{" not in text, node.value
    got = AirflowReader().read(code, "dag.py")
    assert got.diagnostics == []
    for key, value in metadata_facts(unit.pipeline).items():
        assert got.facts[key] == value, key
    assert verify(unit.pipeline, AirflowReader(), code, "dag.py") == []


def test_a_reference_with_spaces_reads_back_as_its_stripped_name(tmp_path):
    unit = _unit(tmp_path, 'oml_version: "0.2.0"\nname: p\nmetadata: {lineage: {downstream: [{dataset: " spaced "}]}}\n'
                           'steps: [{id: a, component: mysql.extractor, mode: read}]\n')
    code = _code(unit)
    assert AirflowReader().read(code, "dag.py").facts["metadata.lineage.downstream"] == [["dataset", "spaced"]]
    assert verify(unit.pipeline, AirflowReader(), code, "dag.py") == []


def test_lineage_uris_read_back():
    for kind, name in [("table", "mysql.orders"), ("file", "exports/web events/"), ("table", "café"),
                       ("api", "~7E"), ("file", "./.."), ("table", "x" * 700)]:
        uri = asset_uri(kind, name)
        extra = {"omlc_ref": f"{kind}: {name}"} if "~~" in uri else None
        assert lineage_ref(uri, extra) == (kind, name)
    assert lineage_ref("s3://bucket/key", None) is None
    assert lineage_ref(asset_uri("table", "x" * 700), None) is None  # a hashed URI without its reference


def test_the_seed_reads_back_every_metadata_fact_at_its_line():
    path = FIXTURES / "daily_customer_sync.oml.yaml"
    pipeline = load_file(str(path)).pipeline
    unit = make_unit(pipeline, path.read_text(encoding="utf-8"), str(path), Project(), "airflow", "step")
    code = _code(unit)
    got = AirflowReader().read(code, "dag.py")
    lines = code.splitlines()

    def line(key, item=None):
        return lines[(got.spans[key] if item is None else got.items[key][item]).line - 1]

    assert line("metadata.notifications.on_success") == "    on_success_callback=["  # a list fact: the list
    assert "to='data-team@company.com'" in line("metadata.notifications.on_success", 0)  # and each element
    assert "to='oncall@company.com'" in line("metadata.notifications.on_failure", 0)
    assert "channel: #data-alerts" in line("metadata.notifications.on_failure", 1)
    assert "'component': 'data-platform'" in line("metadata.notifications.on_sla_breach", 0)
    assert "interval=timedelta(seconds=14400)" in line("metadata.sla")
    assert [json.loads(unescape_jinja(ast.literal_eval(line("metadata.tests", i).split(": ", 1)[1].rstrip(","))))
            ["type"] for i in range(4)] == ["row_count", "schema", "freshness", "custom"]
    assert "Asset('omlc://table/mysql.orders')" in line("metadata.lineage.upstream", 1)
    assert "Asset('omlc://pipeline/marketing_segments')" in line("metadata.lineage.downstream", 1)
    assert got.facts["airflow.deadline_reference"] == "DAGRUN_LOGICAL_DATE"


def test_recipients_read_back_as_airflow_sends_them(tmp_path):
    """`to=` edited into a list, or into addresses joined by , or ; (the SMTP hook splits
    them): one email target per address."""
    code = _code(_unit(tmp_path, EVERYTHING))
    for edit in ("to='a@company.com; b@company.com'", "to=['a@company.com', 'b@company.com']",
                 "to='a@company.com,b@company.com'"):
        got = AirflowReader().read(code.replace("to='a@company.com'", edit), "dag.py")
        assert got.facts["metadata.notifications.on_failure"][:2] == [["email", "a@company.com"],
                                                                       ["email", "b@company.com"]]
