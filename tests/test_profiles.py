"""Wire profiles: legacy shapes for legacy clients, RFC 9457 for clients that ask, read back by the client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import pytest
from fastapi import FastAPI
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from problemdetails import (
    Catalog,
    DetailProfile,
    EnvelopeProfile,
    ErrorItem,
    GoogleProfile,
    Problem,
    ProblemMiddleware,
    WireProfile,
)
from problemdetails.client import RetryPolicy, decode
from tests.asgi import call
from tests.test_grpc_client import status_of
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


@pytest.mark.parametrize("profile", [ENVELOPE, DETAIL, GoogleProfile()], ids=["envelope", "detail", "google"])
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
    for profile in (ENVELOPE, DETAIL, GoogleProfile()):
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


# -- Google's JSON error (AIP-193) -----------------------------------------------------------------

GOOGLE = GoogleProfile()


def test_google_shape_for_legacy_clients_rfc9457_for_those_who_ask(bundled: Catalog) -> None:
    limited = bundled["rate-limited"](retry_after=12)
    app = ProblemMiddleware(raising(limited), catalog=bundled, profile=GOOGLE)
    legacy = call(app, headers={"X-Request-ID": "req_a1b2c3d4"})
    assert (legacy.status, legacy.headers["content-type"], legacy.headers["retry-after"]) == (
        429,
        "application/json",
        "12",
    )
    assert legacy.json() == {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded; retry after 12 seconds.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMITED",
                    "domain": "errors.example.com",
                    "metadata": {"retry_after": "12"},
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [{"description": "Too many requests", "url": "https://errors.example.com/rate-limited"}],
                },
                {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": "req_a1b2c3d4"},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"},
            ],
        }
    }
    modern = call(app, headers={"Accept": "application/problem+json"})
    assert (modern.headers["content-type"], modern.json()["code"]) == ("application/problem+json", "rate-limited")
    # The client reads it back, typed, and retries as the catalog says.
    problem = decode(httpx.Response(429, headers=legacy.headers, content=legacy.body), catalog=bundled, profile=GOOGLE)
    assert (type(problem), problem.members, problem.request_id) == (
        bundled["rate-limited"],
        {"retry_after": 12},
        "req_a1b2c3d4",
    )
    assert RetryPolicy().delay(problem, 1) == 12.0


def test_google_details_are_the_status_grpc_sends(bundled: Catalog) -> None:
    """The JSON details are proto3's JSON of the `google.rpc.Status` details DESIGN.md pins for gRPC."""
    for slug in bundled:
        for example in bundled[slug].examples():
            example = example._occurrence(instance=None, request_id="req-1")
            error = GOOGLE.render(example)["error"]
            parsed = json_format.ParseDict({"details": error["details"]}, status_pb2.Status())
            expected = status_of(example, bundled)
            assert list(parsed.details) == list(expected.details), slug
            assert (error["message"], error["status"], error["code"]) == (
                expected.message,
                bundled.grpc_code(slug),
                example.status,
            )
            # and the other way: a gRPC Status's details in proto3's JSON read back as the problem
            document = {"error": {"message": expected.message, **json_format.MessageToDict(expected)}}
            decoded = decode(
                example.status,
                {"content-type": "application/json"},
                json.dumps(document),
                catalog=bundled,
                profile=GOOGLE,
            )
            assert decoded == example, slug


