"""`omlc import` and `omlc verify` on code omlc wrote (Airflow DAGs, Prefect flows, Dagster jobs): OML -> code -> OML
keeps every fact the target expresses (fixtures, and random pipelines; a fact the code does
not carry may differ only when the loss report has its field), an existing OML file is
updated in place, and what cannot be read is a located finding."""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omlc.compile import compile_paths, make_unit, runtime_copy
from omlc.importer import dump, import_code, infer_retry
from omlc.project import Project
from omlc.readback import OML_PATHS, facts, verify
from omlc.schedule.timetable import retry_delays
from omlc.validate import load_file, load_text
from omlc_airflow.reader import AirflowReader
from omlc_airflow.target import AirflowTarget
from omlc_dagster.reader import DagsterReader
from omlc_dagster.target import DagsterTarget
from omlc_prefect.reader import PrefectReader
from omlc_prefect.target import PrefectTarget
from tests.conftest import copy_pipeline, run_cli

# every target with a reader: OML -> code -> OML keeps every fact
READ_BACK = [pytest.param(AirflowTarget(), AirflowReader(), id="airflow"),
             pytest.param(PrefectTarget(), PrefectReader(), id="prefect"),
             pytest.param(DagsterTarget(), DagsterReader(), id="dagster")]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"


def _round_trip(path: Path, out: Path, granularity: str, target=None, reader=None):
    target, reader = target or AirflowTarget(), reader or AirflowReader()
    result = compile_paths([str(path)], [target], out=str(out), granularity=granularity)
    assert result.exit_code() == 0
    original = load_file(str(path)).pipeline
    dag = out / f"{original.name}.py"
    assert verify(original, reader, dag.read_text(encoding="utf-8"), str(dag)) == []
    document, found, _ = import_code(dag.read_text(encoding="utf-8"), str(dag), reader)
    assert [d for d in found if d.severity.value == "error"] == []
    back = load_text(dump(document, None), "imported.oml.yaml")
    assert back.pipeline is not None, [str(d) for d in back.diagnostics]
    return original, back.pipeline


def _assert_same_facts(original, back, granularity: str, reader, losses) -> None:
    """The facts of the imported pipeline are the original's, except facts the reader does
    not read (the code does not carry them) whose OML field is in the loss report."""
    ours, theirs = facts(original, granularity), facts(back, granularity)
    read = reader.expected(original, granularity)
    lost = {loss.field for loss in losses if loss.status != "exact"}
    for key in sorted(set(ours) | set(theirs)):
        if ours.get(key) != theirs.get(key):
            assert key not in read and ".".join(OML_PATHS[key]) in lost, (key, ours.get(key), theirs.get(key))


@pytest.mark.parametrize("target,reader", READ_BACK)
@pytest.mark.parametrize("granularity", ["pipeline", "step"])
def test_every_fixture_round_trips(tmp_path, granularity, target, reader):
    for path in sorted(FIXTURES.glob("*.oml.yaml")):
        original, back = _round_trip(path, tmp_path / path.stem, granularity, target, reader)
        loaded = load_file(str(path))
        unit = make_unit(original, loaded.source.text, str(path), Project(), target.name, granularity)
        _assert_same_facts(original, back, granularity, reader, target.losses(unit))
        # steps and params come back from the runtime copy, window references restored
        assert [s.model_dump() for s in back.steps] == [s.model_dump() for s in original.steps], path
        assert back.params == original.params, path


def test_an_existing_oml_file_is_updated_in_place(tmp_path):
    source = copy_pipeline(FIXTURES / "daily_customer_sync.oml.yaml", tmp_path)  # with its custom test script
    out = tmp_path / "dags"
    assert compile_paths([str(source)], [AirflowTarget()], out=str(out)).exit_code() == 0
    dag = out / "daily_customer_sync.py"
    dag.write_text(dag.read_text(encoding="utf-8").replace('"retries": 3', '"retries": 4').replace(
        "OmlcRetryDelays([300, 600, 1200])", "OmlcRetryDelays([300, 600, 1200, 2400])"), encoding="utf-8")
    before = source.read_text(encoding="utf-8")
    run = run_cli("import", str(dag), "-o", str(source), env={"OMLC_PLUGINS": "airflow"})
    assert run.returncode == 0, run.stderr
    after = source.read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(before.splitlines()) == len(after.splitlines())
    assert changed == [("    attempts: 3", "    attempts: 4")], changed
    assert "# Daily at 2 AM" in after  # the user's comments stay


