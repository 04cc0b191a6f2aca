"""The metadata plans every target shares (omlc.metadata) and the notification runtime
(omlc.runtime.notify) sending to real local servers: an SMTP server and an HTTP server
standing in for Slack's webhook and PagerDuty's Events API."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from omlc.metadata import checks, filled_setting, notices
from omlc.project import Project, load_project
from omlc.runtime import notify
from omlc.validate import load_file
from tests.servers import http_server, smtp_server, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines"
SEED = FIXTURES / "daily_customer_sync.oml.yaml"


def test_the_seed_tests_become_checks():
    pipeline = load_file(str(SEED)).pipeline
    got = checks(pipeline, Project(), str(FIXTURES.parent.parent / "build" / "airflow"))
    assert [c.id for c in got] == ["check_row_count", "check_schema", "check_freshness", "check_custom"]
    row = got[0]
    assert json.loads(row.values["OMLC_TEST_SPEC"]) == {"type": "row_count", "min": 100, "max": 10000,
                                                         "step": "load_customers"}
    assert row.command == ('osiris test "$OMLC_OML_PATH" --test "$OMLC_TEST_INDEX" --param '
                           'window_start="$OMLC_WINDOW_START" --param window_end="$OMLC_WINDOW_END"')
    fresh = json.loads(got[2].values["OMLC_TEST_SPEC"])
    assert fresh["max_age_seconds"] == 25 * 3600 and fresh["field"] == "updated_at"  # the window's column
    custom = got[3]
    assert custom.command == 'python3 "$OMLC_TEST_SCRIPT"'
    assert custom.script == "../../fixtures/pipelines/tests/validate_customers.py"


def test_check_ids_avoid_steps_and_each_other(tmp_path):
    path = tmp_path / "p.oml.yaml"
    path.write_text('''oml_version: "0.2.0"
name: p
steps: [{id: check_schema, component: mysql.extractor, mode: read}]
metadata:
  tests: [{type: schema, expected: v1}, {type: row_count, min: 1}, {type: row_count, max: 9},
          {type: custom, script: "t.sh", args: ["a b", "{x}", "$HOME"]}]
''')
    (tmp_path / "t.sh").write_text("#!/bin/sh\n")
    got = checks(load_file(str(path)).pipeline, Project(), str(tmp_path))
    assert [c.id for c in got] == ["check_1_schema", "check_2_row_count", "check_3_row_count", "check_custom"]
    assert got[3].command == "\"$OMLC_TEST_SCRIPT\" 'a b' '{x}' '$HOME'"
    out = subprocess.run(["/bin/sh", "-c", got[3].command.replace('"$OMLC_TEST_SCRIPT"', "printf '%s|'")],
                         capture_output=True, text=True, env={"HOME": "/root"})
    assert out.stdout == "a b|{x}|$HOME|"  # arguments reach the script as written, unexpanded


def test_project_settings(tmp_path):
    path = tmp_path / "omlc.yaml"
    path.write_text('''checks:
  command: "dq {test_type} {test_spec} {nope}"
notifications:
  slack: {webhook_env: TEAM_SLACK_URL, webhook_url: "https://hooks.slack.com/x"}
  pagerduty: {routing_key_env: "PD_KEY_{service}", connection: "pd_{service}"}
  email: {host_env: "not a name"}
  teams: {}
''')
    project, problems = load_project(str(path))
    messages = [d.message for d in problems]
    assert any("unknown placeholder {nope}" in m for m in messages)
    assert any("webhook_url: unknown setting" in m and "environment variable" in m for m in messages)
    assert any("email.host_env: expected an environment variable name" in m for m in messages)
    assert any("notifications.teams" in m for m in messages)
    assert project.notify["slack"]["webhook_env"] == "TEAM_SLACK_URL"
    assert project.notify["pagerduty"]["connection"] == "pd_{service}"
    assert project.notify["email"]["host_env"] == "OMLC_SMTP_HOST"  # the bad value is not taken


def test_a_placeholder_belongs_to_its_channel(tmp_path):
    """{channel} fills Slack settings, {service} PagerDuty ones; elsewhere it is refused."""
    path = tmp_path / "omlc.yaml"
    path.write_text('notifications:\n'
                    '  slack: {webhook_env: "SLACK_{channel}_URL", connection: "slack_{service}"}\n'
                    '  pagerduty: {routing_key_env: "PD_{channel}"}\n'
                    '  email: {connection: "smtp_{channel}"}\n')
    project, problems = load_project(str(path))
    messages = sorted(d.message for d in problems)
    assert len(messages) == 3, messages
    assert any(m.startswith("notifications.slack.connection: {service} is not a placeholder of slack") for m in messages)
    assert any(m.startswith("notifications.pagerduty.routing_key_env: {channel}") for m in messages)
    assert any(m.startswith("notifications.email.connection: {channel}") for m in messages)
    assert project.notify["slack"]["webhook_env"] == "SLACK_{channel}_URL"
    assert project.notify["slack"]["connection"] == "slack_default"  # the refused value is not taken
    assert filled_setting("SLACK_{channel}_URL", "slack", "#data-alerts", True) == "SLACK_DATA_ALERTS_URL"
    assert filled_setting("slack_{channel}", "slack", "#data-alerts", False) == "slack_data-alerts"
    assert filled_setting("pd_{service}", "pagerduty", "data.platform", False) == "pd_data.platform"
    assert filled_setting("smtp_default", "email", "a@b.co", False) == "smtp_default"


def test_one_webhook_per_slack_channel(monkeypatch):
    """With {channel} in webhook_env, each channel's message goes to its own webhook (the
    variable named for it); a channel without one is reported by the variable's name."""
    with http_server() as (base, posts):
        monkeypatch.setenv("T_SLACK_DATA_ALERTS", base + "/alerts")
        monkeypatch.setenv("T_SLACK_C0123ABCDE", base + "/by-id")
        monkeypatch.delenv("T_SLACK_NOWHERE", raising=False)
        failed = notify.omlc_notify("on_failure", [("slack", "#data-alerts"), ("slack", "C0123ABCDE"),
                                                   ("slack", "#nowhere")],
                                    {"slack": {"webhook_env": "T_SLACK_{channel}"}}, {"pipeline": "p"}, "high")
        wait_for(posts, 2)
    assert sorted((p["path"], p["json"]["channel"]) for p in posts) == [("/alerts", "#data-alerts"),
                                                                         ("/by-id", "C0123ABCDE")]
    assert len(failed) == 1 and "T_SLACK_NOWHERE" in failed[0], failed