def test_google_profile_reads_bad_request_and_other_domains(bundled: Catalog) -> None:
    violations = [{"field": "zones[0].name", "description": "too long", "reason": "TOO_LONG"}]
    document: dict[str, Any] = {
        "error": {
            "code": 422,
            "message": "The zone is invalid.",
            "status": "FAILED_PRECONDITION",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "UNPROCESSABLE",
                    "domain": "errors.example.com",
                },
                {"@type": "type.googleapis.com/google.rpc.BadRequest", "field_violations": violations},
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "fr", "message": "?"},
                "not a detail",
            ],
        }
    }
    problem = decode(422, {"content-type": "application/json"}, json.dumps(document), catalog=bundled, profile=GOOGLE)
    assert type(problem) is bundled["unprocessable"]
    assert problem.members["errors"] == [ErrorItem(detail="too long", pointer="#/zones/0/name", code="TOO_LONG")]
    document["error"]["details"][0]["domain"] = "library.example.org"  # another domain's reason: not the catalog's
    foreign = decode(422, {"content-type": "application/json"}, json.dumps(document), catalog=bundled, profile=GOOGLE)
    assert (type(foreign), foreign.status, foreign.code, foreign.detail) == (
        Problem,
        422,
        "UNPROCESSABLE",
        "The zone is invalid.",
    )
    bare = {"error": {"code": 404, "message": "Book 42 not found", "status": "NOT_FOUND"}}
    problem = decode(404, {"content-type": "application/json"}, json.dumps(bare), catalog=bundled, profile=GOOGLE)
    assert (type(problem), problem.detail) == (bundled["not-found"], "Book 42 not found")  # the status says which


def test_google_profile_domain_is_the_one_given(bundled: Catalog) -> None:
    profile = GoogleProfile(domain="zones.example.net")
    rendered = profile.render(bundled["gone"]("deleted"))
    assert rendered["error"]["details"][0]["domain"] == "zones.example.net"

    def decoded(document: Any, profile: WireProfile) -> Problem:
        return decode(410, {"content-type": "application/json"}, json.dumps(document), catalog=bundled, profile=profile)

    assert type(decoded(rendered, profile)) is bundled["gone"]
    del rendered["error"]["details"][1]  # the Help link, whose url is the catalog's type URI
    assert type(decoded(rendered, profile)) is bundled["gone"]
    assert (type(decoded(rendered, GOOGLE)), decoded(rendered, GOOGLE).code) == (Problem, "GONE")  # another domain
    # An uncatalogued problem has no reason to give: its status and message alone.
    assert GOOGLE.render(Problem(status=418)) == {
        "error": {"code": 418, "message": "I'm a teapot", "status": "FAILED_PRECONDITION", "details": []}
    }


GOOGLE_DETAILS = st.lists(
    st.fixed_dictionaries(
        {
            "@type": st.sampled_from(
                [
                    f"type.googleapis.com/google.rpc.{kind}"
                    for kind in ("ErrorInfo", "Help", "RequestInfo", "RetryInfo", "BadRequest")
                ]
            )
        },
        optional={
            "reason": st.sampled_from(["NOT_FOUND", "UNPROCESSABLE", "QUOTA_EXCEEDED", ""]) | JSON_VALUES,
            "domain": st.just("errors.example.com") | JSON_VALUES,
            "metadata": st.dictionaries(
                st.sampled_from(["limit", "current", "errors", "x"]), st.text(max_size=12) | JSON_VALUES
            ),
            "links": JSON_VALUES | st.lists(st.dictionaries(st.sampled_from(["description", "url"]), JSON_VALUES)),
            "requestId": JSON_VALUES,
            "retryDelay": st.sampled_from(["12s", "1.5s", "-3s", "99999999999999s", "s"]) | JSON_VALUES,
            "fieldViolations": JSON_VALUES
            | st.lists(st.dictionaries(st.sampled_from(["field", "description", "reason"]), JSON_VALUES)),
        },
    )
    | JSON_VALUES,
    max_size=4,
)


@PROPERTY
@given(details=GOOGLE_DETAILS, message=JSON_VALUES, status=st.integers(400, 599))
def test_google_profile_reads_any_details_without_crashing(
    bundled: Catalog, details: list[Any], message: Any, status: int
) -> None:
    body = json.dumps({"error": {"code": status, "message": message, "status": "NOT_FOUND", "details": details}})
    for catalog in (bundled, None):
        problem = decode(status, {"content-type": "application/json"}, body, catalog=catalog, profile=GOOGLE)
        # A reason naming a catalogued problem gives its class, whose status is the catalog's (as `decode` reads
        # problem+json); anything else keeps the response's.
        assert problem.status == (problem.spec.status if problem.spec is not None else status)
