"""Bad inputs as a new user would try them: a located message, the right exit code, never a traceback."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import FIXTURES, run_cli

VALID_HEAD = 'oml_version: "0.1.0"\nname: "x"\nsteps:\n  - id: a\n    component: mysql.extractor\n    mode: read\n'


def _check(result, code: str, exit_code: int):
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert code in result.stdout, result.stdout
    # every diagnostic line is located: path:line:col: severity CODE: message
    first = result.stdout.splitlines()[0]
    path, line, col, rest = first.split(":", 3)
    assert line.isdigit() and col.isdigit() and code in rest


def test_missing_file(tmp_path):
    _check(run_cli("validate", str(tmp_path / "nope.oml.yaml")), "OML001", 2)


def test_directory_without_oml(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    _check(run_cli("validate", str(tmp_path)), "OML005", 2)


def test_binary_file(tmp_path):
    p = tmp_path / "x.oml.yaml"
    p.write_bytes(b"oml_version: \x00\x01\x02\xff")
    _check(run_cli("validate", str(p)), "OML003", 1)


def test_not_utf8(tmp_path):
    p = tmp_path / "x.oml"
    p.write_bytes(VALID_HEAD.encode() + b"description: caf\xe9\n")
    r = run_cli("validate", str(p))
    _check(r, "OML003", 1)
    assert ":7:" in r.stdout.splitlines()[0]


@pytest.mark.parametrize("content", ["", "\n\n", "# just a comment\n"])
def test_empty_file(tmp_path, content):
    p = tmp_path / "x.oml.yaml"
    p.write_text(content)
    _check(run_cli("validate", str(p)), "OML004", 1)


def test_ten_megabyte_file(tmp_path):
    p = tmp_path / "big.oml.yaml"
    p.write_text(VALID_HEAD + "description: |\n" + ("  " + "x" * 98 + "\n") * 105_000)
    assert p.stat().st_size > 10_000_000
    _check(run_cli("validate", str(p)), "OML002", 1)


def test_alias_bomb():
    _check(run_cli("validate", str(FIXTURES / "invalid" / "alias_bomb.oml.yaml")), "OML012", 1)


@pytest.mark.parametrize("depth", [70, 5000])
def test_deep_nesting(tmp_path, depth):
    p = tmp_path / "deep.oml.yaml"
    p.write_text(VALID_HEAD + "x-deep: " + "[" * depth + "]" * depth + "\n")
    _check(run_cli("validate", str(p)), "OML013", 1)


def test_deep_block_nesting(tmp_path):
    p = tmp_path / "deep.oml.yaml"
    lines = [VALID_HEAD + "x-deep:"]
    for i in range(100):
        lines.append("  " * (i + 1) + f"k{i}:")
    p.write_text("\n".join(lines) + " 1\n")
    _check(run_cli("validate", str(p)), "OML013", 1)


def test_tabs(tmp_path):
    p = tmp_path / "t.oml.yaml"
    p.write_text('oml_version: "0.1.0"\nsteps:\n\t- id: a\n')
    r = run_cli("validate", str(p))
    _check(r, "OML010", 1)
    assert "tabs" in r.stdout


@pytest.mark.parametrize("snippet,code", [
    ("name: [1, 2]", "OML104"),
    ("name: 42", "OML104"),
    ("steps: {a: 1}", "OML104"),
    ("steps: [1, 2]", "OML104"),
    ("steps:\n  - id: [a]\n    component: {x: 1}\n    mode: 3", "OML104"),
    ("steps:\n  - id: a\n    component: mysql.extractor\n    mode: read\n    config: [1]", "OML104"),
    ("steps:\n  - id: a\n    component: mysql.extractor\n    mode: read\n    needs: a", "OML104"),
    ("schedule: 5", "OML104"),
    ("schedule: {expression: 5}", "OML104"),
    ("schedule: {expression: x, retry: 3}", "OML104"),
    ("schedule: {expression: x, retry: {attempts: -1}}", "OML114"),
    ("schedule: {expression: x, retry: {attempts: 'three'}}", "OML104"),
    ("schedule: {expression: x, concurrency: 0}", "OML114"),
    ("schedule: {expression: x, catchup: 'no'}", "OML104"),
    ("schedule: {expression: x, window: {type: sliding, size: [1]}}", "OML110"),
    ("metadata: []", "OML104"),
    ("metadata: {tests: [{type: row_count, min: x}]}", "OML104"),
    ("metadata: {tests: [{min: 1}]}", "OML101"),
    ("metadata: {tests: [{type: flaky}]}", "OML105"),
    ("metadata: {lineage: {upstream: [5]}}", "OML104"),
    ("metadata: {lineage: {upstream: ['warehouse: x']}}", "OML105"),
    ("metadata: {notifications: {on_failure: email}}", "OML104"),
    ("metadata: {notifications: {on_failure: [{email: a, slack: b}]}}", "OML104"),
    ("metadata: {tags: [[1]]}", "OML104"),
    ("? [complex]\n: key", "OML016"),
    ("x-tagged: !custom 5", "OML016"),
    ("params: 5", "OML104"),
])
def test_wrong_types_everywhere(tmp_path, snippet, code):
    base = {"name": 'name: "x"', "steps": "steps:\n  - id: a\n    component: mysql.extractor\n    mode: read"}
    key = snippet.split(":")[0]
    parts = ['oml_version: "0.2.0"'] + [v for k, v in base.items() if k != key] + [snippet]
    p = tmp_path / "t.oml.yaml"
    p.write_text("\n".join(parts) + "\n")
    r = run_cli("validate", str(p), "--format", "json")
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stdout + r.stderr
    data = json.loads(r.stdout)
    codes = [d["code"] for d in data["diagnostics"]]
    assert code in codes
    assert all(d["line"] >= 1 and d["col"] >= 1 for d in data["diagnostics"])


def test_permission_denied(tmp_path):
    p = tmp_path / "x.oml.yaml"
    p.write_text(VALID_HEAD)
    p.chmod(0)
    try:
        if os.access(p, os.R_OK):  # root reads anything
            pytest.skip("running as root: permissions are not enforced")
        _check(run_cli("validate", str(p)), "OML001", 2)
    finally:
        p.chmod(0o644)


def test_usage_errors_exit_2():
    r = run_cli("validate")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_cli("validate", "x", "--format", "xml")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_cli("validate", "x", "--param", "novalue")
    assert r.returncode == 2 and "NAME=VALUE" in r.stderr


def test_validate_many_files_and_dirs(tmp_path):
    good = tmp_path / "pipes"
    good.mkdir()
    (good / "a.oml.yaml").write_text(VALID_HEAD)
    (good / "b.oml").write_text(VALID_HEAD.replace('"x"', '"y"'))
    (good / "ignored.yaml").write_text("not: oml")
    odd = tmp_path / "explicit.txt"
    odd.write_text(VALID_HEAD)
    r = run_cli("validate", str(good), str(odd))
    assert r.returncode == 0, r.stdout
    assert "in 3 files" in r.stdout
