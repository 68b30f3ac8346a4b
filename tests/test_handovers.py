"""Framework hand-overs (`problemdetails/_handovers/`), in-process against the real frameworks.

The contract every framework meets under real servers is
`tests/acceptance/test_frameworks.py`; these are the cases particular to one
framework: DRF's field errors, Flask's and Django's own errors and hooks,
Starlette's `Allow` through Mounts and CORS, and what `integrate=False` leaves.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import enum
import importlib
import logging
import math
from typing import Any

import flask
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from werkzeug.exceptions import NotFound

from examples.frameworks import django_app
from problemdetails import (
    Catalog,
    ProblemMiddleware,
    WSGIProblemMiddleware,
    drf_exception_handler,
    starlette_exception_handlers,
)
from problemdetails._handovers import framework_of
from problemdetails._handovers.base import item_params
from problemdetails._handovers.drf import drf_error_items
from tests.asgi import call
from tests.conftest import HEADER
from tests.wsgi import serve

# -- DRF


def json_headers(body: bytes, media_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": media_type, "Content-Length": str(len(body))}


def test_drf_nested_field_errors_become_pointers_with_drfs_codes() -> None:
    from rest_framework.exceptions import ErrorDetail

    detail = {
        "name": [ErrorDetail("Ensure this field has no more than 10 characters.", code="max_length")],
        "profile": {"color": [ErrorDetail('"pink" is not a valid choice.', code="invalid_choice")]},
        "tags": {1: [ErrorDetail("A valid integer is required.", code="invalid")]},
        "members": [{}, {"email": [ErrorDetail("Enter a valid email address.", code="invalid")]}],
        "address": {"non_field_errors": [ErrorDetail("Street and city do not match.", code="mismatch")]},
        "non_field_errors": [ErrorDetail("Dates are reversed.", code="invalid")],
    }
    items = msgspec.to_builtins(drf_error_items(detail, None))
    assert items == [
        {"detail": "Ensure this field has no more than 10 characters.", "pointer": "#/name", "code": "max_length"},
        {"detail": '"pink" is not a valid choice.', "pointer": "#/profile/color", "code": "invalid_choice"},
        {"detail": "A valid integer is required.", "pointer": "#/tags/1", "code": "invalid"},
        {"detail": "Enter a valid email address.", "pointer": "#/members/1/email", "code": "invalid"},
        {"detail": "Street and city do not match.", "pointer": "#/address", "code": "mismatch"},
        {"detail": "Dates are reversed.", "code": "invalid"},  # the whole object: no pointer
    ]


def test_drf_validation_through_the_settings_line() -> None:
    body = b'{"name": "far too long a name", "profile": {"color": "pink"}, "tags": [1, "x"]}'
    exchange = call(django_app.asgi_app, method="POST", path="/drf/validate", headers=json_headers(body), body=body)
    problem = exchange.json()
    assert (exchange.status, problem["code"], problem["instance"]) == (400, "bad-request", "/drf/validate")
    assert {(item["pointer"], item["code"]) for item in problem["errors"]} == {
        ("#/name", "max_length"),
        ("#/profile/color", "invalid_choice"),
        ("#/tags/1", "invalid"),
    }


def test_drf_parse_error_is_the_400_problem() -> None:
    exchange = call(django_app.asgi_app, method="POST", path="/drf/validate", headers=json_headers(b"{"), body=b"{")
    assert (exchange.status, exchange.json()["code"]) == (400, "bad-request")
    assert exchange.json()["detail"].startswith("JSON parse error")


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code", "header"),
    [
        ("GET", "/drf/private", {}, 401, "unauthorized", ("www-authenticate", 'Basic realm="api"')),
        ("GET", "/drf/http-error", {}, 429, "rate-limited", ("retry-after", "7")),
        ("POST", "/drf/conflict", {}, 405, "method-not-allowed", ("allow", "GET, HEAD, OPTIONS")),
        ("GET", "/drf/conflict", {"Accept": "text/csv"}, 406, "not-acceptable", None),
        ("POST", "/drf/validate", json_headers(b"a,b", "text/csv"), 415, "unsupported-media-type", None),
    ],
)
def test_drf_api_exceptions_become_their_problems(
    method: str, path: str, headers: dict[str, str], status: int, code: str, header: tuple[str, str] | None
) -> None:
    exchange = call(django_app.asgi_app, method=method, path=path, headers=headers, body=b"a,b")
    assert (exchange.status, exchange.json()["code"]) == (status, code)
    if header is not None:
        assert exchange.headers[header[0]] == header[1]


def test_drf_without_a_middleware_outside_is_drfs_own_handler() -> None:
    from rest_framework.exceptions import NotFound as DRFNotFound

    response = drf_exception_handler(DRFNotFound(), {"request": None, "view": None})
    assert (response.status_code, response.data) == (404, {"detail": "Not found."})


# -- Django


def test_django_wsgi_and_asgi_answer_alike() -> None:
    asgi = call(django_app.asgi_app, path="/conflict")
    wsgi = serve(django_app.wsgi_app, path="/conflict", validate=False)  # Django's own headers are its business
    assert asgi.json() | {"request_id": ""} == wsgi.json() | {"request_id": ""}


def test_django_suspicious_operations_are_left_to_django_security(caplog: pytest.LogCaptureFixture) -> None:
    exchange = call(django_app.asgi_app, path="/suspicious")
    assert (exchange.status, exchange.json()["code"]) == (400, "bad-request")
    assert any(record.name.startswith("django.security") for record in caplog.records)


def test_django_without_integration_answers_for_the_500_page() -> None:
    from django.core.asgi import get_asgi_application

    plain = ProblemMiddleware(get_asgi_application(), catalog=django_app.asgi_app.catalog, integrate=False)
    exchange = call(plain, path="/conflict")  # Django's 500 page, replaced: the conflict is lost
    assert (exchange.status, exchange.json()["code"]) == (500, "internal")


# -- Flask


@pytest.fixture
def flask_app(bundled: Catalog) -> flask.Flask:
    app = flask.Flask("handover-test")

    @app.get("/conflict")
    def conflict() -> Any:
        raise bundled["conflict"](conflicts=["a1"])

    @app.get("/missing")
    def missing() -> Any:
        flask.abort(404, "Zone z1 does not exist.")

    @app.get("/plain-missing")
    def plain_missing() -> Any:
        raise NotFound()

    @app.get("/redirect")
    def redirect() -> Any:
        return flask.redirect("/conflict")

    @app.get("/chosen")
    def chosen() -> Any:
        flask.abort(flask.Response("teapot", status=418, mimetype="text/plain"))

    return app


def test_flask_abort_keeps_a_description_the_app_gave(flask_app: flask.Flask, bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(flask_app, catalog=bundled)
    assert serve(app, path="/missing").json()["detail"] == "Zone z1 does not exist."
    assert "detail" not in serve(app, path="/plain-missing").json()  # werkzeug's default text is no detail
    assert serve(app, path="/redirect").code == 302
    chosen = serve(app, path="/chosen")  # a response the app chose, replaced like any error page it renders
    assert (chosen.code, chosen.json()["type"], chosen.json()["detail"]) == (418, "about:blank", "teapot")


def test_flask_in_testing_mode_propagates_and_still_answers(flask_app: flask.Flask, bundled: Catalog) -> None:
    flask_app.config["TESTING"] = True  # Flask re-raises: the middleware gets the exception itself
    served = serve(WSGIProblemMiddleware(flask_app, catalog=bundled), path="/conflict")
    assert (served.code, served.json()["conflicts"]) == (409, ["a1"])


def test_flask_handlers_of_your_own_win(flask_app: flask.Flask, bundled: Catalog) -> None:
    @flask_app.errorhandler(404)
    def not_found(error: Exception) -> Any:
        return {"mine": True}, 404, {"Content-Type": "application/problem+json"}

    served = serve(WSGIProblemMiddleware(flask_app, catalog=bundled), path="/nowhere")
    assert served.json() == {"mine": True}


def test_flask_without_integration(flask_app: flask.Flask, bundled: Catalog) -> None:
    served = serve(WSGIProblemMiddleware(flask_app, catalog=bundled, integrate=False), path="/conflict")
    assert (served.code, served.json()["code"]) == (500, "internal")


def test_the_framework_is_found_through_wrappers_and_bound_methods(flask_app: flask.Flask, bundled: Catalog) -> None:
    found = framework_of(flask_app.wsgi_app)
    assert found is not None
    assert found[1] is flask_app
    starlette = Starlette()
    found = framework_of(CORSMiddleware(starlette, allow_origins=["*"]))
    assert found is not None
    assert found[1] is starlette
    assert framework_of(lambda environ, start_response: []) is None


# -- Starlette: Allow through Mounts, and the CORS layout


async def nothing(request: Request) -> Response:
    return PlainTextResponse("")


async def crash(request: Request) -> Response:
    raise RuntimeError("boom")


def test_allow_under_a_mount_that_repeats_a_top_level_path(bundled: Catalog) -> None:
    app = Starlette(
        routes=[
            Route("/items", nothing, methods=["GET"]),
            Mount(
                "/v1", routes=[Route("/items", nothing, methods=["POST"]), Route("/items", nothing, methods=["PUT"])]
            ),
        ]
    )
    client = TestClient(ProblemMiddleware(app, catalog=bundled))
    assert client.delete("/v1/items").headers["allow"] == "POST, PUT"
    assert client.delete("/items").headers["allow"] == "GET, HEAD"


def test_cors_outside_makes_every_problem_readable_by_browsers(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    app = Starlette(routes=[Route("/items", nothing, methods=["GET"]), Route("/crash", crash)])
    layout = CORSMiddleware(ProblemMiddleware(app, catalog=bundled), allow_origins=["https://app.example"])
    client = TestClient(layout, raise_server_exceptions=False)
    origin = {"Origin": "https://app.example"}
    crashed = client.get("/crash", headers=origin)
    assert (crashed.status_code, crashed.headers["access-control-allow-origin"]) == (500, "https://app.example")
    refused = client.post("/items", headers=origin)
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
    assert refused.headers["access-control-allow-origin"] == "https://app.example"
    # CORS as the app's own middleware sits inside Starlette's ServerErrorMiddleware,
    # which sends a crash's 500 past it: a browser cannot read that one.
    routes = [Route("/crash", crash)]
    cors = [Middleware(CORSMiddleware, allow_origins=["https://app.example"])]
    inside = ProblemMiddleware(Starlette(routes=routes, middleware=cors), catalog=bundled)
    assert (
        "access-control-allow-origin"
        not in TestClient(inside, raise_server_exceptions=False).get("/crash", headers=origin).headers
    )


def test_fastapi_handlers_of_your_own_win(bundled: Catalog) -> None:
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import JSONResponse

    api = FastAPI()

    @api.exception_handler(HTTPException)
    async def mine(request: Request, exc: Exception) -> Response:
        return JSONResponse({"mine": True}, status_code=418, media_type="application/problem+json")

    @api.get("/x")
    async def x() -> None:
        raise HTTPException(404)

    assert TestClient(ProblemMiddleware(api, catalog=bundled)).get("/x").json() == {"mine": True}


# -- BlackSheep, Quart and Falcon in-process (the contract runs them under real servers)


def test_blacksheep_problems_crashes_and_http_errors() -> None:
    from examples.frameworks import blacksheep_app

    app = blacksheep_app.app
    assert (call(app, path="/conflict").json()["conflicts"]) == ["a1"]
    crash = call(app, path="/crash")
    assert (crash.status, crash.json()["code"]) == (500, "internal")
    limited = call(app, path="/http-error")
    assert (limited.status, limited.json()["detail"]) == (429, "Slow down.")
    missing = call(app, path="/nope")  # BlackSheep's router renders a text 404, kept as a 4xx message
    assert (missing.status, missing.json()["detail"]) == (404, "Resource not found")


def test_blacksheep_without_a_middleware_outside_answers_the_status() -> None:
    from blacksheep import Application, Request, Router

    from problemdetails._handovers.blacksheep import BlackSheep, _handler

    request = Request("GET", b"/x", [])
    request.scope = {}  # type: ignore[typeddict-item]  # no layer put its hand-over here: BlackSheep's own answer

    async def answer() -> Any:
        return await _handler(None)(Application(router=Router()), request, ValueError("no middleware"))

    response = asyncio.run(answer())
    assert response.status == 500
    assert BlackSheep().problem(ValueError(), django_app.asgi_app.catalog) is None


def test_quart_and_falcon_asgi_negotiate_and_keep_headers() -> None:
    from examples.frameworks import falcon_app, quart_app

    for app in (quart_app.app, falcon_app.asgi_app):
        xml = call(app, path="/conflict", headers={"Accept": "application/problem+xml"})
        assert (xml.status, xml.headers["content-type"]) == (409, "application/problem+xml")
        limited = call(app, path="/http-error")
        assert (limited.status, limited.headers["retry-after"]) == (429, "7")


def test_the_starlette_helper_takes_the_exception_map(bundled: Catalog) -> None:
    async def slow(request: Request) -> Response:
        raise TimeoutError

    exception_map: dict[type[BaseException], str] = {TimeoutError: "gateway-timeout"}
    cors = [Middleware(CORSMiddleware, allow_origins=["https://app.example"])]
    app = Starlette(
        routes=[Route("/t", slow)], middleware=cors, exception_handlers=starlette_exception_handlers(exception_map)
    )
    client = TestClient(ProblemMiddleware(app, catalog=bundled, exception_map=exception_map, integrate=False))
    response = client.get("/t", headers={"Origin": "https://app.example"})
    assert (response.status_code, response.json()["code"]) == (504, "gateway-timeout")
    assert response.headers["access-control-allow-origin"] == "https://app.example"  # the handler route, inside CORS


# -- validation items with a catalog whose roots declare no `errors` member

BARE_ROOTS = """\
problems:
  bad-request: {status: 400, title: Bad request}
  unprocessable: {status: 422, title: Unprocessable}
