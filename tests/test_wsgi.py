"""WSGIProblemMiddleware: the pinned behaviour over WSGI, and PEP 3333 to the letter.

Every exchange goes through `tests.wsgi.serve`, a strict server, with the
middleware wrapped in `wsgiref.validate.validator`.
"""

from __future__ import annotations

import gc
import logging
import re
import sys
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from problemdetails import Catalog, Problem, WSGIProblemMiddleware
from problemdetails._exchange import EXCHANGE
from tests.wsgi import serve

StartResponse = Callable[..., Callable[[bytes], object]]
Environ = dict[str, Any]


class Closing:
    """An app iterable that records whether `close()` was called (PEP 3333: it always must be)."""

    closed = 0

    def __init__(self, chunks: Iterable[bytes], fail_after: int | None = None) -> None:
        self.chunks = list(chunks)
        self.fail_after = fail_after

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_after:
                raise RuntimeError("the disk went away: /srv/data")
            yield chunk
        if self.fail_after == len(self.chunks):
            raise RuntimeError("the disk went away: /srv/data")

    def close(self) -> None:
        Closing.closed += 1


@pytest.fixture(autouse=True)
def _count_closes() -> None:
    Closing.closed = 0


def app_of(status: str, headers: list[tuple[str, str]], body: Iterable[bytes]) -> Callable[..., Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response(status, headers)
        return body

    return app


def raising(exc: Exception) -> Callable[..., Iterable[bytes]]:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise exc

    return app


def test_the_happy_path_passes_through_with_a_request_id(bundled: Catalog) -> None:
    body = Closing([b'{"ok":', b"true}"])
    app = WSGIProblemMiddleware(app_of("200 OK", [("Content-Type", "application/json")], body), catalog=bundled)
    served = serve(app)
    assert (served.status, served.body, Closing.closed) == ("200 OK", b'{"ok":true}', 1)
    assert re.fullmatch("[0-9a-f]{32}", served.headers["x-request-id"])
    assert serve(app, headers={"X-Request-ID": "req-1"}).headers["x-request-id"] == "req-1"
    assert serve(app, headers={"X-Request-ID": "bad id\x7f"}).headers["x-request-id"] != "bad id\x7f"


def test_an_id_the_app_set_is_not_repeated(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(
        app_of("200 OK", [("Content-Type", "text/plain"), ("X-Request-ID", "mine")], [b""]), catalog=bundled
    )
    assert serve(app).headers["x-request-id"] == "mine"


def test_a_raised_problem_is_its_response(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(raising(bundled["conflict"](detail="taken", conflicts=["a1"])), catalog=bundled)
    served = serve(app, path="/zones/z1", headers={"X-Request-ID": "req-2"})
    assert served.status == "409 Conflict"
    assert served.headers["content-type"] == "application/problem+json"
    assert served.headers["content-length"] == str(len(served.body))
    assert (served.headers["cache-control"], served.headers["x-content-type-options"]) == ("no-store", "nosniff")
    assert served.json() == {
        "type": "https://errors.example.com/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "taken",
        "instance": "/zones/z1",
        "code": "conflict",
        "request_id": "req-2",
        "conflicts": ["a1"],
    }


def test_a_crash_leaks_nothing_and_is_logged(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    app = WSGIProblemMiddleware(raising(RuntimeError("password=hunter2")), catalog=bundled)
    served = serve(app)
    assert (served.code, served.json()["code"]) == (500, "internal")
    assert b"hunter2" not in served.body
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("500 internal: GET / request_id=")
    assert record.getMessage().endswith("(unhandled RuntimeError)")
    assert "password=hunter2" in (record.exc_text or "")


def test_debug_adds_the_debug_member(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(raising(RuntimeError("boom")), catalog=bundled, debug=True)
    assert serve(app).json()["debug"]["message"] == "boom"


def test_a_mapped_exception_and_the_instance_function_get_the_environ(bundled: Catalog) -> None:
    class Locked(Exception):
        pass

    seen: list[Environ] = []

    def instance(environ: Environ) -> str:
        seen.append(environ)
        return "/zones/" + str(environ["QUERY_STRING"])

    app = WSGIProblemMiddleware(
        raising(Locked()), catalog=bundled, exception_map={Locked: "conflict"}, instance=instance
    )
    served = serve(app, path="/x?z9")
    assert (served.code, served.json()["instance"]) == (409, "/zones/z9")
    assert seen[0]["PATH_INFO"] == "/x"


def test_the_path_is_percent_encoded_from_the_requests_bytes(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(raising(bundled["not-found"]()), catalog=bundled)
    assert serve(app, path="/zönes/a b").json()["instance"] == "/z%C3%B6nes/a%20b"
    assert serve(app, path="//evil.example/x").json()["instance"] == "/.//evil.example/x"


def test_a_rendered_error_page_is_replaced_and_closed(bundled: Catalog) -> None:
    page = Closing([b"<h1>Not Found</h1>"])
    headers = [("Content-Type", "text/html"), ("Content-Length", "18"), ("Access-Control-Allow-Origin", "*")]
    app = WSGIProblemMiddleware(app_of("404 NOT FOUND", headers, page), catalog=bundled)
    served = serve(app)
    assert (served.status, served.json()["code"], Closing.closed) == ("404 Not Found", "not-found", 1)
    assert served.headers["access-control-allow-origin"] == "*"  # CORS and the like survive
    assert served.headers["content-length"] == str(len(served.body))


def test_a_text_page_gives_its_detail_and_headers_of_the_status_survive(bundled: Catalog) -> None:
    headers = [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")]
    app = WSGIProblemMiddleware(app_of("405 Method Not Allowed", headers, [b"Use GET on /zones."]), catalog=bundled)
    served = serve(app)
    assert (served.json()["code"], served.json()["detail"], served.headers["allow"]) == (
        "method-not-allowed",
        "Use GET on /zones.",
        "GET, HEAD",
    )


def test_a_problem_the_app_rendered_itself_passes_untouched(bundled: Catalog) -> None:
    body = b'{"type":"about:blank","status":409}'
    app = WSGIProblemMiddleware(
        app_of("409 Conflict", [("Content-Type", "application/problem+json")], [body]), catalog=bundled
    )
    served = serve(app)
    assert (served.code, served.body) == (409, body)
    assert "x-request-id" in served.headers


def test_rewriting_can_be_turned_off(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(
        app_of("404 Not Found", [("Content-Type", "text/html")], [b"<h1>gone</h1>"]),
        catalog=bundled,
        rewrite_error_responses=False,
    )
    assert serve(app).body == b"<h1>gone</h1>"


def test_a_failure_before_the_first_body_byte_replaces_the_started_status(bundled: Catalog) -> None:
    # The app started a 200, then its iterable failed before any byte went out:
    # the middleware calls start_response again with exc_info, as PEP 3333 allows.
    body = Closing([b"never sent"], fail_after=0)
    app = WSGIProblemMiddleware(app_of("200 OK", [("Content-Type", "text/plain")], body), catalog=bundled)
    served = serve(app)
    assert (served.code, served.json()["code"], served.starts, Closing.closed) == (500, "internal", 2, 1)
    assert served.error is None


def test_a_failure_after_the_body_started_is_truncation_never_a_second_status(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    body = Closing([b"x" * 10, b"y" * 10], fail_after=1)
    app = WSGIProblemMiddleware(app_of("200 OK", [("Content-Type", "text/plain")], body), catalog=bundled)
    served = serve(app, headers={"X-Request-ID": "req-3"})
    assert (served.status, served.body, served.starts) == ("200 OK", b"x" * 10, 1)
    assert isinstance(served.error, RuntimeError)  # re-raised: the server aborts the connection
    assert (served.truncated, Closing.closed) == (True, 1)
    (record,) = caplog.records
    assert record.getMessage() == "exception after the response started; aborting: GET / request_id=req-3"


def test_an_app_error_handler_may_change_its_mind_with_exc_info(bundled: Catalog) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("half way")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/html")], sys.exc_info())
        return [b"<h1>Oops</h1>"]

    served = serve(WSGIProblemMiddleware(app, catalog=bundled))
    assert (served.code, served.json()["code"], served.starts) == (500, "internal", 3)
    assert b"Oops" not in served.body


def test_a_generator_app_starts_with_its_first_chunk(bundled: Catalog) -> None:
    def ok(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b""
        yield b"hello"

    def fails_first(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        raise bundled["gone"]()
        yield b""  # pragma: no cover

    def error_page(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        yield b"not yours"

    assert serve(WSGIProblemMiddleware(ok, catalog=bundled)).body == b"hello"
    assert serve(WSGIProblemMiddleware(fails_first, catalog=bundled)).json()["code"] == "gone"
    refused = serve(WSGIProblemMiddleware(error_page, catalog=bundled))
    assert (refused.json()["code"], refused.json()["detail"]) == ("forbidden", "not yours")


def test_an_app_that_never_starts_a_response_is_a_500(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    def silent(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        return Closing([])

    served = serve(WSGIProblemMiddleware(silent, catalog=bundled), validate=False)  # the app breaks PEP 3333 itself
    assert (served.code, Closing.closed) == (500, 1)
    assert "the app returned without a response" in caplog.text


def test_the_write_callable_of_legacy_apps(bundled: Catalog) -> None:
    def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written")
        return []

    def legacy_error(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("429 Too Many Requests", [("Content-Type", "text/plain"), ("Retry-After", "9")])
        write(b"slow down")
        return []

    assert serve(WSGIProblemMiddleware(legacy, catalog=bundled)).body == b"written"
    limited = serve(WSGIProblemMiddleware(legacy_error, catalog=bundled))
    assert (limited.json()["detail"], limited.headers["retry-after"]) == ("slow down", "9")


def test_head_gets_the_headers_and_no_body(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(raising(bundled["conflict"]()), catalog=bundled)
    get, head = serve(app), serve(app, method="HEAD")
    assert (head.code, head.body) == (409, b"")
    assert head.headers["content-length"] == get.headers["content-length"]


def test_negotiation_gives_xml_and_html(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(raising(bundled["conflict"]()), catalog=bundled)
    xml = serve(app, headers={"Accept": "application/problem+xml"})
    assert xml.headers["content-type"] == "application/problem+xml"
    assert ET.fromstring(xml.body).findtext("{urn:ietf:rfc:7807}code") == "conflict"
    page = serve(app, headers={"Accept": "text/html"})
    assert page.headers["content-type"] == "text/html; charset=utf-8"


def test_a_401_always_carries_www_authenticate(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(raising(bundled["unauthorized"]()), catalog=bundled, www_authenticate='Basic realm="x"')
    assert serve(app).headers["www-authenticate"] == 'Basic realm="x"'


def test_the_doc_site_is_served_under_docs_path(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(
        app_of("404 Not Found", [("Content-Type", "text/plain")], [b""]), catalog=bundled, docs_path="/errors/"
    )
    page = serve(app, path="/errors/conflict/")
    assert (page.code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert b"Conflict" in page.body
    assert "x-request-id" in page.headers
    moved = serve(app, path="/errors/conflict")
    assert (moved.code, moved.headers["location"]) == (301, "conflict/")
    assert serve(app, method="HEAD", path="/errors/conflict/").body == b""
    assert serve(app, path="/errors/.build").json()["code"] == "not-found"  # no dotfile is served
    # A root page answers in the language asked for: a French browser is sent to the French page.
    french = serve(app, path="/errors/conflict/", headers={"Accept-Language": "fr-CA"})
    assert (french.status, french.headers["location"], french.headers["vary"]) == (
        "302 Found",
        "../fr/conflict/",
        "Accept-Language",
    )
    page = serve(app, path="/errors/fr/conflict/")
    assert (page.code, page.headers["content-language"]) == (200, "fr")
    assert "<h1>Conflit</h1>" in page.body.decode()


def test_a_write_the_server_failed_is_a_disconnect(bundled: Catalog, caplog: pytest.LogCaptureFixture) -> None:
    """The client hung up: the server's `write` raised. Re-raised to the server, and no error logged."""

    def writing(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"x")
        return []

    with pytest.raises(BrokenPipeError):
        serve(WSGIProblemMiddleware(writing, catalog=bundled), gone=True)
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    "exc", [ConnectionRefusedError("db at 10.0.0.5:5432 refused"), ConnectionResetError(), BrokenPipeError()], ids=type
)
def test_an_apps_own_connection_errors_are_crashes(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, exc: Exception
) -> None:
    """A view whose database or upstream is down: the 500 problem and an ERROR, never taken for a disconnect."""
    served = serve(WSGIProblemMiddleware(raising(exc), catalog=bundled))
    assert (served.code, served.json()["code"]) == (500, "internal")
    assert served.headers["x-request-id"] == served.json()["request_id"]
    assert b"10.0.0.5" not in served.body
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None
    assert record.exc_info[1] is exc


def test_an_apps_connection_error_after_the_body_started_is_logged(
    bundled: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    def streaming(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"x"
        raise ConnectionResetError("the upstream reset")

    served = serve(WSGIProblemMiddleware(streaming, catalog=bundled))
    assert (served.body, type(served.error), served.truncated) == (b"x", ConnectionResetError, True)
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.ERROR]


class FailingPage:
    """An error page whose iterator or `close()` raises while the middleware reads it."""

    def __init__(self, fails_in: str) -> None:
        self.fails_in = fails_in
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        yield b"no such order"
        if self.fails_in in ("iterating", "both"):
            raise RuntimeError("template error at /srv/app/templates/404.html")

    def close(self) -> None:
        self.closed += 1
        if self.fails_in in ("close", "both"):
            raise RuntimeError("close failed at /srv/app/db.py")


@pytest.mark.parametrize(
    ("fails_in", "status", "code"),
    [("iterating", 500, "internal"), ("close", 404, "not-found"), ("both", 500, "internal")],
)
@pytest.mark.parametrize("starts", ["before-returning", "with-the-first-chunk"])
def test_an_error_page_that_fails_while_read_is_answered_and_closed(
    bundled: Catalog, caplog: pytest.LogCaptureFixture, fails_in: str, status: int, code: str, starts: str
) -> None:
    page = FailingPage(fails_in)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if starts == "before-returning":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return page

        class Lazy(FailingPage):  # starts its response with its first chunk, as a generator app does
            def __iter__(self) -> Iterator[bytes]:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return page.__iter__()

            def close(self) -> None:
                page.close()

        return Lazy(fails_in)

    served = serve(WSGIProblemMiddleware(app, catalog=bundled))
    assert (served.code, served.json()["code"], served.error) == (status, code, None)
    assert served.headers["x-request-id"] == served.json()["request_id"]
    assert b"/srv/app" not in served.body
    assert page.closed == 1  # PEP 3333: close() is always called, once
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == (2 if fails_in == "both" else 1)
    assert all(record.exc_info is not None for record in failures)


def test_problems_raised_as_problem_subclasses_keep_their_type(bundled: Catalog) -> None:
    app = WSGIProblemMiddleware(raising(Problem("plain", status=418)), catalog=bundled)
    served = serve(app)
    assert (served.status, served.json()["type"]) == ("418 I'm a teapot", "about:blank")


def test_an_error_response_leaves_no_reference_cycle(bundled: Catalog) -> None:
    # See the ASGI test of the same name: with the collector off, the exchange is freed when the request is done.
    exchanges: list[weakref.ref[Any]] = []

    def conflict(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        exchanges.append(weakref.ref(environ[EXCHANGE]))
        raise bundled["conflict"]("taken")

    gc.disable()
    try:
        assert serve(WSGIProblemMiddleware(conflict, catalog=bundled), validate=False).code == 409
        assert len(exchanges) == 1
        assert exchanges[0]() is None
    finally:
        gc.enable()
