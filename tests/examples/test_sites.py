"""Each example API builds its doc site with the CLI: a page per entry, every link resolving."""

from __future__ import annotations

from pathlib import Path

import pytest

from problemdetails import Catalog
from problemdetails._cli import main
from problemdetails._site import read_site
from tests.conftest import ROOT
from tests.test_site import assert_links_resolve, assert_valid_html5, pages

SYSTEMS = ["dnswiz", "captaindns", "scaidns", "scaidrive"]


@pytest.mark.parametrize("system", SYSTEMS)
def test_example_builds_its_doc_site(system: str, tmp_path: Path) -> None:
    catalog_file = ROOT / "examples" / system / "catalog.yaml"
    assert main(["build", str(catalog_file), "--out", str(tmp_path / "site")]) == 0
    site = read_site(tmp_path / "site")
    catalog = Catalog.load(catalog_file)
    assert {f"{slug}/index.html" for slug in catalog} <= site.keys()
    assert {"index.html", "retry.html", "catalog.json", "openapi.json"} <= site.keys()
    for text in pages(site).values():
        assert_valid_html5(text)
    assert assert_links_resolve(site) > len(catalog)
