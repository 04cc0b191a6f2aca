"""Safe literals and Jinja escaping: nothing from OML becomes code or a template."""

from __future__ import annotations

import ast

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omlc.codegen import header, jinja_escape, literal

NASTY = [
    "SELECT * FROM t WHERE a = '{{ ds }}'",
    "{% for x in range(10**9) %}{{ x }}{% endfor %}",
    "{# comment #} {{ '{' }} }}",
    "'''\"\"\" \\ \\n \n\r\t",
    "__import__('os').system('rm -rf /')",
    "\" + __import__('os').getcwd() + \"",
    "naïve — 日本語 🙂 \u2028 \x00",
    "{{ macros.ds_add(ds, 1) }}",
    "${window.start} ${params.x}",
]

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@given(values)
@settings(max_examples=300)
def test_literal_reads_back_to_the_same_value(value):
    assert ast.literal_eval(literal(value)) == value


@pytest.mark.parametrize("text", NASTY)
def test_literal_is_one_string_constant(text):
    tree = ast.parse(literal(text), mode="eval")
    assert isinstance(tree.body, ast.Constant) and tree.body.value == text


@given(st.text())
@settings(max_examples=300)
def test_jinja_escape_renders_to_itself(text):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    assert env.from_string(jinja_escape(text)).render() == text


@pytest.mark.parametrize("text", NASTY)
def test_jinja_escape_nasty(text):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    assert env.from_string(jinja_escape(text)).render() == text


def test_literal_refuses_what_has_no_literal():
    with pytest.raises(ValueError):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal(object())


def test_header_is_comments_only():
    text = header("pipes/a\nimport os.oml.yaml", "name: a\n", "omlc compile pipes --target airflow", "0.1.0")
    assert all(line.startswith("#") for line in text.splitlines())
    assert ast.parse(text).body == []
    assert "name: a" not in text
