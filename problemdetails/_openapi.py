"""OpenAPI 3.1 components for a catalog: one schema and one reusable response per problem type.

Any OpenAPI 3.1 document can `$ref` them (`openapi.json#/components/responses/Conflict`).
OpenAPI 3.1 schemas are JSON Schema 2020-12, so the schemas are the very
objects `<slug>/schema.json` holds. A catalog's translations ride along as
specification extensions (`x-` keys, which tools that do not know them
ignore): the document's languages in `info.x-languages`, default first, and
on each schema and response its texts in the other languages, under
`x-translations`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from problemdetails._catalog import Catalog
from problemdetails._problem import Problem
from problemdetails._schema import problem_schema, request_id_schema
from problemdetails._spec import ProblemSpec
from problemdetails._wire import JSON_MEDIA_TYPE

__all__ = [
    "HEADER_MEANINGS",
    "add_problem_components",
    "document_problems",
    "openapi_document",
    "pretty_json",
    "problem_response",
    "problem_responses",
]

# Why a problem sets each well-known header, for the docs and OpenAPI.
HEADER_MEANINGS = {
    "allow": "The methods the resource supports (RFC 9110 §10.2.1).",
    "retry-after": "How long to wait before retrying: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).",
    "www-authenticate": "The authentication scheme and parameters to use (RFC 9110 §11.6.1).",
}
_REQUEST_ID = (
    "The request's id: the client's X-Request-ID when it matches the pattern, else 32 hex digits (128 random bits)."
)


_METHODS = frozenset(("get", "put", "post", "delete", "options", "head", "patch", "trace"))


def problem_response(cls: type[Problem], schema_ref: str) -> dict[str, Any]:
    """A reusable OpenAPI response for one problem type, with the catalog's examples."""
    spec = cls.spec
    assert spec is not None
    id_schema = request_id_schema(_REQUEST_ID)
    headers: dict[str, Any] = {"X-Request-ID": {"description": id_schema.pop("description"), "schema": id_schema}}
    for name in spec.headers:
        meaning = HEADER_MEANINGS.get(name.lower(), "")
        # RFC 9110 §11.6.1: the middleware sends WWW-Authenticate on every 401; the others
        # come when the problem carries them (a Retry-After needs a known delay).
        required = name.lower() == "www-authenticate"
        headers[name] = {"description": meaning, "required": required, "schema": {"type": "string"}}
    media: dict[str, Any] = {"schema": {"$ref": schema_ref}}
    examples = [problem.to_dict() for problem in cls.examples()]
    if examples:
        media["examples"] = {f"{spec.slug}-{number}": {"value": body} for number, body in enumerate(examples, 1)}
    description = f"{spec.title}: {spec.summary}" if spec.summary else spec.title
    return {"description": description, "headers": headers, "content": {JSON_MEDIA_TYPE: media}}


def openapi_document(catalog: Catalog) -> dict[str, Any]:
    """An OpenAPI 3.1 document holding only components: `schemas` and `responses`, by class name.

    With translations, `info.x-languages` lists the catalog's languages (default
    first), and each schema and response carries `x-translations`: per language,
    the texts it has there, keyed as the object's own (`title`, `description`,
    `properties.<member>.description`; a response's `description`).
    """
    components_schemas: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    for slug, spec in catalog.problems.items():
        schema = components_schemas[spec.class_name] = problem_schema(spec)
        response = responses[spec.class_name] = problem_response(
            catalog[slug], f"#/components/schemas/{spec.class_name}"
        )
        schema_texts, response_texts = _translated_texts(catalog, spec)
        if schema_texts:
            schema["x-translations"] = schema_texts
        if response_texts:
            response["x-translations"] = response_texts
    info: dict[str, Any] = {"title": catalog.name, "version": catalog.version or "0"}
    if len(catalog.languages) > 1:
        info["x-languages"] = list(catalog.languages)
    components = {"schemas": components_schemas, "responses": responses}
    return {"openapi": "3.1.0", "info": info, "paths": {}, "components": components}


