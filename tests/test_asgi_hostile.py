"""The error path under attack: hostile values, hostile upstreams, hostile requests.

Each test pins one promise: every error leaves as a problem, the error path
itself never fails, nothing internal leaks, and nothing the request carries
reaches a header or a log line unchecked.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import anyio
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.utils import ClientDisconnected

from problemdetails import (
    Catalog,
    CatalogError,
    DetailProfile,
    EnvelopeProfile,
    Problem,
    ProblemMiddleware,
    _docs_site,
    _request_id,
    _site,
)
from problemdetails._exceptions import SiteError
from problemdetails._grammar import MAX_DELAY_SECONDS, REQUEST_ID_PATTERN
from problemdetails._openapi import openapi_document
from problemdetails._schema import problem_schema
from problemdetails._site import render_site, write_site
from problemdetails._types import Message, Receive, Scope, Send
from problemdetails.client import decode
from tests.asgi import call, call_async, request_scope
from tests.conftest import HEADER

SURROGATE = "name \ud800 end"


def raising(exc: BaseException) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


def rendering(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
    """An app that renders its own error response (as a relaying gateway does)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ failed")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ failed")


# -- 1. lone surrogates, in every representation


@pytest.mark.parametrize(
    ("accept", "profile", "media_type"),
    [
        ("application/problem+json", None, "application/problem+json"),
        ("application/problem+xml", None, "application/problem+xml"),
        ("text/html", None, "text/html; charset=utf-8"),
        ("", EnvelopeProfile(), "application/json"),
        ("", DetailProfile(), "application/json"),
    ],
)
def test_a_lone_surrogate_is_replaced_in_every_representation(
    bundled: Catalog, accept: str, profile: Any, media_type: str
) -> None:
    problem = bundled["conflict"](SURROGATE, conflicts=[SURROGATE])
    app = ProblemMiddleware(raising(problem), catalog=bundled, profile=profile)
    exchange = call(app, headers={"accept": accept})
    assert (exchange.status, exchange.headers["content-type"]) == (409, media_type)
    assert "name \ufffd end" in exchange.body.decode("utf-8")  # strict UTF-8, U+FFFD in its place
    assert exchange.headers["x-request-id"]


def test_a_surrogate_echoed_from_the_request_body_is_replaced(bundled: Catalog) -> None:
    async def echo(request: Request) -> Response:
        raise bundled["conflict"]((await request.json())["name"])

    app = ProblemMiddleware(Starlette(routes=[Route("/", echo, methods=["POST"])]), catalog=bundled)
    scope = request_scope("POST", "/", {"accept": "text/html", "content-type": "application/json"})
    exchange = asyncio.run(call_async(app, scope, b'{"name": "a\\ud800b"}'))
    assert exchange.status == 409
    assert "a\ufffdb" in exchange.body.decode("utf-8")


# -- 2. Retry-After beyond Python's int/str digit limit

HUGE = "9" * 5000


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(lambda c: raising(c["rate-limited"](headers={"Retry-After": HUGE})), id="problem-header"),
        pytest.param(lambda c: raising(HTTPException(429, headers={"Retry-After": HUGE})), id="http-exception"),
        pytest.param(lambda c: raising(c["rate-limited"](retry_after=2**63 - 1)), id="member"),
        pytest.param(lambda c: rendering(429, [(b"retry-after", HUGE.encode())], b""), id="rendered-429"),
        pytest.param(lambda c: rendering(503, [(b"retry-after", HUGE.encode())], b"busy"), id="rendered-503"),
    ],
)
def test_a_huge_retry_after_is_capped(bundled: Catalog, app: Any) -> None:
    exchange = call(ProblemMiddleware(app(bundled), catalog=bundled))
    assert exchange.error is None
    assert exchange.status in (429, 503)
    # RFC 9111 §1.2.2's cap for a delta-seconds too large to represent.
    assert exchange.headers["retry-after"] == str(MAX_DELAY_SECONDS) == "2147483648"


