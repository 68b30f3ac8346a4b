"""A pytest plugin that keeps code and catalog in step: `pytest -p problemdetails.pytest`.

While your tests run, it watches every `application/problem+json` response a
`ProblemMiddleware` sends and fails the test that produced it when

- its `code` is not in the middleware's catalog (a generic problem given a
  made-up code, say), or
- its body does not validate against its slug's JSON Schema (the one the doc
  site publishes as `<slug>/schema.json`).

With `--problem-coverage` it reports, per catalog, the slugs no test produced;
`--problem-coverage=fail` also fails the run when there are any.

`assert_problem(response, "conflict", conflicts=["a1"])` checks one response:
`application/problem+json`, that `code`, the catalog's status and schema when
you pass `catalog=`, and the members you name.

Schema checks need `jsonschema` (`pip install 'problemdetails[pytest]'`).
Without it the plugin warns at start-up, naming that command, and checks codes
only; `assert_problem(..., catalog=...)` raises an `ImportError` that names it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import msgspec
import pytest

from problemdetails._catalog import Catalog
from problemdetails._responder import OBSERVERS
from problemdetails._schema import problem_schema
from problemdetails._wire import JSON_MEDIA_TYPE

__all__ = ["assert_problem"]

_INSTALL = "pip install 'problemdetails[pytest]'"


class _Watch:
    """What the plugin saw: violations of the running test, and slugs produced, per catalog."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        # Per catalog, the slugs produced. Catalogs that are equal count as one: each test module,
        # or app, may load the same catalog files for itself.
        self.produced: list[tuple[Catalog, set[str]]] = []
        self._produced_by_id: dict[int, tuple[Catalog, set[str]]] = {}  # holds each catalog: ids stay unique
        self._validators: dict[tuple[int, str], Any] = {}
        self.schemas = True  # false when jsonschema is missing: the start-up warning said so

    def observe(self, catalog: Catalog, status: int, media_type: bytes, body: bytes) -> None:
        if media_type != JSON_MEDIA_TYPE.encode():
            return  # XML, HTML and legacy profiles carry the same problem; JSON is checked
        document = msgspec.json.decode(body)
        code = document.get("code")
        if code is None:
            return  # an uncatalogued status: about:blank, no code to check
        if code not in catalog:
            self.violations.append(f"{status} response with code {code!r}, which is not in catalog {catalog.name!r}")
            return
        self._seen(catalog).add(code)
        errors = _schema_errors(self._validator(catalog, code), document) if self.schemas else []
        if errors:
            self.violations.append(f"{status} {code!r} response does not fit its schema: {'; '.join(errors)}")

    def _seen(self, catalog: Catalog) -> set[str]:
        """The slugs produced for `catalog`, or for a catalog equal to it seen before."""
        known = self._produced_by_id.get(id(catalog))
        if known is not None:
            return known[1]
        seen = next((slugs for equal, slugs in self.produced if equal == catalog), None)
        if seen is None:
            seen = set()
            self.produced.append((catalog, seen))
        self._produced_by_id[id(catalog)] = catalog, seen
        return seen

    def _validator(self, catalog: Catalog, code: str) -> Any:
        key = (id(catalog), code)
        if key not in self._validators:
            self._validators[key] = _validator_for(catalog, code)
        return self._validators[key]


def _jsonschema() -> Any:
    """The `jsonschema` module (optional: the `pytest` extra), or an ImportError that says what to install."""
    try:
        import jsonschema
    except ImportError:
        raise ImportError(
            f"problemdetails.pytest checks problem bodies against their JSON Schema with jsonschema,"
            f" which is not installed: {_INSTALL}"
        ) from None
    return jsonschema


def _validator_for(catalog: Catalog, code: str) -> Any:
    jsonschema = _jsonschema()
    schema = problem_schema(catalog.problems[code])
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _schema_errors(validator: Any, document: object) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("problemdetails")
    group.addoption(
        "--problem-coverage",
        nargs="?",
        const="report",
        choices=["report", "fail"],
        help="report catalogued slugs no test produced (`fail`: and fail the run)",
    )


def pytest_configure(config: pytest.Config) -> None:
    watch = _Watch()
    try:
        _jsonschema()
    except ImportError as error:
        watch.schemas = False
        message = f"{error}; until then, response bodies are not checked against their schemas"
        config.issue_config_time_warning(pytest.PytestConfigWarning(message), stacklevel=2)
    config.stash[_WATCH] = watch
    OBSERVERS.append(watch.observe)


def pytest_unconfigure(config: pytest.Config) -> None:
    watch = config.stash.get(_WATCH, None)
    if watch is not None and watch.observe in OBSERVERS:
        OBSERVERS.remove(watch.observe)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    watch = item.config.stash[_WATCH]
    watch.violations = []
    result = yield
    if watch.violations:
        raise AssertionError("problemdetails: " + "\n".join(watch.violations))
    return result


def _missing(watch: _Watch) -> list[tuple[Catalog, list[str]]]:
    """Per catalog, the slugs no test produced; retired slugs (`deprecated:`) are not expected to be."""
    return [
        (catalog, sorted(slug for slug in set(catalog) - seen if catalog.problems[slug].deprecated is None))
        for catalog, seen in watch.produced
    ]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.getoption("problem_coverage") is None:
        return
    terminalreporter.section("problem coverage")
    for catalog, missing in _missing(config.stash[_WATCH]):
        live = sum(spec.deprecated is None for spec in catalog.problems.values())
        terminalreporter.write_line(f"{catalog.name}: {live - len(missing)} of {live} live slugs produced by the tests")
        for slug in missing:
            terminalreporter.write_line(f"  never produced: {slug}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    failing = session.config.getoption("problem_coverage") == "fail" and exitstatus == 0
    if failing and any(missing for _, missing in _missing(session.config.stash[_WATCH])):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_WATCH = pytest.StashKey[_Watch]()


def assert_problem(response: Any, code: str, *, catalog: Catalog | None = None, **members: Any) -> dict[str, Any]:
    """Assert that `response` is the `code` problem with these `members`; returns its JSON body.

    `response` is anything with `status_code`, `headers` and `content` (httpx,
    Starlette's TestClient). With `catalog`, the status must be the slug's and
    the body must validate against its JSON Schema.
    """
    content_type = response.headers.get("content-type", "")
    assert content_type.split(";")[0].strip() == JSON_MEDIA_TYPE, f"not a problem response: {content_type!r}"
    body: dict[str, Any] = msgspec.json.decode(response.content)
    assert body.get("code") == code, f"code is {body.get('code')!r}, not {code!r}"
    assert body.get("status") == response.status_code, "the body's status differs from the response's"
    if catalog is not None:
        assert code in catalog, f"{code!r} is not in catalog {catalog.name!r}"
        assert response.status_code == catalog.problems[code].status, f"status {response.status_code} is not {code}'s"
        errors = _schema_errors(_validator_for(catalog, code), body)
        assert not errors, f"does not fit the {code} schema: {'; '.join(errors)}"
    for name, expected in members.items():
        assert body.get(name) == expected, f"{name} is {body.get(name)!r}, not {expected!r}"
    return body
