"""docs/targets/<name>.md of every built-in target equals its support table (the loss report's
source) and intro; regenerate with
``python -c 'from omlc.targets import write_docs_pages; write_docs_pages()'``."""

from __future__ import annotations

from pathlib import Path

import pytest

from omlc_airflow.target import AirflowTarget
from omlc_dagster.target import DagsterTarget
from omlc_prefect.target import PrefectTarget

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("target", [AirflowTarget(), PrefectTarget(), DagsterTarget()], ids=lambda t: t.name)
def test_the_docs_page_is_the_support_table(target):
    page = ROOT / "docs" / "targets" / f"{target.name}.md"
    assert page.read_text(encoding="utf-8") == target.docs_page(), \
        "regenerate: python -c 'from omlc.targets import write_docs_pages; write_docs_pages()'"
    assert "| OML field | status | how |" in page.read_text(encoding="utf-8")
