"""Wire profiles: legacy shapes for legacy clients, RFC 9457 for clients that ask, read back by the client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from problemdetails import (
    Catalog,
    DetailProfile,
    EnvelopeProfile,
    ErrorItem,
    Problem,
    ProblemMiddleware,
    WireProfile,
)
from problemdetails.client import decode
from tests.asgi import call
from tests.test_properties import JSON_VALUES, PROPERTY

ENVELOPE = EnvelopeProfile()
DETAIL = DetailProfile()


def raising(problem: Exception) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise problem

    return app


def test_envelope_for_legacy_clients_rfc9457_for_those_who_ask(bundled: Catalog) -> None:
    quota = bundled["quota-exceeded"](limit=500, current=500, resource="queries")
    app = ProblemMiddleware(raising(quota), catalog=bundled, profile=ENVELOPE)
    for accept in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        legacy = call(app, headers={**accept, "X-Request-ID": "req_a1b2c3d4"})
        assert (legacy.status, legacy.headers["content-type"]) == (402, "application/json")
        assert legacy.json() == {
            "code": "QUOTA_EXCEEDED",
            "message": "500 of 500 queries used",
            "details": {"limit": 500, "current": 500, "resource": "queries"},
            "request_id": "req_a1b2c3d4",
        }
        assert legacy.headers["x-request-id"] == "req_a1b2c3d4"
    modern = call(app, headers={"Accept": "application/problem+json", "X-Request-ID": "r1"})
    assert modern.headers["content-type"] == "application/problem+json"
    assert modern.json()["code"] == "quota-exceeded"
    assert modern.json()["request_id"] == "r1"
    both = call(app, headers={"Accept": "application/json, application/problem+json;q=0.5"})
    assert both.headers["content-type"] == "application/problem+json"
    refused = call(app, headers={"Accept": "application/problem+json;q=0, application/json"})
    assert refused.headers["content-type"] == "application/json"
    xml = call(app, headers={"Accept": "application/problem+xml"})
    assert xml.headers["content-type"] == "application/problem+xml"
    page = call(app, headers={"Accept": "text/html"})
    assert page.headers["content-type"] == "text/html; charset=utf-8"


def test_profile_responses_keep_the_protocol_headers(bundled: Catalog) -> None:
    limited = bundled["rate-limited"](retry_after=12)
    response = call(ProblemMiddleware(raising(limited), catalog=bundled, profile=ENVELOPE))
    assert response.headers["retry-after"] == "12"
    assert response.json() == {
        "code": "RATE_LIMITED",
        "message": "Rate limit exceeded; retry after 12 seconds.",
        "details": {"retry_after": 12},
        "request_id": response.headers["x-request-id"],
    }
    unauthorized = call(ProblemMiddleware(raising(bundled["unauthorized"]()), catalog=bundled, profile=ENVELOPE))
    assert unauthorized.headers["www-authenticate"] == "Bearer"
    assert unauthorized.json()["code"] == "UNAUTHORIZED"
    crash = call(ProblemMiddleware(raising(RuntimeError("secret path /etc/x")), catalog=bundled, profile=ENVELOPE))
    assert crash.json()["code"] == "INTERNAL"
    assert "secret" not in crash.body.decode()


def test_envelope_code_function_and_uncatalogued_problems(bundled: Catalog) -> None:
    profile = EnvelopeProfile(code=lambda slug: f"E_{slug}")
    assert profile.render(bundled["gone"]("deleted")) == {"code": "E_gone", "message": "deleted"}
    assert ENVELOPE.render(Problem(status=418)) == {"code": "418", "message": "I'm a teapot"}
    decoded = decode(410, {"content-type": "application/json"}, b'{"code":"E_gone"}', catalog=bundled, profile=profile)
    assert type(decoded) is bundled["gone"]


class Profile(BaseModel):
    color: str


class Body(BaseModel):
    profile: Profile


def test_detail_profile_string_object_and_fastapi_array(bundled: Catalog, write: Any) -> None:
    catalog = Catalog.load(
        write(
            """\
catalog: {name: ScaiDNS, base_uri: "https://docs.scaidns.example/errors/"}
problems:
  not-found: {status: 404, title: Not found}
  record-conflict:
    status: 409
    title: Record conflict
    members: {field: str, conflicts: "list[str]"}
  unprocessable: {status: 422, title: Unprocessable, members: {errors: "list[error]"}}
