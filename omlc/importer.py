"""``omlc import``: OML from generated code.

The pipeline's name, description, schedule and metadata come from the code's facts
(:mod:`omlc.readback`: the operative code, read by the target's reader). Steps, params and
profiles are not in the code: the runner reads them from the runtime copy beside it (the
file the code's ``OMLC_OML_PATH`` names), so they come from there, with the copy's
``${params.window_*}`` turned back into ``${window.*}``. Without a runtime copy, steps are
rebuilt from the tasks (ids and needs) and each is reported, because their components
and configs are unknown.

Code omlc did not write (no provenance header, no ``OMLC_*`` literals) goes to the
reader's ``migrate`` when the reader has one (the Airflow reader: hand-written DAGs, see
``omlc_airflow.migrate``), which returns the whole document and its findings.

When the output file exists, it is updated in place (ruamel round-trip): keys keep their
order, comments and quoting; only values that changed are replaced.
"""

from __future__ import annotations

import re
from typing import Any

from omlc.diagnostics import Diagnostic, Span, diag
from omlc.durations import Duration

_RUNTIME_NAME = re.compile(r"""OMLC_OML_PATH\s*=.*?['"]([^'"]+\.runtime\.yaml)['"]""")


def infer_retry(delays: list[int]) -> tuple[dict[str, Any], bool]:
    """An OML retry block whose timeline is ``delays``, and whether OML can say it exactly
    (else: constant at the first delay)."""
    from types import SimpleNamespace

    from omlc.schedule.timetable import retry_delays

    n = len(delays)
    if n == 0:
        return {"attempts": 0}, True
    first = delays[0]
    for backoff in ("constant", "linear", "exponential"):
        for cap in (None, max(delays)):
            probe = SimpleNamespace(attempts=n, delay=Duration(0, first), backoff=backoff,
                                    max_delay=None if cap is None else Duration(0, cap))
            if retry_delays(probe) == delays:
                block: dict[str, Any] = {"attempts": n, "delay": Duration(0, first).to_text()}
                if backoff != "constant":
                    block["backoff"] = backoff
                if cap is not None:
                    block["max_delay"] = Duration(0, cap).to_text()
                return block, True
    return {"attempts": n, "delay": Duration(0, first).to_text()}, False


def _wall(iso: str, tz_name: str) -> str:
    """A UTC ISO instant as OML writes start dates: the local wall time (date only at midnight)."""
    from datetime import datetime

    from omlc.schedule.engine import zone

    local = datetime.fromisoformat(iso).astimezone(zone(tz_name))
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%dT%H:%M" + (":%S" if local.second else ""))


def schedule_block(facts: dict[str, Any], expression: str | None) -> tuple[dict[str, Any], list[str]]:
    """The OML schedule of a reader's facts, and what OML cannot say exactly."""
    from omlc.schedule.timetable import INTERVAL_ANCHOR

    notes: list[str] = []
    tz = facts.get("schedule.timezone") or "UTC"
    block: dict[str, Any] = {}
    interval = facts.get("schedule.interval")
    if interval is not None:
        block["type"] = "interval"
        block["expression"] = Duration(interval["days"], interval["seconds"]).to_text()
    else:
        block["expression"] = expression
    block["timezone"] = tz
    start = facts.get("schedule.start_date")
    if interval is not None:
        start = interval["anchor"]
        if _wall(start, tz) == INTERVAL_ANCHOR.strftime("%Y-%m-%d"):
            start = None  # the grid's default anchor: OML had no start_date
    if start:
        block["start_date"] = _wall(start, tz)
    if facts.get("schedule.end_date"):
        block["end_date"] = _wall(facts["schedule.end_date"], tz)
    delays = facts.get("schedule.retry.delays") or []
    if delays:
        block["retry"], exact = infer_retry(list(delays))
        if not exact:
            notes.append(f"retry delays {delays} are no OML backoff; written as a constant delay")
    if facts.get("schedule.timeout") is not None:
        block["timeout"] = Duration(0, int(facts["schedule.timeout"])).to_text()
    if facts.get("schedule.concurrency") is not None:
        block["concurrency"] = facts["schedule.concurrency"]
    if facts.get("schedule.catchup"):
        block["catchup"] = True
    window = facts.get("schedule.window")
    if window:
        w: dict[str, Any] = {"type": window["type"]}
        if any(window.get("size") or [0, 0]):
            w["size"] = Duration(*window["size"]).to_text()
        if any(window.get("offset") or [0, 0]):
            w["offset"] = Duration(*window["offset"]).to_text()
        if window.get("format") is not None:
            w["format"] = window["format"]
        block["window"] = w
    return block, notes


