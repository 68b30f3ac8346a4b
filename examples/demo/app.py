"""The demo API: every problem of the bundled catalog, one route each.

Run it with `make demo` (or `uvicorn --app-dir examples/demo app:app`), then:

    curl -i http://127.0.0.1:8000/problems/quota-exceeded
    curl -i -H 'Accept: application/problem+xml' http://127.0.0.1:8000/problems/unprocessable
    curl -i http://127.0.0.1:8000/no/such/page

Until ProblemMiddleware lands, an exception handler turns problems (and
Starlette's own HTTP errors) into problem responses.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from problemdetails import JSON_MEDIA_TYPE, XML_MEDIA_TYPE, Catalog, Problem, encode_json, encode_xml

CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog")
# The root problem for each status, for errors Starlette raises itself (404, 405).
BY_STATUS = {spec.status: slug for slug, spec in CATALOG.problems.items() if spec.extends is None}


async def index(request: Request) -> Response:
    links = {slug: str(request.url_for("problem", slug=slug)) for slug in CATALOG}
    return JSONResponse({"catalog": CATALOG.name, "version": CATALOG.version, "problems": links})


async def problem(request: Request) -> Response:
    slug = request.path_params["slug"]
    if slug not in CATALOG:
        raise CATALOG["not-found"](f"No problem is called {slug!r}.", instance=request.url.path)
    cls = CATALOG[slug]
    example = CATALOG.problems[slug].examples[0]
    members = {m.attribute: example.members[m.name] for m in cls.__members__ if m.name in example.members}
    raise cls(example.detail, instance=request.url.path, **members)


def respond(request: Request, problem: Problem) -> Response:
    accept = request.headers.get("accept", "")
    xml = XML_MEDIA_TYPE in accept and JSON_MEDIA_TYPE not in accept
    body, media_type = (encode_xml(problem), XML_MEDIA_TYPE) if xml else (encode_json(problem), JSON_MEDIA_TYPE)
    headers = {"Vary": "Accept", "Cache-Control": "no-store", **problem.headers}
    return Response(body, problem.status, headers=headers, media_type=media_type)


async def on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return respond(request, exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    slug = BY_STATUS.get(exc.status_code)
    problem = CATALOG[slug](instance=request.url.path) if slug else Problem(status=exc.status_code)
    problem.headers.update(exc.headers or {})
    return respond(request, problem)


app = Starlette(
    routes=[Route("/", index), Route("/problems/{slug}", problem, name="problem")],
    exception_handlers={Problem: on_problem, HTTPException: on_http_error},
)
