"""The project file, ``omlc.yaml``: settings shared by the pipelines below it.

omlc looks for ``omlc.yaml`` in a pipeline's folder and its parents (the nearest wins).
What it holds today (DESIGN.md section 7 names more, which later issues add):

.. code-block:: yaml

    runner:
      # the command a generated task runs for a whole pipeline (granularity pipeline)
      command: "osiris run {oml_path} --param window_start={window_start} --param window_end={window_end}"
      # the command for one step (granularity step)
      step_command: "osiris run {oml_path} --step {step_id} ..."
    output:
      airflow: dags/          # where `omlc compile --target airflow` writes (relative to omlc.yaml)
    checks:
      # the command a data test (metadata.tests: row_count, schema, freshness) runs after the pipeline
      command: "osiris test {oml_path} --test {test_index} ..."
    notifications:            # where notifications go: names of connections and environment
      email:                  # variables, never the secrets themselves
        connection: smtp_default            # Airflow connection (SmtpNotifier)
        host_env: OMLC_SMTP_HOST            # Prefect, Dagster: host[:port], user, password, sender
      slack:
        connection: slack_default           # Airflow connection (a Slack incoming webhook)
        webhook_env: OMLC_SLACK_WEBHOOK_URL # may hold {channel}: one webhook per channel
      pagerduty:
        connection: pagerduty_events_default
        routing_key_env: OMLC_PAGERDUTY_ROUTING_KEY   # may hold {service}: one key per service

Placeholders: ``{oml_path}`` (the runtime copy of the pipeline, beside the generated
code), ``{pipeline}``, ``{step_id}``, ``{window_start}``, ``{window_end}``, ``{fire_time}``
(ISO 8601 in the schedule's timezone), ``{run_id}`` (the engine's run id). Each becomes a
double-quoted shell variable (``"$OMLC_OML_PATH"``), which the generated task exports, so
a value with spaces, quotes or ``$`` reaches the command as one argument and is never
parsed by the shell. ``{{`` and ``}}`` are literal braces. A check command has these and
``{test_index}`` (1-based), ``{test_type}``, ``{test_spec}`` (the test as JSON),
``{test_step}`` and ``{test_script}`` (a custom test's script).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from omlc.diagnostics import Diagnostic, Severity, diag

PROJECT_FILE = "omlc.yaml"
PLACEHOLDERS = ("oml_path", "pipeline", "step_id", "window_start", "window_end", "fire_time", "run_id")
CHECK_PLACEHOLDERS = PLACEHOLDERS + ("test_index", "test_type", "test_spec", "test_step", "test_script")
ENV_PREFIX = "OMLC_"
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def env_name(placeholder: str) -> str:
    """The environment variable a generated task exports for ``placeholder``."""
    return ENV_PREFIX + placeholder.upper()


@dataclass(frozen=True)
class RunnerCommand:
    """A runner command template (``{placeholder}`` syntax)."""

    template: str
    known: tuple[str, ...] = PLACEHOLDERS

    def problems(self) -> list[str]:
        found = []
        for m in _PLACEHOLDER.finditer(self.template):
            if m.group(0) in ("{{", "}}"):
                continue
            name = m.group(1)
            if name is None:
                found.append(f"a lone {m.group(0)!r} (write {m.group(0) * 2} for a literal brace)")
            elif name.strip() not in self.known:
                found.append(f"unknown placeholder {{{name}}} (known: {', '.join(self.known)})")
        return found

    def shell(self) -> str:
        """The command as shell text: each placeholder a double-quoted variable reference."""

        def repl(m: re.Match[str]) -> str:
            text = m.group(0)
            if text in ("{{", "}}"):
                return text[0]
            return f'"${env_name(m.group(1).strip())}"'

        return _PLACEHOLDER.sub(repl, self.template)


DEFAULT_COMMAND = "osiris run {oml_path}"
DEFAULT_WINDOW_ARGS = " --param window_start={window_start} --param window_end={window_end}"
DEFAULT_STEP_ARGS = " --step {step_id}"
DEFAULT_CHECK = RunnerCommand("osiris test {oml_path} --test {test_index}", CHECK_PLACEHOLDERS)

# channel -> setting -> default. Settings ending in ``_env`` name environment variables (the
# generated code of Prefect and Dagster reads them when it sends); ``connection`` names the
# Airflow connection its notifier uses. ``{service}`` in a PagerDuty setting becomes the
# service's name, ``{channel}`` in a Slack setting the channel's (without its ``#``): one
# connection or variable per service or channel (see omlc.metadata.filled_setting).
NOTIFY_DEFAULTS: dict[str, dict[str, str]] = {
    "email": {"connection": "smtp_default", "host_env": "OMLC_SMTP_HOST", "user_env": "OMLC_SMTP_USER",
              "password_env": "OMLC_SMTP_PASSWORD", "sender_env": "OMLC_SMTP_FROM"},
    "slack": {"connection": "slack_default", "webhook_env": "OMLC_SLACK_WEBHOOK_URL"},
    "pagerduty": {"connection": "pagerduty_events_default", "routing_key_env": "OMLC_PAGERDUTY_ROUTING_KEY",
                  "url_env": "OMLC_PAGERDUTY_EVENTS_URL"},
}
NOTIFY_PLACEHOLDERS = {"slack": "{channel}", "pagerduty": "{service}"}  # channel -> its settings' placeholder
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\{(service|channel)\}[A-Za-z0-9_]*)?$")
_CONNECTION = re.compile(r"^[A-Za-z0-9_.-]*(\{(service|channel)\}[A-Za-z0-9_.-]*)?$")


@dataclass
class Project:
    """Settings from the nearest ``omlc.yaml`` (or the defaults when there is none)."""

    path: str | None = None
    command: RunnerCommand | None = None
    step_command: RunnerCommand | None = None
    output: dict[str, str] = field(default_factory=dict)  # target -> folder (absolute)
    check_command: RunnerCommand | None = None
    notify: dict[str, dict[str, str]] = field(default_factory=lambda: {c: dict(d) for c, d in NOTIFY_DEFAULTS.items()})

    def check(self) -> RunnerCommand:
        """The command template of a data test (not ``custom``), with the window as params."""
        return self.check_command or RunnerCommand(DEFAULT_CHECK.template + DEFAULT_WINDOW_ARGS, CHECK_PLACEHOLDERS)

    def runner(self, granularity: str, has_window: bool) -> RunnerCommand:
        """The command template a task runs. Without a project setting, the reference CLI:
        ``osiris run`` with the window as params when the pipeline has a window."""
        mine = self.step_command if granularity == "step" else self.command
        if mine is not None:
            return mine
        text = DEFAULT_COMMAND + (DEFAULT_STEP_ARGS if granularity == "step" else "")
        return RunnerCommand(text + (DEFAULT_WINDOW_ARGS if has_window else ""))


def find_project_file(start: str) -> str | None:
    folder = Path(start).resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        path = candidate / PROJECT_FILE
        if path.is_file():
            return str(path)
    return None


_CACHE: dict[str, tuple[Project, list[Diagnostic]]] = {}


def project_for(pipeline_path: str) -> tuple[Project, list[Diagnostic]]:
    """The project of a pipeline file and the project file's diagnostics (cached per file)."""
    path = find_project_file(pipeline_path)
    if path is None:
        return Project(), []
    if path not in _CACHE:
        _CACHE[path] = load_project(path)
    return _CACHE[path]


