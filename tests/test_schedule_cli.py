"""The `omlc schedule` commands, as a user runs them."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES, run_cli

SEED = str(FIXTURES / "pipelines" / "daily_customer_sync.oml.yaml")
HOURLY = str(FIXTURES / "pipelines" / "hourly_web_events.oml.yaml")


def test_validate_checklist_like_the_seed():
    r = run_cli("schedule", "validate", SEED, env={"OMLC_NOW": "2024-01-15T12:00:00Z"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert '\u2713 Valid cron expression: "0 2 * * *" (UTC)' in r.stdout
    assert "\u2713 Next 5 runs:\n    - 2024-01-16T02:00:00+00:00" in r.stdout
    assert "2024-01-20T02:00:00+00:00" in r.stdout
    assert "\u2713 Window calculation valid" in r.stdout and "\u2713 No schedule conflicts detected" in r.stdout


def test_validate_reports_conflicts_and_fails_on_errors():
    dst = str(FIXTURES / "invalid" / "schedule_dst_prague.oml.yaml")
    r = run_cli("schedule", "validate", dst)
    assert r.returncode == 0 and "2 schedule conflict(s)" in r.stdout and "OML403" in r.stdout
    assert "Airflow 3.3 runs at 03:30" in r.stdout and "Dagster 1.13 runs at 03:00" in r.stdout
    bad = run_cli("schedule", "validate", str(FIXTURES / "invalid" / "schedule_never_fires.oml.yaml"), "-f", "json")
    assert bad.returncode == 1 and json.loads(bad.stdout)[0]["findings"][0]["code"] == "OML405"


def test_preview_reproduces_the_seed_window():
    r = run_cli("schedule", "preview", SEED, "--date", "2024-01-15")
    assert r.returncode == 0
    assert "Start: 2024-01-14 01:00:00\n    End:   2024-01-15 01:00:00" in r.stdout
    assert "WHERE updated_at >= '2024-01-14 01:00:00'" in r.stdout
    data = json.loads(run_cli("schedule", "preview", SEED, "--date", "2024-01-15", "-f", "json").stdout)
    assert data[0]["window"] == ["2024-01-14 01:00:00", "2024-01-15 01:00:00"]
    assert "'2024-01-15 01:00:00'" in data[0]["configs"]["extract_customers"]["query"]


def test_next_json_carries_the_offset_at_each_instant():
    r = run_cli("schedule", "next", "--cron", "0 2 * * *", "--timezone", "America/New_York",
                "--after", "2023-03-11", "--count", "2", "--format", "json")
    assert json.loads(r.stdout) == ["2023-03-11T02:00:00-05:00", "2023-03-12T03:00:00-04:00"]


def test_next_all_targets_marks_disagreements():
    r = run_cli("schedule", "next", "--cron", "30 2 * * *", "--tz", "Europe/Prague",
                "--after", "2024-03-30T00:00:00Z", "-n", "3", "--target", "all")
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["oml", "airflow", "prefect", "dagster"]
    moved = [line for line in lines if "2024-03-31" in line]
    assert all(line.endswith("*") for line in moved) and len(moved) == 2
    data = json.loads(run_cli("schedule", "next", "--cron", "30 2 * * *", "--tz", "Europe/Prague", "--after",
                              "2024-10-26T12:00:00Z", "-n", "1", "--target", "all", "-f", "json").stdout)
    assert data["oml"] == ["2024-10-27T02:30:00+02:00"] and data["airflow"] == ["2024-10-27T02:30:00+01:00"]


def test_next_from_a_pipeline_and_bad_input():
    r = run_cli("schedule", "next", HOURLY, "-n", "2", "--after", "2024-06-01T10:30:00Z")
    assert r.stdout.split() == ["2024-06-01T11:05:00+00:00", "2024-06-01T12:05:00+00:00"]
    bad = run_cli("schedule", "next", "--cron", "0 0 L * *")
    assert bad.returncode == 1 and "not portable" in bad.stderr and "Traceback" not in bad.stderr
    both = run_cli("schedule", "next", HOURLY, "--cron", "* * * * *")
    assert both.returncode == 2 and "Traceback" not in both.stderr


def test_dry_run_simulation():
    r = run_cli("schedule", "test", SEED, "--dry-run", "--from", "2024-01-15", "--to", "2024-01-20",
                "--downtime", "2024-01-16T00:00/2024-01-18T05:00", "--fail", "1", "--duration", "20m",
                "--format", "json")
    runs = json.loads(r.stdout)
    assert [x["status"] for x in runs] == ["failed", "missed", "missed", "missed", "success"]
    starts = [a["start"] for a in runs[0]["attempts"]]
    # 20-minute attempts, then the OML exponential timeline 300, 600, 1200 seconds
    assert starts == ["2024-01-15T02:00:00+00:00", "2024-01-15T02:25:00+00:00", "2024-01-15T02:55:00+00:00",
                      "2024-01-15T03:35:00+00:00"]
    q = json.loads(run_cli("schedule", "test", HOURLY, "--from", "2024-01-15T00:00Z", "--to", "2024-01-15T03:00Z",
                           "--downtime", "2024-01-15T00:30Z/2024-01-15T02:30Z", "-f", "json").stdout)
    assert [x["note"] for x in q] == ["", "caught up after downtime", "caught up after downtime"]
    assert q[2]["queued"] == 60.0  # waits for the caught-up run before it (concurrency 1)


def test_preview_shows_each_runs_sla_deadline(tmp_path):
    seed = run_cli("schedule", "preview", SEED, "--date", "2024-01-15", "--format", "json")
    assert seed.returncode == 0 and json.loads(seed.stdout)[0]["sla_deadline"] == "2024-01-15T06:00:00+00:00"
    # a calendar-day SLA counts on the local clock: across the spring change it is 23 hours
    path = tmp_path / "p.oml.yaml"
    path.write_text('oml_version: "0.2.0"\nname: p\nschedule: {expression: "30 3 * * *", timezone: Europe/Prague}\n'
                    'metadata: {sla: 1d}\nsteps: [{id: a, component: mysql.extractor, mode: read}]\n')
    text = run_cli("schedule", "preview", str(path), "--date", "2024-03-30")
    assert text.returncode == 0
    assert "Run at 2024-03-30T03:30:00+01:00" in text.stdout
    assert "SLA deadline: 2024-03-31T03:30:00+02:00 (sla 1d)" in text.stdout, text.stdout
