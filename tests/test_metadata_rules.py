"""The metadata rules: data tests, notifications and the SLA are checked for meaning, each
finding located at the value it is about."""

from __future__ import annotations

import pytest

from omlc.validate import validate_paths

HEAD = '''oml_version: "0.2.0"
name: m
schedule: {type: cron, expression: "0 2 * * *", window: {type: sliding, size: 24h, field: updated_at}}
steps: [{id: a, component: mysql.extractor, mode: read}]
metadata:
'''


def _findings(tmp_path, metadata: str, head: str = HEAD):
    path = tmp_path / "m.oml.yaml"
    path.write_text(head + metadata, encoding="utf-8")
    report = validate_paths([str(path)])
    return [(d.code, d.span.line, d.span.col) for d in report.diagnostics]


CASES = [
    # (what, metadata block, code, line, col) -- lines count from the file's first line
    ("min > max", "  tests: [{type: row_count, min: 10, max: 5}]", "OML501", 6, 34),
    ("no bounds", "  tests:\n    - type: row_count", "OML501", 7, 7),
    ("zero max_age", "  tests: [{type: freshness, max_age: 0s}]", "OML503", 6, 38),
    ("negative max_age", "  tests: [{type: freshness, max_age: -1h}]", "OML503", 6, 38),
    ("bad duration", "  tests: [{type: freshness, max_age: soon}]", "OML110", 6, 38),
    ("missing script", "  tests: [{type: custom, script: nope.py}]", "OML502", 6, 34),
    ("unknown step", "  tests: [{type: row_count, min: 1, step: b}]", "OML504", 6, 43),
    ("unknown test type", "  tests: [{type: uniqueness}]", "OML105", 6, 18),
    ("bad email", "  notifications: {on_failure: [{email: not-an-address}]}", "OML506", 6, 40),
    ("email with a name", "  notifications: {on_failure: [{email: 'Ops <ops@x.com>'}]}", "OML506", 6, 40),
    ("bad slack channel", "  notifications: {on_failure: [{slack: 'Data Alerts'}]}", "OML507", 6, 40),
    ("slack without #", "  notifications: {on_failure: [{slack: data-alerts}]}", "OML507", 6, 40),
    ("bad pagerduty", "  notifications: {on_failure: [{pagerduty: 'a b'}]}", "OML508", 6, 44),
    ("unknown channel", "  notifications: {on_failure: [{teams: x}]}", "OML105", 6, 33),
    ("sla breach without sla", "  notifications: {on_sla_breach: [{pagerduty: dp}]}", "OML509", 6, 19),
    ("zero sla", "  sla: 0s", "OML503", 6, 8),
    ("sla longer than interval", "  sla: 30h", "OML511", 6, 8),
]


@pytest.mark.parametrize("what,metadata,code,line,col", CASES, ids=[c[0] for c in CASES])
def test_a_bad_metadata_value_is_located(tmp_path, what, metadata, code, line, col):
    found = _findings(tmp_path, metadata)
    assert (code, line, col) in found, found


def test_sla_without_schedule(tmp_path):
    head = 'oml_version: "0.2.0"\nname: m\nsteps: [{id: a, component: mysql.extractor, mode: read}]\nmetadata:\n'
    assert ("OML510", 5, 8) in _findings(tmp_path, "  sla: 4h", head)


def test_freshness_needs_a_column(tmp_path):
    head = HEAD.replace(", field: updated_at", "")
    assert ("OML505", 7, 7) in _findings(tmp_path, "  tests:\n    - type: freshness\n      max_age: 25h", head)
    assert _findings(tmp_path, "  tests:\n    - {type: freshness, max_age: 25h, field: ts}", head) == []


def test_good_metadata_is_clean(tmp_path):
    (tmp_path / "check.py").write_text("print('ok')\n")
    good = """  sla: 4h
  tests:
    - {type: row_count, min: 1, max: 5, step: a}
    - {type: freshness, max_age: 25h}
    - {type: custom, script: check.py}
    - {type: schema, expected: v2}
  notifications:
    on_failure: [{email: oncall@company.com}, {slack: "#data-alerts"}, {slack: C0123ABCDE}]
    on_success: [{email: first.last+tag@sub.example.org}]
    on_sla_breach: [{pagerduty: data-platform}]
"""
    assert _findings(tmp_path, good) == []
