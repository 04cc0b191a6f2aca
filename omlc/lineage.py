"""Lineage: the graph of many pipelines, the names targets give lineage nodes, the checks.

``metadata.lineage`` lists references like ``"pipeline: order_processing"``,
``"table: mysql.orders"`` or ``"dashboard: customer_analytics"``. For a pipeline P, each
upstream reference U is an edge U -> P and each downstream reference D an edge P -> D; a
``pipeline: x`` reference is the node of pipeline x itself, whether or not x is among the
files read (a pipeline no file defines is *external*). An edge declared from both ends
(P lists Q downstream, Q lists P upstream) is one edge.

Every target names lineage nodes the same way, through this module:

- :func:`asset_uri` -> ``omlc://<kind>/<name>``, for Airflow 3 ``Asset(uri=...)`` and
  Prefect 3 ``Asset(key=...)``. Bytes of the UTF-8 name other than ``A-Z a-z 0-9 . _ - /``
  become ``~XX`` (uppercase hex; ``~`` itself is ``~7E``), a trailing ``/`` and the dots of
  a ``.`` or ``..`` segment too, so the URI is what both engines keep unchanged: Airflow
  normalises trailing slashes, queries and fragments away, and Prefect refuses ``%`` (so no
  percent-encoding), spaces, quotes, ``#?&<>[]{}|\\^``` `` and keys over 512 characters.
  A longer URI keeps its first characters and ends with ``~~`` and 16 hex digits of the
  name's sha256 (``~~`` appears in no other URI). Distinct (kind, name) pairs give distinct
  URIs. ``table: mysql.orders`` -> ``omlc://table/mysql.orders``; ``file: exports/web
  events`` -> ``omlc://file/exports/web~20events``; ``table: café`` -> ``omlc://table/caf~C3~A9``.
- :func:`asset_key` -> a Dagster asset key path: ``[kind, *name.split(".")]`` when every
  dot-separated part matches ``[A-Za-z0-9_]+`` (Dagster's name characters):
  ``table: mysql.orders`` -> ``["table", "mysql", "orders"]``, ``pipeline: daily_sync`` ->
  ``["pipeline", "daily_sync"]``. Any other name is one part: its first 64 characters with
  every other character as ``_``, then ``_`` and 8 hex digits of its sha256, as the Dagster
  target names jobs (``file: exports/web_events`` -> ``["file", "exports_web_events_<8 hex>"]``).
- :func:`node_id` -> ``"<kind>:<name>"``, the node's id in the graph and in ``omlc lineage``'s JSON.

Checks (a project-scope rule, so ``omlc validate`` over a folder reports them): OML520 a
pipeline listing itself, OML521 a cycle through two or more pipelines (Dagster refuses a
cyclic asset graph), OML522 a reference listed twice by one pipeline, OML523 a blank name.
An unknown lineage kind is OML105, from the builder. Renderers (:func:`to_json`,
:func:`to_dot`, :func:`to_mermaid`, :func:`to_html`) import nothing heavy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from omlc.diagnostics import Diagnostic, Span, diag
from omlc.rules import Rule, RuleContext

if TYPE_CHECKING:
    from omlc.ir import LineageRef, Pipeline

PIPELINE = "pipeline"
URI_SCHEME = "omlc"
MAX_URI_LENGTH = 512  # Prefect's limit for an asset key (Airflow's is 1500)
_URI_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/")
_KEY_PART = re.compile(r"[A-Za-z0-9_]+\Z")
_NOT_KEY_CHAR = re.compile(r"[^A-Za-z0-9_]")
JSON_FORMAT = "omlc-lineage"
JSON_VERSION = 1


# --- naming --------------------------------------------------------------------------------

def ref_parts(ref: LineageRef) -> tuple[str, str]:
    """``(kind, name)`` of a reference, surrounding whitespace removed (``{table: " t "}``
    means what ``"table: t"`` means)."""
    return ref.kind.strip(), ref.name.strip()


def node_id(kind: str, name: str) -> str:
    """The graph's id of a node: ``"table:mysql.orders"`` (kinds never hold ``:``)."""
    return f"{kind}:{name}"


