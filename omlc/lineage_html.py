"""``omlc lineage --format html``: one self-contained page (no network, no script to run).

The graph is an inline SVG laid out here: cycles broken by a depth-first search, layers by
longest path from the sources (left to right; a source sits one layer before its first
reader), edges spanning several layers routed through dummy points, node order within a
layer by barycenter sweeps. Nodes are rounded rectangles coloured by kind, a pipeline's
schedule under its name; edges are paths with arrowheads (an edge that closes a cycle is
red and dashed). A legend, a table of the pipelines and the graph's JSON (in a
``<script type="application/json">`` element, ``<``, ``>`` and ``&`` escaped) follow.
Every text from a user is HTML-escaped.
"""

from __future__ import annotations

import html
import json
import unicodedata

from omlc.lineage import INVALID_COLOR, PIPELINE, Edge, Graph, Node, _colors, _second_line, to_data

NODE_H = 46
GAP_Y = 22
GAP_X = 70
MARGIN = 24
MAX_CHARS = 38
DUMMY_H = 8


def _width(text: str) -> float:
    """Approximate rendered width of ``text`` at 13px sans-serif."""
    return sum(13.0 if unicodedata.east_asian_width(c) in "WF" else 7.2 for c in text)


def _short(text: str) -> str:
    text = " ".join(text.split())  # newlines and tabs as spaces
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "\u2026"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


