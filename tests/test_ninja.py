"""Django Ninja with `problemdetails.install(api, ...)`, in a Django project with the layer (`_handovers/ninja.py`).

Through Django's test client with `MIDDLEWARE = ["problemdetails.django.ProblemDetailsMiddleware", ...]`
(the example project's Ninja API, `examples/frameworks/django_app.py`, under `/ninja/`), and through
Ninja's own `TestClient`, which calls an API's operations with no Django middleware at all. The contract
under uvicorn and gunicorn is `tests/acceptance/test_frameworks.py`.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import Http404, HttpRequest
from django.test import Client, override_settings

import problemdetails
from examples.frameworks import django_app
from examples.frameworks.common import CATALOG, EXCEPTION_MAP, SECRET
from tests.conftest import Answer, problem, served_records

from ninja import NinjaAPI, Schema  # isort: skip  (after the example project configured Django)
from ninja.errors import HttpError  # isort: skip
from ninja.testing import TestClient  # isort: skip

LAYER = "problemdetails.django.ProblemDetailsMiddleware"
SETTING = {"CATALOG": CATALOG, "EXCEPTION_MAP": EXCEPTION_MAP}
NAMESPACES = (f"ninja_test_{n}" for n in itertools.count())


@pytest.fixture
def project() -> Iterator[Client]:
    """Django's test client on the example project, its layer in `MIDDLEWARE` (no wrapper)."""
    with override_settings(
        ROOT_URLCONF=django_app.__name__, MIDDLEWARE=[LAYER, f"{django_app.__name__}.Gateway"], PROBLEMDETAILS=SETTING
    ):
        yield Client(raise_request_exception=False)


def get(client: Client, path: str, **headers: str) -> Answer:
    response = client.get(path, headers=headers)
    return Answer(response.status_code, {k.lower(): v for k, v in response.items()}, response.content)


def test_a_raised_problem_through_djangos_test_client(project: Client) -> None:
    body = problem(get(project, "/ninja/conflict", X_Request_ID="req-ninja-1"), 409, "conflict")
    assert (body["request_id"], body["instance"], body["conflicts"]) == ("req-ninja-1", "/ninja/conflict", ["a1"])


def test_validation_items_point_into_the_body_sent(project: Client) -> None:
    sent = json.dumps({"name": 5, "profile": {"color": 1}})
    response = project.post("/ninja/validate", sent, content_type="application/json")
    answer = Answer(response.status_code, {k.lower(): v for k, v in response.items()}, response.content)
    body = problem(answer, 422, "unprocessable")
    # Not `#/account/name`: `account` is the view's parameter, not a member of the body.
    assert [(item["pointer"], item["code"]) for item in body["errors"]] == [
        ("#/name", "string_type"),
        ("#/profile/color", "literal_error"),
    ]


def test_ninjas_auth_and_throttling_keep_their_headers(project: Client) -> None:
    denied = get(project, "/ninja/private")
    problem(denied, 401, "unauthorized")
    assert denied.headers["www-authenticate"] == "Bearer"
    throttled = get(project, "/ninja/http-error")
    problem(throttled, 429, "rate-limited")
    assert throttled.headers["retry-after"] == "7"


def test_a_crash_is_the_500_problem_logged_once(project: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    answer = get(project, "/ninja/crash")
    body = problem(answer, 500, "internal")
    assert SECRET.encode() not in answer.content
    errors = [record for record in served_records(caplog) if record.levelno >= logging.ERROR]
    (record,) = errors  # not also `django.request`'s
    assert (record.name, record.request_id) == ("problemdetails", body["request_id"])  # type: ignore[attr-defined]


class Item(Schema):
    qty: int


def api_with_routes(**options: Any) -> NinjaAPI:
    """A Ninja API of its own (a namespace of its own), installed."""
    api = NinjaAPI(urls_namespace=next(NAMESPACES))

    @api.get("/conflict")
    def conflict(request: HttpRequest) -> None:
        raise CATALOG["conflict"]("Zone example.com already exists.", conflicts=["a1"])

    @api.get("/missing")
    def missing(request: HttpRequest) -> None:
        raise Http404("no zone 7")

    @api.get("/teapot")
    def teapot(request: HttpRequest) -> None:
        raise HttpError(418, "Short and stout.")

    @api.post("/order")
    def order(request: HttpRequest, item: Item) -> dict[str, int]:
        return {"qty": item.qty}

    @api.post("/pair")
    def pair(request: HttpRequest, first: Item, second: Item) -> dict[str, int]:
        return {"qty": first.qty + second.qty}

    assert problemdetails.install(api, catalog=CATALOG, **options) is api
    return api


def call(api: NinjaAPI, method: str, path: str, body: Any = None) -> Answer:
    """Ninja's own test client: the operation called with no Django middleware around it."""
    response = TestClient(api).request(method, path, json=body)
    headers = {k.lower(): v for k, v in response._response.items()}
    return Answer(response.status_code, headers, response.content)


def test_without_the_django_layer_the_api_answers_with_installs_options() -> None:
    api = api_with_routes(instance=None)
    body = problem(call(api, "GET", "/conflict"), 409, "conflict")
    assert "instance" not in body  # the option given to `install`
    assert body["request_id"]
    teapot = call(api, "GET", "/teapot")
    assert (teapot.status_code, teapot.json()["detail"]) == (418, "Short and stout.")  # no slug: `about:blank`
    assert teapot.headers["x-request-id"] == teapot.json()["request_id"]


def test_ninjas_own_errors_become_their_problems() -> None:
    api = api_with_routes()
    assert "detail" not in problem(call(api, "GET", "/missing"), 404, "not-found")  # Django's message: the developer's
    body = problem(call(api, "POST", "/order", {"qty": "many"}), 422, "unprocessable")
    assert [item["pointer"] for item in body["errors"]] == ["#/qty"]
    # Two body parameters: the body is `{"first": ..., "second": ...}`, and the pointers say so.
    body = problem(call(api, "POST", "/pair", {"first": {"qty": 1}, "second": {"qty": "x"}}), 422, "unprocessable")
    assert [item["pointer"] for item in body["errors"]] == ["#/second/qty"]


def test_a_handler_the_app_registered_stays_its_own() -> None:
    api = NinjaAPI(urls_namespace=next(NAMESPACES))

    @api.exception_handler(HttpError)
    def own(request: HttpRequest, exc: HttpError) -> Any:
        return api.create_response(request, {"message": exc.message}, status=exc.status_code)

    @api.get("/teapot")
    def teapot(request: HttpRequest) -> None:
        raise HttpError(418, "Short and stout.")

    problemdetails.install(api, catalog=CATALOG)
    answer = call(api, "GET", "/teapot")
    assert (answer.status_code, answer.json()) == (418, {"message": "Short and stout."})


def test_installing_twice_is_refused() -> None:
    api = api_with_routes()
    with pytest.raises(RuntimeError, match="installed in this NinjaAPI already"):
        problemdetails.install(api, catalog=CATALOG)


def test_the_doc_site_option_is_the_django_layers() -> None:
    with pytest.raises(TypeError, match="DOCS_PATH"):
        problemdetails.install(NinjaAPI(urls_namespace=next(NAMESPACES)), catalog=CATALOG, docs_path="/errors/")
