"""`omlc compile --check`: generated code up to date, for pre-commit and CI."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import copy_pipeline, run_cli

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines" / "daily_customer_sync.oml.yaml"


def omlc(*args: str, cwd: Path):
    return run_cli(*args, env={"OMLC_PLUGINS": "airflow"}, cwd=cwd)


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pipelines").mkdir()
    copy_pipeline(FIXTURE, tmp_path / "pipelines")
    (tmp_path / "omlc.yaml").write_text("output:\n  airflow: dags\n", encoding="utf-8")
    return tmp_path


def test_check_fails_on_missing_and_stale_files_and_writes_nothing(tmp_path):
    root = _project(tmp_path)
    run = omlc("compile", "--check", "pipelines", "--target", "airflow", cwd=root)
    assert run.returncode == 1 and "daily_customer_sync.py: missing" in run.stderr
    assert not (root / "dags").exists()

    assert omlc("compile", "pipelines", "--target", "airflow", cwd=root).returncode == 0
    run = omlc("compile", "--check", "pipelines", "--target", "airflow", cwd=root)
    assert run.returncode == 0, run.stderr

    dag = root / "dags" / "daily_customer_sync.py"
    edited = dag.read_text(encoding="utf-8").replace('"retries": 3', '"retries": 4')
    assert edited != dag.read_text(encoding="utf-8")
    dag.write_text(edited, encoding="utf-8")
    run = omlc("compile", "--check", "pipelines", "--target", "airflow", cwd=root)
    assert run.returncode == 1 and "daily_customer_sync.py: differs" in run.stderr
    assert dag.read_text(encoding="utf-8") == edited  # check never writes


def test_the_same_pipeline_compiles_to_the_same_bytes_from_any_working_directory(tmp_path):
    root = _project(tmp_path)
    assert omlc("compile", "pipelines", "--target", "airflow", cwd=root).returncode == 0
    text = (root / "dags" / "daily_customer_sync.py").read_text(encoding="utf-8")
    assert "from pipelines/daily_customer_sync.oml.yaml" in text  # relative to the project file
    # from elsewhere, with an absolute path: still up to date
    run = omlc("compile", "--check", str(root / "pipelines"), "--target", "airflow", cwd=root.parent)
    assert run.returncode == 0, run.stderr


def test_runtime_copy_keeps_the_text_and_declares_the_window_params(tmp_path):
    from omlc.compile import runtime_copy
    from omlc.validate import load_text

    source = FIXTURE.read_text(encoding="utf-8")
    copy = runtime_copy(source, "p.oml.yaml", "omlc compile p.oml.yaml")
    body = copy.split("\n", 4)[4]  # after the header
    assert body.startswith(source.replace("${window.start}", "${params.window_start}")
                           .replace("${window.end}", "${params.window_end}"))  # the text, comments included
    loaded = load_text(copy)
    assert loaded.pipeline is not None and loaded.pipeline.params["window_end"] == {"default": ""}
    # a file that declares params already goes through the YAML round trip, and keeps its own
    with_params = source.replace("steps:", "params:\n  limit: {default: 10}\nsteps:", 1)
    both = load_text(runtime_copy(with_params, "p.oml.yaml", "")).pipeline
    assert set(both.params) == {"limit", "window_start", "window_end"}
    assert "${params.window_start}" in both.steps[0].config["query"]
    # no window references: the source, verbatim
    plain = 'oml_version: "0.2.0"\nname: x  # comment\nsteps: [{id: a, component: mysql.extractor, mode: read}]\n'
    assert runtime_copy(plain, "p.oml.yaml", "").endswith(plain)