class _Layout:
    def __init__(self, graph: Graph):
        self.graph = graph
        ids = [n.id for n in graph.nodes]
        self.out: dict[str, list[str]] = {i: [] for i in ids}
        for e in graph.edges:
            self.out[e.src].append(e.dst)
        self.back = self._back_edges(ids)
        dag = [e for e in graph.edges if e not in self.back]
        self.layer = self._layers(ids, dag)
        self.rows = self._dummies(ids, dag)
        self._order()
        self._place()

    def _back_edges(self, ids: list[str]) -> set[Edge]:
        state: dict[str, int] = {}
        back: set[Edge] = set()
        for root in ids:
            if state.get(root):
                continue
            state[root] = 1
            path, stack = [root], [iter(self.out[root])]
            while stack:
                child = next(stack[-1], None)
                if child is None:
                    stack.pop()
                    state[path.pop()] = 2
                elif state.get(child) == 1:
                    back.add(Edge(path[-1], child))
                elif not state.get(child):
                    state[child] = 1
                    path.append(child)
                    stack.append(iter(self.out[child]))
        return back

    def _layers(self, ids: list[str], dag: list[Edge]) -> dict[str, int]:
        preds: dict[str, list[str]] = {i: [] for i in ids}
        succs: dict[str, list[str]] = {i: [] for i in ids}
        for e in dag:
            preds[e.dst].append(e.src)
            succs[e.src].append(e.dst)
        layer: dict[str, int] = {}
        waiting = {i: len(preds[i]) for i in ids}
        ready = [i for i in ids if not waiting[i]]
        while ready:
            node = ready.pop(0)
            layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
            for s in succs[node]:
                waiting[s] -= 1
                if not waiting[s]:
                    ready.append(s)
        for i in ids:  # a source sits just before its first reader
            if not preds[i] and succs[i]:
                layer[i] = max(0, min(layer[s] for s in succs[i]) - 1)
        return layer

    def _dummies(self, ids: list[str], dag: list[Edge]) -> list[list[str]]:
        """Rows of node ids per layer, with dummy ids (``\\0edge-index-layer``) for long edges."""
        count = max(self.layer.values(), default=-1) + 1
        rows: list[list[str]] = [[] for _ in range(count)]
        for i in ids:
            rows[self.layer[i]].append(i)
        self.chains: dict[Edge, list[str]] = {}
        self.links: list[tuple[str, str]] = []
        for k, e in enumerate(dag):
            chain = [e.src]
            for lay in range(self.layer[e.src] + 1, self.layer[e.dst]):
                dummy = f"\0{k}-{lay}"
                rows[lay].append(dummy)
                chain.append(dummy)
            chain.append(e.dst)
            self.chains[e] = chain
            self.links.extend(zip(chain, chain[1:]))
        return rows

    def _order(self) -> None:
        preds: dict[str, list[str]] = {}
        succs: dict[str, list[str]] = {}
        for a, b in self.links:
            preds.setdefault(b, []).append(a)
            succs.setdefault(a, []).append(b)
        kind_rank = {n.id: (n.kind != PIPELINE, n.id) for n in self.graph.nodes}
        for row in self.rows:
            row.sort(key=lambda i: kind_rank.get(i, (True, i)))
        for sweep in range(8):
            pos = {i: k for row in self.rows for k, i in enumerate(row)}
            down = sweep % 2 == 0
            order = range(1, len(self.rows)) if down else range(len(self.rows) - 2, -1, -1)
            for lay in order:
                row = self.rows[lay]
                neighbours = preds if down else succs

                def centre(i: str, k: int) -> float:
                    around = neighbours.get(i, [])
                    return sum(pos[j] for j in around) / len(around) if around else k

                row[:] = [i for _, _, i in sorted((centre(i, k), k, i) for k, i in enumerate(row))]
                pos.update({i: k for k, i in enumerate(row)})
        for row in self.rows:  # nodes without edges below the connected ones
            row.sort(key=lambda i: i not in preds and i not in succs)

    def _size(self, i: str) -> tuple[float, float]:
        if i.startswith("\0"):
            return 0.0, DUMMY_H
        n = self.nodes[i]
        bold = _width(_short(n.label)) * 1.08
        return max(110.0, min(340.0, max(bold, _width(_short(_second_line(n))) * 0.86) + 28)), NODE_H

    def _place(self) -> None:
        self.nodes = {n.id: n for n in self.graph.nodes}
        self.col_x: list[float] = []
        self.col_w: list[float] = []
        x = MARGIN
        for row in self.rows:
            width = max((self._size(i)[0] for i in row), default=0.0) or 20.0
            self.col_x.append(x)
            self.col_w.append(width)
            x += width + GAP_X
        self.width = x - GAP_X + MARGIN
        preds: dict[str, list[str]] = {}
        succs: dict[str, list[str]] = {}
        for a, b in self.links:
            preds.setdefault(b, []).append(a)
            succs.setdefault(a, []).append(b)
        self.cy: dict[str, float] = {}
        for lay, row in enumerate(self.rows):
            self._stack(row, {i: self._mean(preds.get(i), None) for i in row})
        for row in reversed(self.rows):  # then pull each node towards its readers
            self._stack(row, {i: self._mean(succs.get(i), self._mean(preds.get(i), self.cy[i])) for i in row})
        top = min((self.cy[i] - self._size(i)[1] / 2 for row in self.rows for i in row), default=0.0)
        for i in self.cy:
            self.cy[i] += MARGIN - top
        self.height = max((self.cy[i] + self._size(i)[1] / 2 for i in self.cy), default=0.0) + MARGIN
        if self.back:
            self.height += 50

    def _mean(self, around: list[str] | None, default: float | None) -> float | None:
        known = [self.cy[j] for j in around or () if j in self.cy]
        return sum(known) / len(known) if known else default

    def _stack(self, row: list[str], wanted: dict[str, float | None]) -> None:
        y, placed = 0.0, {}
        for k, i in enumerate(row):
            h = self._size(i)[1]
            want = wanted[i]
            low = y + (GAP_Y if k else 0) + h / 2
            placed[i] = max(low, want) if want is not None else low
            y = placed[i] + h / 2
        shifts = [wanted[i] - placed[i] for i in row if wanted[i] is not None]
        shift = sum(shifts) / len(shifts) if shifts else 0.0
        for i in row:
            self.cy[i] = placed[i] + shift

    # geometry of a node or dummy
    def left(self, i: str) -> float:
        lay = self._layer_of(i)
        return self.col_x[lay] + (self.col_w[lay] - self._size(i)[0]) / 2 if not i.startswith("\0") \
            else self.col_x[lay]

    def right(self, i: str) -> float:
        lay = self._layer_of(i)
        return self.left(i) + self._size(i)[0] if not i.startswith("\0") else self.col_x[lay] + self.col_w[lay]

    def _layer_of(self, i: str) -> int:
        if i.startswith("\0"):
            return int(i.rsplit("-", 1)[1])
        return self.layer[i]