def _sha(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def asset_uri(kind: str, name: str) -> str:
    """The asset URI of a lineage node, valid and unchanged in Airflow 3 and Prefect 3:
    ``asset_uri("table", "mysql.orders") == "omlc://table/mysql.orders"`` (see the module)."""
    text = "".join(chr(b) if b in _URI_SAFE else f"~{b:02X}" for b in name.encode("utf-8"))
    segments = text.split("/")
    segments = [s.replace(".", "~2E") if s in (".", "..") else s for s in segments]
    text = "/".join(segments)
    if text.endswith("/"):
        text = text[:-1] + "~2F"
    uri = f"{URI_SCHEME}://{kind}/{text}"
    if len(uri) <= MAX_URI_LENGTH:
        return uri
    keep = uri[:MAX_URI_LENGTH - 18]
    cut = keep.rfind("~", len(keep) - 2)
    if cut >= 0:  # do not split a ~XX escape
        keep = keep[:cut]
    return f"{keep}~~{_sha(name)[:16]}"


def asset_key(kind: str, name: str) -> list[str]:
    """The Dagster asset key path of a lineage node: ``["table", "mysql", "orders"]`` for
    ``table: mysql.orders`` (see the module)."""
    parts = name.split(".")
    if all(_KEY_PART.match(p) for p in parts):
        return [kind, *parts]
    return [kind, f"{_NOT_KEY_CHAR.sub('_', name[:64])}_{_sha(name)[:8]}"]


def schedule_text(pipeline: Pipeline) -> str:
    """``cron 0 2 * * * UTC``, ``every 2h`` (plus the zone when not UTC), or ``manual``."""
    s = pipeline.schedule
    if s is None:
        return "manual"
    if s.type == "interval":
        from omlc.durations import parse_duration

        text = s.expression.strip()
        if text.lower().startswith("every "):
            text = text[6:].strip()
        try:
            text = parse_duration(text).to_text()
        except Exception:
            pass
        return f"every {text}" + ("" if s.timezone == "UTC" else f" {s.timezone}")
    return f"cron {s.expression.strip()} {s.timezone}"


# --- the graph -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    name: str
    schedule: str | None = None  # pipelines read from a file
    owner: str | None = None
    file: str | None = None
    external: bool = False  # a pipeline that no file read defines
    invalid: bool = False  # a pipeline whose file has errors

    @property
    def label(self) -> str:
        """The text a drawing shows for the node: its name."""
        return self.name

    @property
    def uri(self) -> str:
        return asset_uri(self.kind, self.name)

    @property
    def key(self) -> list[str]:
        return asset_key(self.kind, self.name)


@dataclass(frozen=True, order=True)
class Edge:
    src: str
    dst: str


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...] = ()
    edges: tuple[Edge, ...] = ()
    # where each edge is declared (one or two references); not part of the graph's value
    refs: dict[Edge, tuple[Span, ...]] = field(default_factory=dict, compare=False, repr=False)

    def node(self, id: str) -> Node:
        return next(n for n in self.nodes if n.id == id)

    @property
    def pipelines(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == PIPELINE]


def _lineage_refs(p: Pipeline) -> Iterator[tuple[str, int, LineageRef]]:
    lineage = p.metadata.lineage if p.metadata is not None else None
    if lineage is None:
        return
    for side in ("upstream", "downstream"):
        for i, ref in enumerate(getattr(lineage, side)):
            yield side, i, ref


def _ref_span(p: Pipeline, side: str, i: int, ref: LineageRef) -> Span:
    if ref.span is not None:
        return ref.span
    if p.locations is not None:
        return p.locations.nearest(("metadata", "lineage", side, i))
    return Span(p.path or "<string>", 1, 1)


def build_graph(pipelines: Iterable[Pipeline], invalid: Iterable[str] = ()) -> Graph:
    """The lineage graph of ``pipelines`` (``invalid``: paths of files with errors, whose
    pipelines are drawn marked). Nodes sorted by id, edges by (src, dst); a pipeline
    defined twice takes its attributes from the first path in sorted order."""
    invalid = set(invalid)
    ordered = sorted(pipelines, key=lambda p: (p.name, p.path or ""))
    nodes: dict[str, Node] = {}
    for p in ordered:
        nid = node_id(PIPELINE, p.name)
        if nid not in nodes:
            owner = p.metadata.owner if p.metadata is not None else None
            nodes[nid] = Node(nid, PIPELINE, p.name, schedule_text(p), owner, p.path, False, p.path in invalid)
    refs: dict[Edge, list[Span]] = {}
    for p in ordered:
        me = node_id(PIPELINE, p.name)
        for side, i, ref in _lineage_refs(p):
            kind, name = ref_parts(ref)
            if not name or (kind == PIPELINE and name == p.name):
                continue  # OML523 / OML520
            other = node_id(kind, name)
            if other not in nodes:
                nodes[other] = Node(other, kind, name, external=kind == PIPELINE)
            edge = Edge(other, me) if side == "upstream" else Edge(me, other)
            refs.setdefault(edge, []).append(_ref_span(p, side, i, ref))
    return Graph(tuple(nodes[k] for k in sorted(nodes)), tuple(sorted(refs)),
                 {e: tuple(sorted(spans)) for e, spans in refs.items()})


# --- checks --------------------------------------------------------------------------------

