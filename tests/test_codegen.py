from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mypy import api as mypy_api

from problemdetails import Catalog, client, decode_json, encode_json, encode_xml
from problemdetails._codegen import generate_python
from tests.conftest import BUNDLED, HEADER, ROOT, WriteCatalog

EDGES = (
    HEADER
    + """\
problems:
  forbidden:
    status: 403
    title: 'Forbidden "quoted" \\ backslash'
    summary: 'ends with a quote"'
    members: {subject: {type: str, required: false}}
  ip-not-allowed:
    extends: forbidden
    title: IP not allowed
    members:
      detected_ip: str
      allowlist: list[str]
      seen: datetime
      kind: {type: "enum[ipv4, ipv6]", required: false}
      from: {type: "int | None", required: true}
"""
)


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_generation_is_deterministic(bundled: Catalog) -> None:
    first = generate_python(bundled)
    assert first == generate_python(Catalog.load(BUNDLED))
    assert first == generate_python(Catalog.from_json(bundled.to_json()))


def test_generated_module_matches_runtime_classes(bundled: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "bundled_errors.py"
    path.write_text(generate_python(bundled))
    module: Any = load_module(path, "bundled_errors")
    assert bundled == module.CATALOG
    assert module.__all__[0] == "CATALOG"
    for slug, spec in bundled.problems.items():
        generated = getattr(module, spec.class_name)
        assert module.CATALOG[slug] is generated
        for example in spec.examples:
            members = {
                member.attribute: example.members[member.name]
                for member in generated.__problemdetails__.members
                if member.name in example.members
            }
            ours = generated(example.detail, instance=example.instance, **members)
            theirs = bundled[slug](example.detail, instance=example.instance, **members)
            assert encode_json(ours) == encode_json(theirs)
            assert encode_xml(ours) == encode_xml(theirs)
            # decoding with the generated module's catalog yields its classes
            assert type(decode_json(encode_json(theirs), catalog=module.CATALOG)) is generated
            headers = {"content-type": "application/problem+json"}
            assert type(client.decode(spec.status, headers, encode_json(theirs), catalog=module.CATALOG)) is generated


def test_generated_classes_pickle_with_every_part(bundled: Catalog, tmp_path: Path) -> None:
    # What a task queue or a process pool does with a raised problem.
    path = tmp_path / "pickled_errors.py"
    path.write_text(generate_python(bundled))
    module: Any = load_module(path, "pickled_errors")
    quota = module.QuotaExceeded(limit=5, current=5, request_id="r1", headers={"X-Plan": "free"})
    restored = pickle.loads(pickle.dumps(quota))
    assert type(restored) is module.QuotaExceeded
    assert restored == quota
    assert (restored.limit, restored.request_id, restored.headers) == (5, "r1", {"X-Plan": "free"})
    # A class a loaded catalog made at run time has no importable home: it pickles by its spec
    # and bases, and unpickles as this process's class (tests/test_problem.py).
    QuotaExceeded = bundled["quota-exceeded"]
    assert type(pickle.loads(pickle.dumps(QuotaExceeded(limit=5, current=5)))) is QuotaExceeded


def test_generated_and_runtime_classes_name_a_module_that_exists(bundled: Catalog, tmp_path: Path) -> None:
    # Tracebacks, `repr` and pickle read `__module__`: it must name a module that imports.
    path = tmp_path / "named_errors.py"
    path.write_text(generate_python(bundled))
    module: Any = load_module(path, "named_errors")
    generated, runtime = module.Conflict, bundled["conflict"]
    assert generated.__module__ == "named_errors"
    assert getattr(importlib.import_module(generated.__module__), generated.__qualname__) is generated
    assert importlib.import_module(runtime.__module__).__name__ == runtime.__module__
    assert module.CATALOG["conflict"] is generated
    for cls in (generated, runtime):
        problem = cls("taken", instance="/v1/zones/1")
        assert type(pickle.loads(pickle.dumps(problem))) is cls


def test_edge_names_and_quotes_generate_valid_code(write: WriteCatalog, tmp_path: Path) -> None:
    catalog = Catalog.load(write(EDGES))
    path = tmp_path / "edge_errors.py"
    path.write_text(generate_python(catalog))
    module: Any = load_module(path, "edge_errors")
    assert module.Forbidden.__doc__ == '403 Forbidden "quoted" \\ backslash: ends with a quote"'
    problem = module.IpNotAllowed(detected_ip="203.0.113.42", allowlist=[], seen="2026-01-01T00:00:00Z", from_=None)
    assert isinstance(problem, module.Forbidden)
    assert problem.to_dict()["seen"] == "2026-01-01T00:00:00Z"


def assert_ruff_formatted(path: Path) -> None:
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--isolated", "--line-length", "120", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_generated_module_is_ruff_formatted_and_mypy_clean(write: WriteCatalog, tmp_path: Path) -> None:
    catalog = Catalog.load(write(EDGES))
    path = tmp_path / "edge_errors.py"
    path.write_text(generate_python(catalog))
    assert_ruff_formatted(path)
    stdout, stderr, status = mypy_api.run(["--strict", "--no-incremental", str(path)])
    assert status == 0, stdout + stderr


def test_mypy_flags_wrong_and_missing_members(bundled: Catalog, tmp_path: Path) -> None:
    (tmp_path / "std_errors.py").write_text(generate_python(bundled))
    usage = tmp_path / "usage.py"
    usage.write_text(
        textwrap.dedent(
            """\
            from std_errors import Conflict, QuotaExceeded, Unprocessable

            ok = QuotaExceeded(limit=5, current=5, resource="zones")
            limit: int = ok.limit
            wrong = QuotaExceeded(limit="x", current=5)
            missing = QuotaExceeded(current=5)
            unknown = Conflict(conflict=["a"])
            items = Unprocessable(errors=[{"detail": "x"}])
            """
        )
    )
    stdout, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--config-file", "/dev/null", str(usage), str(tmp_path / "std_errors.py")]
    )
    errors = [line.split(": error: ")[1] for line in stdout.splitlines() if ": error: " in line]
    assert status == 1
    assert errors == [
        'Argument "limit" to "QuotaExceeded" has incompatible type "str"; expected "int"  [arg-type]',
        'Missing named argument "limit" for "QuotaExceeded"  [call-arg]',
        'Unexpected keyword argument "conflict" for "Conflict"; did you mean "conflicts"?  [call-arg]',
        'List item 0 has incompatible type "dict[str, str]"; expected "ErrorItem"  [list-item]',
    ], stdout


