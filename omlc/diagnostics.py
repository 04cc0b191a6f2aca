"""Diagnostics: the one shape every finding of omlc takes, and the table of codes.

A diagnostic has a stable code, a severity, a message, a 1-based ``file:line:col``
span and an optional hint. Codes are registered once, here for the core and through
the ``register_rules`` hook for plugins; docs/diagnostics.md is checked against
:data:`CODES` by a test so the documentation cannot drift from the code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


class _SpanFields(NamedTuple):
    path: str
    line: int
    col: int
    end_line: int
    end_col: int


class Span(_SpanFields):
    """A 1-based, inclusive-start, exclusive-end region of a source file.

    Without an end, the span covers one character. A tuple, because the loader makes one
    for every key and value of every file.
    """

    __slots__ = ()

    def __new__(cls, path: str, line: int, col: int, end_line: int = 0, end_col: int = 0) -> Span:
        return tuple.__new__(cls, (path, line, col, end_line or line, end_col or col + 1))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def __repr__(self) -> str:
        return f"Span({self.path!r}, {self.line}, {self.col}, {self.end_line}, {self.end_col})"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    summary: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    hint: str | None = None
    related: tuple[Span, ...] = field(default=())

    def as_dict(self) -> dict:
        data = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.span.path,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "hint": self.hint,
        }
        if self.related:
            data["related"] = [str(s) for s in self.related]
        return data

    def sort_key(self) -> tuple:
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)


CODES: dict[str, Code] = {}


def register_code(code: str, severity: Severity | str, summary: str) -> Code:
    """Declare a diagnostic code (idempotent for identical declarations)."""
    entry = Code(code, Severity(severity), summary)
    known = CODES.get(code)
    if known is not None and known != entry:
        raise ValueError(f"diagnostic code {code} is declared twice with different meanings")
    CODES[code] = entry
    return entry


def diag(code: str, message: str, span: Span, hint: str | None = None, *,
         severity: Severity | None = None, related: tuple[Span, ...] = ()) -> Diagnostic:
    """Make a diagnostic with the registered default severity of ``code``."""
    if not isinstance(span, Span):  # a location computed on demand (omlc.cstread.PendingSpan)
        span = span.resolve()
    entry = CODES[code]
    return Diagnostic(code, severity or entry.severity, message, span, hint, related)


def codes_markdown() -> str:
    """The code table of docs/diagnostics.md (a test keeps the file equal to this)."""
    rows = ["| code | severity | meaning |", "| --- | --- | --- |"]
    for c in sorted(CODES.values(), key=lambda c: c.code):
        rows.append(f"| {c.code} | {c.severity.value} | {c.summary.replace('|', chr(92) + '|')} |")
    return "\n".join(rows) + "\n"


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

# fmt: off
_CORE_CODES = [
    # OML0xx: reading the file
    ("OML001", E, "The file cannot be read (missing, a directory, permission denied)."),
    ("OML002", E, "The file is larger than the size limit."),
    ("OML003", E, "The file is not UTF-8 text (binary content or a bad encoding)."),
    ("OML004", E, "The file is empty or holds only comments."),
    ("OML005", E, "No OML files were found under a directory given on the command line."),
    ("OML010", E, "YAML syntax error."),
    ("OML011", E, "A key appears twice in the same mapping."),
    ("OML012", E, "YAML aliases expand to too many nodes (an alias bomb)."),
    ("OML013", E, "The document is nested too deeply."),
    ("OML014", E, "The file holds more than one YAML document."),
    ("OML015", W, "A plain scalar that YAML 1.1 tools (PyYAML, older parsers) read differently."),
    ("OML016", E, "A YAML feature OML does not allow (custom tags, complex keys)."),
    # OML1xx: document structure and types
    ("OML101", E, "A required key is missing."),
    ("OML102", E, "A legacy key that OML forbids."),
    ("OML103", W, "An unknown top-level key."),
    ("OML104", E, "A value has the wrong type."),
    ("OML105", E, "A value is not one of the allowed choices."),
    ("OML106", E, "An unknown key inside `schedule` (a typo there changes when data moves)."),
    ("OML107", W, "An unknown key inside `metadata`."),
    ("OML108", E, "oml_version is not a quoted version string."),
    ("OML109", E, "Unsupported oml_version."),
    ("OML110", E, "An invalid duration."),
    ("OML111", E, "A list that must not be empty is empty."),
    ("OML112", E, "An unknown key inside a structured block (step, retry, window, test, lineage)."),
    ("OML113", W, "A key that needs a newer oml_version than the file declares."),
    ("OML114", E, "A value is out of range."),
    ("OML115", E, "An invalid name (pipeline name or step id)."),
    # OML2xx: steps
    ("OML201", E, "Two steps have the same id."),
    ("OML202", E, "`needs` names a step that does not exist."),
    ("OML203", E, "The `needs` graph has a cycle."),
    ("OML204", W, "`needs` names a step defined later in the file (a forward reference)."),
    ("OML205", E, "A step lists itself or the same step twice in `needs`."),
    ("OML206", E, "A connection reference is not of the form `@family.alias`."),
    ("OML207", E, "A connection's family does not match the component's family."),
    ("OML208", E, "An inline secret: a secret-like config key holds a literal value."),
    ("OML209", W, "An unknown component."),
    ("OML210", E, "The component does not support the step's mode."),
    # OML3xx: params and profiles
    ("OML301", E, "`${params.NAME}` refers to a parameter that is not defined."),
    ("OML302", E, "The requested profile does not exist."),
    ("OML303", E, "A `${...}` reference with an unknown namespace or bad syntax."),
    ("OML304", W, "A `--param` override names a parameter the pipeline does not declare."),
    ("OML305", E, "`${window.*}` is used but the pipeline has no schedule window."),
    # OML6xx: compiling (omlc.targets, omlc.project)
    ("OML601", W, "A target approximates a field: the engine behaves differently in some cases."),
    ("OML602", W, "A target does not support a field: it has no effect in the generated code."),
    ("OML603", I, "A target emulates a field: generated code does what the engine cannot."),
    ("OML610", E, "A target cannot compile this pipeline."),
    ("OML620", E, "The project file (omlc.yaml) is not valid."),
    # OML7xx: reading generated code back (omlc.readback)
    ("OML701", E, "Drift: generated code says something other than the OML (a hand edit, or stale code)."),
    ("OML702", E, "Code cannot be read: not Python, not the shape the target writes, or (a hand-written DAG) "
                  "a value omlc cannot know without running it."),
    ("OML703", W, "Imported code does something OML cannot say exactly, or lacks what OML needs."),
    ("OML704", E, "A construct of a hand-written DAG that OML cannot express (Python tasks, sensors, data-aware "
                  "schedules, DAG factories): imported as a placeholder step, or not imported."),
]
# fmt: on

for _code, _sev, _summary in _CORE_CODES:
    register_code(_code, _sev, _summary)