@Rule.define("lineage", [
    ("OML520", "error", "A pipeline lists itself in its own lineage."),
    ("OML521", "error", "Pipelines depend on each other in a lineage cycle (Dagster refuses a cyclic asset graph)."),
    ("OML522", "warning", "A lineage reference is listed twice by one pipeline (twice in a list, or both "
                          "upstream and downstream: a cycle through that node)."),
    ("OML523", "error", "A lineage reference has a blank name."),
], scope="project")
def check_lineage(pipelines: list[Pipeline], ctx: RuleContext) -> Iterator[Diagnostic]:
    for p in pipelines:
        seen: dict[tuple[str, str], str] = {}
        for side, i, ref in _lineage_refs(p):
            kind, name = ref_parts(ref)
            where = _ref_span(p, side, i, ref)
            if not name:
                yield diag("OML523", f"the {kind} reference has no name", where, f'e.g. "{kind}: mysql.orders"')
                continue
            if kind == PIPELINE and name == p.name:
                yield diag("OML520", f"pipeline {p.name!r} lists itself {side}", where,
                           "remove it; lineage names the other pipelines and the data this one reads and writes")
                continue
            first = seen.get((kind, name))
            if first == side:
                yield diag("OML522", f"'{kind}: {name}' is listed twice in {side}", where, "remove the repeat")
            elif first is not None and kind != PIPELINE:  # a pipeline both ways is a cycle: OML521
                yield diag("OML522", f"'{kind}: {name}' is both upstream and downstream of {p.name!r}: a cycle "
                           "through it, which engines with asset graphs (Dagster) refuse", where,
                           "list a table the pipeline updates in place downstream only")
            seen.setdefault((kind, name), side)
    graph = build_graph(pipelines)
    yield from _cycles(graph)


def _cycles(graph: Graph) -> Iterator[Diagnostic]:
    """Cycles through two or more pipelines, each reported once at the reference that
    closes it (found by a depth-first search from the pipelines in id order)."""
    kinds = {n.id: n.kind for n in graph.nodes}
    out: dict[str, list[str]] = {}
    for e in graph.edges:
        out.setdefault(e.src, []).append(e.dst)
    # pipeline -> pipeline hops, directly or through one data node (edges always touch a pipeline)
    hops: dict[str, dict[str, list[Edge]]] = {}
    for p in sorted(n.id for n in graph.nodes if n.kind == PIPELINE):
        found: dict[str, list[Edge]] = {}
        for mid in out.get(p, ()):
            if kinds[mid] == PIPELINE:
                found.setdefault(mid, [Edge(p, mid)])
            else:
                for q in out.get(mid, ()):
                    if q != p:
                        found.setdefault(q, [Edge(p, mid), Edge(mid, q)])
        hops[p] = {q: found[q] for q in sorted(found)}
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()
    for root in hops:
        if state.get(root):
            continue
        state[root] = 1
        path = [root]
        stack = [iter(hops[root])]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                state[path.pop()] = 2
                continue
            if state.get(child) == 1:
                cycle = path[path.index(child):]
                if frozenset(cycle) in reported:
                    continue
                reported.add(frozenset(cycle))
                yield _cycle_diagnostic(graph, hops, cycle + [child])
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append(iter(hops.get(child, {})))


def _cycle_diagnostic(graph: Graph, hops: dict[str, dict[str, list[Edge]]], walk: list[str]) -> Diagnostic:
    edges = [e for a, b in zip(walk, walk[1:]) for e in hops[a][b]]
    names = [edges[0].src] + [e.dst for e in edges]
    shown = " -> ".join(n.split(":", 1)[1] if n.startswith(PIPELINE + ":") else n for n in names)
    closing = graph.refs[edges[-1]]
    related = tuple(graph.refs[e][0] for e in edges[:-1])
    return diag("OML521", f"the pipelines' lineage is a cycle: {shown}", closing[0],
                "each pipeline needs the next one's output; remove the reference that is not true",
                related=related + closing[1:])


# --- output --------------------------------------------------------------------------------

KIND_COLORS = {  # fill, border
    "pipeline": ("#dbeafe", "#2563eb"),
    "table": ("#dcfce7", "#16a34a"),
    "dashboard": ("#ffedd5", "#ea580c"),
    "dataset": ("#ccfbf1", "#0d9488"),
    "file": ("#f1f5f9", "#64748b"),
    "topic": ("#f3e8ff", "#9333ea"),
    "model": ("#fce7f3", "#db2777"),
    "api": ("#fef9c3", "#a16207"),
}
_OTHER_COLORS = ("#f5f5f4", "#78716c")
INVALID_COLOR = "#dc2626"


def _colors(kind: str) -> tuple[str, str]:
    return KIND_COLORS.get(kind, _OTHER_COLORS)


def _second_line(n: Node) -> str:
    if n.kind == PIPELINE:
        return "external pipeline" if n.external else (n.schedule or "manual")
    return n.kind


