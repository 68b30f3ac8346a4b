"""`pytest -p problemdetails.pytest`, run on small test suites with pytester."""

from __future__ import annotations

import re
import sys

import pytest

from problemdetails import Catalog
from problemdetails.pytest import assert_problem
from tests.conftest import BUNDLED

SUITE = f"""
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from problemdetails import Catalog, Problem, ProblemMiddleware

catalog = Catalog.load({str(BUNDLED)!r})

async def gone(request):
    raise catalog["gone"]("deleted")

async def made_up(request):
    raise Problem("nope", status=409, code="not-in-catalog")

async def plain(request):
    raise Problem("nope", status=418)

client = TestClient(ProblemMiddleware(
    Starlette(routes=[Route("/gone", gone), Route("/made-up", made_up), Route("/plain", plain)]), catalog=catalog
))

def test_gone():
    assert client.get("/gone").status_code == 410

def test_plain_uncatalogued_status():
    assert client.get("/plain").status_code == 418

def test_made_up_code():
    assert client.get("/made-up").status_code == 409
"""


def test_unknown_codes_fail_the_test_that_produced_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-p", "problemdetails.pytest")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*test_made_up_code*", "*problemdetails: 409 response with code 'not-in-catalog', which is not in catalog*"]
    )
    without = pytester.runpytest()  # the plugin is opt-in
    without.assert_outcomes(passed=3)


def test_slug_coverage_report_and_fail_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE.replace("def test_made_up_code", "def skipped_made_up_code"))
    result = pytester.runpytest("-p", "problemdetails.pytest", "--problem-coverage")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*problem coverage*",
            "Standard problems: 1 of 19 live slugs produced by the tests",
            "  never produced: bad-gateway",
        ]
    )
    assert result.ret == 0
    failing = pytester.runpytest("-p", "problemdetails.pytest", "--problem-coverage=fail")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED


def test_slug_coverage_counts_a_catalog_loaded_per_module_once(pytester: pytest.Pytester) -> None:
    """Found by a new user: test modules that each load the catalog got a report each, of one slug each."""
    suite = SUITE.replace("def test_made_up_code", "def skipped_made_up_code")
    pytester.makepyfile(test_one=suite, test_two=suite.replace("def test_", "def test_two_"))
    pytester.makepyfile(
        test_three=f"""
from starlette.applications import Starlette
from starlette.testclient import TestClient
from problemdetails import Catalog, ProblemMiddleware

catalog = Catalog.load({str(BUNDLED)!r})

async def conflict(scope, receive, send):
    raise catalog["conflict"]()

def test_conflict():
    assert TestClient(ProblemMiddleware(conflict, catalog=catalog)).get("/").status_code == 409
"""
    )
    result = pytester.runpytest("-p", "problemdetails.pytest", "--problem-coverage=report")
    result.assert_outcomes(passed=5)
    report = result.stdout.str().split("problem coverage", 1)[1]
    assert report.count("live slugs produced by the tests") == 1
    assert "Standard problems: 2 of 19 live slugs produced by the tests" in report  # gone and conflict
    assert "never produced: conflict" not in report


def test_slug_coverage_does_not_expect_retired_slugs(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        errors="""
catalog: {name: Retiring API, base_uri: "https://errors.example.com/", version: 2.0.0}
problems:
  gone: {status: 410, title: Gone}
  expired: {status: 410, title: Expired, extends: gone, deprecated: {since: 2.0.0, replaced_by: gone}}
""",
    )
    pytester.makepyfile(
        test_suite="""
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from problemdetails import Catalog, ProblemMiddleware

catalog = Catalog.load("errors.yaml")

async def gone(request):
    raise catalog["gone"]()

def test_gone():
    client = TestClient(ProblemMiddleware(Starlette(routes=[Route("/", gone)]), catalog=catalog))
    assert client.get("/").status_code == 410
"""
    )
    result = pytester.runpytest("-p", "problemdetails.pytest", "--problem-coverage=fail")
    result.stdout.fnmatch_lines(["Retiring API: 1 of 1 live slugs produced by the tests"])
    result.stdout.no_fnmatch_line("*never produced*")
    assert result.ret == 0


def test_responses_that_break_their_schema_fail(pytester: pytest.Pytester) -> None:
    # A catalog whose member type changed under a generated module's feet is the real-world case;
    # here the middleware is given a narrower catalog than the one the problem was built from.
    pytester.makepyfile(
        test_schema=f"""
from starlette.applications import Starlette
from starlette.testclient import TestClient
from problemdetails import Catalog, ProblemMiddleware

wide = Catalog.load({str(BUNDLED)!r})
narrow = Catalog.from_json(wide.to_json().replace(b'"type": "list[str]"', b'"type": "list[int]"'))

async def app(scope, receive, send):
    raise wide["conflict"](conflicts=["a1"])

def test_conflict():
    assert TestClient(ProblemMiddleware(app, catalog=narrow)).get("/").status_code == 409
"""
    )
    result = pytester.runpytest("-p", "problemdetails.pytest")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*409 'conflict' response does not fit its schema: conflicts/0: 'a1' is not of type 'integer'*"]
    )


def test_without_jsonschema_the_plugin_says_what_to_install(pytester: pytest.Pytester) -> None:
    # Schema checks are never skipped silently: the run warns, naming the command, and codes are still checked.
    pytester.makeconftest("import sys\nsys.modules['jsonschema'] = None  # as if not installed\n")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "problemdetails.pytest")
    result.assert_outcomes(passed=2, failed=1, warnings=1)
    warning = re.escape(
        "PytestConfigWarning: problemdetails.pytest checks problem bodies against their JSON Schema with"
        " jsonschema, which is not installed: pip install 'problemdetails[pytest]'; until then,"
    )
    result.stdout.re_match_lines([".*409 response with code 'not-in-catalog', which is not in catalog", f".*{warning}"])
    strict = pytester.runpytest_subprocess("-p", "problemdetails.pytest", "-W", "error")
    strict.stderr.re_match_lines([f".*{warning}"])
    assert strict.ret != 0


def test_assert_problem_without_jsonschema_says_what_to_install(
    bundled: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"type":"https://errors.example.com/gone","title":"Gone","status":410,"code":"gone"}'
    assert assert_problem(Response(410, body), "gone")["code"] == "gone"  # no schema asked for: no jsonschema needed
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'problemdetails[pytest]'")):
        assert_problem(Response(410, body), "gone", catalog=bundled)


class Response:
    def __init__(self, status_code: int, body: bytes, content_type: str = "application/problem+json") -> None:
        self.status_code, self.content, self.headers = status_code, body, {"content-type": content_type}


def test_assert_problem(bundled: Catalog) -> None:
    body = b'{"type":"https://errors.example.com/conflict","title":"Conflict","status":409,"code":"conflict","conflicts":["a1"]}'
    assert assert_problem(Response(409, body), "conflict", catalog=bundled, conflicts=["a1"])["conflicts"] == ["a1"]
    failures = [
        (Response(409, body), "gone", {}, "code is 'conflict', not 'gone'"),
        (Response(409, body, "application/json"), "conflict", {}, "not a problem response"),
        (Response(409, body), "conflict", {"conflicts": ["b2"]}, "conflicts is \\['a1'\\], not \\['b2'\\]"),
        (Response(410, body), "conflict", {}, "the body's status differs"),
        (Response(409, body.replace(b'["a1"]', b"[1]")), "conflict", {}, "does not fit the conflict schema"),
    ]
    for response, code, members, message in failures:
        with pytest.raises(AssertionError, match=message):
            assert_problem(response, code, catalog=bundled, **members)
