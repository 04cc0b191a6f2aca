"""Lineage: the graph of the fixtures folder, its four renderings (DOT through the real
Graphviz, Mermaid, HTML, JSON), hostile names in each, the lineage checks, the asset
naming every target shares (checked against the real engines), and `omlc lineage`."""

from __future__ import annotations

import html
import json
import re
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from omlc import lineage as L
from omlc.validate import validate_paths
from tests.conftest import FIXTURES, run_cli

PIPELINES = FIXTURES / "pipelines"

EXPECTED_PIPELINES = {  # id: (schedule, owner, file name)
    "pipeline:adversarial.injection-test_01": ("cron 15 1 * * * Europe/Prague",
                                               "Zoë O'Brien-Ñúñez \"{{ var.value.secret }}\"",
                                               "adversarial_injection.oml.yaml"),
    "pipeline:daily_customer_sync": ("cron 0 2 * * * UTC", "data-team@company.com", "daily_customer_sync.oml.yaml"),
    "pipeline:graphql_issue_tracker": ("every 15m", "platform@company.com", "graphql_issues_interval.oml.yaml"),
    "pipeline:hourly_web_events": ("cron 5 * * * * UTC", "web-analytics@company.com", "hourly_web_events.oml.yaml"),
    "pipeline:mysql-to-supabase-movies": ("manual", None, "mysql_to_supabase.oml.yaml"),
    "pipeline:order_processing": ("cron 30 0 * * * UTC", "commerce-data@company.com", "order_processing.oml.yaml"),
    "pipeline:shop-tables-to-csv": ("manual", None, "shop_tables_to_csv.oml.yaml"),
    "pipeline:supabase_users_fanout": ("cron @daily Asia/Kathmandu", "crm@company.com", "supabase_fanout.oml.yaml"),
    "pipeline:weekly_orders_rollup": ("cron 30 6 * * MON America/New_York", "finance-data@company.com",
                                      "weekly_orders_rollup.oml.yaml"),
}
EXPECTED_OTHERS = [
    "api:posthog.events", "dashboard:business_review", "dashboard:customer_analytics", "file:exports/web_events",
    "pipeline:marketing_segments",  # external: named by daily_customer_sync, defined by no file
    "table:mysql.orders", "table:public.weekly_revenue", "table:shop.orders", "table:shop.refunds",
]
EXPECTED_EDGES = [
    ("api:posthog.events", "pipeline:hourly_web_events"),
    ("pipeline:daily_customer_sync", "dashboard:customer_analytics"),
    ("pipeline:daily_customer_sync", "pipeline:marketing_segments"),
    ("pipeline:hourly_web_events", "file:exports/web_events"),
    ("pipeline:order_processing", "pipeline:daily_customer_sync"),  # declared from both ends: one edge
    ("pipeline:order_processing", "table:mysql.orders"),
    ("pipeline:weekly_orders_rollup", "dashboard:business_review"),
    ("pipeline:weekly_orders_rollup", "table:public.weekly_revenue"),
    ("table:mysql.orders", "pipeline:daily_customer_sync"),
    ("table:mysql.orders", "pipeline:weekly_orders_rollup"),
    ("table:shop.orders", "pipeline:order_processing"),
    ("table:shop.refunds", "pipeline:weekly_orders_rollup"),
]

