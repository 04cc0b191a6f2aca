"""Reading generated code back (the targets' readers) and `omlc verify`: every fixture reads
back without drift on every target with a reader, and each kind of hand edit is reported as
drift at its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omlc.compile import compile_paths
from omlc.readback import facts, verify
from omlc.validate import load_file
from omlc_airflow.reader import AirflowReader
from omlc_airflow.target import AirflowTarget
from omlc_dagster.reader import DagsterReader
from omlc_dagster.target import DagsterTarget
from omlc_prefect.reader import PrefectReader
from omlc_prefect.target import PrefectTarget
from tests.conftest import copy_pipeline, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"
INTERVAL = '''oml_version: "0.2.0"
name: every_2h
schedule: {type: interval, expression: 2h, timezone: Europe/Berlin, start_date: "2024-01-01T01:30",
  window: {type: tumbling}, retry: {attempts: 2, delay: 30, backoff: linear}}
steps: [{id: a, component: mysql.extractor, mode: read}]
'''


READERS = [pytest.param(AirflowTarget(), AirflowReader(), id="airflow"),
           pytest.param(PrefectTarget(), PrefectReader(), id="prefect"),
           pytest.param(DagsterTarget(), DagsterReader(), id="dagster")]


def _compiled(path: Path, granularity: str, target=None) -> tuple:
    target = target or AirflowTarget()
    result = compile_paths([str(path)], [target], write=False, granularity=granularity)
    files = result.outputs[(str(path), target.name)]
    name = next(n for n in files if n.endswith(".py"))
    return load_file(str(path)).pipeline, files[name]


def _all_pipelines(tmp_path: Path) -> list[Path]:
    extra = tmp_path / "every_2h.oml.yaml"
    extra.write_text(INTERVAL, encoding="utf-8")
    return sorted(FIXTURES.glob("*.oml.yaml")) + [extra]


def _copy_fixture(name: str, folder: Path) -> Path:
    """A fixture pipeline in ``folder``, with the files it names (its custom test scripts)."""
    return copy_pipeline(FIXTURES / name, folder)


@pytest.mark.parametrize("target,reader", READERS)
@pytest.mark.parametrize("granularity", ["pipeline", "step"])
def test_every_fixture_reads_back_without_drift(tmp_path, granularity, target, reader):
    for path in _all_pipelines(tmp_path):
        pipeline, code = _compiled(path, granularity, target)
        got = reader.read(code, "dag.py")
        assert got.diagnostics == [], path
        expected = reader.expected(pipeline, granularity)
        assert {k: got.facts[k] for k in expected if k in got.facts} == {
            k: expected[k] for k in expected if k in got.facts}, path
        missing = set(expected) - set(got.facts)
        assert not missing, (path, missing)  # every fact is read, none is assumed
        assert verify(pipeline, reader, code, "dag.py") == []


EDITS = [
    # (what, pattern in the generated DAG, replacement, fact reported)
    ("retries", r'"retries": 3', '"retries": 5', "schedule.retry.attempts"),
    ("cron", r"CronTriggerTimetable\('0 2 \* \* \*'", "CronTriggerTimetable('0 3 * * *'", "schedule.cron"),
    ("timezone", r"timezone='UTC'\)", "timezone='Europe/Prague')", "schedule.timezone"),
    ("owner", r'"owner": \'data-team@company.com\'', '"owner": \'someone@company.com\'', "metadata.owner"),
    ("window offset", r"'offset': \[0, -3600\]", "'offset': [0, -7200]", "schedule.window"),
    ("dependency edge", r"step_extract_customers >> step_clean_customers",
     "step_extract_customers >> step_load_customers", "steps.load_customers.needs"),
    ("retry delays", r"OmlcRetryDelays\(\[300, 600, 1200\]\)", "OmlcRetryDelays([300, 600, 600])",
     "schedule.retry.delays"),
    ("timeout", r"dagrun_timeout=timedelta\(seconds=3600\)", "dagrun_timeout=timedelta(hours=2)",
     "schedule.timeout"),
]


def _hand_edit(tmp_path, target, pattern: str, replacement: str, count: int = 0):
    """Compile the seed pipeline (step granularity) for ``target``, replace ``pattern``
    (``count`` times; 0: every match, which must be one) and run ``omlc verify --generated``
    on the edited file. Returns the file, the edited line and the run."""
    source = _copy_fixture("daily_customer_sync.oml.yaml", tmp_path)
    _, code = _compiled(source, "step", target)
    edited, found = re.subn(pattern, replacement, code, count=count, flags=re.M)
    assert found == 1, pattern
    line = next(i for i, (a, b) in enumerate(zip(code.splitlines(), edited.splitlines()), 1) if a != b)
    generated = tmp_path / "daily_customer_sync.py"
    generated.write_text(edited, encoding="utf-8")
    run = run_cli("verify", str(source), "--target", target.name, "--generated", str(generated),
                  env={"OMLC_PLUGINS": target.name})
    return generated, line, run


def _edit_and_verify(tmp_path, target, pattern: str, replacement: str, fact: str, drifts: int) -> None:
    """One hand edit (:func:`_hand_edit`) is reported as drift of ``fact`` at the edited
    line (and ``drifts`` drifts in all)."""
    generated, line, run = _hand_edit(tmp_path, target, pattern, replacement)
    assert run.returncode == 1, run.stdout + run.stderr
    drift = [ln for ln in run.stdout.splitlines() if "error OML701" in ln]
    assert len(drift) == drifts, run.stdout
    assert any(f"] {fact}: the code at {generated}:{line}:" in d for d in drift), drift
    assert "Traceback" not in run.stdout + run.stderr


def _unreadable_at(tmp_path, target, pattern: str, replacement: str, message: str, line: int | None = None) -> None:
    """One hand edit (the first match of ``pattern``) the reader cannot read: a located
    OML702 with ``message``, at the edited line (or at ``line``)."""
    generated, edited_line, run = _hand_edit(tmp_path, target, pattern, replacement, count=1)
    assert run.returncode == 1 and "OML702" in run.stdout and message in run.stdout, run.stdout
    found = next(ln for ln in run.stdout.splitlines() if "OML702" in ln)
    assert found.startswith(f"{generated}:{line or edited_line}:"), (found, edited_line)
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("what,pattern,replacement,fact", EDITS, ids=[e[0] for e in EDITS])
def test_a_hand_edit_is_drift_at_its_line(tmp_path, what, pattern, replacement, fact):
    # one edit, one fact (moving an edge with >> also takes it from the step it came into)
    _edit_and_verify(tmp_path, AirflowTarget(), pattern, replacement, fact, 2 if what == "dependency edge" else 1)


def test_verify_compiles_and_finds_no_drift(tmp_path):
    run = run_cli("verify", str(FIXTURES), "--target", "airflow", "-g", "step", env={"OMLC_PLUGINS": "airflow"})
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("text,message", [
    ("with DAG(\n", "not Python"),
    ("x = 1\n", "no `with DAG(...)` block"),
])
def test_unreadable_code_is_a_located_diagnostic(tmp_path, text, message):
    dag = tmp_path / "dag.py"
    dag.write_text(text, encoding="utf-8")
    run = run_cli("verify", str(FIXTURES / "daily_customer_sync.oml.yaml"), "--target", "airflow", "--generated",
                  str(dag), env={"OMLC_PLUGINS": "airflow"})
    assert run.returncode == 1 and "OML702" in run.stdout and message in run.stdout, run.stdout
    assert f"{dag}:" in run.stdout and "Traceback" not in run.stderr


def test_facts_are_semantic():
    """The same schedule written two ways is the same fact."""
    a = load_file(str(FIXTURES / "daily_customer_sync.oml.yaml")).pipeline
    assert facts(a)["schedule.cron"]["hours"] == [2]


PREFECT_EDITS = [
    ("retries", r"    retries=3,", "    retries=5,", "schedule.retry.attempts"),
    ("retry delays", r"retry_delay_seconds=\[300, 600, 1200\]", "retry_delay_seconds=[300, 600, 900]",
     "schedule.retry.delays"),
    ("cron", r"Cron\('0 2 \* \* \*'", "Cron('0 3 * * *'", "schedule.cron"),
    ("timezone", r"timezone='UTC'\),", "timezone='Europe/Prague'),", "schedule.timezone"),
    ("owner", r"'owner:data-team@company.com'", "'owner:someone@company.com'", "metadata.owner"),
    ("window offset", r"'offset': \[0, -3600\]", "'offset': [0, -7200]", "schedule.window"),
    ("timeout", r"^OMLC_TIMEOUT = 3600", "OMLC_TIMEOUT = 7200", "schedule.timeout"),
    ("dependency edge", r"wait_for=\[step_clean_customers_run\]", "wait_for=[step_extract_customers_run]",
     "steps.load_customers.needs"),
    ("notification target", r"^OMLC_ON_FAILURE = \[\['email', 'oncall@company.com'\]",
     "OMLC_ON_FAILURE = [['email', 'someone@company.com']", "metadata.notifications.on_failure"),
    ("sla", r"^OMLC_SLA = 14400", "OMLC_SLA = 7200", "metadata.sla"),
    ("upstream asset", r"'omlc://table/mysql.orders'\]", "'omlc://table/mysql.customers']",
     "metadata.lineage.upstream"),
    ("data test", r'"min": 100,', '"min": 10,', "metadata.tests"),
]


@pytest.mark.parametrize("what,pattern,replacement,fact", PREFECT_EDITS, ids=[e[0] for e in PREFECT_EDITS])
def test_a_hand_edit_of_a_prefect_flow_is_drift_at_its_line(tmp_path, what, pattern, replacement, fact):
    _edit_and_verify(tmp_path, PrefectTarget(), pattern, replacement, fact, 1)


# one op's retry policy (step granularity: every op has one)
_LOAD_OP = r"(name='daily_customer_sync__step_load_customers',\n(?:    .*\n)*?    retry_policy=dg\.RetryPolicy\("
DAGSTER_EDITS = [
    ("retries", _LOAD_OP + r"max_retries=)3", r"\g<1>5", "schedule.retry.attempts"),
    ("retry delays", r"^OMLC_RETRY_DELAYS = \[300, 600, 1200\]", "OMLC_RETRY_DELAYS = [300, 600, 900]",
     "schedule.retry.delays"),
    ("retry policy delay", _LOAD_OP + r"max_retries=3, delay=)300", r"\g<1>60", "dagster.retry_delay"),
    ("cron", r"cron_schedule='0 2 \* \* \*'", "cron_schedule='0 3 * * *'", "schedule.cron"),
    ("timezone", r"execution_timezone='UTC'", "execution_timezone='Europe/Prague'", "schedule.timezone"),
    ("owner", r"'owner': 'data-team@company.com'", "'owner': 'someone@company.com'", "metadata.owner"),
    ("window offset", r"'offset': \[0, -3600\]", "'offset': [0, -7200]", "schedule.window"),
    ("timeout", r"^OMLC_TIMEOUT = 3600", "OMLC_TIMEOUT = 7200", "schedule.timeout"),
    ("max_runtime tag", r"'dagster/max_runtime': '3600'", "'dagster/max_runtime': '7200'", "dagster.max_runtime"),
    ("dependency edge", r"step_load_customers\(after=step_clean_customers_done\)",
     "step_load_customers(after=step_extract_customers_done)", "steps.load_customers.needs"),
    ("job name", r"^    name='daily_customer_sync',", "    name='customer_sync',", "dagster.job"),
    ("schedule not loaded", r"schedules=\[omlc_schedule\]", "schedules=[]", "schedule.cron"),
    ("run config ops", r"^OMLC_OPS = \['daily_customer_sync__step_extract_customers', ",
     "OMLC_OPS = ['daily_customer_sync__step_extract', ", "dagster.run_config_ops"),
]


@pytest.mark.parametrize("what,pattern,replacement,fact", DAGSTER_EDITS, ids=[e[0] for e in DAGSTER_EDITS])
def test_a_hand_edit_of_a_dagster_job_is_drift_at_its_line(tmp_path, what, pattern, replacement, fact):
    _edit_and_verify(tmp_path, DagsterTarget(), pattern, replacement, fact, 1)


def test_a_job_that_no_longer_records_lineage_is_drift(tmp_path):
    """Removing the lineage op from the job: the module still declares the asset specs, but
    no run records them any more."""
    generated, _, run = _hand_edit(tmp_path, DagsterTarget(), r"\n    omlc_lineage\(after=.*\)\n", "\n")
    assert run.returncode == 1, run.stdout
    drift = [ln for ln in run.stdout.splitlines() if "error OML701" in ln]
    assert len(drift) == 1 and "] dagster.lineage_recorded: the code at " in drift[0], run.stdout
    assert "says False, the OML says True" in drift[0]


@pytest.mark.parametrize("pattern,replacement,message", [
    (r"^def omlc_job\(\):", "def omlc_job(:", "not Python"),
    (r"^@dg\.job\(", "@dg.graph(", "no @dg.job(...) function"),
    (r"max_retries=3, delay=300\)", "max_retries=RETRIES, delay=300)", "cannot read max_retries: RETRIES"),
    (r"step_load_customers\(after=step_clean_customers_done\)", "step_load_customers(after=upstream())",
     "cannot read an op's input: upstream()"),
    (r"^OMLC_TIMEOUT = 3600", "OMLC_TIMEOUT = 60 * 60", "cannot read OMLC_TIMEOUT"),
])
def test_unreadable_dagster_code_is_a_located_diagnostic(tmp_path, pattern, replacement, message):
    _unreadable_at(tmp_path, DagsterTarget(), pattern, replacement, message,
                   1 if message == "no @dg.job(...) function" else None)


# Airflow: hand edits of what metadata becomes (notifiers, deadline, checks, assets); a list
# fact is reported at the element that changed
AIRFLOW_METADATA_EDITS = [
    ("email recipient", r"to='data-team@company\.com'", "to='someone@company.com'",
     "metadata.notifications.on_success"),
    ("slack channel", r"\\nchannel: #data-alerts\\n", r"\\nchannel: #other\\n", "metadata.notifications.on_failure"),
    ("pagerduty service", r"'component': 'data-platform'", "'component': 'payments'",
     "metadata.notifications.on_sla_breach"),
    ("deadline interval", r"interval=timedelta\(seconds=14400\)", "interval=timedelta(hours=2)", "metadata.sla"),
    ("deadline reference", r"DeadlineReference\.DAGRUN_LOGICAL_DATE", "DeadlineReference.DAGRUN_QUEUED_AT",
     "airflow.deadline_reference"),
    ("check spec", r'"expected": "v2\.1"', '"expected": "v3"', "metadata.tests"),
    ("inlet", r"Asset\('omlc://table/mysql\.orders'\)", "Asset('omlc://table/mysql.customers')",
     "metadata.lineage.upstream"),
    ("outlet", r"Asset\('omlc://pipeline/marketing_segments'\)", "Asset('omlc://pipeline/crm_sync')",
     "metadata.lineage.downstream"),
]


@pytest.mark.parametrize("what,pattern,replacement,fact", AIRFLOW_METADATA_EDITS,
                         ids=[e[0] for e in AIRFLOW_METADATA_EDITS])
def test_a_hand_edit_of_airflow_metadata_is_drift_at_its_line(tmp_path, what, pattern, replacement, fact):
    _edit_and_verify(tmp_path, AirflowTarget(), pattern, replacement, fact, 1)


@pytest.mark.parametrize("pattern,replacement,message", [
    (r"to='oncall@company\.com'", "to=ONCALL", "cannot read the email target: ONCALL"),
    (r"\\nchannel: #data-alerts\\n", r"\\n", "cannot read the slack target"),
    (r"        SmtpNotifier\(\n            to='data-team", "        send_mail(\n            to='data-team",
     "cannot read a notifier"),
    (r"Asset\('omlc://table/mysql\.orders'\)", "Asset('s3://bucket/orders')", "cannot read an asset"),
    (r'"type": "schema"\}', '"type": "schema"', "cannot read OMLC_TEST_SPEC"),
])
def test_unreadable_airflow_metadata_is_a_located_diagnostic(tmp_path, pattern, replacement, message):
    _unreadable_at(tmp_path, AirflowTarget(), pattern, replacement, message)


# Dagster: hand edits of what metadata becomes (sensor targets, the SLA, check specs, asset
# specs); a list fact is reported at the element that changed
DAGSTER_METADATA_EDITS = [
    ("email recipient", r"^OMLC_ON_SUCCESS = \[\['email', 'data-team@company\.com'\]\]",
     "OMLC_ON_SUCCESS = [['email', 'someone@company.com']]", "metadata.notifications.on_success"),
    ("slack channel", r"\['slack', '#data-alerts'\]", "['slack', '#other']", "metadata.notifications.on_failure"),
    ("failure sensor not loaded", r"sensors=\[omlc_on_failure, ", "sensors=[", "metadata.notifications.on_failure"),
    ("sla", r"^OMLC_SLA = 14400", "OMLC_SLA = 7200", "metadata.sla"),
    ("check spec", r'"expected": "v2\.1"', '"expected": "v3"', "metadata.tests"),
    ("upstream key", r"\(\['table', 'mysql', 'orders'\], 'table', 'mysql\.orders'\)",
     "(['table', 'mysql', 'customers'], 'table', 'mysql.orders')", "metadata.lineage.upstream"),
    ("downstream ref", r"\(\['pipeline', 'marketing_segments'\], 'pipeline', 'marketing_segments'\)",
     "(['pipeline', 'crm_sync'], 'pipeline', 'crm_sync')", "metadata.lineage.downstream"),
]


@pytest.mark.parametrize("what,pattern,replacement,fact", DAGSTER_METADATA_EDITS,
                         ids=[e[0] for e in DAGSTER_METADATA_EDITS])
def test_a_hand_edit_of_dagster_metadata_is_drift_at_its_line(tmp_path, what, pattern, replacement, fact):
    _edit_and_verify(tmp_path, DagsterTarget(), pattern, replacement, fact, 1)