"""


@pytest.fixture
def bare(write: Any) -> Catalog:
    """A user's own catalog: its 400 and 422 roots declare no `errors` member."""
    return Catalog.load(write(HEADER + BARE_ROOTS))


def _items(problem: dict[str, Any]) -> set[tuple[str, str]]:
    return {(item["pointer"], item["detail"]) for item in problem["errors"]}


def test_drf_field_errors_go_out_as_errors_with_a_bare_400(bare: Catalog) -> None:
    from django.core.asgi import get_asgi_application

    body = b'{"name": "far too long a name", "profile": {"color": "pink"}}'
    app = ProblemMiddleware(get_asgi_application(), catalog=bare)
    exchange = call(app, method="POST", path="/drf/validate", headers=json_headers(body), body=body)
    problem = exchange.json()
    assert (exchange.status, problem["code"]) == (400, "bad-request")
    assert {pointer for pointer, _ in _items(problem)} == {"#/name", "#/profile/color"}


def test_litestar_validation_items_go_out_as_errors_with_a_bare_400(bare: Catalog) -> None:
    from litestar import Litestar

    from examples.frameworks.litestar_app import validate

    app = ProblemMiddleware(Litestar([validate]), catalog=bare)
    body = b'{"name": "x", "profile": {"color": 3}}'
    exchange = call(app, method="POST", path="/validate", headers=json_headers(body), body=body)
    problem = exchange.json()
    assert (exchange.status, problem["code"]) == (400, "bad-request")
    # msgspec's path (`profile.color`) as a JSON Pointer, one segment per level
    assert [item["pointer"] for item in problem["errors"]] == ["#/profile/color"]