HOSTILE_NAMES = {  # kind, name: each ends up a node of the pipeline `evil`
    ("table", 'a"b\\c'),
    ("dashboard", "</script><script>alert(1)</script>"),
    ("file", "line1\nline2"),
    ("table", "café ünïcode 数据"),
    ("topic", "#quot; & &amp; `tick` #35;"),
    ("table", "ends\\"),
    ("model", "{{ x }} [b] (p) {c} |pipe| --> end; %41 ~7E"),
    ("pipeline", 'x"y'),
    ("api", "http://example.com/?q=1#frag"),
    ("dataset", "<img src=x onerror=alert(2)>"),
}
HOSTILE = textwrap.dedent(r'''
    oml_version: "0.2.0"
    name: "evil"
    schedule: {expression: "0 3 * * *", timezone: "Europe/Prague"}
    metadata:
      owner: "<b>boss</b> & \"co\""
      lineage:
        upstream:
          - {table: "a\"b\\c"}
          - {dashboard: "</script><script>alert(1)</script>"}
          - {file: "line1\nline2"}
          - {table: "café ünïcode 数据"}
          - {topic: "#quot; & &amp; `tick` #35;"}
          - {table: "ends\\"}
        downstream:
          - {model: "{{ x }} [b] (p) {c} |pipe| --> end; %41 ~7E"}
          - {pipeline: "x\"y"}
          - {api: "http://example.com/?q=1#frag"}
          - {dataset: "<img src=x onerror=alert(2)>"}
    steps: [{id: a, component: mysql.extractor, mode: read}]
''')


def graph_of(*paths) -> L.Graph:
    report = validate_paths([str(p) for p in paths])
    return L.build_graph([f.pipeline for f in report.files if f.pipeline is not None])


@pytest.fixture(scope="module")
def fixtures_graph() -> L.Graph:
    return graph_of(PIPELINES)


@pytest.fixture()
def hostile(tmp_path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "evil.oml.yaml").write_text(HOSTILE, encoding="utf-8")
    return folder


def lines_of(node: L.Node) -> list[str]:
    """What a drawing shows for a node: its name (lines), then its schedule or kind."""
    return node.label.split("\n") + [L._second_line(node)]


# --- the graph -------------------------------------------------------------------------------

def test_fixtures_graph_nodes_and_edges(fixtures_graph):
    g = fixtures_graph
    assert [n.id for n in g.nodes] == sorted(list(EXPECTED_PIPELINES) + EXPECTED_OTHERS)
    for n in g.nodes:
        assert n.id == f"{n.kind}:{n.name}" and n.label == n.name
        if n.id in EXPECTED_PIPELINES:
            schedule, owner, file = EXPECTED_PIPELINES[n.id]
            assert (n.schedule, n.owner, Path(n.file).name, n.external, n.invalid) == (schedule, owner, file, False,
                                                                                        False)
        else:
            assert n.schedule is None and n.file is None
            assert n.external == (n.kind == "pipeline")
    assert [(e.src, e.dst) for e in g.edges] == EXPECTED_EDGES
    both = g.refs[L.Edge("pipeline:order_processing", "pipeline:daily_customer_sync")]
    assert [(Path(s.path).name, s.line, s.col) for s in both] == [
        ("daily_customer_sync.oml.yaml", 47, 9), ("order_processing.oml.yaml", 31, 9)]


def test_graph_is_the_same_whatever_the_file_order(fixtures_graph):
    report = validate_paths([str(PIPELINES)])
    pipelines = [f.pipeline for f in report.files][::-1]
    assert L.build_graph(pipelines) == fixtures_graph
    assert L.to_dot(L.build_graph(pipelines)) == L.to_dot(fixtures_graph)


def test_the_fixtures_folder_validates_clean_as_a_project():
    report = validate_paths([str(PIPELINES)])
    assert [f"{d.code} {d.span}: {d.message}" for d in report.diagnostics] == []


def test_json_round_trip(fixtures_graph):
    text = L.to_json(fixtures_graph)
    data = json.loads(text)
    assert data["format"] == "omlc-lineage" and data["version"] == 1
    assert [e for e in data["edges"]] == [{"src": a, "dst": b} for a, b in EXPECTED_EDGES]
    sync = next(n for n in data["nodes"] if n["id"] == "pipeline:daily_customer_sync")
    assert sync["schedule"] == "cron 0 2 * * * UTC" and sync["asset_uri"] == "omlc://pipeline/daily_customer_sync"
    assert sync["asset_key"] == ["pipeline", "daily_customer_sync"]
    assert L.from_json(text) == fixtures_graph
    assert L.to_json(L.from_json(text)) == text