def to_data(graph: Graph) -> dict[str, Any]:
    nodes = []
    for n in graph.nodes:
        item: dict[str, Any] = {"id": n.id, "kind": n.kind, "name": n.name, "label": n.label}
        if n.kind == PIPELINE:
            item.update(schedule=n.schedule, owner=n.owner, file=n.file, external=n.external, invalid=n.invalid)
        item.update(asset_uri=n.uri, asset_key=n.key)
        nodes.append(item)
    return {"format": JSON_FORMAT, "version": JSON_VERSION, "nodes": nodes,
            "edges": [{"src": e.src, "dst": e.dst} for e in graph.edges]}


def to_json(graph: Graph) -> str:
    import json

    return json.dumps(to_data(graph), indent=2, ensure_ascii=False) + "\n"


def from_json(text: str) -> Graph:
    """The graph :func:`to_json` wrote (without the references' locations)."""
    import json

    data = json.loads(text)
    if data.get("format") != JSON_FORMAT:
        raise ValueError(f"not {JSON_FORMAT} JSON")
    nodes = tuple(Node(d["id"], d["kind"], d["name"], d.get("schedule"), d.get("owner"), d.get("file"),
                       bool(d.get("external")), bool(d.get("invalid"))) for d in data["nodes"])
    return Graph(nodes, tuple(Edge(e["src"], e["dst"]) for e in data["edges"]))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _dot_text(text: str) -> str:
    """A DOT string's content: quotes and backslashes escaped, newlines as ``\\n``, ``&``
    as ``&amp;`` (Graphviz reads entities in every string), control characters as U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("\ufffd", text)
    text = text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n")


def to_dot(graph: Graph) -> str:
    """Graphviz DOT. Node ids are ``n0``, ``n1``... in the JSON's node order (a user's
    name can end in a backslash, which no quoted DOT id survives everywhere); the node's
    ``kind:name`` is its tooltip."""
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    out = ["// omlc lineage: pipelines, the data they read and write, and each other",
           "digraph lineage {",
           '  graph [rankdir=LR, nodesep=0.35, ranksep=0.9, fontname="Helvetica"];',
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, penwidth=1.4];',
           '  edge [color="#64748b", arrowsize=0.7];']
    for n in graph.nodes:
        fill, line = _colors(n.kind)
        style = "rounded,filled,dashed" if n.external else "rounded,filled"
        if n.invalid:
            line = INVALID_COLOR
        label = _dot_text(n.label) + "\\n" + _dot_text(_second_line(n))
        shape = "cylinder" if n.kind in ("table", "dataset") else "box"
        out.append(f'  "{ids[n.id]}" [label="{label}", tooltip="{_dot_text(n.id)}", shape={shape}, '
                   f'style="{style}", fillcolor="{fill}", color="{line}"];')
    for e in graph.edges:
        out.append(f'  "{ids[e.src]}" -> "{ids[e.dst]}";')
    out.append("}")
    return "\n".join(out) + "\n"


_MERMAID_ENTITIES = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}


def _mermaid_text(text: str) -> str:
    """A quoted Mermaid label's content: entities for ``" # < > & ``` ``, newlines as ``<br/>``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("\ufffd", text)
    text = "".join(_MERMAID_ENTITIES.get(c, c) for c in text)
    return text.replace("\n", "<br/>")


_MERMAID_SHAPES = {"pipeline": ('("', '")'), "table": ('[("', '")]'), "dataset": ('[("', '")]'),
                   "dashboard": ('[["', '"]]')}


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart, left to right; node ids ``n0``... as in :func:`to_dot`."""
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    out = ["flowchart LR"]
    for n in graph.nodes:
        open_, close = _MERMAID_SHAPES.get(n.kind, ('["', '"]'))
        out.append(f"  {ids[n.id]}{open_}{_mermaid_text(n.label)}<br/>{_mermaid_text(_second_line(n))}{close}")
    for e in graph.edges:
        out.append(f"  {ids[e.src]} --> {ids[e.dst]}")
    for kind in sorted({n.kind for n in graph.nodes}):
        fill, line = _colors(kind)
        out.append(f"  classDef {kind} fill:{fill},stroke:{line},color:#0f172a")
        out.append(f"  class {','.join(ids[n.id] for n in graph.nodes if n.kind == kind)} {kind}")
    extra = [("external", "stroke-dasharray:5 4", lambda n: n.external),
             ("invalid", f"stroke:{INVALID_COLOR},stroke-width:3px", lambda n: n.invalid)]
    for name, style, test in extra:
        chosen = [ids[n.id] for n in graph.nodes if test(n)]
        if chosen:
            out.append(f"  classDef {name} {style}")
            out.append(f"  class {','.join(chosen)} {name}")
    return "\n".join(out) + "\n"


def to_html(graph: Graph, title: str = "omlc lineage") -> str:
    from omlc.lineage_html import render_html

    return render_html(graph, title)
