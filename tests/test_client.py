from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from problemdetails import Catalog, DecodeError, Problem, decode_xml, encode_json, encode_xml
from problemdetails.client import (
    RetryPolicy,
    async_problem_hook,
    decode,
    parse_retry_after,
    problem_hook,
    raise_for_problem,
)
from tests.conftest import BUNDLED

CATALOG = Catalog.load(BUNDLED)
URL = "https://api.example.com/v1/zones/z1"


def response(status: int, body: bytes | str, content_type: str | None, **headers: str) -> httpx.Response:
    if content_type is not None:
        headers["content-type"] = content_type
    return httpx.Response(status, headers=headers, content=body, request=httpx.Request("GET", URL))


def test_typed_class_by_code_with_any_parameters_and_case() -> None:
    body = encode_json(CATALOG["quota-exceeded"](limit=5, current=5, resource="zones"))
    problem = decode(response(402, body, "Application/Problem+JSON; charset=UTF-8"), catalog=CATALOG)
    assert type(problem) is CATALOG["quota-exceeded"]
    assert (problem.limit, problem.current) == (5, 5)  # type: ignore[attr-defined]
    assert problem.received is not None
    assert (problem.received.status, problem.received.url, problem.received.method) == (402, URL, "GET")
    assert problem.response.status_code == 402


def test_xml_and_the_http_status_wins() -> None:
    body = encode_xml(CATALOG["gone"]("deleted"))
    problem = decode(response(404, body, "application/problem+xml"), catalog=CATALOG)
    assert type(problem) is CATALOG["gone"]
    assert problem.received is not None
    assert problem.received.status == 404


def test_unknown_code_is_a_generic_problem_keeping_unknowns() -> None:
    body = b'{"type":"https://other.example/p","title":"Other","status":409,"code":"other","ids":[1]}'
    problem = decode(409, {"Content-Type": "application/problem+json"}, body, catalog=CATALOG)
    assert type(problem) is Problem
    assert (problem.code, problem.title, problem.extensions) == ("other", "Other", {"ids": [1]})


def test_relative_type_is_resolved_against_the_response_url() -> None:
    body = b'{"type":"/gone","title":"Gone","status":410}'
    relative = decode(
        response(410, body, "application/problem+json"), catalog=CATALOG.rebased("https://api.example.com/")
    )
    assert relative.type == "https://api.example.com/gone"
    assert relative.code == "gone"  # found by its resolved type


@pytest.mark.parametrize(
    ("body", "content_type", "detail", "extensions"),
    [
        (b"Zone z1 not found.", "text/plain; charset=utf-8", "Zone z1 not found.", {}),
        (b"<html><body><h1>404</h1></body></html>", "text/html", None, {}),
        (b"", None, None, {}),
        (b'{"detail": "Zone z1 not found."}', "application/json", "Zone z1 not found.", {}),
        (
            b'{"detail": [{"loc": ["body", "name"], "msg": "field required"}]}',
            "application/json",
            None,
            {"detail": [{"loc": ["body", "name"], "msg": "field required"}]},
        ),
        (b'{"detail": "no content type"}', None, "no content type", {}),
        (b"{not json", "application/problem+json", None, {}),
        (b"<problem", "application/problem+xml", None, {}),
    ],
)
def test_non_problem_bodies_fall_back(
    body: bytes, content_type: str | None, detail: str | None, extensions: Any
) -> None:
    problem = decode(response(404, body, content_type), catalog=CATALOG)
    assert (problem.status, problem.title, problem.detail, problem.extensions) == (404, "Not Found", detail, extensions)


def test_request_id_falls_back_to_the_header() -> None:
    assert decode(response(500, b"", None, **{"X-Request-ID": "req_a1b2"})).request_id == "req_a1b2"
    body = encode_json(CATALOG["internal"](request_id="body-id"))
    assert decode(response(500, body, "application/problem+json", **{"X-Request-ID": "x"})).request_id == "body-id"


