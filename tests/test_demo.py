"""The demo `make demo` serves: in-process for every route, and once for real under uvicorn on loopback."""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from problemdetails import decode_json, decode_xml
from tests.conftest import ROOT, free_port, get_when_serving
from tests.environments import environment, resolve

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
    # In English, French and German: each reader the language their browser asks for.
    for language, title in (("de-DE", "Entfernt"), ("fr", "Supprimée"), ("en-GB", "Gone")):
        localized = client.get("/errors/gone", headers={"Accept-Language": language})
        assert localized.url.path == ("/errors/gone/" if language == "en-GB" else f"/errors/{language[:2]}/gone/")
        assert f"<h1>{title}</h1>" in localized.text
    assert client.get("/errors/gone/schema.json").json()["properties"]["code"] == {
        "const": "gone",
        "description": "The problem's slug: what clients match on.",
    }


def make_demo_plan(*variables: str) -> list[str]:
    """The shell commands `make demo` would run with these variables (`make -n`), one a line."""
    printed = subprocess.run(["make", "-n", "demo", *variables], cwd=ROOT, capture_output=True, text=True, check=True)
    return printed.stdout.replace("\\\n", " ").splitlines()


def demo_requirements(install: list[str]) -> list[str]:
    """The requirements of a `python -m pip install ...` command line: `.` is this project, `-r` a file's lines."""
    requirements: list[str] = []
    words = iter(install[install.index("install") + 1 :])
    for word in words:
        if word == "-r":
            lines = (ROOT / next(words)).read_text(encoding="utf-8").splitlines()
            requirements += [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
        elif word == ".":
            requirements.append("problemdetails")
        elif not word.startswith("-"):
            requirements.append(word)
    return requirements


def test_make_demo_sets_up_and_serves_in_its_own_small_environment(tmp_path: Path) -> None:
    """`make demo` for real, in an environment of exactly what its install line installs.

    The install itself is the one step not run (it needs the network): the same
    distributions are linked from the suite's environment (tests/environments.py),
    so anything the demo imports beyond them fails here as it would for a user.
    Then `make demo` finds its stamp fresh, builds the site and serves.
    """
    venv, site, port = tmp_path / "venv", tmp_path / "site", free_port()
    variables = [f"DEMO_VENV={venv}", f"DEMO_SITE={site}", f"PORT={port}"]
    plan = make_demo_plan(*variables)
    (install,) = [shlex.split(line) for line in plan if " -m pip install " in line]
    assert install[0] == f"{venv}/bin/python"
    requirements = demo_requirements(install)
    # The package's runtime dependencies and one server: none of the development set.
    assert set(resolve(requirements)) == set(resolve(["problemdetails", "uvicorn"]))
    environment(requirements, venv)
    (stamp,) = [shlex.split(line)[1] for line in plan if line.startswith("touch ")]
    assert Path(stamp).parent == venv
    Path(stamp).touch()
    base = f"http://127.0.0.1:{port}/errors/"
    with (tmp_path / "make.log").open("w") as log:
        server = subprocess.Popen(
            ["make", "demo", *variables], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        try:
            response = get_when_serving(f"http://127.0.0.1:{port}/problems/rate-limited", server, seconds=60)
        except httpx.TransportError:
            pytest.fail(f"make demo does not serve:\n{(tmp_path / 'make.log').read_text()}")
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "rate-limited"
        xml = httpx.get(
            f"http://127.0.0.1:{port}/problems/unprocessable", headers={"Accept": "application/problem+xml"}, timeout=5
        )
        assert decode_xml(xml.content, catalog=load_demo().CATALOG).code == "unprocessable"
        # the problem's type URI resolves to its documentation on the running demo, built by `make demo`
        page = httpx.get(response.json()["type"], timeout=5, follow_redirects=True)
        assert (page.status_code, str(page.url)) == (200, f"{base}rate-limited/")
        assert "<h1>Too many requests</h1>" in page.text
        assert f"<code>{base}rate-limited</code>" in page.text
        # ... in the reader's language: the demo serves its site in English, French and German.
        for language, title in (("fr", "Trop de requêtes"), ("de", "Zu viele Anfragen")):
            localized = httpx.get(
                response.json()["type"], headers={"Accept-Language": language}, timeout=5, follow_redirects=True
            )
            assert (localized.status_code, str(localized.url)) == (200, f"{base}{language}/rate-limited/")
            assert f"<h1>{title}</h1>" in localized.text
            assert localized.headers["content-language"] == language
        english = httpx.get(f"{base}en/rate-limited/", headers={"Accept-Language": "fr"}, timeout=5)
        assert "<h1>Too many requests</h1>" in english.text  # a reader's choice of language stays
        stylesheet = httpx.get(f"{base}assets/site.css", timeout=5)
        assert stylesheet.headers["content-type"] == "text/css; charset=utf-8"
        assert stylesheet.content == (site / "assets" / "site.css").read_bytes()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make, its shell and the server
        server.wait(timeout=10)
    assert "Traceback" not in (tmp_path / "make.log").read_text(), (tmp_path / "make.log").read_text()
