"""The project every engine test compiles: the fixtures plus a few extra pipelines, in a folder
whose name would break careless quoting, with a project file whose runner is the recorder
(tests/engines/runners/recorder.py). Each target's test adds its own folders (steps,
failing or slow runners) with :meth:`RecordingProject.add`.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "fixtures" / "pipelines"
RECORDER = ROOT / "tests" / "engines" / "runners" / "recorder.py"
RUNNER = f"{sys.executable} {RECORDER}"
COMMAND = RUNNER + " {oml_path} --param window_start={window_start} --param window_end={window_end}" \
                   " --fire {fire_time} --run {run_id}"
# the data tests' check command (metadata.tests): the recorder too, writing to $RECORDER_OUT.checks
CHECK_COMMAND = RUNNER + " {oml_path} --check {test_index} --param window_start={window_start}" \
                         " --param window_end={window_end}"


def extra_pipeline(name: str, schedule: str) -> str:
    """A one-step pipeline with ``schedule`` (a YAML ``schedule:`` line) whose SQL uses the window."""
    return (f'oml_version: "0.2.0"\nname: {name}\n{schedule}\nsteps:\n'
            '  - {id: extract, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", '
            'query: "SELECT * FROM t WHERE ts >= \'${window.start}\' AND ts < \'${window.end}\'"}}\n')


def runner_config(command: str, step_command: str | None = None, check_command: str | None = CHECK_COMMAND) -> str:
    text = f"runner:\n  command: {json.dumps(command)}\n"
    if step_command is not None:
        text += f"  step_command: {json.dumps(step_command)}\n"
    if check_command is not None:
        text += f"checks:\n  command: {json.dumps(check_command)}\n"
    return text


@dataclass
class RecordingProject:
    root: Path
    out: Path
    target: object
    sources: list[Path] = field(default_factory=list)  # every pipeline file compiled

    def add(self, folder: str, pipelines: dict[str, str], granularity: str = "pipeline",
            command: str | None = None) -> Path:
        """Compile ``pipelines`` (file name -> text) from ``folder`` of the project, with its
        own runner ``command`` when given, into the output folder."""
        from omlc.compile import compile_paths

        where = self.root / folder
        where.mkdir(parents=True, exist_ok=True)
        for name, text in pipelines.items():
            (where / name).write_text(text, encoding="utf-8")
            self.sources.append(where / name)
        if command is not None:
            (where / "omlc.yaml").write_text(runner_config(command), encoding="utf-8")
        result = compile_paths([str(where)], [self.target], out=str(self.out), granularity=granularity)
        assert result.exit_code() == 0, [str(d) for d in result.report.diagnostics if d.severity.value == "error"]
        return where

    def pipelines(self) -> dict:
        """Every compiled pipeline by name (the IR), to compare what the engine reports with."""
        from omlc.validate import load_file

        found = {}
        for path in self.sources:
            pipeline = load_file(str(path)).pipeline
            found[pipeline.name] = pipeline
        return found


def recording_project(tmp_path_factory, target, out: str, extra: dict[str, str],
                      step_command: str = RUNNER + " {oml_path} --step {step_id}") -> RecordingProject:
    """The fixtures and ``extra`` (name -> schedule line) compiled for ``target`` into
    ``<project>/<out>``, with the recorder as runner."""
    root = tmp_path_factory.mktemp("proj") / "odd {{ name }} 'dir' $(id)"
    root.mkdir(parents=True)
    (root / "omlc.yaml").write_text(runner_config(COMMAND, step_command), encoding="utf-8")
    project = RecordingProject(root, root / out, target)
    shutil.copytree(FIXTURES / "tests", root / "pipelines" / "tests")  # the fixtures' custom test scripts
    pipelines = {f.name: f.read_text(encoding="utf-8") for f in sorted(FIXTURES.glob("*.oml.yaml"))}
    pipelines.update({f"{name}.oml.yaml": extra_pipeline(name, schedule) for name, schedule in extra.items()})
    project.add("pipelines", pipelines)
    return project


def read_records(paths: list[str]) -> list[list[dict]]:
    """What the recorder wrote for each run (one JSON line per task it ran)."""
    return [[json.loads(line) for line in Path(p).read_text(encoding="utf-8").splitlines()] if Path(p).exists()
            else [] for p in paths]


def read_check_records(paths: list[str]) -> list[list[dict]]:
    """What the recorder wrote as the check command of each run's data tests."""
    return read_records([p + ".checks" for p in paths])


def expected_window(pipeline, fire) -> tuple[str, str]:
    """The window `omlc schedule preview` shows for the run that fires at ``fire``."""
    from omlc.schedule.timetable import Timetable

    t = Timetable(pipeline.schedule)
    w = t.window(fire)
    return w.render(pipeline.schedule.window.format, t.tz) if w else ("", "")


def argv_params(argv: list[str]) -> dict[str, str]:
    """The ``--param NAME=VALUE`` arguments the recorder was called with."""
    return {a.split("=", 1)[0]: a.split("=", 1)[1] for prev, a in zip(argv, argv[1:]) if prev == "--param"}


def assert_runner_sql(record: dict, pipeline, start: str, end: str) -> None:
    """The runner's SQL (the runtime copy it read, with the ``--param`` values resolved as
    the reference CLI resolves ``${params.*}``) is the OML's SQL with only the window
    values filled in."""
    from omlc import params as P
    from omlc.loader import Source
    from omlc.schedule.report import render_window
    from omlc.validate import load_source

    runtime = load_source(Source("runtime.yaml", record["oml"])).pipeline
    values = P.effective_params(runtime.params, runtime.profiles, None, argv_params(record["argv"]))
    expected_values = P.effective_params(pipeline.params, pipeline.profiles, None, {})
    for ours, theirs in zip(runtime.steps, pipeline.steps):
        assert P.substitute(ours.config, values) == render_window(P.substitute(theirs.config, expected_values),
                                                                  start, end)