def test_falcon_validation_items_go_out_as_errors_with_a_bare_400(bare: Catalog) -> None:
    import falcon

    from examples.frameworks.falcon_app import Validate

    falcon_app = falcon.App()
    falcon_app.add_route("/validate", Validate())
    body = b'{"name": "x", "profile": {"color": 3}}'
    served = serve(WSGIProblemMiddleware(falcon_app, catalog=bare), "POST", "/validate", json_headers(body), body)
    problem = served.json()
    assert (served.code, problem["code"]) == (400, "bad-request")
    assert [item["pointer"] for item in problem["errors"]] == ["#/profile/color"]


def test_fastapi_validation_items_go_out_as_errors_with_a_bare_422(bare: Catalog) -> None:
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/zones")
    async def zones(limit: int) -> dict[str, int]:
        return {"limit": limit}

    exchange = call(ProblemMiddleware(api, catalog=bare), path="/zones?limit=many")
    problem = exchange.json()
    assert (exchange.status, problem["code"]) == (422, "unprocessable")
    assert [(item["parameter"], item["in"]) for item in problem["errors"]] == [("limit", "query")]


@pytest.mark.parametrize(
    ("key", "pointer"),
    [("name", "#/name"), ("profile.color", "#/profile/color"), ("tags[1]", "#/tags/1"), ("$.a.b[0]", "#/a/b/0")],
)
def test_litestar_body_keys_are_msgspec_paths(key: str, pointer: str) -> None:
    from problemdetails._handovers.litestar import litestar_error_items

    (item,) = litestar_error_items([{"message": "bad", "key": key, "source": "body"}]) or []
    assert item.pointer == pointer


