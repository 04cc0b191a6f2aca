"""Fixtures as data: valid pipelines validate clean; invalid ones yield exactly their expectations."""

from __future__ import annotations

import re

import pytest

from omlc import ir
from omlc.validate import validate_paths
from tests.conftest import INVALID, VALID

EXPECT = re.compile(r"^# expect: (OML\d{3}) (\d+):(\d+)$", re.M)


def test_fixture_sets_are_not_empty():
    assert len(VALID) >= 6 and len(INVALID) >= 20


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixture_is_clean(path):
    report = validate_paths([str(path)])
    assert [f"{d.code} {d.span}: {d.message}" for d in report.diagnostics] == []
    assert report.exit_code() == 0
    assert report.files[0].pipeline is not None


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_fixture_yields_exactly_its_expectations(path):
    expected = sorted((code, int(line), int(col)) for code, line, col in EXPECT.findall(path.read_text()))
    assert expected, f"{path.name} declares no `# expect:` lines"
    report = validate_paths([str(path)])
    found = sorted((d.code, d.span.line, d.span.col) for d in report.diagnostics)
    assert found == expected
    for d in report.diagnostics:
        assert d.span.path == str(path) and d.message


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_builder_agrees_with_pydantic(path):
    """The builder's model_construct output is exactly what pydantic validation accepts."""
    pipeline = validate_paths([str(path)]).files[0].pipeline
    data = pipeline.model_dump(mode="python", by_alias=True)
    again = ir.Pipeline.model_validate(data)
    assert again.content() == pipeline.content()
    # and the IR keeps what the file says
    assert pipeline.name and pipeline.steps


def test_seed_example_fields():
    path = next(p for p in VALID if p.name == "daily_customer_sync.oml.yaml")
    p = validate_paths([str(path)]).files[0].pipeline
    s = p.schedule
    assert (s.type, s.expression, s.timezone, s.concurrency, s.catchup) == ("cron", "0 2 * * *", "UTC", 1, False)
    assert (s.retry.attempts, s.retry.delay.seconds, s.retry.backoff) == (3, 300, "exponential")
    assert s.timeout.seconds == 3600
    assert (s.window.type, s.window.size.seconds, s.window.offset.seconds, s.window.field) == (
        "sliding", 86400, -3600, "updated_at")
    m = p.metadata
    assert m.owner == "data-team@company.com" and m.sla.seconds == 4 * 3600 and m.criticality == "high"
    assert [t.type for t in m.tests] == ["row_count", "schema", "freshness", "custom"]
    assert m.tests[0].min == 100 and m.tests[2].max_age.seconds == 25 * 3600
    assert [(r.kind, r.name) for r in m.lineage.upstream] == [("pipeline", "order_processing"), ("table", "mysql.orders")]
    assert [(n.channel, n.target) for n in m.notifications.on_failure] == [
        ("email", "oncall@company.com"), ("slack", "#data-alerts")]
    assert p.effective_needs() == {"extract_customers": [], "clean_customers": ["extract_customers"],
                                   "load_customers": ["clean_customers"]}
    # spans are 1-based and point at the source
    assert p.steps[0].span.line == 62 and s.span.path == str(path)


def test_spans_point_at_values():
    path = next(p for p in VALID if p.name == "mysql_to_supabase.oml.yaml")
    p = validate_paths([str(path)]).files[0].pipeline
    span = p.locations.value(("steps", 0, "config", "connection"))
    line = path.read_text().splitlines()[span.line - 1]
    assert line[span.col - 1:].startswith('"@mysql.db_movies"')
