"""`omlc schema` and the documentation stay true to the code."""

from __future__ import annotations

import json

import jsonschema
import pytest
from ruamel.yaml import YAML

from omlc.diagnostics import codes_markdown
from tests.conftest import INVALID, ROOT, VALID, run_cli


@pytest.fixture(scope="module")
def schema():
    r = run_cli("schema")
    assert r.returncode == 0
    data = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixtures_satisfy_the_schema(schema, path):
    doc = YAML(typ="safe").load(path.read_text())
    jsonschema.validate(doc, schema)


@pytest.mark.parametrize("name", ["schedule_typo", "metadata_unknown", "bad_durations", "legacy_keys"])
def test_schema_rejects_what_validate_rejects(schema, name):
    path = next(p for p in INVALID if p.name.startswith(name))
    doc = YAML(typ="safe").load(path.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_schema_to_file(tmp_path):
    out = tmp_path / "oml.schema.json"
    r = run_cli("schema", "-o", str(out))
    assert r.returncode == 0 and json.loads(out.read_text())["title"] == "OML pipeline"


def test_diagnostics_doc_lists_every_code():
    from omlc.plugins import get_registry

    get_registry().rules()  # as `omlc codes` does: rules declare their codes when they load
    doc = (ROOT / "docs" / "diagnostics.md").read_text()
    assert doc.endswith(codes_markdown()), "regenerate the table: omlc codes --format github"


def test_output_formats(tmp_path):
    path = next(p for p in INVALID if p.name.startswith("duplicate_step_ids"))
    text = run_cli("validate", str(path))
    assert text.returncode == 1
    assert "    9 |   - id: extract" in text.stdout and "^^^^^^^" in text.stdout and "hint:" in text.stdout
    js = json.loads(run_cli("validate", str(path), "-f", "json").stdout)
    assert js["errors"] == 1 and js["diagnostics"][0]["code"] == "OML201"
    gh = run_cli("validate", str(path), "-f", "github").stdout
    assert gh.startswith(f"::error file={path},line=9,col=9,") and "title=OML201::" in gh


def test_strict_turns_warnings_into_errors(tmp_path):
    p = tmp_path / "w.oml.yaml"
    p.write_text('oml_version: "0.1.0"\nname: "w"\nsteps:\n  - {id: a, component: acme.thing, mode: read}\n')
    assert run_cli("validate", str(p)).returncode == 0
    strict = run_cli("validate", str(p), "--strict")
    assert strict.returncode == 1 and "error OML209" in strict.stdout


def test_profiles_and_params(tmp_path):
    path = next(p for p in VALID if p.name == "mysql_to_supabase.oml.yaml")
    assert run_cli("validate", str(path), "--profile", "dev").returncode == 0
    r = run_cli("validate", str(path), "--profile", "staging")
    assert r.returncode == 1 and "OML302" in r.stdout
    r = run_cli("validate", str(path), "--param", "min_yer=2000")
    assert r.returncode == 0 and "OML304" in r.stdout and "min_year" in r.stdout
