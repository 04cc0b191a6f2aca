"""`metadata` on the Prefect target without Prefect: data checks, notification hooks, the SLA
watchdog and lineage assets in the generated module, the loss report against the support
table, and reading it all back.

What the modules do in real Prefect (a failing check fails the flow run, the hooks and the
watchdog send to real local servers, the assets on the task objects) is tested in
tests/test_prefect_engine.py.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import pytest

from omlc.compile import compile_paths
from omlc.lineage import asset_uri
from omlc.metadata import metadata_facts
from omlc.readback import verify
from omlc.validate import load_file
from omlc_prefect.reader import PrefectReader, asset_ref
from omlc_prefect.target import PrefectTarget
from tests.conftest import copy_pipeline

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"
SEED = "daily_customer_sync.oml.yaml"  # sets every metadata field


def _seed(folder: Path) -> Path:
    return copy_pipeline(FIXTURES / SEED, folder)


def _compile(path: Path, out: Path | None = None, granularity: str = "pipeline") -> tuple[str, object]:
    result = compile_paths([str(path)], [PrefectTarget()], out=str(out) if out else None, write=out is not None,
                           granularity=granularity)
    assert result.exit_code() == 0, [str(d) for d in result.report.diagnostics]
    files = result.outputs[(str(path), "prefect")]
    return next(text for name, text in files.items() if name.endswith(".py")), result


def _literal(code: str, name: str):
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise KeyError(name)


def _pipeline(tmp_path: Path, metadata: str, steps: str | None = None, schedule: str | None = None) -> Path:
    path = tmp_path / "p.oml.yaml"
    path.write_text('oml_version: "0.2.0"\nname: p\n'
                    + (schedule or 'schedule: {expression: "0 1 * * *", window: {type: sliding, size: 1h}}') + "\n"
                    + metadata + "\n"
                    + (steps or "steps: [{id: a, component: mysql.extractor, mode: read}]\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize("granularity", ["pipeline", "step"])
def test_each_data_test_is_a_check_task_after_the_pipeline(tmp_path, granularity):
    path = _seed(tmp_path / "src")
    out = tmp_path / "deploy" / "flows"
    code, _ = _compile(path, out, granularity)
    checks = _literal(code, "OMLC_CHECKS")
    pipeline = load_file(str(path)).pipeline
    assert [c[0] for c in checks] == ["check_row_count", "check_schema", "check_freshness", "check_custom"]
    assert [json.loads(c[2]["OMLC_TEST_SPEC"]) for c in checks] == metadata_facts(pipeline)["metadata.tests"]
    assert [c[2]["OMLC_TEST_INDEX"] for c in checks] == ["1", "2", "3", "4"]
    assert checks[0][1].startswith('osiris test "$OMLC_OML_PATH" --test "$OMLC_TEST_INDEX"')
    # the custom script is found relative to the module, wherever the project is deployed
    name, command, values, script = checks[3]
    assert command == 'python3 "$OMLC_TEST_SCRIPT"' and values["OMLC_TEST_TYPE"] == "custom"
    assert (out / script).resolve() == (tmp_path / "src" / "tests" / "validate_customers.py").resolve()
    assert all(c[3] is None for c in checks[:3])
    # after the leaf task, with the run's values and deadline; a failure fails the run
    leaf = "run_pipeline_run" if granularity == "pipeline" else "step_load_customers_run"
    assert f"        omlc_run_checks(env, deadline, [{leaf}])\n" in code
    assert 'raise RuntimeError("data checks failed: "' in code
    assert "    check = task(omlc_check, cache_policy=NO_CACHE, persist_result=False)  # no retries\n" in code


def test_checks_wait_for_every_leaf_step(tmp_path):
    steps = ('steps:\n  - {id: a, component: mysql.extractor, mode: read}\n'
             '  - {id: b, component: duckdb.processor, mode: transform, needs: [a]}\n'
             '  - {id: c, component: duckdb.processor, mode: transform, needs: [a]}\n')
    code, _ = _compile(_pipeline(tmp_path, "metadata: {tests: [{type: row_count, min: 1, step: b}]}", steps),
                       granularity="step")
    assert "        omlc_run_checks(env, deadline, [step_b_run, step_c_run])\n" in code
    assert "        omlc_lineage_pipeline(wait_for=[step_b_run, step_c_run])\n" in code


def test_notifications_are_flow_hooks_that_name_environment_variables_only(tmp_path):
    path = _seed(tmp_path)
    (tmp_path / "omlc.yaml").write_text("notifications:\n  email: {host_env: MY_SMTP, connection: smtp_x}\n"
                                        "  pagerduty: {routing_key_env: 'PD_{service}_KEY'}\n", encoding="utf-8")
    code, _ = _compile(path)
    assert _literal(code, "OMLC_ON_FAILURE") == [["email", "oncall@company.com"], ["slack", "#data-alerts"]]
    assert _literal(code, "OMLC_ON_SUCCESS") == [["email", "data-team@company.com"]]
    assert _literal(code, "OMLC_ON_SLA_BREACH") == [["pagerduty", "data-platform"]]
    assert _literal(code, "OMLC_NOTIFY") == {
        "email": {"host_env": "MY_SMTP", "user_env": "OMLC_SMTP_USER", "password_env": "OMLC_SMTP_PASSWORD",
                  "sender_env": "OMLC_SMTP_FROM"},
        "pagerduty": {"routing_key_env": "PD_{service}_KEY", "url_env": "OMLC_PAGERDUTY_EVENTS_URL"},
        "slack": {"webhook_env": "OMLC_SLACK_WEBHOOK_URL"}}  # no Airflow connection ids, no values
    assert _literal(code, "OMLC_SEVERITY") == "error"  # criticality high
    assert "    on_failure=[omlc_on_failure],\n    on_crashed=[omlc_on_failure],\n" in code
    assert "    on_completion=[omlc_on_success],\n" in code
    assert 'if state.name != "Skipped":' in code  # a run the flow skips is not a success to report
    assert "def omlc_notify(" in code and "def omlc_sla_watchdog(" in code  # the embedded runtime


def test_the_sla_is_a_watchdog_from_the_fire_time_cancelled_when_the_run_ends(tmp_path):
    code, _ = _compile(_seed(tmp_path))
    assert _literal(code, "OMLC_SLA") == 4 * 3600
    assert ("    watchdog = omlc_sla_watchdog(fire + timedelta(seconds=OMLC_SLA), "
            "lambda: omlc_sla_breach(context, facts))\n") in code
    body = code[code.index("def omlc_flow("):]
    assert body.index("return Completed(name=\"Skipped\"") < body.index("watchdog = ")  # skipped: no SLA
    assert "    finally:\n        OMLC_DEADLINES.pop(run_id, None)\n        watchdog.cancel()\n" in body


def test_a_pipeline_without_metadata_carries_none_of_it(tmp_path):
    code, _ = _compile(_pipeline(tmp_path, ""))
    for absent in ("OMLC_CHECKS", "OMLC_SLA", "OMLC_NOTIFY", "on_failure=", "on_completion=", "omlc_notify",
                   "omlc_sla_watchdog", "flow_run_logger", "omlc_lineage_downstream"):
        assert absent not in code, absent
    # every flow materializes its own asset, so pipelines that name it are linked to it
    assert "@materialize(\n    'omlc://pipeline/p',\n    asset_deps=[],\n" in code
    got = PrefectReader().read(code, "p.py")
    assert got.diagnostics == []
    assert {k: v for k, v in got.facts.items() if k.startswith("metadata.") and k not in (
        "metadata.owner", "metadata.team", "metadata.criticality", "metadata.description", "metadata.tags")} == {
        "metadata.sla": None, "metadata.tests": [], "metadata.notifications.on_failure": [],
        "metadata.notifications.on_success": [], "metadata.notifications.on_sla_breach": [],
        "metadata.lineage.upstream": [], "metadata.lineage.downstream": []}


def test_on_sla_breach_without_an_sla_is_kept_but_has_no_watchdog(tmp_path):
    path = _pipeline(tmp_path, "metadata: {notifications: {on_sla_breach: [{slack: '#late'}]}}")
    code, result = _compile(path)
    assert any(d.code == "OML509" for d in result.report.diagnostics)
    assert _literal(code, "OMLC_ON_SLA_BREACH") == [["slack", "#late"]]
    assert "omlc_sla_watchdog(" not in code and "OMLC_SLA =" not in code
    assert verify(load_file(str(path)).pipeline, PrefectReader(), code, "p.py") == []


def test_an_sla_without_breach_targets_only_logs(tmp_path):
    code, _ = _compile(_pipeline(tmp_path, "metadata: {sla: 30m, notifications: {on_failure: [{slack: '#x'}]}}"))
    assert "watchdog = omlc_sla_watchdog(" in code and "OMLC_ON_SLA_BREACH" not in code
    assert 'omlc_send("on_sla_breach"' not in code


ODD_NAMES = ["mysql.orders", "exports/web events", "café", "a/./b", "..", "x'); import os  # \n\"", "50%",
             "tilde~7E", "trailing/", "日本語", " spaced "]


def test_lineage_becomes_assets_keyed_by_omlc_asset_uris(tmp_path):
    refs = "".join(f"\n      - {{table: {json.dumps(n)}}}" for n in ODD_NAMES)
    path = _pipeline(tmp_path, f"metadata:\n  lineage:\n    upstream:{refs}\n    downstream:\n"
                               "      - 'pipeline: next_one'\n      - 'dashboard: kpis'")
    code, _ = _compile(path)
    tree = ast.parse(code)
    decorators = {f.name: f.decorator_list[0] for f in tree.body if isinstance(f, ast.FunctionDef)
                  and f.name.startswith("omlc_lineage")}
    own = decorators["omlc_lineage_pipeline"]
    assert ast.literal_eval(own.args[0]) == "omlc://pipeline/p"
    deps = next(k.value for k in own.keywords if k.arg == "asset_deps")
    assert ast.literal_eval(deps) == [asset_uri("table", n.strip()) for n in ODD_NAMES]
    down = decorators["omlc_lineage_downstream"]
    assert [ast.literal_eval(a) for a in down.args] == ["omlc://pipeline/next_one", "omlc://dashboard/kpis"]
    assert ast.literal_eval(next(k.value for k in down.keywords if k.arg == "asset_deps")) == ["omlc://pipeline/p"]
    assert "import os  #" not in code.replace(repr(asset_uri("table", ODD_NAMES[5])), "")
    pipeline = load_file(str(path)).pipeline
    assert verify(pipeline, PrefectReader(), code, "p.py") == []
    got = PrefectReader().read(code, "p.py").facts
    assert got["metadata.lineage.upstream"] == [["table", n.strip()] for n in ODD_NAMES]


def test_asset_keys_read_back_to_their_references():
    for name in ODD_NAMES + ["x" * 600]:
        ref = asset_ref(asset_uri("table", name))
        assert ref == (["table", name] if len(name) < 500 else None), name  # a shortened key is not readable
    assert asset_ref("s3://bucket/x") is None and asset_ref("omlc://table/bad~ZZ") is None


@pytest.mark.parametrize("pattern,replacement,fact,at", [
    # a hook no longer attached: at the @flow decorator
    (r"    on_completion=\[omlc_on_success\],\n", "", "metadata.notifications.on_success", "^@flow\\("),
    (r"    on_failure=\[omlc_on_failure\],\n", "    on_failure=[],\n", "metadata.notifications.on_failure", None),
    # one element of a list: at its line
    (r'"min": 100,', '"min": 10,', "metadata.tests", None),
    (r"'omlc://table/mysql.orders'", "'omlc://table/mysql.customers'", "metadata.lineage.upstream", None),
    (r"    'omlc://pipeline/marketing_segments',\n", "    'omlc://pipeline/marketing',\n",
     "metadata.lineage.downstream", None),
])
def test_a_hand_edit_of_the_metadata_code_is_drift_at_its_line(tmp_path, pattern, replacement, fact, at):
    path = _seed(tmp_path)
    code, _ = _compile(path)
    edited, count = re.subn(pattern, replacement, code)
    assert count == 1, pattern
    lines = edited.splitlines()
    line = (next(i for i, text in enumerate(lines, 1) if re.match(at, text)) if at else
            next(i for i, (a, b) in enumerate(zip(code.splitlines(), lines), 1) if a != b))
    found = verify(load_file(str(path)).pipeline, PrefectReader(), edited, "p.py")
    assert [d.code for d in found] == ["OML701"], found
    assert f"] {fact}: the code at p.py:{line}:" in found[0].message, (found, line)


def test_unreadable_metadata_code_is_a_located_diagnostic(tmp_path):
    code, _ = _compile(_seed(tmp_path))
    edited = code.replace("'omlc://table/mysql.orders'", "'s3://elsewhere'")
    got = PrefectReader().read(edited, "p.py")
    (problem,) = got.diagnostics
    assert problem.code == "OML702" and "asset key" in problem.message
    assert problem.span.line == next(i for i, line in enumerate(edited.splitlines(), 1) if "s3://elsewhere" in line)


def test_generated_files_hold_no_secret_or_server_address(tmp_path, monkeypatch):
    monkeypatch.setenv("OMLC_SMTP_HOST", "smtp.secret.example:2525")
    monkeypatch.setenv("OMLC_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/SECRET")
    code, _ = _compile(_seed(tmp_path))
    assert "SECRET" not in code and "hooks.slack.com" not in code and os.environ["OMLC_SMTP_HOST"] not in code