ASGI_EXAMPLES = ["starlette_app:app", "fastapi_app:app", "litestar_app:app", "quart_app:app", "falcon_app:asgi_app"]
ASGI_EXAMPLES += ["blacksheep_app:app", "django_app:asgi_app"]
WSGI_EXAMPLES = ["flask_app:app", "falcon_app:wsgi_app", "django_app:wsgi_app"]


def example(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(f"examples.frameworks.{module}"), attribute)


@pytest.mark.parametrize("path", ["/nope", "/conflict", "/crash", "/http-error", "/mapped"])
@pytest.mark.parametrize("target", ASGI_EXAMPLES + WSGI_EXAMPLES)
def test_head_never_has_a_body(target: str, path: str) -> None:
    """RFC 9110 §9.3.2, in-process where no server strips what a framework sends (Quart sent the problem)."""
    app = example(target)
    if target in WSGI_EXAMPLES:
        served = serve(app, "HEAD", path)
        status, headers, body = served.code, served.headers, served.body
    else:
        exchange = call(app, "HEAD", path)
        status, headers, body = exchange.status, exchange.headers, exchange.body
    assert status >= 400
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) > 0  # what GET would send
    assert body == b""


@pytest.mark.parametrize("interface", ["wsgi", "asgi"])
def test_a_hooks_problem_keeps_what_the_frameworks_cors_varies_on(bundled: Catalog, interface: str) -> None:
    """Flask's and Quart's `after_request` (a CORS layer) runs on the hook's problem: its `Vary: Origin` stays."""
    import quart

    framework: Any = flask.Flask(__name__) if interface == "wsgi" else quart.Quart(__name__)

    def conflict() -> None:
        raise bundled["conflict"]("taken")

    def cors(response: Any) -> Any:
        response.headers["Access-Control-Allow-Origin"] = "https://app.example"
        response.headers["Vary"] = "Origin"
        return response

    framework.add_url_rule("/conflict", view_func=conflict)
    framework.after_request(cors)

    if interface == "wsgi":
        served = serve(WSGIProblemMiddleware(framework, catalog=bundled), path="/conflict")
        status, headers = served.code, served.headers
    else:
        exchange = call(ProblemMiddleware(framework, catalog=bundled), path="/conflict")
        status, headers = exchange.status, exchange.headers
    assert (status, headers["content-type"]) == (409, "application/problem+json")
    assert (headers["access-control-allow-origin"], headers["vary"]) == (
        "https://app.example",
        "Accept, Accept-Language, Origin",
    )


def test_item_params_keep_what_json_can_say() -> None:
    """A rule's parameters as a client can read them: scalars kept, limits of other types as text, the rest dropped."""

    class Size(enum.Enum):
        SMALL = "s"

    sent = {
        "min_length": 3,
        "ge": 0.5,
        "strict": True,
        "pattern": "^a$",
        "max_digits": decimal.Decimal("1.50"),
        "le": datetime.date(2026, 12, 31),
        "expected": Size.SMALL,
        "error": ValueError("a validator's own words"),
        "huge": 2**64,
        "nan": math.nan,
        "choices": ["a", "b"],
    }
    assert item_params(sent) == {
        "min_length": 3,
        "ge": 0.5,
        "strict": True,
        "pattern": "^a$",
        "max_digits": "1.50",
        "le": "2026-12-31",
        "expected": "s",
    }
    assert item_params({"error": ValueError("x")}) is None  # no params at all rather than an empty object
