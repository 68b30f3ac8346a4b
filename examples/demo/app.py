"""The demo API: every problem of the bundled catalog, one route each.

Run it with `make demo`, which builds the doc site from `catalog/` into
`build/site` and serves it under /errors/ (set `DEMO_SITE`; without it the
middleware renders the same site from the catalog), then:

    curl -i http://127.0.0.1:8000/problems/quota-exceeded
    curl -i -H 'Accept: application/problem+xml' http://127.0.0.1:8000/problems/unprocessable
    curl -i http://127.0.0.1:8000/no/such/page
    open http://127.0.0.1:8000/errors/quota-exceeded   (the problem's `type`)
    curl -i -H 'Accept-Language: fr' http://127.0.0.1:8000/problems/quota-exceeded

The catalog's French and German come along: problems and their pages are in
the language the browser asks for, and each page links to the others.

ProblemMiddleware turns the raised problems, and Starlette's own 404 and 405,
into problem responses; each is one line of the `problemdetails` logger on the
console (uvicorn configures only its own loggers, so the demo configures logging).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from problemdetails import Catalog, ProblemMiddleware

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

# Type URIs point at this demo, whose middleware serves the doc site under
# /errors/: follow the `type` of any problem below in a browser.
BASE_URI = os.environ.get("DEMO_BASE_URI", "http://127.0.0.1:8000/errors/")
CATALOG = Catalog.load(Path(__file__).resolve().parents[2] / "catalog").rebased(BASE_URI)
SITE = os.environ.get("DEMO_SITE")  # a folder `problemdetails build` wrote


async def index(request: Request) -> Response:
    links = {slug: str(request.url_for("problem", slug=slug)) for slug in CATALOG}
    return JSONResponse({"catalog": CATALOG.name, "version": CATALOG.version, "problems": links})


async def problem(request: Request) -> Response:
    slug = request.path_params["slug"]
    if slug not in CATALOG:
        raise CATALOG["not-found"](f"No problem is called {slug!r}.", instance=request.url.path)
    cls = CATALOG[slug]
    example = CATALOG.problems[slug].examples[0]
    members = {
        m.attribute: example.members[m.name] for m in cls.__problemdetails__.members if m.name in example.members
    }
    raise cls(example.detail, instance=request.url.path, **members)


app = ProblemMiddleware(
    Starlette(routes=[Route("/", index), Route("/problems/{slug}", problem, name="problem")]),
    catalog=CATALOG,
    docs_path="/errors/",
    docs_dir=SITE,
)
