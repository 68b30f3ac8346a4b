"""The demo `make demo` serves: in-process for every route, and once for real under uvicorn on loopback."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient

from problemdetails import decode_json, decode_xml
from tests.conftest import ROOT, free_port, get_when_serving

DEMO = ROOT / "examples" / "demo" / "app.py"


def load_demo() -> Any:
    spec = importlib.util.spec_from_file_location("demo_app", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_catalog_problem_has_a_route() -> None:
    demo = load_demo()
    client = TestClient(demo.app)
    links = client.get("/").json()["problems"]
    assert sorted(links) == sorted(demo.CATALOG)
    for slug in demo.CATALOG:
        response = client.get(f"/problems/{slug}")
        assert response.headers["content-type"] == "application/problem+json"
        problem = decode_json(response.content, catalog=demo.CATALOG, status=response.status_code)
        assert type(problem) is demo.CATALOG[slug]
        assert problem.instance == f"/problems/{slug}"


def test_xml_negotiation_and_framework_errors() -> None:
    demo = load_demo()
    client = TestClient(demo.app)
    response = client.get("/problems/unprocessable", headers={"Accept": "application/problem+xml"})
    assert response.headers["content-type"] == "application/problem+xml"
    assert decode_xml(response.content, catalog=demo.CATALOG).code == "unprocessable"
    missing = client.get("/no/such/page")
    assert (missing.status_code, missing.json()["code"]) == (404, "not-found")
    wrong_method = client.post("/")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method-not-allowed")
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_demo_serves_the_site_it_renders_itself() -> None:
    client = TestClient(load_demo().app)
    page = client.get("/errors/gone/")
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert "<h1>Gone</h1>" in page.text
    assert client.get("/errors/gone/schema.json").json()["properties"]["code"] == {
        "const": "gone",
        "description": "The problem's slug: what clients match on.",
    }


def test_demo_serves_under_uvicorn_on_loopback(tmp_path: Path) -> None:
    """As `make demo` runs it: the site built by the CLI, then uvicorn with the middleware mounting it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/errors/"
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "problemdetails",
            "build",
            str(ROOT / "catalog"),
            "--out",
            str(site),
            "--base-url",
            base,
        ],
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(DEMO.parent),
            "app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "DEMO_BASE_URI": base, "DEMO_SITE": str(site)},
    )
    try:
        response = get_when_serving(f"http://127.0.0.1:{port}/problems/rate-limited", server)
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "rate-limited"
        # the problem's type URI resolves to its documentation on the running demo
        page = httpx.get(response.json()["type"], timeout=5, follow_redirects=True)
        assert (page.status_code, str(page.url)) == (200, f"{base}rate-limited/")
        assert "<h1>Too many requests</h1>" in page.text
        assert f"<code>{base}rate-limited</code>" in page.text
        stylesheet = httpx.get(f"{base}assets/site.css", timeout=5)
        assert stylesheet.headers["content-type"] == "text/css; charset=utf-8"
        assert stylesheet.content == (site / "assets" / "site.css").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=10)
