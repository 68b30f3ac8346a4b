"""OpenAPI for errors: per-route problem responses, the catalog's components, and schemathesis against a real app."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from problemdetails import Catalog, Problem, add_problem_components, problem_responses
from tests.conftest import HEADER, ROOT, WriteCatalog
from tests.examples.test_dnswiz import load

example = load(ROOT / "examples" / "fastapi" / "app.py", "fastapi_openapi_app")
DOCUMENT: dict[str, Any] = example.api.openapi()


def test_the_document_is_valid_openapi_31() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1")


def resolved(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """A response object, following its `$ref` into `components.responses`."""
    if "$ref" in response:
        assert set(response) == {"$ref"}  # nothing beside it (FastAPI adds `content` and `description`)
        component: dict[str, Any] = document["components"]["responses"][response["$ref"].rpartition("/")[2]]
        return component
    return response


def test_routes_document_the_problems_they_raise() -> None:
    create = DOCUMENT["paths"]["/zones"]["post"]["responses"]
    assert sorted(create) == ["201", "400", "402", "409", "422", "500"]  # 400: a body that is not JSON
    assert create["409"] == {"$ref": "#/components/responses/Conflict"}  # the component, not a copy of it
    conflict = resolved(DOCUMENT, create["409"])["content"]["application/problem+json"]
    assert conflict["schema"] == {"$ref": "#/components/schemas/Conflict"}
    assert conflict["examples"]["conflict-1"]["value"]["code"] == "conflict"
    assert "X-Request-ID" in resolved(DOCUMENT, create["409"])["headers"]
    fetch = DOCUMENT["paths"]["/zones/{zone_id}"]["get"]["responses"]
    assert sorted(fetch) == ["200", "404", "410", "422", "500"]


def test_fastapi_422_becomes_the_catalog_problem_and_500_is_documented() -> None:
    for path in DOCUMENT["paths"].values():
        for operation in path.values():
            assert operation["responses"]["422"] == {"$ref": "#/components/responses/Unprocessable"}
            assert operation["responses"]["500"] == {"$ref": "#/components/responses/Internal"}
    schemas = DOCUMENT["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert schemas["Conflict"]["properties"]["code"]["const"] == "conflict"
    assert schemas["Conflict"]["properties"]["type"]["const"] == "https://errors.example.com/conflict"
    # Only what the operations use: nothing for a linter to call unused.
    assert sorted(DOCUMENT["components"]["responses"]) == [
        "BadRequest",
        "Conflict",
        "Gone",
        "Internal",
        "NotFound",
        "QuotaExceeded",
        "Unprocessable",
    ]


def test_problems_sharing_a_status_are_one_of_with_named_examples(write: WriteCatalog) -> None:
    catalog = Catalog.load(
        write(
            HEADER
            + """\
problems:
  forbidden: {status: 403, title: Forbidden, examples: [{detail: No.}]}
  ip-not-allowed: {extends: forbidden, title: IP not allowed, examples: [{detail: Not from there.}]}
  unauthorized: {status: 401, title: Unauthorized, headers: [WWW-Authenticate]}
"""
        )
    )
    responses = problem_responses(catalog["forbidden"], catalog["ip-not-allowed"], catalog["unauthorized"])
    assert sorted(responses) == [401, 403]
    assert responses[401] == {"$ref": "#/components/responses/Unauthorized"}
    media = responses[403]["content"]["application/problem+json"]
    assert media["schema"] == {
        "oneOf": [{"$ref": "#/components/schemas/Forbidden"}, {"$ref": "#/components/schemas/IpNotAllowed"}]
    }
    assert sorted(media["examples"]) == ["forbidden-1", "ip-not-allowed-1"]
    assert responses[403]["description"] == "Forbidden or IP not allowed"
    unauthorized = add_problem_components({"paths": {"/": {"get": {"responses": responses}}}}, catalog)
    header = unauthorized["components"]["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"]
    assert header["required"] is True
    with pytest.raises(TypeError, match="Problem is not a catalogued problem class"):
        problem_responses(Problem)


def test_starlette_schema_generator_documents_problems_too() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.schemas import SchemaGenerator

    catalog = example.CATALOG

    async def create_zone(request: Any) -> Any:
        """
        summary: Create a zone
        responses:
          201: {description: Created}
          409: {$ref: "#/components/responses/Conflict"}
          402: {$ref: "#/components/responses/QuotaExceeded"}
        """

    generator = SchemaGenerator({"openapi": "3.1.0", "info": {"title": "Zones", "version": "1"}})
    document = generator.get_schema(Starlette(routes=[Route("/zones", create_zone, methods=["POST"])]).routes)
    add_problem_components(document, catalog)
    validate(document)
    responses = document["paths"]["/zones"]["post"]["responses"]
    assert responses["409"] == {"$ref": "#/components/responses/Conflict"}
    assert responses["500"] == {"$ref": "#/components/responses/Internal"}
    conflict = document["components"]["responses"]["Conflict"]["content"]["application/problem+json"]
    assert conflict["schema"] == {"$ref": "#/components/schemas/Conflict"}
    # Path items also hold non-operation fields; they are left alone.
    document["paths"]["/zones"]["parameters"] = [{"name": "tenant", "in": "query", "schema": {"type": "string"}}]
    document["paths"]["/zones"]["summary"] = "Zones"
    add_problem_components(document, catalog)
    validate(document)
    assert document["paths"]["/zones"]["summary"] == "Zones"


TOOLS = ROOT / "tests" / "tools"


LINTERS = {
    "redocly": ["lint", "--config", str(TOOLS / "redocly.yaml"), "--format", "json"],
    "spectral": ["lint", "--ruleset", str(TOOLS / "spectral.yaml"), "--format", "json", "--quiet"],
}


@pytest.mark.parametrize("linter", sorted(LINTERS))
def test_third_party_linters_find_nothing(tmp_path: Path, linter: str) -> None:
    """redocly and Spectral, with only the rules about the app's own metadata off: not even a warning."""
    program = TOOLS / "node_modules" / ".bin" / linter
    if not program.exists():
        pytest.fail(f"{program} is missing: `make test` installs it (npm ci --prefix tests/tools)")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(DOCUMENT))
    result = subprocess.run(
        [str(program), *LINTERS[linter], str(document)], capture_output=True, text=True, check=False, timeout=300
    )
    report = json.loads(result.stdout)
    problems = report["problems"] if linter == "redocly" else report
    assert problems == [], result.stdout
    assert result.returncode == 0, result.stderr


schema = schemathesis.openapi.from_asgi("/openapi.json", example.app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_app_returns_what_it_documents(case: Any) -> None:
    """schemathesis: status codes, content types, headers and bodies all match the document."""
    case.call_and_validate()