NOW = dt.datetime(2026, 11, 22, 8, 0, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 22 Nov 2026 08:00:30 GMT", 30.0),  # IMF-fixdate
        ("Sunday, 22-Nov-26 08:01:00 GMT", 60.0),  # RFC 850
        ("Sun Nov 22 08:02:00 2026", 120.0),  # asctime
        ("Sun Nov  1 08:00:00 2026", 0.0),  # in the past: retry now
        ("soon", None),
        ("-5", None),
        ("¹", None),  # a digit to str.isdigit, not to HTTP
        ("9" * 400, 2147483648.0),  # RFC 9111 §1.2.2's cap: `time.sleep` takes it
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_decode_exposes_retry_after() -> None:
    problem = decode(response(503, b"", None, **{"Retry-After": "7"}), catalog=CATALOG)
    assert problem.retry_after == 7.0
    assert problem.retryable


def test_a_response_without_request() -> None:
    problem = decode(httpx.Response(404, text="gone away"))  # httpx: no request attached; text/plain
    assert problem.received is not None
    assert (problem.received.url, problem.received.method, problem.detail) == (None, None, "gone away")


def test_decode_refuses_success_responses() -> None:
    with pytest.raises(DecodeError, match="not an error response"):
        decode(response(200, b"{}", "application/json"))


def test_raise_for_problem_and_hooks() -> None:
    conflict = encode_json(CATALOG["conflict"]("exists", conflicts=["a1"]))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ok":
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(409, content=conflict, headers={"content-type": "application/problem+json"})

    transport = httpx.MockTransport(handler)  # no network
    with httpx.Client(transport=transport, base_url="https://api.example.com") as client:
        assert raise_for_problem(client.get("/ok"), catalog=CATALOG).json() == {"ok": True}
        with pytest.raises(CATALOG["conflict"]) as caught:
            raise_for_problem(client.post("/zones"), catalog=CATALOG)
        assert caught.value.conflicts == ["a1"]  # type: ignore[attr-defined]
    hooked = httpx.Client(
        transport=transport, base_url="https://api.example.com", event_hooks={"response": [problem_hook(CATALOG)]}
    )
    with hooked, pytest.raises(CATALOG["conflict"]):
        hooked.get("/zones")

    async def run_async() -> None:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(handler),
            base_url="https://api.example.com",
            event_hooks={"response": [async_problem_hook(CATALOG)]},
        ) as client:
            assert (await client.get("/ok")).status_code == 200
            with pytest.raises(CATALOG["conflict"]):
                await client.get("/zones")

    asyncio.run(run_async())


def received(status: int, slug: str | None = None, method: str = "GET", **headers: str) -> Problem:
    body = encode_json(CATALOG[slug]() if slug else Problem(status=status))
    return decode(
        httpx.Response(
            status,
            headers={"content-type": "application/problem+json", **headers},
            content=body,
            request=httpx.Request(method, URL),
        ),
        catalog=CATALOG,
    )


@pytest.mark.parametrize(
    ("problem", "attempt", "expected"),
    [
        (lambda: received(404, "not-found"), 1, None),  # never
        (lambda: received(409, "conflict"), 1, None),  # after-change
        (lambda: received(400), 1, None),  # an uncatalogued 4xx
        (lambda: received(429, "rate-limited", **{"Retry-After": "12"}), 1, 12.0),
        (lambda: received(429, "rate-limited", **{"Retry-After": "600"}), 1, None),  # longer than max_delay
        (lambda: received(503, "unavailable", method="POST", **{"Retry-After": "3"}), 1, None),  # not idempotent
        (lambda: received(502, "bad-gateway"), 4, None),  # out of attempts
        (lambda: received(408), 1, "backoff"),
        (lambda: received(502, "bad-gateway"), 3, "backoff"),
        (lambda: received(429, "rate-limited"), 2, "backoff"),  # no Retry-After given
    ],
)
def test_retry_policy(problem: Any, attempt: int, expected: float | str | None) -> None:
    policy = RetryPolicy(attempts=3, base_delay=0.5, max_delay=30)
    delay = policy.delay(problem(), attempt)
    if expected == "backoff":
        assert delay is not None
        assert 0 <= delay <= 0.5 * 2 ** (attempt - 1)
    else:
        assert delay == expected


def test_retry_policy_can_retry_non_idempotent_when_told() -> None:
    problem = received(503, "unavailable", method="POST", **{"Retry-After": "3"})
    assert RetryPolicy(retry_non_idempotent=True).delay(problem, 1) == 3.0
    assert RetryPolicy().delay(problem, 1, method="PUT") == 3.0


