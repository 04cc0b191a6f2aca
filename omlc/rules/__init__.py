"""Validation rules: pure functions of the IR, registered through the ``register_rules`` hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Literal, Mapping

from omlc.diagnostics import Code, Diagnostic, Severity, diag, register_code

if TYPE_CHECKING:
    from omlc.ir import Pipeline


@dataclass(frozen=True)
class RuleContext:
    """What a rule may know besides the IR: the command's options."""

    profile: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    strict: bool = False


@dataclass(frozen=True)
class Rule:
    """A validation rule.

    ``codes`` declares every diagnostic code the rule may emit, as
    ``(code, severity, summary)``; they are registered in the code table when the rule is
    created so diagnostics can be made with :func:`omlc.diagnostics.diag`.
    """

    name: str
    check: Callable[..., Iterable[Diagnostic]]
    codes: tuple[Code, ...] = ()
    scope: Literal["pipeline", "project"] = "pipeline"

    @classmethod
    def define(cls, name: str, codes: Iterable[tuple[str, str | Severity, str]] = (),
               scope: Literal["pipeline", "project"] = "pipeline"):
        """Decorator: ``@Rule.define("steps", [("OML201", "error", "...")])``."""
        declared = tuple(register_code(c, s, m) for c, s, m in codes)

        def wrap(fn: Callable[..., Iterable[Diagnostic]]) -> Rule:
            return cls(name, fn, declared, scope)

        return wrap


def run_rules(pipelines: list[Pipeline], rules: Iterable[Rule], context: RuleContext) -> list[Diagnostic]:
    """Run pipeline rules on each pipeline and project rules once; a crashing rule is reported."""
    found: list[Diagnostic] = []
    rules = list(rules)
    for rule in rules:
        targets = [pipelines] if rule.scope == "project" else [[p] for p in pipelines]
        for group in targets:
            arg = group if rule.scope == "project" else group[0]
            try:
                found.extend(rule.check(arg, context))
            except Exception as exc:  # a broken (plugin) rule must not hide other findings
                where = group[0].span if group else None
                if where is None:
                    continue
                found.append(diag(
                    "OML900", f"rule {rule.name!r} crashed: {type(exc).__name__}: {exc}", where,
                    "this is a bug in the rule; report it to the plugin's authors",
                ))
    return found


register_code("OML900", "error", "A validation rule crashed (a bug in omlc or in a plugin).")
