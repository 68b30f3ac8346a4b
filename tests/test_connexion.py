"""Connexion 3 with `problemdetails.install(app, ...)` (`_handovers/connexion.py`), through its own test client.

Connexion's `app.test_client()` (Starlette's, over the app's whole ASGI stack) for its AsyncApp and its
FlaskApp, each from a small OpenAPI document of this module's. The contract under uvicorn is
`tests/acceptance/test_frameworks.py` (`examples/frameworks/connexion_app.py`).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from connexion import AsyncApp, FlaskApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse

import problemdetails
from examples.frameworks.common import CATALOG, SECRET
from tests.conftest import problem, served_records

ME = __name__
ITEM = {
    "type": "object",
    "required": ["qty", "zone"],
    "properties": {"qty": {"type": "integer", "minimum": 1}, "zone": {"type": "string"}},
}
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Zones", "version": "1"},
    "paths": {
        "/conflict": {"get": {"operationId": f"{ME}.conflict", "responses": {"409": {"description": "taken"}}}},
        "/crash": {"get": {"operationId": f"{ME}.crash", "responses": {"500": {"description": "crash"}}}},
        "/denied": {"get": {"operationId": f"{ME}.denied", "responses": {"401": {"description": "denied"}}}},
        "/teapot": {"get": {"operationId": f"{ME}.teapot", "responses": {"418": {"description": "teapot"}}}},
        "/orders": {
            "post": {
                "operationId": f"{ME}.order",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "X-Tenant", "in": "header", "required": True, "schema": {"type": "string"}},
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ITEM}}},
                "responses": {"200": {"description": "ordered"}},
            }
        },
    },
}


class Teapot(Exception):
    """Answered by an error handler of the app's own."""


def conflict() -> None:
    raise CATALOG["conflict"]("Zone example.com already exists.", conflicts=["a1"])


def crash() -> None:
    raise RuntimeError(SECRET)


def denied() -> None:
    raise ProblemException(
        status=401, title="Unauthorized", detail="Sign in first.", headers={"WWW-Authenticate": 'Bearer realm="zones"'}
    )


def teapot() -> None:
    raise Teapot()


def order(body: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    return body


def own_teapot(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    return ConnexionResponse(status_code=418, mimetype="text/plain", body=b"Short and stout.")


def built(kind: type[AsyncApp] | type[FlaskApp], **options: Any) -> Any:
    app = kind(ME)
    app.add_api(SPEC)
    app.add_error_handler(Teapot, own_teapot)
    assert problemdetails.install(app, catalog=CATALOG, **options) is app
    return app


@pytest.fixture(params=[AsyncApp, FlaskApp], ids=["async", "flask"])
def client(request: pytest.FixtureRequest) -> Any:
    return built(request.param).test_client()


def test_a_raised_problem_through_connexions_test_client(client: Any) -> None:
    body = problem(client.get("/conflict", headers={"X-Request-ID": "req-connexion-1"}), 409, "conflict")
    assert (body["request_id"], body["conflicts"], body["instance"]) == ("req-connexion-1", ["a1"], "/conflict")


def test_a_crash_is_the_500_problem_logged_once(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = client.get("/crash")
    body = problem(response, 500, "internal")
    assert SECRET.encode() not in response.content
    errors = [record for record in served_records(caplog) if record.levelno >= logging.ERROR]
    (record,) = errors  # not also Connexion's `common_error_handler` record
    assert (record.name, record.request_id) == ("problemdetails", body["request_id"])  # type: ignore[attr-defined]


def test_the_request_validation_is_errors_items(client: Any) -> None:
    body = problem(client.post("/orders?limit=many", json={"qty": 0}, headers={"X-Tenant": "acme"}), 400, "bad-request")
    assert body["errors"] == [{"detail": "'many' is not of type 'integer'", "parameter": "limit", "in": "query"}]
    body = problem(client.post("/orders", json={"qty": 0}, headers={"X-Tenant": "acme"}), 400, "bad-request")
    # Every failure of the body, each pointing at its member (a missing one too, not at its parent).
    assert {(item["pointer"], item["code"]) for item in body["errors"]} == {
        ("#/qty", "minimum"),
        ("#/zone", "required"),
    }
    missing = problem(client.post("/orders", json={"qty": 1, "zone": "z1"}), 400, "bad-request")
    assert missing["errors"][0]["parameter"] == "X-Tenant"


def test_connexions_problems_keep_their_headers_and_a_4xxs_detail(client: Any) -> None:
    response = client.get("/denied")
    assert problem(response, 401, "unauthorized")["detail"] == "Sign in first."
    assert response.headers["www-authenticate"] == 'Bearer realm="zones"'


def test_the_router_404_and_405(client: Any) -> None:
    assert "detail" not in problem(client.get("/nope"), 404, "not-found")
    response = client.put("/conflict")
    problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


def test_an_error_handler_the_app_registered_stays_its_own(client: Any) -> None:
    response = client.get("/teapot")
    # Its answer (an error status) is replaced like any error page, its message kept.
    assert (response.status_code, response.json()["detail"]) == (418, "Short and stout.")


def test_installing_twice_or_into_a_started_app_is_refused() -> None:
    app = built(AsyncApp)
    with pytest.raises(RuntimeError, match="installed in this AsyncApp already"):
        problemdetails.install(app, catalog=CATALOG)
    started = AsyncApp(ME)
    started.add_api(SPEC)
    started.test_client().get("/conflict")
    with pytest.raises(RuntimeError, match="before the AsyncApp starts"):
        problemdetails.install(started, catalog=CATALOG)


def test_a_validator_the_app_chose_stays_its_own() -> None:
    from connexion.validators import JSONRequestBodyValidator

    class Lenient(JSONRequestBodyValidator):  # type: ignore[misc]
        def _validate(self, body: Any) -> Any:
            return body

    app = AsyncApp(ME, validator_map={"body": {"*/*json": Lenient}})
    app.add_api(SPEC)
    problemdetails.install(app, catalog=CATALOG)
    response = app.test_client().post("/orders", json={"qty": 0}, headers={"X-Tenant": "acme"})
    assert response.status_code == 200


def test_options_reach_the_layer() -> None:
    client = built(AsyncApp, instance=None, docs_path="/errors/").test_client()
    assert "instance" not in problem(client.get("/conflict"), 409, "conflict")
    page = client.get("/errors/conflict/")
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    french = client.get("/errors/conflict/", headers={"Accept-Language": "fr"}, follow_redirects=False)
    assert (french.status_code, french.headers["location"]) == (302, "../fr/conflict/")  # the language asked for
