"""Real FastAPI and Litestar apps wrapped by ProblemMiddleware."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi import HTTPException as FastAPIHTTPException
from litestar import Litestar, get
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery
from pydantic import BaseModel
from starlette.testclient import TestClient

from problemdetails import Catalog, ProblemMiddleware, litestar_exception_handlers, starlette_exception_handlers
from tests.asgi import call

CATALOG = Catalog.load("catalog")


class Profile(BaseModel):
    color: str


class Details(BaseModel):
    age: int
    profile: Profile


async def post_details(item_id: int, details: Details, limit: int = 10) -> dict[str, Any]:
    return {"ok": True}


async def get_zone(zone_id: str) -> dict[str, Any]:
    if zone_id == "quota":
        raise CATALOG["quota-exceeded"](limit=5, current=5, resource="zones")
    raise FastAPIHTTPException(404, detail=f"Zone {zone_id} not found.")


async def get_secret() -> dict[str, Any]:
    raise FastAPIHTTPException(401, headers={"WWW-Authenticate": 'Bearer realm="zones"'})


async def get_crash() -> dict[str, Any]:
    raise RuntimeError("password=hunter2")


def fastapi_app(**options: Any) -> FastAPI:
    app = FastAPI(**options)
    app.post("/details/{item_id}")(post_details)
    app.get("/zones/{zone_id}")(get_zone)
    app.get("/secret")(get_secret)
    app.get("/crash")(get_crash)
    return app


FASTAPI = ProblemMiddleware(fastapi_app(), catalog=CATALOG)
# The same app whose own handlers answer with the middleware's problems (no rendered page to replace).
FASTAPI_HANDLED = ProblemMiddleware(fastapi_app(exception_handlers=starlette_exception_handlers()), catalog=CATALOG)
BOTH = pytest.mark.parametrize("app", [FASTAPI, FASTAPI_HANDLED], ids=["from-outside", "with-handlers"])


@BOTH
def test_fastapi_validation_errors_become_unprocessable_with_pointers(app: ProblemMiddleware) -> None:
    exchange = call(
        app,
        "POST",
        "/details/x?limit=abc",
        headers={"content-type": "application/json"},
        body=b'{"age": 42.3, "profile": {"color": 5}}',
    )
    assert exchange.status == 422
    body = exchange.json()
    assert body["code"] == "unprocessable"
    assert body["errors"] == [
        {
            "detail": "Input should be a valid integer, unable to parse string as an integer",
            "parameter": "item_id",
            "in": "path",
            "code": "int_parsing",
        },
        {
            "detail": "Input should be a valid integer, unable to parse string as an integer",
            "parameter": "limit",
            "in": "query",
            "code": "int_parsing",
        },
        {
            "detail": "Input should be a valid integer, got a number with a fractional part",
            "pointer": "#/age",
            "code": "int_from_float",
        },
        {"detail": "Input should be a valid string", "pointer": "#/profile/color", "code": "string_type"},
    ]


@BOTH
def test_a_body_that_is_no_json_is_the_400_problem_without_pointers(app: ProblemMiddleware) -> None:
    exchange = call(app, "POST", "/details/1", headers={"content-type": "application/json"}, body=b'{"age": ')
    assert exchange.status == 400
    body = exchange.json()
    assert body["code"] == "bad-request"
    assert body["detail"] == "The request body is not valid JSON: Expecting value at character 8."
    assert "errors" not in body


@BOTH
@pytest.mark.parametrize(
    ("method", "path", "status", "code", "detail"),
    [
        ("GET", "/zones/z1", 404, "not-found", "Zone z1 not found."),
        ("GET", "/zones/quota", 402, "quota-exceeded", "5 of 5 zones used"),
        ("GET", "/nowhere", 404, "not-found", None),
        ("DELETE", "/zones/z1", 405, "method-not-allowed", None),
        ("GET", "/secret", 401, "unauthorized", None),
        ("GET", "/crash", 500, "internal", None),
    ],
)
def test_fastapi_errors(
    app: ProblemMiddleware, method: str, path: str, status: int, code: str, detail: str | None
) -> None:
    exchange = call(app, method, path)
    assert (exchange.status, exchange.headers["content-type"]) == (status, "application/problem+json")
    body = exchange.json()
    assert (body["code"], body.get("detail")) == (code, detail)
    assert b"hunter2" not in exchange.body
    if status == 401:
        assert exchange.headers["www-authenticate"] == 'Bearer realm="zones"'
    if status == 405:
        assert exchange.headers["allow"] == "GET"


@get("/auth")
async def litestar_auth() -> dict[str, Any]:
    raise NotAuthorizedException()


@get("/conflict")
async def litestar_conflict() -> dict[str, Any]:
    raise CATALOG["conflict"]("exists", conflicts=["a1"])


@get("/items")
async def litestar_items(limit: FromQuery[int]) -> dict[str, Any]:
    return {"limit": limit}


@get("/crash")
async def litestar_crash() -> dict[str, Any]:
    raise RuntimeError("password=hunter2")


HANDLERS = [litestar_auth, litestar_conflict, litestar_items, litestar_crash]


@pytest.mark.parametrize("handlers", [False, True], ids=["from-outside", "with-handlers"])
@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nope", 404, "not-found"),
        ("POST", "/auth", 405, "method-not-allowed"),
        ("GET", "/auth", 401, "unauthorized"),
        ("GET", "/crash", 500, "internal"),
        ("GET", "/items?limit=x", 400, "bad-request"),
    ],
)
def test_litestar_errors(handlers: bool, method: str, path: str, status: int, code: str) -> None:
    app = ProblemMiddleware(
        Litestar(HANDLERS, exception_handlers=litestar_exception_handlers() if handlers else None), catalog=CATALOG
    )
    exchange = call(app, method, path)
    assert (exchange.status, exchange.json()["code"]) == (status, code)
    assert b"hunter2" not in exchange.body
    if status == 400:
        assert exchange.json()["errors"][0]["parameter"] == "limit"
        assert exchange.json()["errors"][0]["in"] == "query"
    if status == 405:
        assert set(exchange.headers["allow"].split(", ")) == {"GET", "OPTIONS"}


def test_litestar_raised_problem_is_handed_over_by_default_or_by_the_helper() -> None:
    # Litestar answers every exception itself: without a hand-over a raised
    # problem arrives as its 500 page; the middleware installs one, or the helper does.
    plain = ProblemMiddleware(Litestar(HANDLERS), catalog=CATALOG, integrate=False)
    assert call(plain, path="/conflict").status == 500
    for wired in (
        ProblemMiddleware(Litestar(HANDLERS), catalog=CATALOG),
        ProblemMiddleware(
            Litestar(HANDLERS, exception_handlers=litestar_exception_handlers()), catalog=CATALOG, integrate=False
        ),
    ):
        exchange = call(wired, path="/conflict")
        assert (exchange.status, exchange.json()["conflicts"]) == (409, ["a1"])


def test_405_allow_lists_every_route_at_the_path(bundled: Catalog) -> None:
    """FastAPI declares a route per method; Starlette's own 405 names only the first (RFC 9110 §15.5.6: all)."""
    api = FastAPI()

    @api.get("/zones/{zone_id}")
    async def get_zone(zone_id: str) -> dict[str, str]:
        return {"id": zone_id}

    @api.delete("/zones/{zone_id}")
    async def delete_zone(zone_id: str) -> dict[str, str]:
        return {"id": zone_id}

    response = TestClient(ProblemMiddleware(api, catalog=bundled)).post("/zones/z1")
    assert (response.status_code, response.json()["code"]) == (405, "method-not-allowed")
    assert response.headers["allow"] == "DELETE, GET"  # FastAPI's GET routes do not add HEAD