def _curve(x0: float, y0: float, x1: float, y1: float) -> str:
    dx = max(30.0, (x1 - x0) / 2)
    return f" C {x0 + dx:.1f} {y0:.1f} {x1 - dx:.1f} {y1:.1f} {x1:.1f} {y1:.1f}"


def _edge_path(lay: _Layout, e: Edge) -> str:
    if e in lay.back:  # back to an earlier layer: a loop under both nodes
        sx, sy = lay.left(e.src) + lay._size(e.src)[0] / 2, lay.cy[e.src] + NODE_H / 2
        tx, ty = lay.left(e.dst) + lay._size(e.dst)[0] / 2, lay.cy[e.dst] + NODE_H / 2
        low = max(sy, ty) + 40
        return f"M {sx:.1f} {sy:.1f} C {sx:.1f} {low:.1f} {tx:.1f} {low:.1f} {tx:.1f} {ty + 2:.1f}"
    chain = lay.chains[e]
    x, y = lay.right(chain[0]), lay.cy[chain[0]]
    d = f"M {x:.1f} {y:.1f}"
    for i in chain[1:]:
        nx, ny = lay.left(i), lay.cy[i]
        d += _curve(x, y, nx, ny)
        x, y = nx, ny
        if i.startswith("\0"):
            x = lay.right(i)
            d += f" L {x:.1f} {y:.1f}"
    return d


def _node_svg(lay: _Layout, n: Node) -> str:
    w, h = lay._size(n.id)
    x, y = lay.left(n.id), lay.cy[n.id] - h / 2
    fill, line = _colors(n.kind)
    classes = ["node", f"kind-{n.kind}" if n.kind.isidentifier() else "kind-other"]
    dash = ""
    if n.external:
        classes.append("external")
        dash = ' stroke-dasharray="6 4"'
    if n.invalid:
        classes.append("invalid")
        line = INVALID_COLOR
    tip = [f"{n.kind}: {n.name}"]
    if n.kind == PIPELINE:
        tip.append("external pipeline (no file read defines it)" if n.external else f"schedule: {n.schedule}")
        if n.owner:
            tip.append(f"owner: {n.owner}")
        if n.file:
            tip.append(f"file: {n.file}")
        if n.invalid:
            tip.append("the file has errors")
    weight = "600" if n.kind == PIPELINE else "500"
    cx = x + w / 2
    return (f'<g class="{" ".join(classes)}"><title>{_esc(chr(10).join(tip))}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h}" rx="10" ry="10" fill="{fill}" '
            f'stroke="{line}" stroke-width="{2.5 if n.invalid else 1.5}"{dash}/>'
            f'<text x="{cx:.1f}" y="{y + 19:.1f}" text-anchor="middle" class="name" font-weight="{weight}">'
            f'{_esc(_short(n.label))}</text>'
            f'<text x="{cx:.1f}" y="{y + 36:.1f}" text-anchor="middle" class="sub">{_esc(_short(_second_line(n)))}'
            f'</text></g>')


def _json_in_html(data: object) -> str:
    text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#0f172a;