def test_an_in_place_update_rewrites_changed_metadata_item_by_item(tmp_path):
    """A hand edit of the SLA, of one data check's spec and of one notification target in a
    Prefect flow: importing it into the OML file rewrites those values (the changed list
    items only) and nothing else."""
    source = copy_pipeline(FIXTURES / "daily_customer_sync.oml.yaml", tmp_path)
    out = tmp_path / "flows"
    assert compile_paths([str(source)], [PrefectTarget()], out=str(out)).exit_code() == 0
    flow = out / "daily_customer_sync.py"
    code = flow.read_text(encoding="utf-8")
    edited = code.replace("OMLC_SLA = 14400", "OMLC_SLA = 7200").replace('"min": 100,', '"min": 10,').replace(
        "['email', 'oncall@company.com']", "['email', 'someone@company.com']")
    assert edited.count("\n") == code.count("\n") and len({code, edited}) == 2
    flow.write_text(edited, encoding="utf-8")
    before = source.read_text(encoding="utf-8")
    run = run_cli("import", str(flow), "--from", "prefect", "-o", str(source), env={"OMLC_PLUGINS": "prefect"})
    assert run.returncode == 0, run.stderr
    after = source.read_text(encoding="utf-8")
    changed = [ln for ln in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert sorted(changed) == sorted([
        '-  sla: "4h"', '+  sla: "2h"',
        '-    - type: "row_count"', '-      min: 100', '+    - type: row_count', '+      min: 10',
        '+      step: load_customers',
        '-      - email: "oncall@company.com"', '+      - email: someone@company.com']), changed
    assert '- slack: "#data-alerts"' in after and '- type: "schema"' in after  # untouched items keep their quotes
    back = load_file(str(source)).pipeline
    assert verify(back, PrefectReader(), edited, str(flow)) == []  # the OML now says what the code does


def test_updating_an_oml_file_keeps_what_the_code_does_not_carry(tmp_path):
    source = copy_pipeline(FIXTURES / "daily_customer_sync.oml.yaml", tmp_path)  # with its custom test script
    out = tmp_path / "jobs"
    assert compile_paths([str(source)], [DagsterTarget()], out=str(out)).exit_code() == 0
    before = source.read_text(encoding="utf-8")
    run = run_cli("import", str(out / "daily_customer_sync.py"), "--from", "dagster", "-o", str(source),
                  env={"OMLC_PLUGINS": "dagster"})
    assert run.returncode == 0, run.stderr
    assert source.read_text(encoding="utf-8") == before


def test_without_the_runtime_copy_steps_come_from_the_tasks(tmp_path):
    out = tmp_path / "dags"
    compile_paths([str(FIXTURES / "daily_customer_sync.oml.yaml")], [AirflowTarget()], out=str(out),
                  granularity="step")
    (out / "daily_customer_sync.runtime.yaml").unlink()
    run = run_cli("import", str(out / "daily_customer_sync.py"), env={"OMLC_PLUGINS": "airflow"})
    assert run.returncode == 0 and "warning OML703" in run.stderr and "no runtime copy" in run.stderr
    back = load_text(run.stdout).pipeline
    assert back is not None  # valid OML (components "unknown" are a warning there)
    assert [(s.id, s.needs or []) for s in back.steps] == [("extract_customers", []),
                                                     ("clean_customers", ["extract_customers"]),
                                                     ("load_customers", ["clean_customers"])]


@pytest.mark.parametrize("text,code", [("def broken(:\n", "OML702"), ("print('hello')\n", "OML702")])
def test_unreadable_files_are_findings_not_tracebacks(tmp_path, text, code):
    bad = tmp_path / "dag.py"
    bad.write_text(text, encoding="utf-8")
    run = run_cli("import", str(bad), env={"OMLC_PLUGINS": "airflow"})
    assert run.returncode == 1 and code in run.stderr and f"{bad}:" in run.stderr
    assert "Traceback" not in run.stderr
    missing = run_cli("import", str(tmp_path / "nope.py"), env={"OMLC_PLUGINS": "airflow"})
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


@pytest.mark.parametrize("delays", [[], [60], [60, 60, 60], [30, 60, 90], [10, 20, 40, 80], [10, 20, 40, 40],
                                    [5, 10, 15, 15]])
def test_retry_timelines_map_back_to_oml_backoffs(delays):
    block, exact = infer_retry(delays)
    assert exact
    pipeline = load_text('oml_version: "0.2.0"\nname: x\nschedule:\n  expression: "0 1 * * *"\n  retry: '
                         + repr(block).replace("'", '"') + "\nsteps: [{id: a, component: mysql.extractor, mode: read}]\n")
    assert retry_delays(pipeline.pipeline.schedule.retry) == delays


# -- random pipelines ----------------------------------------------------------------------
NASTY = st.sampled_from(["", "ümlaut ☃", "{{ x }} {% y %}", "'\"\\\n", "$(id) `id`", "x" * 200, "a: b # c"])
SCHEDULES = st.fixed_dictionaries({
    "expression": st.sampled_from(["0 2 * * *", "*/15 * * * *", "30 6 * * MON", "0 0 1 * *", "45 23 * * 1-5",
                                   "@daily", "@hourly", "5 4 * * SUN", "0 9-17 * * *"]),
    "timezone": st.sampled_from(["UTC", "Europe/Prague", "America/New_York", "Asia/Kathmandu", "Australia/Sydney"]),
}, optional={
    "retry": st.fixed_dictionaries({"attempts": st.integers(0, 5), "delay": st.sampled_from(["30s", "1m", "5m"]),
                                    "backoff": st.sampled_from(["constant", "linear", "exponential"])},
                                   optional={"max_delay": st.sampled_from(["2m", "10m"])}),
    "timeout": st.sampled_from(["30m", "1h", "2h30m"]),
    "concurrency": st.integers(1, 5),
    "window": st.one_of(
        st.fixed_dictionaries({"type": st.just("sliding"), "size": st.sampled_from(["1h", "24h", "1d", "2d"])},
                              optional={"offset": st.sampled_from(["-1h", "-1d", "30m"]),
                                        "format": st.sampled_from(["iso", "%Y%m%d"])}),
        st.fixed_dictionaries({"type": st.just("tumbling")}, optional={"offset": st.sampled_from(["-1h", "0s"])})),
    "start_date": st.sampled_from(["2024-01-01", "2024-03-31T02:30"]),
})
INTERVALS = st.fixed_dictionaries({
    "type": st.just("interval"), "expression": st.sampled_from(["15m", "2h", "1d", "7m", "3d", "90m"]),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin"]),
}, optional={"start_date": st.sampled_from(["2024-01-01T01:30", "2024-06-01"])})


@pytest.mark.parametrize("target,reader", READ_BACK)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(schedule=st.one_of(SCHEDULES, INTERVALS), description=NASTY, owner=NASTY, tags=st.lists(NASTY, max_size=3),
       team=st.one_of(st.none(), NASTY), steps=st.integers(1, 4), granularity=st.sampled_from(["pipeline", "step"]))
def test_random_pipelines_round_trip(tmp_path, target, reader, schedule, description, owner, tags, team, steps,
                                    granularity):
    import json

    metadata = {"owner": owner or None, "tags": [t for t in dict.fromkeys(tags) if t],
                "description": description or None, "team": team or None}
    doc = {"oml_version": "0.2.0", "name": "random_pipeline", "schedule": schedule,
           "metadata": {k: v for k, v in metadata.items() if v},
           "steps": [{"id": f"s{i}", "component": "duckdb.processor", "mode": "transform",
                      "config": {"query": f"SELECT {i} -- {description}"},
                      **({"needs": [f"s{i - 1}"]} if i else {})} for i in range(steps)]}
    if description:
        doc["description"] = description
    loaded = load_text(json.dumps(doc), "random.oml.yaml")
    assert loaded.pipeline is not None, [str(d) for d in loaded.diagnostics]
    original = loaded.pipeline
    unit = make_unit(original, loaded.source.text, "random.oml.yaml", Project(), target.name, granularity)
    output = target.compile(unit)
    if not output.ok:  # e.g. a tag over Airflow's length limit: a located problem, not code
        return
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    code = output.files["random_pipeline.py"]
    (folder / "random_pipeline.py").write_text(code, encoding="utf-8")
    (folder / unit.runtime_name).write_text(runtime_copy(loaded.source.text, "random.oml.yaml", ""),
                                            encoding="utf-8")
    assert verify(original, reader, code, "random_pipeline.py") == []
    document, found, _ = import_code(code, str(folder / "random_pipeline.py"), reader)
    assert document is not None, [str(d) for d in found]
    back = load_text(dump(document, None), "back.oml.yaml")
    assert back.pipeline is not None, [str(d) for d in back.diagnostics]
    _assert_same_facts(original, back.pipeline, granularity, reader, output.losses)


def test_hand_edited_airflow_metadata_is_imported(tmp_path):
    """Airflow: a recipient, the SLA and an upstream asset edited in the DAG come back as OML
    (a new file: updating an existing one in place compares the core facts(), which do not
    hold the metadata facts until every reader reads them)."""
    from omlc.metadata import metadata_facts

    source = copy_pipeline(FIXTURES / "daily_customer_sync.oml.yaml", tmp_path)  # with its custom test script
    out = tmp_path / "dags"
    assert compile_paths([str(source)], [AirflowTarget()], out=str(out)).exit_code() == 0
    dag = out / "daily_customer_sync.py"
    code = dag.read_text(encoding="utf-8")
    for old, new in [("to='oncall@company.com'", "to='pager@company.com'"),
                     ("interval=timedelta(seconds=14400)", "interval=timedelta(seconds=18000)"),
                     ("Asset('omlc://table/mysql.orders')", "Asset('omlc://table/mysql.order_lines')")]:
        assert code.count(old) == 1, old
        code = code.replace(old, new)
    dag.write_text(code, encoding="utf-8")
    target = tmp_path / "back.oml.yaml"
    run = run_cli("import", str(dag), "-o", str(target), env={"OMLC_PLUGINS": "airflow"})
    assert run.returncode == 0, run.stderr
    back = load_file(str(target)).pipeline
    original = load_file(str(source)).pipeline
    got, want = metadata_facts(back), metadata_facts(original)
    want["metadata.sla"] = 18000
    want["metadata.notifications.on_failure"][0] = ["email", "pager@company.com"]
    want["metadata.lineage.upstream"][1] = ["table", "mysql.order_lines"]
    assert got == want
    assert back.metadata.sla.to_text() == "5h"
