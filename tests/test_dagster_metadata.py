"""`metadata` on the Dagster target without Dagster: check ops, sensors, the SLA sensor and
lineage asset specs in the generated module, the loss report against the support table,
and reading it all back.

What the modules do in real Dagster is tested in tests/test_dagster_engine.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from omlc.compile import compile_paths
from omlc.metadata import metadata_facts
from omlc.readback import verify
from omlc.validate import load_file
from omlc_dagster.reader import DagsterReader
from omlc_dagster.target import DagsterTarget
from tests.conftest import copy_pipeline

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"
SEED = "daily_customer_sync.oml.yaml"  # sets every metadata field


def _seed(folder: Path) -> Path:
    return copy_pipeline(FIXTURES / SEED, folder)


def _compile(path: Path, granularity: str = "pipeline") -> tuple[str, object]:
    result = compile_paths([str(path)], [DagsterTarget()], write=False, granularity=granularity)
    assert result.exit_code() == 0, [str(d) for d in result.report.diagnostics]
    files = result.outputs[(str(path), "dagster")]
    return next(text for name, text in files.items() if name.endswith(".py")), result


def _literal(code: str, name: str):
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise KeyError(name)


def _pipeline(tmp_path: Path, metadata: str, steps: str | None = None) -> Path:
    path = tmp_path / "p.oml.yaml"
    path.write_text('oml_version: "0.2.0"\nname: p\nschedule: {expression: "0 1 * * *", window: {type: sliding, '
                    'size: 1h}}\n' + metadata + "\n"
                    + (steps or "steps: [{id: a, component: mysql.extractor, mode: read}]\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize("granularity", ["pipeline", "step"])
def test_each_data_test_is_a_check_op_after_every_leaf_op(tmp_path, granularity):
    code, _ = _compile(_seed(tmp_path), granularity)
    checks = _literal(code, "OMLC_CHECKS")
    assert [c[0] for c in checks] == ["omlc_check_row_count", "omlc_check_schema", "omlc_check_freshness",
                                      "omlc_check_custom"]
    assert checks[3][3].endswith("/tests/validate_customers.py") and checks[3][1] == 'python3 "$OMLC_TEST_SCRIPT"'
    leaf = "run_pipeline" if granularity == "pipeline" else "step_load_customers"
    for name, *_ in checks:
        assert f"    {name}_done = {name}(after={leaf}_done)\n" in code
        assert f"name='daily_customer_sync__{name[5:]}'" in code
    assert set(_literal(code, "OMLC_OPS")) >= {f"daily_customer_sync__{c[0][5:]}" for c in checks}
    # the seed declares lineage: the op that records it runs after the leaf and every check
    after = ", ".join([f"{leaf}_done"] + [f"{name}_done" for name, *_ in checks])
    assert f"    omlc_lineage(after=[{after}])\n" in code
    assert "daily_customer_sync__lineage" not in _literal(code, "OMLC_OPS")  # it takes no run config


def test_checks_wait_for_every_leaf_step(tmp_path):
    path = _pipeline(tmp_path, "metadata: {tests: [{type: row_count, min: 1}]}",
                     "steps:\n  - {id: a, component: mysql.extractor, mode: read}\n"
                     "  - {id: b, component: mysql.extractor, mode: read, needs: []}\n")
    code, _ = _compile(path, "step")
    assert "    omlc_check_row_count(after=[step_a_done, step_b_done])\n" in code


def test_sensors_name_environment_variables_only(tmp_path):
    code, _ = _compile(_seed(tmp_path))
    assert _literal(code, "OMLC_ON_FAILURE") == [["email", "oncall@company.com"], ["slack", "#data-alerts"]]
    assert _literal(code, "OMLC_SEVERITY") == "error"
    assert all(key.endswith("_env") and value.startswith("OMLC_")
               for settings in _literal(code, "OMLC_NOTIFY").values() for key, value in settings.items())
    assert "@dg.run_failure_sensor(\n    name='daily_customer_sync__on_failure',\n    monitored_jobs=[omlc_job]," in code
    assert "run_status=dg.DagsterRunStatus.SUCCESS" in code and "name='daily_customer_sync__sla'" in code
    assert "sensors=[omlc_on_failure, omlc_on_success, omlc_sla]" in code
    assert _literal(code, "OMLC_SLA") == 14400


def test_a_pipeline_without_metadata_has_no_sensors_and_only_its_own_asset(tmp_path):
    code, _ = _compile(_pipeline(tmp_path, ""))
    assert "sensor" not in code.split("def omlc_assets")[0].split("# -- end of the omlc runtime")[1]
    assert "OMLC_CHECKS" not in code and "sensors=" not in code and "import json" not in code
    assert _literal(code, "OMLC_ASSET_KEY") == ["pipeline", "p"] and _literal(code, "OMLC_UPSTREAM") == []


def test_a_reference_both_upstream_and_downstream_is_reported_and_read_back(tmp_path):
    path = _pipeline(tmp_path, 'metadata: {lineage: {upstream: ["table: t", "file: a b"], downstream: ["table: t"]}}')
    code, result = _compile(path)
    loss = next(d for d in result.report.diagnostics if "metadata.lineage.upstream" in d.message)
    assert loss.code == "OML601" and "table/t" in loss.message
    assert _literal(code, "OMLC_UPSTREAM")[1][1:] == ("file", "a b")
    pipeline = load_file(str(path)).pipeline
    assert verify(pipeline, DagsterReader(), code, "p.py") == []


def test_the_seed_reads_back_every_metadata_fact(tmp_path):
    path = _seed(tmp_path)
    for granularity in ("pipeline", "step"):
        code, _ = _compile(path, granularity)
        got = DagsterReader().read(code, "p.py")
        assert got.diagnostics == []
        pipeline = load_file(str(path)).pipeline
        for key, value in metadata_facts(pipeline).items():
            assert got.facts[key] == value, key
        assert len(got.items["metadata.tests"]) == 4 and len(got.items["metadata.lineage.downstream"]) == 2


def test_generated_files_hold_no_secret_or_server_address(tmp_path, monkeypatch):
    monkeypatch.setenv("OMLC_SMTP_HOST", "smtp.secret.example:2525")
    monkeypatch.setenv("OMLC_PAGERDUTY_ROUTING_KEY", "secret-routing-key")
    code, _ = _compile(_seed(tmp_path))
    assert "secret-routing-key" not in code and "smtp.secret" not in code
