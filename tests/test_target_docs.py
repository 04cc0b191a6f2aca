"""docs/targets/<name>.md of every built-in target equals its support table (the loss report's
source) and intro; regenerate with
``python -c 'from omlc.targets import write_docs_pages; write_docs_pages()'``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omlc.compile import compile_paths
from omlc.targets import INFORMATIONAL, REPORTED_FIELDS, fields_set
from omlc.validate import load_file
from tests.conftest import copy_pipeline

from omlc_airflow.target import AirflowTarget
from omlc_dagster.target import DagsterTarget
from omlc_prefect.target import PrefectTarget

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("target", [AirflowTarget(), PrefectTarget(), DagsterTarget()], ids=lambda t: t.name)
def test_the_docs_page_is_the_support_table(target):
    page = ROOT / "docs" / "targets" / f"{target.name}.md"
    assert page.read_text(encoding="utf-8") == target.docs_page(), \
        "regenerate: python -c 'from omlc.targets import write_docs_pages; write_docs_pages()'"
    assert "| OML field | status | how |" in page.read_text(encoding="utf-8")


# the statuses of the metadata rows (each target's choice; its docs page says why);
# notifications depend on the project's settings (below)
EMULATED_SLA = {"metadata.sla": "emulated", "metadata.tests": "exact", "metadata.lineage.upstream": "exact",
                "metadata.lineage.downstream": "exact", "metadata.notifications.on_failure": "approximated",
                "metadata.notifications.on_success": "approximated",
                "metadata.notifications.on_sla_breach": "approximated"}
NOTIFICATIONS = ("metadata.notifications.on_failure", "metadata.notifications.on_success",
                 "metadata.notifications.on_sla_breach")


def _reported(tmp_path, target, project: str | None = None) -> dict[str, tuple[str, str]]:
    """field -> (status, code) of the seed's metadata losses (compiled with ``project`` as
    its omlc.yaml)."""
    path = copy_pipeline(ROOT / "fixtures" / "pipelines" / "daily_customer_sync.oml.yaml", tmp_path)
    if project is not None:
        (tmp_path / "omlc.yaml").write_text(project, encoding="utf-8")
    result = compile_paths([str(path)], [target], write=False)
    assert result.exit_code() == 0, [str(d) for d in result.report.diagnostics]
    reported = {}
    for d in result.report.diagnostics:
        m = re.match(rf"\[{target.name}\] (metadata\.[a-z_.]+): (\w+):", d.message)
        if m:
            reported[m.group(1)] = (m.group(2), d.code)
    return reported


CODES = {"approximated": "OML601", "unsupported": "OML602", "emulated": "OML603"}


@pytest.mark.parametrize("target", [PrefectTarget(), DagsterTarget()], ids=lambda t: t.name)
def test_the_loss_report_of_every_metadata_field_is_the_support_table(tmp_path, target):
    """The seed sets every metadata field that acts; each is in the loss report exactly
    as its row says (Airflow's rows depend on the values: tests/test_airflow_metadata.py;
    so do notifications: the next test)."""
    reported = _reported(tmp_path, target)
    set_here = [f for f in fields_set(load_file(str(tmp_path / "daily_customer_sync.oml.yaml")).pipeline)
                if f.startswith("metadata.")]
    assert set(set_here) == {f for f in REPORTED_FIELDS if f.startswith("metadata.")} - set(INFORMATIONAL)
    for field in set_here:
        row = target.support[field]
        if field in NOTIFICATIONS:
            continue
        if row.status == "exact":
            assert field not in reported, field
        else:
            assert reported[field] == (row.status, CODES[row.status]), field
    assert {f: target.support[f].status for f in EMULATED_SLA} == EMULATED_SLA


@pytest.mark.parametrize("target", [PrefectTarget(), DagsterTarget()], ids=lambda t: t.name)
@pytest.mark.parametrize("project,expected", [
    # the seed: on_failure email + Slack, on_success email, on_sla_breach PagerDuty
    (None, {"metadata.notifications.on_failure": "approximated", "metadata.notifications.on_sla_breach":
            "approximated"}),
    ("notifications:\n  slack: {webhook_env: \"SLACK_{channel}\"}\n", {
        "metadata.notifications.on_sla_breach": "approximated"}),
    ("notifications:\n  slack: {webhook_env: \"SLACK_{channel}\"}\n  pagerduty: {routing_key_env: \"PD_{service}\"}\n",
     {"metadata.notifications.on_sla_breach": "emulated"}),
])
def test_a_notification_is_exact_when_each_channel_and_service_has_its_own_webhook_and_key(tmp_path, target,
                                                                                          project, expected):
    reported = {f: s for f, (s, _) in _reported(tmp_path, target, project).items() if f in NOTIFICATIONS}
    assert reported == expected