"""
        )
    )
    api = FastAPI()

    @api.post("/zones/{zone}")
    async def create(zone: int, body: Body, limit: int = 10) -> dict[str, str]:
        if zone == 1:
            raise catalog["not-found"]("Zone not found")
        raise catalog["record-conflict"]("Cannot create A record: CNAME exists at www", field="name", conflicts=["r1"])

    profiled = ProblemMiddleware(api, catalog=catalog, profile=DETAIL)

    def post(path: str, body: bytes, accept: str = "*/*") -> Any:
        headers = {"Content-Type": "application/json", "Accept": accept}
        return call(profiled, "POST", path, headers=headers, body=body)

    body = json.dumps({"profile": {"color": "red"}}).encode()
    assert post("/zones/1", body).json() == {"detail": "Zone not found"}
    assert post("/zones/2", body).json() == {
        "detail": {"message": "Cannot create A record: CNAME exists at www", "field": "name", "conflicts": ["r1"]}
    }
    invalid = post("/zones/x?limit=y", b'{"profile": {}}')
    assert invalid.status == 422
    items = invalid.json()["detail"]
    assert {(*item["loc"], item["type"]) for item in items} == {
        ("path", "zone", "int_parsing"),
        ("query", "limit", "int_parsing"),
        ("body", "profile", "color", "missing"),
    }
    # The client reads each shape back into the catalog's classes.
    for path, status in (("/zones/1", 404), ("/zones/2", 409)):
        response = post(path, body)
        problem = decode(status, response.headers, response.body, catalog=catalog, profile=DETAIL)
        assert problem.code == ("not-found" if status == 404 else "record-conflict")
    conflict = decode(
        409,
        {"content-type": "application/json"},
        post("/zones/2", body).body,
        catalog=catalog,
        profile=DETAIL,
    )
    assert (conflict.detail, conflict.members) == (
        "Cannot create A record: CNAME exists at www",
        {"field": "name", "conflicts": ["r1"]},
    )
    validation = decode(422, invalid.headers, invalid.body, catalog=catalog, profile=DETAIL)
    assert type(validation) is catalog["unprocessable"]
    assert {(item.pointer, item.parameter, item.in_) for item in validation.members["errors"]} == {
        (None, "zone", "path"),
        (None, "limit", "query"),
        ("#/profile/color", None, None),
    }
    modern = post("/zones/1", body, accept="application/problem+json")
    assert modern.json()["code"] == "not-found"


def test_fastapis_array_reads_pydantics_ctx_as_params(bundled: Catalog) -> None:
    """A FastAPI service's own 422 says a rule's parameters in `ctx`: decoding keeps them as `params`."""
    item = ErrorItem(detail="Too short", pointer="#/name", code="string_too_short", params={"min_length": 3})
    problem = bundled["unprocessable"](errors=[item])
    response = call(ProblemMiddleware(raising(problem), catalog=bundled, profile=DETAIL))
    # Written as the example APIs document FastAPI's array: without `ctx`.
    assert response.json() == {"detail": [{"loc": ["body", "name"], "msg": "Too short", "type": "string_too_short"}]}
    # pydantic's `ctx` may hold what JSON cannot say as a parameter (a validator's exception, as FastAPI encodes it).
    ctx = {"min_length": 3, "error": {}}
    sent = {"detail": [{"loc": ["body", "name"], "msg": "Too short", "type": "string_too_short", "ctx": ctx}]}
    decoded = decode(
        422, {"content-type": "application/json"}, json.dumps(sent).encode(), catalog=bundled, profile=DETAIL
    )
    assert decoded.members["errors"] == [item]


def without_codes(members: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's items always carry a `type`: an item without a code comes back with FastAPI's `value_error`."""
    errors = members.get("errors")
    if not errors:
        return members
    return {**members, "errors": [msgspec.structs.replace(item, code=None) for item in errors]}


@pytest.mark.parametrize("profile", [ENVELOPE, DETAIL], ids=["envelope", "detail"])
def test_every_bundled_example_round_trips_through_the_profile(bundled: Catalog, profile: WireProfile) -> None:
    for slug in bundled:
        for example in bundled[slug].examples():
            example = example._occurrence(instance=None, request_id="req-1")
            body = profile.encode(example)
            decoded = decode(
                example.status, {"content-type": "application/json"}, body, catalog=bundled, profile=profile
            )
            assert type(decoded) is type(example), slug
            assert without_codes(decoded.members) == without_codes(example.members), slug
            if not (profile is DETAIL and "errors" in example.members):  # FastAPI's array has no message
                assert decoded.detail == example.detail, slug


def test_without_a_profile_nothing_changes(bundled: Catalog) -> None:
    response = call(ProblemMiddleware(raising(bundled["gone"]()), catalog=bundled))
    assert response.headers["content-type"] == "application/problem+json"
    legacy = decode(410, {"content-type": "application/json"}, b'{"code":"GONE","message":"x"}', catalog=bundled)
    assert (type(legacy), legacy.status, legacy.code) == (Problem, 410, "GONE")  # read as problem+json


@PROPERTY
@given(document=JSON_VALUES, status=st.integers(400, 599))
def test_profiles_read_any_json_without_crashing(bundled: Catalog, document: Any, status: int) -> None:
    body = json.dumps(document).encode()
    for profile in (ENVELOPE, DETAIL):
        problem = decode(status, {"content-type": "application/json"}, body, catalog=bundled, profile=profile)
        assert problem.status == status


def test_a_custom_profile_is_a_few_lines(bundled: Catalog) -> None:
    class Errors(WireProfile):
        """`{"error": {"code": ..., "msg": ...}}`."""

        def render(self, problem: Problem) -> Any:
            return {"error": {"code": problem.code, "msg": problem.detail}}

        def read(self, status: int, document: Any, catalog: Catalog | None) -> dict[str, Any] | None:
            error = document.get("error") if isinstance(document, dict) else None
            return {"code": error.get("code"), "detail": error.get("msg")} if isinstance(error, dict) else None

    app = ProblemMiddleware(raising(bundled["gone"]("deleted")), catalog=bundled, profile=Errors())
    response = call(app)
    assert response.json() == {"error": {"code": "gone", "msg": "deleted"}}
    problem = decode(
        httpx.Response(410, headers=response.headers, content=response.body), catalog=bundled, profile=Errors()
    )
    assert (type(problem), problem.detail) == (bundled["gone"], "deleted")