def test_generated_classes_reject_bad_values_at_run_time(bundled: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "runtime_errors.py"
    path.write_text(generate_python(bundled))
    module: Any = load_module(path, "runtime_errors")
    with pytest.raises(TypeError, match="member 'limit' must be int"):
        module.QuotaExceeded(limit="x", current=1)


def test_the_committed_typed_module_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    """`examples/typed_module/errors.py` is what `gen` makes of `catalog/` (`make check` type-checks it)."""
    from problemdetails._cli import main

    module = ROOT / "examples" / "typed_module" / "errors.py"
    assert main(["gen", str(BUNDLED), "--out", str(module), "--check"]) == 0, capsys.readouterr().err


def test_the_generated_module_is_formatted_even_with_apostrophes(bundled: Catalog, tmp_path: Path) -> None:
    assert any("'" in spec.description for spec in bundled.problems.values())  # the case that broke it
    path = tmp_path / "std_errors.py"
    path.write_text(generate_python(bundled))
    assert_ruff_formatted(path)


PYRIGHT = ROOT / "tests" / "tools" / "node_modules" / ".bin" / "pyright"


def test_members_are_read_only_to_mypy_and_pyright(bundled: Catalog, tmp_path: Path) -> None:
    if not PYRIGHT.exists():
        pytest.fail(f"{PYRIGHT} is missing: `make test` installs it (npm ci --prefix tests/tools)")
    (tmp_path / "std_errors.py").write_text(generate_python(bundled))
    (tmp_path / "usage.py").write_text(
        "from std_errors import QuotaExceeded\n\nquota = QuotaExceeded(limit=5, current=5)\nquota.limit = 3\n"
    )
    stdout, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--config-file", "/dev/null", str(tmp_path / "usage.py")]
    )
    assert status == 1
    assert 'Property "limit" defined in "QuotaExceeded" is read-only' in stdout, stdout
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.11"}))
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(PYRIGHT), "--pythonpath", sys.executable, "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=environment,
    )
    errors = [line.strip() for line in result.stdout.splitlines() if " - error: " in line]
    assert len(errors) == 1, result.stdout  # the assignment; the generated module itself is clean
    assert "usage.py:4" in errors[0]
    assert '"limit"' in errors[0]