ENCODINGS = st.sampled_from(["utf-8", "UTF-16", "utf-7", "shift_jis", "euc-jp", "utf-8x", "latin-1", "", "\x00"])
HOSTILE_BODIES = st.builds(
    lambda encoding, text: (
        f'<?xml version="1.0" encoding="{encoding}"?><problem xmlns="urn:ietf:rfc:7807">{text}</problem>'
    ).encode("utf-8", "surrogatepass"),
    ENCODINGS,
    st.text(max_size=40),
) | st.builds(
    lambda type_uri, instance: json.dumps({"type": type_uri, "instance": instance, "status": 404}).encode(),
    st.sampled_from(["//[abc]/x", "//[::1", "http://[", "///", "x:y", "%zz"]) | st.text(max_size=20),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(400, 599),
    body=st.binary(max_size=120) | st.text(max_size=120).map(str.encode) | HOSTILE_BODIES,
    content_type=st.none()
    | st.sampled_from(
        [
            "application/problem+json",
            "application/problem+xml",
            "APPLICATION/JSON; charset=latin-1",
            "text/plain",
            "text/html",
            "application/vnd.api+json",
            "text/xml",
            "",
            ";;",
            "application/octet-stream",
        ]
    )
    | st.text(max_size=20),
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "x-request-id", "x-other"]), st.text(max_size=30), max_size=3
    ),
)
def test_arbitrary_responses_never_crash_decode(
    status: int, body: bytes, content_type: str | None, headers: dict[str, str]
) -> None:
    if content_type is not None:
        headers["content-type"] = content_type
    problem = decode(status, headers, body, catalog=CATALOG, url="https://api.example.com/v1/x")
    assert isinstance(problem, Problem)
    assert problem.status == status
    if problem.retry_after is not None:
        assert 0 <= problem.retry_after <= 2**31


@pytest.mark.parametrize("encoding", ["utf-7", "shift_jis", "utf-8x"])
def test_xml_in_an_encoding_expat_cannot_read_is_a_decode_error(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?><problem xmlns="urn:ietf:rfc:7807"/>'.encode()
    with pytest.raises(DecodeError, match="unreadable XML"):
        decode_xml(body)
    assert decode(404, {"content-type": "application/problem+xml"}, body).status == 404


def test_xml_with_too_many_elements_is_refused_early() -> None:
    body = b'<problem xmlns="urn:ietf:rfc:7807"><x>' + b"<i/>" * 300_000 + b"</x></problem>"
    with pytest.raises(DecodeError, match="more than 10000 elements"):
        decode_xml(body)


def test_a_type_whose_authority_is_no_host_is_ignored() -> None:
    body = b'{"type": "//[abc]/x", "status": 404, "title": "Not Found"}'
    problem = decode(404, {"content-type": "application/problem+json"}, body, url="https://api.example.com/v1/")
    assert problem.type == "about:blank"


@pytest.mark.parametrize(
    "type_uri",
    [
        "https://api.staging.example/errors/conflict",
        "https://dnswiz.example/errors#conflict",
        "tag:x.example,2024:conflict",
    ],
)
def test_a_known_code_under_another_base_uri_is_the_typed_class(type_uri: str) -> None:
    body = json.dumps({"type": type_uri, "title": "Conflict", "status": 409, "code": "conflict", "conflicts": ["a"]})
    problem = decode(409, {"content-type": "application/problem+json"}, body.encode(), catalog=CATALOG)
    assert isinstance(problem, CATALOG["conflict"])
    assert problem.members["conflicts"] == ["a"]


def test_a_known_code_with_an_unrelated_type_stays_generic() -> None:
    body = b'{"type": "https://other.example/not-conflict", "status": 409, "title": "x", "code": "conflict"}'
    problem = decode(409, {"content-type": "application/problem+json"}, body, catalog=CATALOG)
    assert type(problem) is Problem


@pytest.mark.parametrize(
    ("sent", "language"),
    [("fr", "fr"), ("de-CH, en", "de-CH"), ("", None), ("fr_FR", None), ("x" * 30, None)],
)
def test_decode_exposes_the_language_of_the_response(sent: str, language: str | None) -> None:
    """A catalog with translations answers in the language asked for, and says which (`Content-Language`)."""
    headers = {"content-type": "application/problem+json", "content-language": sent}
    body = '{"title": "Supprimée", "status": 410, "code": "gone"}'.encode()
    problem = decode(410, headers, body, catalog=CATALOG)
    assert problem.received is not None
    assert problem.received.language == language
