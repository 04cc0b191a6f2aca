"""The runner process helper that Prefect and Dagster code carries (omlc/runtime/process.py),
run as generated code runs it: from the embedded copy."""

from __future__ import annotations

import ast
import inspect
import os
import time

import pytest

from omlc.runtime import process
from omlc.runtime.embed import runtime_source


@pytest.fixture(scope="module")
def run_command():
    namespace: dict = {"__name__": "generated"}
    exec(compile(runtime_source({"timezone": "UTC"}, ("omlc_run_command",)), "<generated>", "exec"), namespace)
    return namespace["omlc_run_command"]


def test_values_reach_the_command_as_environment(run_command, tmp_path):
    out = tmp_path / "out"
    run_command(f'printf %s "$OMLC_WINDOW_START|$KEEP" > {out}', {"OMLC_WINDOW_START": "2024-01-01 00:00:00"}, 10)
    assert out.read_text() == "2024-01-01 00:00:00|"
    os.environ["KEEP"] = "kept"
    try:
        run_command(f'printf %s "$KEEP" > {out}', {}, 10)
    finally:
        del os.environ["KEEP"]
    assert out.read_text() == "kept"


def test_a_failing_command_raises(run_command):
    with pytest.raises(RuntimeError, match="code 3"):
        run_command("exit 3", {}, 10)


def test_the_timeout_stops_the_whole_process_group(run_command, tmp_path):
    marker = tmp_path / "late"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        # a grandchild in the background would outlive a plain kill of the shell
        run_command(f"(sleep 2; touch {marker}) & sleep 30", {}, 0.5)
    assert time.monotonic() - started < 10
    time.sleep(2.5)
    assert not marker.exists()


def test_no_time_left_means_no_run(run_command, tmp_path):
    with pytest.raises(TimeoutError):
        run_command(f"touch {tmp_path / 'ran'}", {}, 0)
    assert not (tmp_path / "ran").exists()


def test_the_module_is_self_contained():
    tree = ast.parse(inspect.getsource(process))
    assert all(isinstance(node, ast.FunctionDef) for node in tree.body[1:])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name in ("os", "signal", "subprocess") for a in node.names)
        assert not isinstance(node, ast.ImportFrom)