def _translated_texts(catalog: Catalog, spec: ProblemSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """A problem's texts in each translation, as its schema's and its response's `x-translations`.

    Only what a language translates is there; a client falls back to the object's own text.
    """
    schemas: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    for language, translation in catalog.translations.items():
        translated = translation.problems.get(spec.slug)
        if translated is None:
            continue
        texts: dict[str, Any] = {}
        if translated.title is not None:
            texts["title"] = translated.title
        if translated.summary is not None and spec.summary:
            texts["description"] = translated.summary
        descriptions = {name: member.description for name, member in translated.members.items()}
        properties = {
            member.name: {"description": description}
            for member in spec.members  # in the schema's order
            if (description := descriptions.get(member.name)) is not None
        }
        if properties:
            texts["properties"] = properties
        if texts:
            schemas[language] = texts
        if translated.title is not None or (translated.summary is not None and spec.summary):
            title = translated.title if translated.title is not None else spec.title
            summary = translated.summary if translated.summary is not None else spec.summary
            responses[language] = {"description": f"{title}: {summary}" if summary else title}
    return schemas, responses


def pretty_json(document: Any) -> bytes:
    """Indented, stable JSON for files people read and diff, with a final newline."""
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


def problem_responses(*classes: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """What a route can answer, for FastAPI's `responses=`: per status, the problems' JSON Schemas.

    ```python
    @app.post("/zones", responses=problem_responses(Conflict, QuotaExceeded))
    ```

    A status with one problem is a `$ref` to that problem's response component;
    when several problems share a status it is a response of its own, with a
    `oneOf` over their schemas, the catalog's examples named by slug, and the
    headers they send. The components are what `document_problems(app,
    catalog)` adds to the document.
    """
    by_status: dict[int, list[type[Problem]]] = {}
    for cls in classes:
        if cls.spec is None:
            raise TypeError(f"{cls.__name__} is not a catalogued problem class")
        by_status.setdefault(cls.status, []).append(cls)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, group in sorted(by_status.items()):
        if len(group) == 1:
            responses[status] = {"$ref": f"#/components/responses/{group[0].__name__}"}
            continue
        responses[status] = _shared_response(group)
    return responses


def _shared_response(group: list[type[Problem]]) -> dict[str, Any]:
    """The response of a status several problems share: a `oneOf` of their schemas, their examples and headers."""
    parts = [problem_response(cls, f"#/components/schemas/{cls.__name__}") for cls in group]
    refs = [part["content"][JSON_MEDIA_TYPE]["schema"] for part in parts]
    media: dict[str, Any] = {"schema": {"oneOf": refs}}
    examples = {
        name: example
        for part in parts
        for name, example in part["content"][JSON_MEDIA_TYPE].get("examples", {}).items()
    }
    if examples:
        media["examples"] = examples
    headers = {name: header for part in parts for name, header in part["headers"].items()}
    description = " or ".join(part["description"] for part in parts)
    return {"description": description, "headers": headers, "content": {JSON_MEDIA_TYPE: media}}


def add_problem_components(document: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Complete any OpenAPI 3.1 document (`dict`) with the catalog's errors, in place; returns it.

    Adds the catalog's components that the operations use (a response and a
    schema per problem type: `$ref: "#/components/responses/Conflict"`), replaces
    FastAPI's 422 (`HTTPValidationError`) with the catalog's 422 problem,
    documents the 400 FastAPI answers for a body that is not valid JSON, and
    gives every operation the catalog's 500. Use it on Starlette's
    `SchemaGenerator(...).get_schema(routes)` or any generated document.
    """
    roots = catalog.status_slugs
    components = document.setdefault("components", {})
    ours = openapi_document(catalog)["components"]
    components.setdefault("schemas", {}).update(ours["schemas"])
    components.setdefault("responses", {}).update(ours["responses"])
    extra = {
        status: {"$ref": f"#/components/responses/{catalog[roots[status]].__name__}"}
        for status in (400, 422, 500)
        if status in roots
    }
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            if method in _METHODS:  # a path item also holds `parameters`, `summary`, `servers`...
                _add_problem_responses(operation, extra)
    _drop_unused(document, ours)
    return document


def _add_problem_responses(operation: dict[str, Any], extra: dict[int, dict[str, str]]) -> None:
    """One operation's responses, with the catalog's 422, 400 (a body to parse) and 500 where they apply."""
    # Status keys are strings in OpenAPI; YAML docstrings (Starlette) give ints.
    responses = operation["responses"] = {str(key): value for key, value in operation.get("responses", {}).items()}
    for key, value in responses.items():
        if isinstance(value, dict) and "$ref" in value:
            # FastAPI adds `description` and an empty `content` to every extra response.
            responses[key] = {"$ref": value["$ref"]}
    if "422" in responses and 422 in extra:
        responses["422"] = extra[422]  # the catalog's problem, not FastAPI's {"detail": [...]}
    if "requestBody" in operation and 400 in extra:
        responses.setdefault("400", extra[400])  # FastAPI: "There was an error parsing the body"
    if 500 in extra:
        responses.setdefault("500", extra[500])


def _drop_unused(document: dict[str, Any], ours: dict[str, Any]) -> None:
    """Remove the components no operation refers to: FastAPI's validation schemas, and the catalog's own."""
    components = document["components"]
    referenced = msgspec.json.encode(document.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's, now unreferenced
        if unused not in ours["schemas"] and f"#/components/schemas/{unused}".encode() not in referenced:
            components["schemas"].pop(unused, None)
    # The catalog's components that no operation uses would only be lint ("unused component").
    for name in ours["responses"]:
        if f"#/components/responses/{name}".encode() not in referenced:
            del components["responses"][name]
    referenced += msgspec.json.encode(components["responses"])
    for name in ours["schemas"]:
        if f"#/components/schemas/{name}".encode() not in referenced:
            del components["schemas"][name]


def document_problems(app: Any, catalog: Catalog) -> None:
    """Make a FastAPI app's OpenAPI document describe its errors the way `ProblemMiddleware` sends them.

    Call it once, after the routes are declared: `document_problems(app,
    catalog)`; the document gets what `add_problem_components` adds.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = add_problem_components(generate(), catalog)
        return app.openapi_schema  # type: ignore[no-any-return]

    app.openapi = openapi