def test_notices_keep_the_oml_order():
    got = notices(load_file(str(SEED)).pipeline)
    assert {e: [(n.channel, n.target) for n in v] for e, v in got.items()} == {
        "on_failure": [("email", "oncall@company.com"), ("slack", "#data-alerts")],
        "on_success": [("email", "data-team@company.com")],
        "on_sla_breach": [("pagerduty", "data-platform")]}


def test_notify_sends_to_real_servers(monkeypatch):
    with smtp_server() as (smtp, mails), http_server() as (base, posts):
        monkeypatch.setenv("T_SMTP", smtp)
        monkeypatch.setenv("T_SLACK", base + "/slack/hook")
        monkeypatch.setenv("T_PD_KEY_DATA_PLATFORM", "routing-123")
        monkeypatch.setenv("T_PD_URL", base + "/v2/enqueue")
        settings = {"email": {"host_env": "T_SMTP", "sender_env": "T_NONE"}, "slack": {"webhook_env": "T_SLACK"},
                    "pagerduty": {"routing_key_env": "T_PD_KEY_{service}", "url_env": "T_PD_URL"}}
        facts = {"pipeline": "daily_customer_sync", "run_id": "r1", "error": "step load failed: {{ x }}"}
        failed = notify.omlc_notify("on_failure", [("email", "oncall@company.com"), ("slack", "#data-alerts"),
                                                   ("pagerduty", "data-platform")], settings, facts, "critical")
        assert failed == []
        wait_for(mails, 1)
    assert mails[0]["To"] == "oncall@company.com" and "daily_customer_sync failed" in mails[0]["Subject"]
    assert "step load failed: {{ x }}" in mails[0].get_payload()
    slack, pd = posts
    assert slack["path"] == "/slack/hook" and slack["json"]["channel"] == "#data-alerts"
    assert pd["json"]["routing_key"] == "routing-123" and pd["json"]["payload"]["severity"] == "critical"
    assert pd["json"]["dedup_key"] == "omlc/daily_customer_sync/r1/on_failure"


def test_notify_reports_what_it_could_not_send(monkeypatch):
    monkeypatch.delenv("NOPE_SMTP", raising=False)
    failed = notify.omlc_notify("on_success", [("email", "a@b.co"), ("slack", "#x")],
                                {"email": {"host_env": "NOPE_SMTP"}, "slack": {"webhook_env": "NOPE_URL"}},
                                {"pipeline": "p"})
    assert len(failed) == 2 and "NOPE_SMTP" in failed[0] and "NOPE_URL" in failed[1]


def test_the_seed_custom_script_runs():
    script = FIXTURES / "tests" / "validate_customers.py"
    env = dict(os.environ, OMLC_WINDOW_START="2024-01-14 01:00:00", OMLC_WINDOW_END="2024-01-15 01:00:00")
    assert subprocess.run(["python3", str(script)], env=env).returncode == 0
    env["OMLC_WINDOW_END"] = "2024-01-13 00:00:00"
    assert subprocess.run(["python3", str(script)], env=env, capture_output=True).returncode != 0


@pytest.mark.parametrize("late", [True, False])
def test_sla_watchdog(late):
    import threading
    from datetime import datetime, timedelta, timezone

    fired = threading.Event()
    timer = notify.omlc_sla_watchdog(datetime.now(timezone.utc) + timedelta(seconds=0.2), fired.set)
    if not late:
        timer.cancel()
    assert fired.wait(1.0) is late


def test_metadata_facts_import_back_to_the_same_facts():
    """The importer writes metadata facts back as OML that has the same facts."""
    from omlc.importer import dump, metadata_block
    from omlc.metadata import metadata_facts
    from omlc.validate import load_text

    original = load_file(str(SEED)).pipeline
    found = metadata_facts(original)
    assert found["metadata.sla"] == 4 * 3600
    assert found["metadata.lineage.upstream"] == [["pipeline", "order_processing"], ["table", "mysql.orders"]]
    text = SEED.read_text(encoding="utf-8")
    head, _, _ = text.partition("\nmetadata:\n")
    steps = "\nsteps:\n" + text.partition("\nsteps:\n")[2]
    doc = dump({"metadata": metadata_block(found)}, None)
    back = load_text(head + "\n" + doc + steps, str(SEED))  # beside the seed: its custom script exists
    assert back.pipeline is not None, [str(d) for d in back.diagnostics]
    assert metadata_facts(back.pipeline) == found
