"""The plugin system: entry points load one by one, failures are isolated and reported."""

from __future__ import annotations

import inspect
import json
import textwrap

import pytest

from omlc import hookspecs
from omlc.plugins import load_registry
from tests.conftest import VALID, run_cli

POLICY = '''
from omlc import hookimpl
from omlc.diagnostics import diag
from omlc.rules import Rule

@Rule.define("require-owner", [("ACME001", "error", "Production pipelines need metadata.owner.")])
def require_owner(pipeline, context):
    if pipeline.metadata is None or not pipeline.metadata.owner:
        yield diag("ACME001", f"pipeline {pipeline.name!r} has no owner", pipeline.locations.value(("name",)),
                   "add metadata.owner")

@hookimpl
def register_rules(register):
    register(require_owner)
'''
BROKEN_IMPORT = "raise RuntimeError('this plugin is broken')\n"
BROKEN_HOOK = '''
from omlc import hookimpl

@hookimpl
def register_rules(register):
    raise ValueError("cannot register")
'''


def _install(site, dist: str, version: str, module: str, code: str) -> None:
    (site / f"{module}.py").write_text(code)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[omlc]\n{dist.replace('omlc-', '')} = {module}\n")


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "omlc-acme", "1.2.0", "acme_policy", POLICY)
    _install(site, "omlc-broken", "0.0.1", "broken_plugin", BROKEN_IMPORT)
    _install(site, "omlc-badhook", "0.3.0", "badhook_plugin", BROKEN_HOOK)
    return site


def _env(site, **extra):
    env = {"PYTHONPATH": str(site)}
    env.update(extra)
    return env


def test_third_party_rule_runs_and_broken_plugins_are_isolated(site, tmp_path):
    no_owner = tmp_path / "p.oml.yaml"
    no_owner.write_text('oml_version: "0.1.0"\nname: "p"\nsteps:\n  - {id: a, component: mysql.extractor, mode: read}\n')
    r = run_cli("validate", str(no_owner), env=_env(site, OMLC_PLUGINS="acme,broken,badhook"))
    assert "Traceback" not in r.stderr
    assert r.returncode == 1
    assert "p.oml.yaml:2:7: error ACME001: pipeline 'p' has no owner" in r.stdout
    assert "plugin broken 0.0.1 was skipped: cannot import broken_plugin: RuntimeError: this plugin is broken" in r.stderr
    assert "plugin badhook 0.3.0 was skipped: register_rules failed: ValueError: cannot register" in r.stderr


def test_env_var_restricts_plugins(site, tmp_path):
    r = run_cli("plugins", "--format", "json", env=_env(site, OMLC_PLUGINS="acme"))
    names = {p["name"] for p in json.loads(r.stdout)}
    assert "acme" in names and "broken" not in names and "badhook" not in names
    assert r.returncode == 0
    r = run_cli("plugins", "--format", "json", env=_env(site, OMLC_PLUGINS=""))
    assert {p["name"] for p in json.loads(r.stdout)} == {"omlc.rules.core", "omlc.rules.schedule", "omlc.rules.metadata"}


def test_plugins_command_lists_versions_rules_and_errors(site):
    r = run_cli("plugins", env=_env(site, OMLC_PLUGINS="acme,broken"))
    assert r.returncode == 1  # a plugin failed to load
    assert "acme 1.2.0 (omlc-acme: acme_policy)" in r.stdout
    assert "rules:   require-owner" in r.stdout
    assert "broken 0.0.1" in r.stdout and "error:   cannot import broken_plugin" in r.stdout
    assert "omlc.rules.core" in r.stdout and "steps" in r.stdout


def test_plugin_codes_are_listed(site):
    r = run_cli("codes", env=_env(site, OMLC_PLUGINS="acme"))
    assert "ACME001  error" in r.stdout


def test_duplicate_rule_name_is_reported_against_the_second_plugin():
    class Dup:
        from omlc.hookspecs import hookimpl

        @staticmethod
        @hookimpl
        def register_rules(register):
            from omlc.rules.core import check_steps

            register(check_steps)

    registry = load_registry(entry_points=False, extra=[("dup", Dup)])
    rules = registry.rules()
    assert "steps" in rules
    assert "already registered" in registry.plugins["dup"].error


def test_a_crashing_rule_becomes_a_diagnostic():
    from omlc.rules import Rule
    from omlc.validate import load_text, validate_files

    @Rule.define("crashy")
    def crashy(pipeline, context):
        raise KeyError("boom")

    loaded = load_text(VALID[0].read_text(), "x.oml.yaml")
    found = validate_files([loaded], rules=[crashy])
    assert [d.code for d in found] == ["OML900"] and "crashy" in found[0].message


def test_every_hookspec_is_documented_and_tested():
    specs = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, "omlc_spec")]
    assert specs == ["register_readers", "register_rules", "register_targets"]
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "Called" in doc and "register(" in doc, f"{name} needs a contract docstring"
    tested = {"register_rules": test_third_party_rule_runs_and_broken_plugins_are_isolated,
              "register_targets": test_targets_hook_registers,
              "register_readers": test_readers_hook_registers}
    assert set(tested) == set(specs)


def test_readers_hook_registers():
    class FakeReader:
        name = "example"

    class ReaderPlugin:
        from omlc.hookspecs import hookimpl

        @staticmethod
        @hookimpl
        def register_readers(register):
            register(FakeReader())

    registry = load_registry(entry_points=False, extra=[("example-plugin", ReaderPlugin)])
    assert list(registry.readers()) == ["example"]
    assert registry.plugins["example-plugin"].readers == ["example"]


def test_targets_hook_registers():
    class FakeTarget:
        name = "example"

    class TargetPlugin:
        from omlc.hookspecs import hookimpl

        @staticmethod
        @hookimpl
        def register_targets(register):
            register(FakeTarget())

    registry = load_registry(entry_points=False, extra=[("example-plugin", TargetPlugin)])
    assert list(registry.targets()) == ["example"]
    assert registry.plugins["example-plugin"].targets == ["example"]


def test_core_imports_no_engine():
    import subprocess
    import sys

    code = textwrap.dedent("""
        import sys
        import omlc.cli, omlc.validate, omlc.build, omlc.rules.core, omlc.schema
        bad = [m for m in sys.modules if m.split('.')[0] in ('airflow', 'prefect', 'dagster')]
        print(bad)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_entry_point_scan_matches_importlib_metadata(site, monkeypatch):
    import sys
    from importlib.metadata import entry_points

    from omlc.plugins import find_entry_points

    monkeypatch.syspath_prepend(str(site))
    ours = sorted((e.name, e.value) for e in find_entry_points("omlc"))
    theirs = sorted((e.name, e.value) for e in entry_points(group="omlc"))
    assert ours == theirs and ("acme", "acme_policy") in ours
    # and for a group every environment has
    ours = sorted((e.name, e.value) for e in find_entry_points("console_scripts"))
    theirs = sorted((e.name, e.value) for e in entry_points(group="console_scripts"))
    assert ours == theirs
    assert sys.path[0] == str(site)