@pytest.mark.parametrize(
    ("given", "sent"), [("120", "120"), ("-5", "0"), ("007", "7"), ("2147483649", "2147483648"), ("soon", None)]
)
def test_retry_after_values_are_normalised(bundled: Catalog, given: str, sent: str | None) -> None:
    exchange = call(ProblemMiddleware(raising(HTTPException(503, headers={"Retry-After": given})), catalog=bundled))
    assert exchange.headers.get("retry-after") == sent


# -- 3. a deeply nested error body


def test_a_deeply_nested_rendered_body_is_read_without_recursion(bundled: Catalog) -> None:
    nested = b'{"detail": ' + b"[" * 60_000 + b"]" * 60_000 + b"}"
    exchange = call(
        ProblemMiddleware(rendering(400, [(b"content-type", b"application/json")], nested), catalog=bundled)
    )
    assert exchange.error is None
    assert exchange.status == 400
    assert exchange.json()["code"] == "bad-request"
    assert "detail" not in exchange.json()


# -- 4 and 5. failures inside the error path's own helpers


def test_debug_with_an_unprintable_exception_still_answers(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(raising(Unprintable()), catalog=bundled, debug=True))
    assert exchange.status == 500
    debug = exchange.json()["debug"]
    assert debug["exception"].endswith("Unprintable")
    assert debug["message"] == "<unprintable Unprintable>"


