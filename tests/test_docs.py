"""The README's examples are executed: the first example a user copies is the first integration test."""

from __future__ import annotations

import json
import os
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from problemdetails._cli import main
from tests.asgi import call
from tests.conftest import ROOT
from tests.wsgi import serve

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = [(match["lang"], match["body"]) for match in re.finditer(r"```(?P<lang>\w*)\n(?P<body>.*?)```", README, re.S)]


def blocks(lang: str) -> list[str]:
    return [body for block_lang, body in BLOCKS if block_lang == lang]


def written_files(folder: Path) -> list[str]:
    """Write every YAML block that starts with `# path` into `folder`; return the paths."""
    paths = []
    for body in blocks("yaml"):
        first = body.splitlines()[0]
        if first.startswith("# ") and first.endswith((".yaml", ".yml")):
            path = folder / first[2:]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            paths.append(first[2:])
    return paths


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def test_readme_first_example_serves_the_exact_body(tmp_path: Path) -> None:
    assert "catalog/errors.yaml" in written_files(tmp_path)
    first = blocks("python")[0]
    namespace: dict[str, Any] = {}
    with working_directory(tmp_path):
        exec(compile(first, "README.md", "exec"), namespace)
    assert len(first.splitlines()) < 20  # the README promises a short first example
    exchange = call(namespace["app"], "POST", "/v1/zones")
    assert exchange.status == 402
    assert exchange.headers["content-type"] == "application/problem+json"
    shown = json.loads(blocks("json")[0])
    assert re.fullmatch("[0-9a-f]{32}", exchange.json()["request_id"])
    assert exchange.json() == {**shown, "request_id": exchange.json()["request_id"]}
    assert list(exchange.json()) == list(shown)  # the member order shown is the real one


# For README examples that build an `app`: a request, and what must come back.
EXPECTED = {
    "from fastapi import": ("POST", "/v1/zones", b'{"name": "z"}', 402, "quota-exceeded"),
    "from litestar import": ("GET", "/v1/zones/z1", b"", 404, "not-found"),
    "from flask import": ("GET", "/v1/zones/z1", b"", 404, "not-found"),  # WSGI
    "import falcon": ("GET", "/v1/zones/z1", b"", 410, "gone"),  # WSGI
    "CORSMiddleware(": ("GET", "/nowhere", b"", 404, "not-found"),
    "async def raw_app": ("GET", "/", b"", 503, "unavailable"),
    "problemdetails.client import": None,  # asserts inside the example
    "profile=EnvelopeProfile()": ("GET", "/v1/zones", b"", 404, "NOT_FOUND"),  # the legacy envelope
}


@pytest.mark.parametrize("index", range(1, len(blocks("python"))))
def test_readme_python_examples_run(index: int) -> None:
    block = blocks("python")[index]
    # A real module: frameworks such as Litestar resolve annotations through it.
    module = types.ModuleType(f"readme_example_{index}")
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    with working_directory(ROOT):  # the later examples use the bundled catalog/
        exec(compile(block, "README.md", "exec"), namespace)
    expected = [value for marker, value in EXPECTED.items() if marker in block and value is not None]
    if "app" in namespace:
        (request,) = expected  # every app example is exercised
        method, path, body, status, code = request
        if "WSGIProblemMiddleware" in block:
            served = serve(namespace["app"], method, path, {"Content-Type": "application/json"}, body)
            assert (served.code, served.json()["code"]) == (status, code)
            return
        exchange = call(namespace["app"], method, path, {"content-type": "application/json"}, body)
        assert (exchange.status, exchange.json()["code"]) == (status, code)


def test_readme_check_output_is_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "catalog/broken.yaml" in written_files(tmp_path)
    (shown,) = [body for body in blocks("text") if body.startswith("$ problemdetails check")]
    command, *expected = shown.strip().splitlines()
    with working_directory(tmp_path):
        status = main(command.split()[2:])
    assert status == 1
    assert capsys.readouterr().err.splitlines() == expected


def test_readme_lists_the_two_setup_commands() -> None:
    setup = README.index("## Set up")
    assert README.index("make demo") > setup
    assert README.index("make test") > setup
    assert setup < README.index("## The catalog")


def test_readme_django_lines_are_the_tested_projects() -> None:
    """The Django block cannot run beside other Django settings; its lines are the served example's."""
    (shown,) = blocks("py")
    project = (ROOT / "examples" / "frameworks" / "django_app.py").read_text(encoding="utf-8")
    lines = {line.strip() for line in project.splitlines()}
    assert all(line.strip() in lines for line in shown.splitlines() if line.strip() and not line.startswith("#"))