def test_a_rebased_generated_catalog_keeps_the_typed_classes(bundled: Catalog, tmp_path: Path) -> None:
    """Per-environment base URIs with the typed module: `except` on a generated class still catches."""
    from problemdetails import ProblemMiddleware
    from tests.asgi import call

    path = tmp_path / "env_errors.py"
    path.write_text(generate_python(bundled))
    module: Any = load_module(path, "env_errors")
    staging = module.CATALOG.rebased("https://api.staging.example/errors/")
    rebased = staging["conflict"]("taken")
    assert isinstance(rebased, module.Conflict)
    assert isinstance(rebased, module.CATALOG["conflict"])
    assert rebased.type == "https://api.staging.example/errors/conflict"
    assert staging["forbidden"].__mro__[1] is module.Forbidden

    async def raises(scope: Any, receive: Any, send: Any) -> None:
        raise module.Conflict("raised from the generated class")

    body = call(ProblemMiddleware(raises, catalog=staging)).json()
    assert body["type"] == "https://api.staging.example/errors/conflict"  # the environment's base, not the YAML's
    page = call(ProblemMiddleware(raises, catalog=staging), headers={"accept": "text/html"}).body.decode()
    assert '<a href="https://api.staging.example/errors/conflict">' in page
    xml = call(ProblemMiddleware(raises, catalog=staging), headers={"accept": "application/problem+xml"}).body
    assert b"<type>https://api.staging.example/errors/conflict</type>" in xml
    assert body["code"] == "conflict"
    assert type(decode_json(json.dumps(body), catalog=staging)) is staging["conflict"]


# Overrides of every kind: `retry_after` over Problem's, a parent's members in a child, and
# a grandchild that inherits both.
OVERRIDES = (
    HEADER
    + """\
problems:
  rate-limited:
    status: 429
    title: Rate limited
    members: {retry_after: {type: int, required: false}, scope: str}
  tenant-rate-limited:
    extends: rate-limited
    title: Tenant rate limited
    members: {tenant: str}
  burst-limited:
    extends: tenant-rate-limited
    title: Burst limited
"""
)


@pytest.mark.parametrize("python", ["3.10", "3.12"])
def test_generated_modules_mark_every_override(write: WriteCatalog, tmp_path: Path, python: str) -> None:
    """pyright strict with `reportImplicitOverride`, and mypy's `explicit-override`, find nothing.

    3.10 takes `override` from `typing_extensions` (the stubs every checker ships; nothing is
    imported at run time), 3.12 from `typing`.
    """
    if not PYRIGHT.exists():
        pytest.fail(f"{PYRIGHT} is missing: `make test` installs it (npm ci --prefix tests/tools)")
    modules = tmp_path / "modules"
    modules.mkdir()
    for name, catalog in (
        ("std_errors", Catalog.load(BUNDLED)),
        ("edge_errors", Catalog.load(write(EDGES, "edges.yaml"))),
        ("override_errors", Catalog.load(write(OVERRIDES, "overrides.yaml"))),
    ):
        (modules / f"{name}.py").write_text(generate_python(catalog))
    config = {"typeCheckingMode": "strict", "reportImplicitOverride": "error", "pythonVersion": python}
    (modules / "pyrightconfig.json").write_text(json.dumps(config))
    result = subprocess.run(
        [str(PYRIGHT), "--pythonpath", sys.executable, "-p", str(modules), "--outputjson"],
        capture_output=True,
        text=True,
        check=False,
        cwd=modules,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    report = json.loads(result.stdout)
    assert report["summary"]["filesAnalyzed"] == 3
    found = [
        f"{Path(d['file']).name}:{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
    ]
    assert found == []
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--enable-error-code",
            "explicit-override",
            "--python-version",
            python,
            "--no-incremental",
            "--config-file",
            "/dev/null",
            *map(str, sorted(modules.glob("*.py"))),
        ]
    )
    assert status == 0, stdout + stderr