def test_a_failing_instance_function_gives_the_problem_without_instance(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    def instance(scope: Scope) -> str:
        raise RuntimeError("instance hook is buggy")

    exchange = call(ProblemMiddleware(raising(bundled["gone"]("went")), catalog=bundled, instance=instance))
    assert (exchange.status, exchange.json()["detail"]) == (410, "went")
    assert "instance" not in exchange.json()
    failures = [r for r in caplog.records if r.getMessage().startswith("the instance function failed")]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert b"buggy" not in exchange.body


def test_an_instance_function_answering_no_uri_reference_is_ignored(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    exchange = call(ProblemMiddleware(raising(bundled["gone"]()), catalog=bundled, instance=lambda scope: "not a uri"))
    assert exchange.status == 410
    assert "instance" not in exchange.json()
    assert any("not a URI reference" in record.getMessage() for record in caplog.records)


def test_an_unencodable_member_falls_back_to_the_plain_500(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    problem = Problem("broken", status=409)
    problem.extensions["oops"] = object()  # msgspec cannot encode it
    exchange = call(ProblemMiddleware(raising(problem), catalog=bundled))
    assert exchange.status == 500
    assert exchange.json()["code"] == "internal"
    assert exchange.headers["x-request-id"] == exchange.json()["request_id"]
    assert any(r.getMessage().startswith("building the problem response failed") for r in caplog.records)


def test_a_failing_exception_map_function_gives_the_plain_500(bundled: Catalog) -> None:
    class Mine(Exception):
        pass

    def mapping(exc: Exception) -> Problem:
        raise Unprintable()

    exchange = call(ProblemMiddleware(raising(Mine()), catalog=bundled, exception_map={Mine: mapping}))
    assert (exchange.status, exchange.json()["code"]) == (500, "internal")


def test_a_profile_that_raises_falls_back_to_the_plain_500(bundled: Catalog) -> None:
    class Broken(EnvelopeProfile):
        def render(self, problem: Problem) -> Any:
            raise Unprintable()

    exchange = call(ProblemMiddleware(raising(bundled["gone"]()), catalog=bundled, profile=Broken()))
    assert (exchange.status, exchange.json()["code"]) == (500, "internal")


# -- 6. exception groups


async def _in_task_group(exceptions: list[BaseException]) -> None:
    async with asyncio.TaskGroup() as group:
        for exc in exceptions:

            async def fail(exc: BaseException = exc) -> None:
                raise exc

            group.create_task(fail())


def grouped(*exceptions: BaseException) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _in_task_group(list(exceptions))

    return app


def test_a_problem_in_an_asyncio_task_group_leaves_as_itself(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    exchange = call(ProblemMiddleware(grouped(bundled["conflict"]("in a task")), catalog=bundled))
    assert (exchange.status, exchange.json()["detail"]) == (409, "in a task")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_problem_in_an_anyio_task_group_leaves_as_itself(bundled: Catalog) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def fail() -> None:
            raise bundled["gone"]("in a task")

        async with anyio.create_task_group() as group:
            group.start_soon(fail)

    exchange = call(ProblemMiddleware(app, catalog=bundled))
    assert (exchange.status, exchange.json()["code"]) == (410, "gone")


def test_a_mapped_exception_in_a_group_is_mapped(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(grouped(TimeoutError()), catalog=bundled, exception_map={TimeoutError: "gone"}))
    assert exchange.status == 410


def test_an_apps_connection_error_in_a_group_is_a_crash(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    exchange = call(ProblemMiddleware(grouped(ConnectionResetError("peer")), catalog=bundled))
    assert (exchange.status, exchange.json()["code"]) == (500, "internal")
    assert [r.levelno for r in caplog.records if r.levelno >= logging.INFO] == [logging.ERROR]


def test_a_failed_send_in_a_group_is_no_error(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    """A task's `send` raised (the client hung up): the group stands for that disconnect."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def start() -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})

        async with asyncio.TaskGroup() as group:
            group.create_task(start())

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        raise ClientDisconnected

    with pytest.raises(Exception) as raised:  # noqa: PT011  # re-raised to the server, which drops the connection
        asyncio.run(ProblemMiddleware(app, catalog=bundled)(request_scope(), receive, send))
    assert raised.group_contains(ClientDisconnected)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


def test_several_problems_of_one_type_in_a_group_give_the_first(bundled: Catalog) -> None:
    exchange = call(ProblemMiddleware(grouped(bundled["conflict"]("one"), bundled["conflict"]("two")), catalog=bundled))
    assert (exchange.status, exchange.json()["detail"]) == (409, "one")


@pytest.mark.parametrize(
    "exceptions",
    [
        pytest.param(lambda c: [c["conflict"](), c["gone"]()], id="two-problems"),
        pytest.param(lambda c: [c["conflict"](), RuntimeError("hunter2")], id="problem-and-crash"),
    ],
)
def test_a_group_of_different_exceptions_is_an_unhandled_500(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, exceptions: Any
) -> None:
    exchange = call(ProblemMiddleware(grouped(*exceptions(bundled)), catalog=bundled))
    assert (exchange.status, exchange.json()["code"]) == (500, "internal")
    assert b"hunter2" not in exchange.body
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().endswith("(unhandled ExceptionGroup)")
    assert "conflict" in (record.exc_text or "")  # every exception in the group is logged


# -- 8. framing and pinned headers


PINNED = ["Content-Length", "Transfer-Encoding", "Content-Type", "X-Request-ID", "Cache-Control"]


@pytest.mark.parametrize("name", PINNED)
@pytest.mark.parametrize("source", ["problem", "http-exception", "rendered"])
def test_pinned_headers_are_sent_once_with_the_middlewares_value(bundled: Catalog, name: str, source: str) -> None:
    value = "chunked" if name == "Transfer-Encoding" else "7"
    app = {
        "problem": lambda: raising(bundled["conflict"]("x", headers={name: value})),
        "http-exception": lambda: raising(HTTPException(409, headers={name: value})),
        "rendered": lambda: rendering(409, [(name.lower().encode(), value.encode())], b"taken"),
    }[source]()
    exchange = call(ProblemMiddleware(app, catalog=bundled))
    names = [key for key, _ in exchange.starts[0]["headers"]]
    assert len(names) == len(set(names))  # each header once
    headers = exchange.headers
    assert "transfer-encoding" not in headers
    assert headers["content-length"] == str(len(exchange.body))
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-request-id"] == exchange.json()["request_id"]
    assert (headers["cache-control"], headers["vary"]) == ("no-store", "Accept, Accept-Language")


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        # The bundled catalog has translations: its problems vary on Accept-Language too.
        ("Origin", "Accept, Accept-Language, Origin"),  # a CORS layer's: the echoed Allow-Origin is kept
        ("accept, Origin, origin", "Accept, Accept-Language, Origin"),  # each name once, whatever its case
        ("*", "*"),
        ("Accept-Encoding", "Accept, Accept-Language"),  # a replaced page's encoding goes with its body
    ],
)
@pytest.mark.parametrize("source", ["problem", "http-exception", "rendered"])
def test_vary_is_the_middlewares_accept_and_what_kept_headers_vary_on(
    bundled: Catalog, source: str, given: str, sent: str
) -> None:
    """RFC 9110 §12.5.5: a shared cache must know every request field the response depends on."""
    app = {
        "problem": lambda: raising(bundled["conflict"]("x", headers={"Vary": given})),
        "http-exception": lambda: raising(HTTPException(409, headers={"Vary": given})),
        "rendered": lambda: rendering(409, [(b"vary", given.encode())], b"taken"),
    }[source]()
    assert call(ProblemMiddleware(app, catalog=bundled)).headers["vary"] == sent


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Note", "a\r\nSet-Cookie: session=evil"),
        ("X-Note", "a\nb"),
        ("X-Note", "a\x00b"),
        ("X-Note", "caf\u00e9\u2603"),
        ("X Note", "spaces in the name"),
        ("X-Note\r\nInjected", "v"),
        ("", "empty name"),
    ],
)
def test_invalid_header_fields_are_dropped(bundled: Catalog, name: str, value: str) -> None:
    for app in (
        raising(bundled["conflict"]("x", headers={name: value})),
        raising(HTTPException(409, headers={name: value})),
    ):
        exchange = call(ProblemMiddleware(app, catalog=bundled))
        assert exchange.status == 409
        for key, field in exchange.starts[0]["headers"]:
            assert re.fullmatch(rb"[!#$%&'*+\-.^_`|~0-9a-z]+", key)
            assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", field)
        assert b"evil" not in b"".join(field for _, field in exchange.starts[0]["headers"])


def test_invalid_fields_of_a_rendered_error_response_are_dropped(bundled: Catalog) -> None:
    headers = [(b"x-ok", b"kept"), (b"x-bad", b"a\r\nb"), (b"bad name", b"v"), (b"x-nul", b"\x00")]
    exchange = call(ProblemMiddleware(rendering(400, headers, b"no"), catalog=bundled))
    assert {key for key, _ in exchange.starts[0]["headers"]} & {b"x-bad", b"bad name", b"x-nul"} == set()
    assert exchange.headers["x-ok"] == "kept"


def test_an_invalid_www_authenticate_setting_is_refused(bundled: Catalog) -> None:
    with pytest.raises(ValueError, match="www_authenticate"):
        ProblemMiddleware(raising(HTTPException(401)), catalog=bundled, www_authenticate="Bearer\r\nX: y")


# -- 9. type links


@pytest.mark.parametrize(
    ("type_uri", "link"),
    [
        ("javascript:alert(document.domain)//", None),
        ("JavaScript:alert(1)", None),
        ("data:text/html,%3Cscript%3Ealert(1)%3C/script%3E", None),
        ("vbscript:msgbox", None),
        ("about:blank", None),
        ("tag:example.com,2024:conflict", None),
        ("https://errors.example.com/conflict", "https://errors.example.com/conflict"),
        ("/errors/conflict", "/errors/conflict"),
    ],
)
def test_the_html_page_links_only_http_types(bundled: Catalog, type_uri: str, link: str | None) -> None:
    exchange = call(
        ProblemMiddleware(raising(Problem(status=409, type=type_uri)), catalog=bundled), headers={"accept": "text/html"}
    )
    page = exchange.body.decode()
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs == ([link] if link else [])
    if type_uri.startswith("tag:"):
        assert f"<code>{type_uri}</code>" in page  # named, not linked


@pytest.mark.parametrize("base", ["javascript:alert(1)//", "data:text/html,x/", "file:///srv/errors/", "ftp://x/"])
def test_the_catalog_refuses_a_base_uri_that_could_run_when_clicked(write: Any, base: str) -> None:
    path = write(
        f"catalog:\n  name: T\n  base_uri: '{base}'\n  language: en\nproblems:\n  gone: {{status: 410, title: Gone}}\n"
    )
    with pytest.raises(CatalogError) as error:
        Catalog.load(path)
    assert re.search(rf"{re.escape(str(path))}:3:\d+: error: base_uri must be an http\(s\) URL", str(error.value))
    with pytest.raises(ValueError, match="http, https, tag or urn"):
        Catalog.load(write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n")).rebased(base)


@pytest.mark.parametrize("base", ["tag:example.com,2024:", "urn:example:errors:", "HTTPS://errors.example.com/"])
def test_the_catalog_accepts_tag_and_urn_base_uris(write: Any, base: str) -> None:
    path = write(
        f"catalog:\n  name: T\n  base_uri: '{base}'\n  language: en\nproblems:\n  gone: {{status: 410, title: Gone}}\n"
    )
    assert Catalog.load(path)["gone"].type == base + "gone"


# -- 10. log forging


def test_control_characters_in_the_path_cannot_forge_log_lines(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="problemdetails")
    forged = "/x\n2026-12-01 ERROR admin logged in\r\u2028"
    call(ProblemMiddleware(raising(bundled["gone"]()), catalog=bundled), path=forged)
    call(ProblemMiddleware(raising(RuntimeError("boom\nFORGED line")), catalog=bundled), path=forged)
    assert len(caplog.records) == 2
    for record in caplog.records:
        text = caplog.handler.format(record)
        for forged_line in ("\r", "\u2028", "\nFORGED", "\n2026"):
            assert forged_line not in text
        assert "/x\\x0a2026-12-01" in record.getMessage()
    assert "boom\\x0aFORGED line" in (caplog.records[1].exc_text or "")


# -- 11. request ids


def test_request_ids_are_random_128_bit_hex() -> None:
    ids = [_request_id.new_request_id() for _ in range(5000)]  # several blocks
    assert all(re.fullmatch(rb"[0-9a-f]{32}", request_id) for request_id in ids)
    assert len(set(ids)) == len(ids)
    numbers = [int(request_id, 16) for request_id in ids]
    assert not any(abs(b - a) < 2**64 for a, b in itertools.pairwise(numbers))  # no counter, no shared prefix
    # Each of the 128 bits is set in about half the ids (a counter or a fixed prefix is not).
    for bit in range(128):
        share = sum(number >> bit & 1 for number in numbers) / len(numbers)
        assert 0.4 < share < 0.6, bit


def test_request_ids_do_not_follow_the_global_random_seed() -> None:
    random.seed(7)
    _request_id._new_id_source()
    first = [_request_id.new_request_id() for _ in range(3)]
    random.seed(7)
    _request_id._new_id_source()
    assert first != [_request_id.new_request_id() for _ in range(3)]


def test_request_ids_are_safe_to_draw_from_many_threads() -> None:
    drawn: list[bytes] = []

    def draw() -> None:
        drawn.extend(_request_id.new_request_id() for _ in range(3000))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(drawn) == len(set(drawn)) == 12000


def test_the_accepted_request_id_format_is_published(bundled: Catalog) -> None:
    schema = problem_schema(bundled.problems["conflict"])["properties"]["request_id"]
    assert (schema["pattern"], schema["maxLength"]) == (REQUEST_ID_PATTERN, 128)
    header = openapi_document(bundled)["components"]["responses"]["Conflict"]["headers"]["X-Request-ID"]["schema"]
    assert (header["pattern"], header["maxLength"]) == (REQUEST_ID_PATTERN, 128)
    assert re.fullmatch(REQUEST_ID_PATTERN.strip("^$"), _request_id.new_request_id().decode())


# -- 12. instance is never a network-path reference


@pytest.mark.parametrize("path", ["//evil.example/x", "///evil.example", "//evil.example"])
def test_instance_never_points_at_another_host(bundled: Catalog, path: str) -> None:
    for problem in (bundled["gone"](), bundled["gone"](instance=path)):
        body = call(ProblemMiddleware(raising(problem), catalog=bundled), path=path).json()
        resolved = urljoin("https://api.example.com/v1/", body["instance"])
        assert resolved.startswith("https://api.example.com/")
        assert not body["instance"].startswith("//")


# -- 13 and 14. the doc site served by the middleware


@pytest.fixture
def site(write: Any, tmp_path: Path) -> tuple[Catalog, Path]:
    catalog = Catalog.load(write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n"))
    folder = tmp_path / "site"
    write_site(render_site(catalog), folder)
    return catalog, folder


def test_docs_dir_serves_only_what_the_build_wrote(site: tuple[Catalog, Path], tmp_path: Path) -> None:
    catalog, folder = site
    (folder / ".env").write_text("SECRET_KEY=hunter2")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[remote] url = hunter2")
    (folder / "notes.html").write_text("hunter2")
    outside = tmp_path / "passwd"
    outside.write_text("root:hunter2")
    (folder / "passwd.html").symlink_to(outside)
    app = ProblemMiddleware(raising(HTTPException(404)), catalog=catalog, docs_path="/docs/", docs_dir=folder)
    assert call(app, path="/docs/gone/").status == 200
    for path in (
        "/docs/.env",
        "/docs/.git/config",
        "/docs/notes.html",
        "/docs/passwd.html",
        "/docs/.problemdetails-site",
    ):
        exchange = call(app, path=path)
        assert exchange.status == 404, path
        assert b"hunter2" not in exchange.body


def test_docs_dir_refuses_a_built_file_replaced_by_a_symlink_leaving_it(
    site: tuple[Catalog, Path], tmp_path: Path
) -> None:
    catalog, folder = site
    outside = tmp_path / "passwd"
    outside.write_text("root:hunter2")
    (folder / "index.html").unlink()
    (folder / "index.html").symlink_to(outside)
    with pytest.raises(SiteError, match="symlink that leaves the site folder"):
        ProblemMiddleware(raising(RuntimeError()), catalog=catalog, docs_path="/docs/", docs_dir=folder)


def test_docs_dir_refuses_a_tampered_listing(site: tuple[Catalog, Path]) -> None:
    catalog, folder = site
    marker = folder / _site.MARKER
    marker.write_bytes(marker.read_bytes() + b"../../etc/passwd\n")
    with pytest.raises(SiteError, match="which no build writes"):
        ProblemMiddleware(raising(RuntimeError()), catalog=catalog, docs_path="/docs/", docs_dir=folder)


def test_concurrent_first_requests_render_the_site_once(bundled: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    renders: list[int] = []

    def counting(catalog: Catalog) -> dict[str, bytes]:
        renders.append(1)
        return render_site(catalog)

    monkeypatch.setattr(_docs_site, "render_site", counting)
    app = ProblemMiddleware(raising(RuntimeError()), catalog=bundled, docs_path="/errors/")

    async def twenty() -> list[int]:
        scopes = [request_scope("GET", "/errors/conflict/") for _ in range(20)]
        exchanges = await asyncio.gather(*(call_async(app, scope) for scope in scopes))
        return [exchange.status for exchange in exchanges]

    assert asyncio.run(twenty()) == [200] * 20
    assert renders == [1]


def test_decode_reads_what_a_hostile_response_became(bundled: Catalog) -> None:
    """What the middleware sends for hostile input is a problem the client decodes (closing the loop)."""
    exchange = call(ProblemMiddleware(raising(bundled["conflict"](SURROGATE)), catalog=bundled))
    problem = decode(exchange.status, exchange.headers, exchange.body, catalog=bundled)
    assert problem.code == "conflict"
    assert json.loads(exchange.body)["detail"] == "name \ufffd end"


def test_an_int_member_beyond_what_json_encodes_is_refused_at_construction(bundled: Catalog) -> None:
    with pytest.raises(TypeError, match="member 'retry_after' must be int"):
        bundled["rate-limited"](retry_after=10**5000)


def test_header_names_that_are_no_text_are_dropped(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("__repr__ failed")

    problem = bundled["conflict"]("x", headers={Hostile(): "v", "X-Fine": 7})  # type: ignore[dict-item]
    exchange = call(ProblemMiddleware(raising(problem), catalog=bundled))
    assert (exchange.status, exchange.headers["x-fine"]) == (409, "7")
    assert any("dropped header of type Hostile" in record.getMessage() for record in caplog.records)
