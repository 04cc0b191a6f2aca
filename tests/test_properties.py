"""Property-based: generated and mutated documents never crash the loader or validator.

Two strategies, 1,200 examples each (2,400 documents): structured documents built from
OML's own vocabulary with values of every YAML type, and byte-level mutations of the
valid fixtures. Every rejection must carry a registered code and a 1-based position.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omlc.diagnostics import CODES
from omlc.rules.core import register_rules
from omlc.validate import load_text, validate_files
from tests.conftest import VALID

KEYS = ["oml_version", "name", "steps", "schedule", "metadata", "params", "profiles", "description",
        "id", "component", "mode", "config", "needs", "type", "expression", "timezone", "retry",
        "attempts", "delay", "backoff", "timeout", "concurrency", "catchup", "window", "size", "offset",
        "field", "format", "owner", "sla", "criticality", "tags", "tests", "lineage", "upstream",
        "notifications", "on_failure", "email", "slack", "connection", "password", "query", "x-ext",
        "version", "tasks", "min", "max", "max_age", "script", "start_date"]
WORDS = ["0.1.0", "0.2.0", "read", "write", "transform", "mysql.extractor", "duckdb.processor",
         "@mysql.db", "@supabase.x", "${params.a}", "${window.start}", "${x.y}", "24h", "-1h", "PT1H",
         "0 2 * * *", "@daily", "UTC", "Europe/Prague", "sliding", "tumbling", "exponential", "a", "b",
         "table: t", "yes", "02:30", "", "é€", "{{ ds }}"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(WORDS),
                    st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)

RULES: list = []
register_rules(RULES.append)

SEEDS = [p.read_text() for p in VALID]


def _check(text: str) -> None:
    loaded = load_text(text, "gen.oml.yaml")
    diagnostics = validate_files([loaded], rules=RULES)
    for d in diagnostics:
        assert d.code in CODES, d
        assert d.span.line >= 1 and d.span.col >= 1, d
        assert d.span.path == "gen.oml.yaml"
        assert d.message
    if loaded.pipeline is None:
        assert any(d.severity.value == "error" for d in diagnostics), "rejected without an error"


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_generated_documents(doc):
    _check(json.dumps(doc, ensure_ascii=False))


def _mutations():
    alphabet = st.sampled_from(list(":-{}[],&*!|>'\"\t\n #%@`?") + ["  ", "\n  - ", ": ", "<<: ", "\x00"])
    return st.tuples(st.sampled_from(range(len(SEEDS))),
                     st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "dup"]),
                                        st.floats(0, 1), st.integers(1, 40), alphabet),
                              min_size=1, max_size=4))


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_fixtures(mutation):
    index, edits = mutation
    text = SEEDS[index]
    for op, where, length, chunk in edits:
        pos = int(where * len(text))
        if op == "insert":
            text = text[:pos] + chunk + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + length:]
        elif op == "replace":
            text = text[:pos] + chunk + text[pos + len(chunk):]
        else:
            text = text[:pos] + text[pos:pos + length] + text[pos:]
    _check(text)