def metadata_block(facts: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {}
    for key in ("owner", "team", "criticality", "description"):
        if facts.get(f"metadata.{key}") is not None:
            block[key] = facts[f"metadata.{key}"]
    if facts.get("metadata.tags"):
        block["tags"] = list(facts["metadata.tags"])
    if facts.get("metadata.sla"):
        block["sla"] = Duration(0, int(facts["metadata.sla"])).to_text()
    tests = [_oml_test(spec) for spec in facts.get("metadata.tests") or [] if isinstance(spec, dict)]
    if tests:
        block["tests"] = tests
    lineage = {d: [f"{kind}: {name}" for kind, name in facts.get(f"metadata.lineage.{d}") or []]
               for d in ("upstream", "downstream")}
    if any(lineage.values()):
        block["lineage"] = {d: refs for d, refs in lineage.items() if refs}
    notes = {e: [{channel: target} for channel, target in facts.get(f"metadata.notifications.{e}") or []]
             for e in ("on_failure", "on_success", "on_sla_breach")}
    if any(notes.values()):
        block["notifications"] = {e: targets for e, targets in notes.items() if targets}
    return block


def _oml_test(spec: dict[str, Any]) -> dict[str, Any]:
    """A data test as OML writes it, from its spec (omlc.metadata.test_spec)."""
    test: dict[str, Any] = {"type": spec.get("type")}
    for key in ("min", "max", "expected", "field", "step", "script", "args"):
        if spec.get(key) not in (None, []):
            test[key] = spec[key]
    if spec.get("max_age_seconds") is not None:
        test["max_age"] = Duration(0, int(spec["max_age_seconds"])).to_text()
    return test


_GENERATED = re.compile(r"\A(?:[^\n]*\n){0,4}# Generated by omlc |^OMLC_[A-Z_]+\s*=", re.M)


def generated_by_omlc(text: str) -> bool:
    """Whether code was written by omlc compile: its provenance header, or the ``OMLC_*``
    literals its runtime reads (kept by a hand edit that dropped the header)."""
    return _GENERATED.search(text) is not None


def import_code(text: str, path: str, reader, dag_id: str | None = None) -> tuple[Any, list[Diagnostic], str]:
    """The OML document (a ruamel round-trip map) of one file, the findings, and the code's
    granularity (``step`` when it has a task per step).

    Code omlc wrote is read back by the target's reader. Code it did not write (a
    hand-written Airflow DAG) goes to the reader's ``migrate`` when it has one: OML for
    what it understands, a located finding for the rest; ``dag_id`` picks one DAG of a
    file that defines several."""
    import os

    from ruamel.yaml.comments import CommentedMap

    from omlc.cstread import code_warnings_ignored

    migrate = getattr(reader, "migrate", None)
    if migrate is not None and not generated_by_omlc(text):
        with code_warnings_ignored():
            document, found = migrate(text, path, dag_id)
        return document, found, "step"
    with code_warnings_ignored():
        got = reader.read(text, path)
    found = list(got.diagnostics)
    if any(d.severity.value == "error" for d in found) or "name" not in got.facts:
        return None, found, got.granularity
    facts = got.facts
    document = CommentedMap()
    document.omlc_read = frozenset(facts)  # for update(): what the code carries
    document["oml_version"] = "0.2.0"
    document["name"] = facts["name"]
    if facts.get("description") is not None:
        document["description"] = facts["description"]
    if "schedule.timezone" in facts:
        schedule, notes = schedule_block(facts, got.extra.get("expression"))
        document["schedule"] = schedule
        for note in notes:
            found.append(diag("OML703", f"[{reader.name}] {note}", got.spans.get("schedule.retry.delays",
                                                                                  Span(path, 1, 1))))
    metadata = metadata_block(facts)
    if metadata:
        document["metadata"] = metadata
    match = _RUNTIME_NAME.search(text)
    runtime = os.path.join(os.path.dirname(os.path.abspath(path)), match.group(1)) if match else None
    if runtime and os.path.exists(runtime):
        _runtime_parts(runtime, document)
    else:
        steps = facts.get("steps") or []
        document["steps"] = [{"id": s, "component": "unknown", "mode": "read",
                              **({"needs": facts[f"steps.{s}.needs"]} if facts.get(f"steps.{s}.needs") else {})}
                             for s in steps]
        found.append(diag("OML703", f"[{reader.name}] no runtime copy beside the code"
                                    f"{' (' + os.path.basename(runtime) + ')' if runtime else ''}: steps are rebuilt "
                                    "from the tasks, without components or configs", Span(path, 1, 1),
                          "put the .runtime.yaml file that omlc compile wrote beside the code"))
    return document, found, got.granularity


def _runtime_parts(runtime: str, document) -> None:
    """params, profiles and steps of the runtime copy, window references restored."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    with open(runtime, encoding="utf-8") as fh:
        copy = yaml.load(fh)
    params = copy.get("params")
    if isinstance(params, dict):
        for name in ("window_start", "window_end"):
            if dict(params.get(name) or {}) == {"default": ""}:
                del params[name]
        if params:
            document["params"] = params
    from omlc.compile import PARAM_WINDOW_REFERENCE, as_window, substitute_strings

    for key in ("profiles", "steps"):
        if key in copy:
            substitute_strings(copy[key], PARAM_WINDOW_REFERENCE, as_window)
            document[key] = copy[key]


# fact -> the OML path an update writes when the fact changed; blocks list the keys they own
_UPDATE_PATHS: dict[str, tuple] = {
    "name": ("name",), "description": ("description",),
    "schedule.cron": ("schedule", "expression"), "schedule.interval": ("schedule", "expression"),
    "schedule.timezone": ("schedule", "timezone"), "schedule.start_date": ("schedule", "start_date"),
    "schedule.end_date": ("schedule", "end_date"), "schedule.catchup": ("schedule", "catchup"),
    "schedule.concurrency": ("schedule", "concurrency"), "schedule.timeout": ("schedule", "timeout"),
    "schedule.retry.attempts": ("schedule", "retry"), "schedule.retry.delays": ("schedule", "retry"),
    "schedule.window": ("schedule", "window"),
    "metadata.owner": ("metadata", "owner"), "metadata.team": ("metadata", "team"),
    "metadata.criticality": ("metadata", "criticality"), "metadata.tags": ("metadata", "tags"),
    "metadata.description": ("metadata", "description"),
    "metadata.sla": ("metadata", "sla"), "metadata.tests": ("metadata", "tests"),
    "metadata.notifications.on_failure": ("metadata", "notifications", "on_failure"),
    "metadata.notifications.on_success": ("metadata", "notifications", "on_success"),
    "metadata.notifications.on_sla_breach": ("metadata", "notifications", "on_sla_breach"),
    "metadata.lineage.upstream": ("metadata", "lineage", "upstream"),
    "metadata.lineage.downstream": ("metadata", "lineage", "downstream"),
}
# list facts with one element per item of their OML list
_ITEM_FACTS = ("metadata.tests", "metadata.notifications.on_failure", "metadata.notifications.on_success",
               "metadata.notifications.on_sla_breach", "metadata.lineage.upstream", "metadata.lineage.downstream")
_OWNED = {("schedule", "retry"): ("attempts", "delay", "backoff", "max_delay"),
          ("schedule", "window"): ("type", "size", "offset", "format")}
_DEFAULTS = {"backoff": "constant", "offset": "0s", "catchup": False, "type": "cron"}


def update(existing: str, document, granularity: str) -> tuple[Any, bool]:
    """The existing OML text's round-trip document with only the facts that differ from
    ``document`` rewritten (other keys, comments and fields the code cannot carry, such
    as ``window.field`` or Dagster's concurrency, stay as they are); False when the
    existing text is not a valid pipeline (then ``document`` replaces it)."""
    from ruamel.yaml import YAML

    from omlc.readback import facts
    from omlc.validate import load_text

    old_loaded = load_text(existing, "existing.oml.yaml")
    new_loaded = load_text(dump(document, None), "imported.oml.yaml")
    if old_loaded.pipeline is None or new_loaded.pipeline is None:
        return document, False
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    old = yaml.load(existing)
    before, after = facts(old_loaded.pipeline, granularity), facts(new_loaded.pipeline, granularity)
    read = getattr(document, "omlc_read", None)  # the facts the reader read from the code
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        if read is not None and key not in read and not key.startswith("steps"):
            continue  # the code does not carry it (Dagster's concurrency): the OML's value stays
        if key == "schedule.interval" or key == "schedule.cron":
            _copy(document, old, ("schedule", "type"))
        if key in _UPDATE_PATHS:
            if not (key in _ITEM_FACTS and isinstance(before.get(key), list) and isinstance(after.get(key), list)
                    and _merge_items(document, old, _UPDATE_PATHS[key], before[key], after[key])):
                _copy(document, old, _UPDATE_PATHS[key])
        elif key == "steps" or key.startswith("steps."):
            _copy(document, old, ("steps",))
    return old, True


def _get(node, path):
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _copy(new, old, path: tuple) -> None:
    value = _get(new, path)
    parent = old
    for part in path[:-1]:
        if not isinstance(parent.get(part), dict):
            if value is None:
                return
            parent[part] = {}
        parent = parent[part]
    key = path[-1]
    if path in _OWNED and isinstance(value, dict) and isinstance(parent.get(key), dict):
        block = parent[key]
        for sub in _OWNED[path]:
            if sub in value and not _same(block.get(sub), value[sub]):
                block[sub] = value[sub]
            elif sub not in value and sub in block and not _same(block[sub], _DEFAULTS.get(sub)):
                del block[sub]
    elif value is None:
        if key in parent and not _same(parent[key], _DEFAULTS.get(key)):
            del parent[key]
    elif not _same(parent.get(key), value):
        parent[key] = value


def _merge_items(new, old, path: tuple, before: list, after: list) -> bool:
    """A list field whose fact has one element per OML item (tests, notification targets,
    lineage references) rewritten item by item: an item whose fact is unchanged stays as
    written (its quoting, its comments). False when the lists do not line up with the facts."""
    new_items, old_items = _get(new, path), _get(old, path)
    if not (isinstance(new_items, list) and isinstance(old_items, list)
            and len(new_items) == len(after) and len(old_items) == len(before)):
        return False
    for i, item in enumerate(new_items):
        if i >= len(old_items):
            old_items.append(item)
        elif before[i] != after[i]:
            old_items[i] = item
    del old_items[len(new_items):]
    return True


def _same(a, b) -> bool:
    """Equal as OML means them: the same text, or the same duration (300 and 5m)."""
    from omlc.durations import parse_duration

    if a is None or b is None:
        return a is None and b is None
    if str(a) == str(b) and type(a) is not bool and type(b) is not bool:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    try:
        return parse_duration(a) == parse_duration(b)
    except (ValueError, TypeError):
        return False


def _indentation(text: str) -> dict[str, int]:
    """ruamel's indent settings of a YAML text: the first nested key's indent, and the first
    block list's dash offset under its key."""
    mapping, offset = 2, 2
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for prev, line in zip(lines, lines[1:]):
        depth, parent = len(line) - len(line.lstrip()), len(prev) - len(prev.lstrip())
        if prev.rstrip().endswith(":") and depth > parent and not line.lstrip().startswith("- "):
            mapping = depth - parent
            break
    for prev, line in zip(lines, lines[1:]):
        if prev.rstrip().endswith(":") and line.lstrip().startswith("- "):
            offset = (len(line) - len(line.lstrip())) - (len(prev) - len(prev.lstrip()))
            break
    return {"mapping": mapping, "sequence": offset + 2, "offset": offset}


def dump(document, existing: str | None, granularity: str = "pipeline") -> str:
    """YAML text of ``document``; with ``existing`` text, that text updated (:func:`update`)."""
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    if existing is not None:
        document, _ = update(existing, document, granularity)
        yaml.indent(**_indentation(existing))  # write blocks and lists the way the file does
    else:
        yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()