def test_json_round_trip_of_hostile_names(hostile):
    g = graph_of(hostile)
    assert {(n.kind, n.name) for n in g.nodes} == HOSTILE_NAMES | {("pipeline", "evil")}
    assert L.from_json(L.to_json(g)) == g


# --- DOT -------------------------------------------------------------------------------------

def test_dot_of_the_fixtures_renders_to_png(tmp_path, graphviz_dot):
    dot_file, png = tmp_path / "lineage.dot", tmp_path / "lineage.png"
    run = run_cli("lineage", str(PIPELINES), "--format", "dot", "-o", str(dot_file))
    assert run.returncode == 0, run.stderr
    drawn = subprocess.run([graphviz_dot, "-Tpng", str(dot_file), "-o", str(png)], capture_output=True, text=True)
    assert drawn.returncode == 0 and drawn.stderr == "", drawn.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def _svg_labels(svg: str) -> dict[str, list[str]]:
    """Node id (DOT's n0...) -> the text lines Graphviz drew for it."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if g.get("class") == "node":
            title = g.find("s:title", ns).text
            found[title] = [t.text or "" for t in g.findall(".//s:text", ns)]
    return found


@pytest.mark.parametrize("which", ["fixtures", "hostile"])
def test_dot_labels_come_out_as_written(which, hostile, graphviz_dot):
    g = graph_of(PIPELINES if which == "fixtures" else hostile)
    drawn = subprocess.run([graphviz_dot, "-Tsvg"], input=L.to_dot(g), capture_output=True, text=True)
    assert drawn.returncode == 0 and drawn.stderr == "", drawn.stderr
    labels = _svg_labels(drawn.stdout)
    assert labels == {f"n{i}": lines_of(n) for i, n in enumerate(g.nodes)}
    edges = re.findall(r'^  "(n\d+)" -> "(n\d+)";$', L.to_dot(g), re.M)
    ids = [n.id for n in g.nodes]
    assert [(ids[int(a[1:])], ids[int(b[1:])]) for a, b in edges] == [(e.src, e.dst) for e in g.edges]


def test_dot_escapes_without_graphviz(hostile):
    text = L.to_dot(graph_of(hostile))
    assert 'label="a\\"b\\\\c\\ntable"' in text
    assert 'label="ends\\\\\\ntable"' in text  # a trailing backslash stays inside the string
    assert 'label="line1\\nline2\\nfile"' in text
    assert "&amp;amp;" in text  # Graphviz reads entities: & is written &amp;
    for line in text.splitlines():  # every string closes on its line
        assert len(re.findall(r'(?<!\\)(?:\\\\)*"', line)) % 2 == 0, line


# --- Mermaid ---------------------------------------------------------------------------------

def test_mermaid_of_the_fixtures(fixtures_graph):
    text = L.to_mermaid(fixtures_graph)
    ids = {n.id: f"n{i}" for i, n in enumerate(fixtures_graph.nodes)}
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert f'  {ids["pipeline:daily_customer_sync"]}("daily_customer_sync<br/>cron 0 2 * * * UTC")' in lines
    assert f'  {ids["table:mysql.orders"]}[("mysql.orders<br/>table")]' in lines
    assert f'  {ids["dashboard:customer_analytics"]}[["customer_analytics<br/>dashboard"]]' in lines
    assert f'  {ids["pipeline:marketing_segments"]}("marketing_segments<br/>external pipeline")' in lines
    assert f'  {ids["pipeline:graphql_issue_tracker"]}("graphql_issue_tracker<br/>every 15m")' in lines
    for src, dst in EXPECTED_EDGES:
        assert f"  {ids[src]} --> {ids[dst]}" in lines
    assert sum(1 for line in lines if "-->" in line) == len(EXPECTED_EDGES)
    assert f"  class {ids['pipeline:marketing_segments']} external" in lines


_MERMAID_ENTITY = re.compile(r"#(quot|lt|gt|amp|\d+);")


def _mermaid_decode(text: str) -> str:
    named = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}
    text = text.replace("<br/>", "\n")
    return _MERMAID_ENTITY.sub(lambda m: named.get(m.group(1)) or chr(int(m.group(1))), text)


def test_mermaid_escapes_hostile_names(hostile):
    g = graph_of(hostile)
    text = L.to_mermaid(g)
    shapes = re.compile(r'^  (n\d+)(?:\(|\[\(|\[\[|\[)"(.*)"(?:\)|\)\]|\]\]|\])$')
    seen = {}
    for line in text.splitlines()[1:]:
        m = shapes.match(line)
        if m:
            label = m.group(2)
            assert not set(label) & set('"`') and "#" not in _MERMAID_ENTITY.sub("", label), line
            assert not re.search(r"<(?!br/>)|(?<!<br/)>", label), line  # only our line breaks are tags
            seen[m.group(1)] = _mermaid_decode(label)
    assert seen == {f"n{i}": "\n".join(lines_of(n)) for i, n in enumerate(g.nodes)}


# --- HTML ------------------------------------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.urls: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self.texts: list[str] = []
        self.titles: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href", "xlink:href", "action", "data") and v]
        self.urls += re.findall(r"url\(([^)]*)\)", attrs.get("style") or "")
        if tag == "script":
            self.scripts.append((attrs, ""))
        if tag not in ("meta", "br", "path", "rect"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.urls += [v for k, v in dict(attrs).items() if k in ("src", "href", "xlink:href") and v]

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self.stack and self.stack[-1] == "title":
            self.titles.append(data)
        else:
            self.texts.append(data)


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


@pytest.mark.parametrize("which", ["fixtures", "hostile"])
def test_html_is_self_contained_and_shows_every_node(which, hostile):
    g = graph_of(PIPELINES if which == "fixtures" else hostile)
    text = L.to_html(g)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    page = _page(text)
    assert [u for u in page.urls if u != "url(#arrow)" and u != "url(#arrow-cycle)"] == []
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", text, re.I)
    assert "@import" not in text and "<link" not in text and "<iframe" not in text
    # one script element: the data, never code
    assert [a for a, _ in page.scripts] == [{"type": "application/json", "id": "omlc-lineage"}]
    assert text.count("<script") == 1 and text.count("</script>") == 1
    assert json.loads(page.scripts[0][1]) == L.to_data(g)
    drawn = "\n".join(page.texts)
    for n in g.nodes:
        shown = " ".join(n.label.split())
        shown = shown if len(shown) <= 38 else shown[:37] + "\u2026"
        assert shown in drawn, n.id
        assert html.escape(shown) in text
        assert any(f"{n.kind}: {n.name}" in t for t in page.titles), n.id  # the whole name on hover
        if n.kind == "pipeline" and not n.external:
            assert n.schedule in drawn
    assert text.count('class="edge') == len(g.edges)


def test_html_marks_cycles_and_invalid_files(tmp_path):
    (tmp_path / "a.oml.yaml").write_text(_pipeline("a", ["table: t"], ["pipeline: b"]))
    (tmp_path / "b.oml.yaml").write_text(_pipeline("b", [], ["pipeline: a"]))
    report = validate_paths([str(tmp_path)])
    bad = {d.span.path for d in report.diagnostics if d.severity.value == "error"}
    g = L.build_graph([f.pipeline for f in report.files], bad)
    text = L.to_html(g)
    assert text.count('class="edge cycle"') == 1 and "edge closing a cycle" in text
    assert [n.invalid for n in g.pipelines] == [False, True]  # the error is at b's reference
    assert 'class="node kind-pipeline invalid"' in text and "(errors)" in text


# --- checks ----------------------------------------------------------------------------------

def _pipeline(name: str, upstream: list, downstream: list) -> str:
    return textwrap.dedent(f'''\
        oml_version: "0.2.0"
        name: {name}
        metadata:
          lineage:
            upstream: {json.dumps(upstream)}
            downstream: {json.dumps(downstream)}
        steps: [{{id: s, component: mysql.extractor, mode: read}}]
    ''')


def _found(paths) -> list[tuple[str, str, int, int]]:
    report = validate_paths([str(p) for p in paths])
    return [(d.code, Path(d.span.path).name, d.span.line, d.span.col) for d in report.sorted()]


def test_cycle_through_a_table_is_reported_once_at_the_closing_reference(tmp_path):
    (tmp_path / "a.oml.yaml").write_text(_pipeline("a", ["table: t0"], ["table: t"]))
    (tmp_path / "b.oml.yaml").write_text(_pipeline("b", ["table: t"], ["pipeline: a"]))
    report = validate_paths([str(tmp_path)])
    [d] = report.diagnostics
    assert (d.code, d.severity.value, Path(d.span.path).name, d.span.line, d.span.col) == (
        "OML521", "error", "b.oml.yaml", 6, 18)
    assert d.message == "the pipelines' lineage is a cycle: a -> table:t -> b -> a"
    assert [(Path(s.path).name, s.line, s.col) for s in d.related] == [("a.oml.yaml", 6, 18), ("b.oml.yaml", 5, 16)]
    # `omlc validate` over the folder says so, with both locations
    run = run_cli("validate", str(tmp_path))
    assert run.returncode == 1 and "error OML521" in run.stdout and f"see: {tmp_path / 'a.oml.yaml'}:6:18" in run.stdout
    # each file alone is fine
    assert _found([tmp_path / "a.oml.yaml"]) == [] and _found([tmp_path / "b.oml.yaml"]) == []


def test_cycle_declared_from_both_ends_and_longer_cycles(tmp_path):
    (tmp_path / "a.oml.yaml").write_text(_pipeline("a", ["pipeline: c"], ["pipeline: b"]))
    (tmp_path / "b.oml.yaml").write_text(_pipeline("b", ["pipeline: a"], ["table: x"]))
    (tmp_path / "c.oml.yaml").write_text(_pipeline("c", ["table: x"], []))
    report = validate_paths([str(tmp_path)])
    [d] = report.diagnostics
    assert d.code == "OML521" and d.message.endswith("a -> b -> table:x -> c -> a")
    assert (Path(d.span.path).name, d.span.line) == ("a.oml.yaml", 5)  # a's upstream c closes it


def test_self_reference_duplicates_and_blank_names(tmp_path):
    (tmp_path / "p.oml.yaml").write_text(_pipeline(
        "p", ["pipeline: p", "table: t", "table: t", {"table": "  "}], ["table: t", "pipeline: q", "pipeline: q"]))
    assert _found([tmp_path]) == [
        ("OML520", "p.oml.yaml", 5, 16),   # pipeline: p
        ("OML522", "p.oml.yaml", 5, 43),   # table: t twice upstream
        ("OML523", "p.oml.yaml", 5, 55),   # blank name
        ("OML522", "p.oml.yaml", 6, 18),   # table: t both ways
        ("OML522", "p.oml.yaml", 6, 45),   # pipeline: q twice downstream
    ]
    g = graph_of(tmp_path)
    assert [(e.src, e.dst) for e in g.edges] == [("pipeline:p", "pipeline:q"), ("pipeline:p", "table:t"),
                                                 ("table:t", "pipeline:p")]


def test_a_pipeline_both_upstream_and_downstream_is_a_cycle_not_a_repeat(tmp_path):
    (tmp_path / "p.oml.yaml").write_text(_pipeline("p", ["pipeline: q"], ["pipeline: q"]))
    assert [c for c, *_ in _found([tmp_path])] == ["OML521"]


def test_unknown_kind_is_the_builders_error(tmp_path):
    (tmp_path / "p.oml.yaml").write_text(_pipeline("p", ["warehouse: x"], []))
    assert [c for c, *_ in _found([tmp_path])] == ["OML105"]


def test_lineage_codes_are_listed():
    run = run_cli("codes")
    for code in ("OML520", "OML521", "OML522", "OML523"):
        assert code in run.stdout


# --- naming ----------------------------------------------------------------------------------

PREFECT_FORBIDDEN = set("\n\r\t\0 #?&%\"'<>[]{}|\\^`")


def _names() -> list[tuple[str, str]]:
    names = sorted(HOSTILE_NAMES) + [
        ("table", "mysql.orders"), ("table", "mysql_orders"), ("table", "mysql/orders"), ("file", "a/"),
        ("file", "a"), ("file", "a~2F"), ("file", "../x"), ("file", "./x"), ("file", "/abs/path"),
        ("file", "x y"), ("file", "x~20y"), ("table", "x" * 700), ("table", "x" * 699 + "y"), ("table", "é" * 300),
        ("pipeline", "daily_customer_sync"), ("pipeline", "adversarial.injection-test_01"), ("table", "a..b"),
        ("table", ".a"), ("table", "2024.q1"), ("table", "self"), ("table", "context"), ("dataset", "UPPER.Case"),
    ]
    return names


def test_asset_uri_examples():
    assert L.asset_uri("table", "mysql.orders") == "omlc://table/mysql.orders"
    assert L.asset_uri("file", "exports/web_events") == "omlc://file/exports/web_events"
    assert L.asset_uri("file", "exports/web events") == "omlc://file/exports/web~20events"
    assert L.asset_uri("table", "café") == "omlc://table/caf~C3~A9"
    assert L.asset_uri("file", "a/") == "omlc://file/a~2F"
    assert L.asset_uri("file", "../x") == "omlc://file/~2E~2E/x"
    assert L.asset_uri("file", "a~b") == "omlc://file/a~7Eb"
    assert L.asset_uri("pipeline", "daily_customer_sync") == "omlc://pipeline/daily_customer_sync"


def test_asset_uris_are_valid_for_airflow_and_prefect_and_unique():
    uris = [L.asset_uri(k, n) for k, n in _names()]
    assert len(set(uris)) == len(uris)
    for uri in uris:
        assert uri.isascii() and len(uri) <= 512
        assert re.match(r"^[a-z0-9]+://", uri)  # Prefect's URI rule
        assert not set(uri) & PREFECT_FORBIDDEN, uri
        assert not uri.endswith("/") and "/./" not in uri + "/" and "/../" not in uri + "/"
    long = L.asset_uri("table", "x" * 700)
    assert len(long) == 512 and "~~" in long and "~~" not in L.asset_uri("table", "x" * 100)


def test_asset_key_examples_and_rules():
    assert L.asset_key("table", "mysql.orders") == ["table", "mysql", "orders"]
    assert L.asset_key("dashboard", "customer_analytics") == ["dashboard", "customer_analytics"]
    assert L.asset_key("pipeline", "daily_customer_sync") == ["pipeline", "daily_customer_sync"]
    other = L.asset_key("file", "exports/web_events")
    assert other[0] == "file" and re.fullmatch(r"exports_web_events_[0-9a-f]{8}", other[1])
    keys = [tuple(L.asset_key(k, n)) for k, n in _names()]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert all(re.fullmatch(r"[A-Za-z0-9_]+", part) for part in key), key


ENGINE_SCRIPTS = {
    "airflow": '''
import json, sys, warnings
from airflow.sdk import Asset
uris = json.load(sys.stdin)
out, caught = [], []
for uri in uris:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out.append(Asset(uri=uri).uri)
    caught += [str(w.message) for w in seen]
print(json.dumps({"uris": out, "warnings": caught}))
''',
    "prefect": '''
import json, sys
from prefect.assets import Asset
print(json.dumps({"uris": [Asset(key=uri).key for uri in json.load(sys.stdin)]}))
''',
    "dagster": '''
import json, sys
import dagster as dg
keys = json.load(sys.stdin)
specs = [dg.AssetSpec(key=k, deps=[keys[0]] if i else []) for i, k in enumerate(keys)]
defs = dg.Definitions(assets=specs)
graph = defs.resolve_asset_graph()
print(json.dumps({"keys": sorted(k.path for k in graph.get_all_asset_keys())}))
''',
}


@pytest.mark.engines
@pytest.mark.parametrize("engine", ["airflow", "prefect", "dagster"])
def test_the_engines_take_the_names_as_they_are(engine, tmp_path):
    from tests.engines.envs import pytest_engine_python, run_in_engine

    python = pytest_engine_python(engine)
    script = tmp_path / f"{engine}_names.py"
    script.write_text(ENGINE_SCRIPTS[engine])
    if engine == "dagster":
        keys = [L.asset_key(k, n) for k, n in _names()]
        got = run_in_engine(engine, script, keys, python=python)
        assert got["keys"] == sorted(keys)
    else:
        uris = [L.asset_uri(k, n) for k, n in _names()]
        got = run_in_engine(engine, script, uris, python=python)
        assert got["uris"] == uris  # unchanged: Airflow's normalisation and Prefect's checks pass
        assert got.get("warnings", []) == []


# --- the command -----------------------------------------------------------------------------

def test_cli_formats_and_default(tmp_path, fixtures_graph):
    run = run_cli("lineage", str(PIPELINES))
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout == L.to_mermaid(fixtures_graph)
    for fmt, render in (("json", L.to_json), ("dot", L.to_dot), ("html", L.to_html)):
        out = tmp_path / f"lineage.{fmt}"
        run = run_cli("lineage", str(PIPELINES), "--format", fmt, "-o", str(out))
        assert run.returncode == 0 and run.stderr == f"wrote {out}\n", run.stderr
        assert out.read_text(encoding="utf-8") == render(fixtures_graph)


def test_cli_draws_what_it_can_read_and_exits_1_on_errors(tmp_path):
    (tmp_path / "a.oml.yaml").write_text(_pipeline("a", [], ["table: t"]))
    (tmp_path / "b.oml.yaml").write_text('oml_version: "0.2.0"\nname: b\nsteps: []\n')  # does not build
    (tmp_path / "c.oml.yaml").write_text(_pipeline("c", ["table: t"], []).replace("mode: read", "mode: write"))
    run = run_cli("lineage", str(tmp_path), "-f", "json")
    assert run.returncode == 1
    assert "error OML111" in run.stderr and "error OML210" in run.stderr and "Traceback" not in run.stderr
    data = json.loads(run.stdout)
    assert [n["id"] for n in data["nodes"]] == ["pipeline:a", "pipeline:c", "table:t"]
    assert [n.get("invalid") for n in data["nodes"]] == [False, True, None]
    assert data["edges"] == [{"src": "pipeline:a", "dst": "table:t"}, {"src": "table:t", "dst": "pipeline:c"}]


def test_cli_io_errors_exit_2_without_traceback(tmp_path):
    run = run_cli("lineage", str(tmp_path / "missing.oml.yaml"))
    assert run.returncode == 2 and "OML001" in run.stderr and "Traceback" not in run.stderr
    (tmp_path / "empty").mkdir()
    run = run_cli("lineage", str(tmp_path / "empty"))
    assert run.returncode == 2 and "OML005" in run.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = run_cli("lineage", str(PIPELINES), "-f", "html", "-o", str(blocker / "out.html"))
    assert run.returncode == 2 and run.stderr.startswith(f"omlc: cannot write {blocker / 'out.html'}")
    assert "Traceback" not in run.stderr
    run = run_cli("lineage", str(PIPELINES), "-f", "svg")
    assert run.returncode == 2 and "Traceback" not in run.stderr