background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.summary{color:#475569;margin:0 0 12px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px;color:#334155;margin:0 0 12px;padding:0;list-style:none}
.legend li{display:flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:22px;height:14px;border-radius:4px;border:1.5px solid}
.graph{overflow:auto;border:1px solid #e2e8f0;border-radius:8px;background:#f8fafc}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
svg .name{font-size:13px;fill:#0f172a}svg .sub{font-size:11px;fill:#475569}
svg .node:hover rect{stroke-width:3}
svg .edge{fill:none;stroke:#64748b;stroke-width:1.4}svg .edge.cycle{stroke:#dc2626;stroke-dasharray:5 4}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e2e8f0;padding:5px 10px;text-align:left;
vertical-align:top}th{color:#475569;font-weight:600}td code{font-size:12px;white-space:pre}
.table{overflow:auto}
.bad{color:#dc2626}
"""


def render_html(graph: Graph, title: str = "omlc lineage") -> str:
    lay = _Layout(graph)
    width, height = max(lay.width, 200.0), max(lay.height, 80.0)
    parts = [f'<svg role="img" aria-label="{_esc(title)}" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#64748b"/></marker>'
             '<marker id="arrow-cycle" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#dc2626"/></marker></defs>']
    for e in graph.edges:
        cycle = e in lay.back
        parts.append(f'<path class="edge{" cycle" if cycle else ""}" d="{_edge_path(lay, e)}" '
                     f'marker-end="url(#{"arrow-cycle" if cycle else "arrow"})">'
                     f'<title>{_esc(e.src)} \u2192 {_esc(e.dst)}</title></path>')
    for n in graph.nodes:
        parts.append(_node_svg(lay, n))
    if not graph.nodes:
        parts.append('<text x="24" y="44" class="sub">No pipelines.</text>')
    parts.append("</svg>")

    pipelines = graph.pipelines
    external = sum(1 for n in pipelines if n.external)
    others = len(graph.nodes) - len(pipelines)
    summary = (f"{len(pipelines) - external} pipeline{'s' if len(pipelines) - external != 1 else ''}"
               f"{f' (and {external} external)' if external else ''}, {others} other node{'s' if others != 1 else ''}, "
               f"{len(graph.edges)} edge{'s' if len(graph.edges) != 1 else ''}")
    legend = []
    for kind in sorted({n.kind for n in graph.nodes}, key=lambda k: (k != PIPELINE, k)):
        fill, line = _colors(kind)
        legend.append(f'<li><span class="swatch" style="background:{fill};border-color:{line}"></span>'
                      f'{_esc(kind)}</li>')
    if external:
        legend.append('<li><span class="swatch" style="background:#dbeafe;border-color:#2563eb;border-style:dashed">'
                      '</span>external pipeline</li>')
    if any(n.invalid for n in graph.nodes):
        legend.append(f'<li><span class="swatch" style="background:#fff;border-color:{INVALID_COLOR}"></span>'
                      'file with errors</li>')
    if lay.back:
        legend.append('<li><svg width="26" height="10"><path d="M1 5 L25 5" stroke="#dc2626" stroke-width="1.5" '
                      'stroke-dasharray="5 4"/></svg>edge closing a cycle</li>')
    legend.append('<li>schedule under each pipeline\u2019s name; hover a node for details</li>')

    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for e in graph.edges:
        downs.setdefault(e.src, []).append(e.dst)
        ups.setdefault(e.dst, []).append(e.src)
    rows = []
    for n in pipelines:
        if n.external:
            continue
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in (
            f"<code>{_esc(n.name)}</code>" + (' <span class="bad">(errors)</span>' if n.invalid else ""),
            _esc(n.schedule or ""), _esc(n.owner or ""), f"<code>{_esc(n.file or '')}</code>",
            "<br>".join(f"<code>{_esc(u)}</code>" for u in ups.get(n.id, [])),
            "<br>".join(f"<code>{_esc(d)}</code>" for d in downs.get(n.id, [])),
        )) + "</tr>")
    table = ('<div class="table"><table><thead><tr><th>pipeline</th><th>schedule</th><th>owner</th><th>file</th>'
             "<th>upstream</th>"
             "<th>downstream</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>") if rows else \
        "<p>No pipeline files.</p>"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="summary">{_esc(summary)}</p>',
        f'<ul class="legend">{"".join(legend)}</ul>',
        f'<div class="graph">{"".join(parts)}</div>',
        "<h2>Pipelines</h2>",
        table,
        f'<script type="application/json" id="omlc-lineage">{_json_in_html(to_data(graph))}</script>',
        "</body>",
        "</html>",
        "",
    ])
