"""Every hook of omlc, in one place. A hook's docstring is its contract.

Plugins implement hooks with ``@omlc.hookimpl`` and are found through the ``omlc``
entry-point group (see :mod:`omlc.plugins`). The built-in rules and the built-in targets
register through these same hooks.

Signatures only grow: a new argument may be added to a hook, never removed, and an
implementation may accept fewer arguments than the spec names.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("omlc")
hookimpl = pluggy.HookimplMarker("omlc")


@hookspec
def register_rules(register):
    """Register validation rules.

    Called once, when the plugin manager first needs the rule set (``omlc validate`` and
    every command that validates before it works).

    ``register(rule)`` takes an :class:`omlc.rules.Rule`: a name, the diagnostic codes it
    may emit (with severity and summary, so ``omlc plugins`` and the docs can list them),
    a scope (``"pipeline"``: called once per pipeline with ``(pipeline, context)``;
    ``"project"``: called once with ``(pipelines, context)`` for checks over many
    pipelines) and the check function, which returns an iterable of
    :class:`omlc.diagnostics.Diagnostic`. Checks are pure functions of the IR: they
    must not read files or the network. Registering two rules with the same name is an
    error reported against the second plugin.

    All implementations are called; nothing is returned.
    """


@hookspec
def register_targets(register):
    """Register compilation targets (orchestrators omlc can emit code for).

    Called once, when a command first needs the target list (``omlc compile``,
    ``omlc plugins``, ``omlc schedule export``...).

    ``register(target)`` takes an instance of a :class:`omlc.targets.Target` subclass;
    the target's ``name`` (e.g. ``"airflow"``) is what ``--target`` accepts. A plugin
    must not import its engine when this hook is called: targets emit code, they do not
    run the engine. Registering a name twice is an error reported against the second
    plugin.

    All implementations are called; nothing is returned.
    """


@hookspec
def register_readers(register):
    """Register readers of generated code (``omlc verify``, ``omlc import``).

    Called once, when a command first needs the reader list (``omlc verify``).

    ``register(reader)`` takes an instance of a :class:`omlc.readback.Reader` subclass;
    its ``name`` is the target whose code it reads. A reader parses code with libcst and
    must not import the engine or execute the code it reads. Registering a name twice is
    an error reported against the second plugin.

    All implementations are called; nothing is returned.
    """