def load_project(path: str) -> tuple[Project, list[Diagnostic]]:
    from omlc.loader import LoadError, parse_yaml, read_source

    display = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    try:
        source = read_source(path, display)
        root, problems = parse_yaml(source)
    except LoadError as exc:
        return Project(path), [exc.diagnostic]
    problems = [d for d in problems if d.severity is Severity.ERROR]
    project = Project(path)
    if root is None or root.kind != "map":
        if root is not None:
            problems.append(diag("OML620", "the project file must be a mapping", root.span))
        return project, problems
    for key, value in root.value:
        name = key.value
        if name == "runner" and value.kind == "map":
            for k, v in value.value:
                if k.value in ("command", "step_command") and v.kind == "scalar" and isinstance(v.value, str):
                    command = RunnerCommand(v.value)
                    for problem in command.problems():
                        problems.append(diag("OML620", f"runner.{k.value}: {problem}", v.span))
                    setattr(project, k.value, command)
                else:
                    problems.append(diag("OML620", f"runner.{k.value}: expected command or step_command "
                                                   "with a string value", k.span))
        elif name == "output" and value.kind == "map":
            base = os.path.dirname(path)
            for k, v in value.value:
                if v.kind == "scalar" and isinstance(v.value, str) and v.value.strip():
                    project.output[str(k.value)] = os.path.normpath(os.path.join(base, v.value))
                else:
                    problems.append(diag("OML620", f"output.{k.value}: expected a folder name", v.span))
        elif name == "checks" and value.kind == "map":
            for k, v in value.value:
                if k.value == "command" and v.kind == "scalar" and isinstance(v.value, str):
                    project.check_command = RunnerCommand(v.value, CHECK_PLACEHOLDERS)
                    for problem in project.check_command.problems():
                        problems.append(diag("OML620", f"checks.command: {problem}", v.span))
                else:
                    problems.append(diag("OML620", f"checks.{k.value}: expected `command` with a string value", k.span))
        elif name == "notifications" and value.kind == "map":
            problems.extend(_notify_settings(project, value))
        else:
            problems.append(diag("OML620", f"unknown or malformed key {name!r} (known: runner, output, checks, "
                                           "notifications)", key.span))
    return project, problems


def _notify_settings(project: Project, block) -> list[Diagnostic]:
    problems = []
    for channel, settings in block.value:
        defaults = NOTIFY_DEFAULTS.get(channel.value)
        if defaults is None or settings.kind != "map":
            problems.append(diag("OML620", f"notifications.{channel.value}: expected one of "
                                           f"{', '.join(NOTIFY_DEFAULTS)} with a mapping of settings", channel.span))
            continue
        for k, v in settings.value:
            where = f"notifications.{channel.value}.{k.value}"
            if k.value not in defaults:
                hint = " (secrets never go in files: name the environment variable that holds it)" if any(
                    w in str(k.value) for w in ("url", "key", "password", "token", "secret")) else ""
                problems.append(diag("OML620", f"{where}: unknown setting (known: {', '.join(defaults)}){hint}",
                                     k.span))
            elif v.kind != "scalar" or not isinstance(v.value, str) or not (
                    _ENV_NAME if k.value.endswith("_env") else _CONNECTION).match(v.value):
                what = "an environment variable name" if k.value.endswith("_env") else "an Airflow connection id"
                problems.append(diag("OML620", f"{where}: expected {what}", v.span))
            elif "{" in v.value and NOTIFY_PLACEHOLDERS.get(channel.value, "{}") not in v.value:
                problems.append(diag("OML620", f"{where}: {v.value[v.value.index('{'):v.value.index('}') + 1]} is not "
                                               f"a placeholder of {channel.value} settings ("
                                               + ", ".join(f"{c}: {h}" for c, h in NOTIFY_PLACEHOLDERS.items()) + ")",
                                     v.span))
            else:
                project.notify[channel.value][k.value] = v.value
    return problems
