"""WSGI in-process: WSGIProblemMiddleware's happy path, and the error path against the peers.

Every app is driven the way a WSGI server drives it, minus the socket: one
call with a prepared environ and a `start_response` that only records the
status, the returned iterable consumed and its `close()` called, best of
several repeats with the contenders taking turns. Before timing, each
contender answers one request and is checked to call `start_response` once,
with the expected status.

- Happy path: a trivial WSGI app (one `start_response`, one chunk), bare,
  behind `RequestIdOnlyWSGI` (the yardstick: it only appends `X-Request-ID`,
  `benchmarks/request_id_only.py`) and behind `WSGIProblemMiddleware`; then
  the same with a Flask JSON view.
- Error path on Flask: a view raising a catalogued 409 through
  `WSGIProblemMiddleware(flask_app, catalog=...)` against flask-problem-details
  (`configure_app(app)`, a raised `ProblemDetailsError`), each on its own
  Flask app; and the Flask app with the layer installed inside it,
  `problemdetails.install(app, catalog=...)` (the route `flask run` and
  `app.test_client()` take), on the happy path and the error path alike.
- Error path on Django REST framework: an `APIView` raising through
  `problemdetails.drf_exception_handler` with the Django WSGI handler wrapped
  in `WSGIProblemMiddleware`, against drf-problems and drf-standardized-errors
  (each raising a DRF `APIException` with status 409, as their docs show).

Each framework has a floor: the same framework's view returning the
pre-encoded problem bytes itself. Error-handling cost = time per request
minus the floor.

Django is configured once per process, so the Django contenders share one
settings object (problemdetails' `EXCEPTION_HANDLER`, as the README sets it)
and differ only where Django and DRF let one project differ per view: each
contender is its own `WSGIHandler` whose requests carry their own URLconf
(Django's `request.urlconf`, set on the handler's request class, so every
contender resolves one route `/zones` and no extra middleware runs), and a
peer's view picks its library's exception handler with
`APIView.get_exception_handler`, the method through which DRF reads the
`EXCEPTION_HANDLER` setting for every view.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import time
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response

from benchmarks.request_id_only import RequestIdAndBodyWSGI, RequestIdOnlyWSGI
from problemdetails import JSON_MEDIA_TYPE, Catalog, WSGIProblemMiddleware, encode_json, install

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Catalog.load(ROOT / "catalog")
Conflict = CATALOG["conflict"]
DETAIL = "A record with this name and type already exists in the zone."
FLOOR_BODY = encode_json(Conflict(DETAIL, instance="/zones"))
FLOOR_HEADERS = [("Content-Type", JSON_MEDIA_TYPE), ("Content-Length", str(len(FLOOR_BODY)))]
OK_BODY = b'{"ok":true}'
OK_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(OK_BODY)))]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/zones",
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "50000",
    "HTTP_HOST": "127.0.0.1",
    "HTTP_ACCEPT": "*/*",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.input": io.BytesIO(b""),  # a GET: nobody reads it
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}

# The rows of problemdetails in the error tables. OURS is what the README shows.
OURS = "problemdetails (`WSGIProblemMiddleware(app, catalog=...)`)"
INSTALLED = "problemdetails installed (`problemdetails.install(app, catalog=...)`, no wrapper)"
FLOOR = "floor: the view returns the pre-encoded bytes"


def _write(data: bytes) -> None:
    """The `write()` callable `start_response` returns; nobody here uses it."""


def drive(app: WSGIApp, requests: int, expected_status: int) -> float:
    """Seconds per request; raises unless each request called `start_response` once, with `expected_status`."""
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        statuses.append(status)
        return _write

    environ = ENVIRON
    began = time.perf_counter()
    for _ in range(requests):
        body = app(dict(environ), start_response)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    elapsed = time.perf_counter() - began
    if [int(status[:3]) for status in statuses] != [expected_status] * requests:
        raise AssertionError(f"expected {requests} starts of {expected_status}, got {statuses[:5]}...")
    return elapsed / requests


def answer(app: WSGIApp) -> tuple[list[str], dict[str, str], bytes]:
    """One request: every status `start_response` got, the last headers (names lowercased), the body."""
    statuses: list[str] = []
    headers: dict[str, str] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        headers.clear()
        headers.update((key.lower(), value) for key, value in response_headers)
        return _write

    iterable = app(dict(ENVIRON), start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return statuses, headers, body


def check(apps: dict[str, WSGIApp], expected_status: int) -> dict[str, str]:
    """Each app's answer to one request, checked for one `start_response` of `expected_status`: its content type."""
    types_by_name: dict[str, str] = {}
    for name, app in apps.items():
        statuses, headers, _ = answer(app)
        if [int(status[:3]) for status in statuses] != [expected_status]:
            raise AssertionError(f"{name}: expected one start of {expected_status}, got {statuses}")
        types_by_name[name] = headers.get("content-type", "").split(";", 1)[0]
    return types_by_name


def measure(apps: dict[str, WSGIApp], expected_status: int, *, requests: int, repeat: int) -> dict[str, float]:
    """Best-of-`repeat` seconds per request for each app, the apps taking turns in each round."""
    best = dict.fromkeys(apps, float("inf"))
    for app in apps.values():
        drive(app, 50, expected_status)  # warm up
    for _ in range(repeat):
        for name, app in apps.items():
            best[name] = min(best[name], drive(app, requests, expected_status))
    return best


# -- the happy path


def trivial(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", OK_HEADERS)
    return [OK_BODY]


def flask_ok() -> Flask:
    app = Flask(__name__)

    @app.get("/zones")
    def zones() -> dict[str, bool]:
        return {"ok": True}

    return app


def happy_apps() -> dict[str, dict[str, WSGIApp]]:
    """Per app under test: bare, behind the yardstick, behind WSGIProblemMiddleware (each Flask app its own)."""
    return {
        "a trivial WSGI app": {
            "bare": trivial,
            "least": RequestIdOnlyWSGI(trivial),
            "body": RequestIdAndBodyWSGI(trivial),
            "wrapped": WSGIProblemMiddleware(trivial, catalog=CATALOG),
        },
        "a Flask JSON view": {
            "bare": flask_ok(),
            "least": RequestIdOnlyWSGI(flask_ok()),
            "body": RequestIdAndBodyWSGI(flask_ok()),
            "wrapped": WSGIProblemMiddleware(flask_ok(), catalog=CATALOG),
            "installed": install(flask_ok(), catalog=CATALOG),
        },
    }


HAPPY_ROWS = [
    ("bare", "bare"),
    (
        "least",
        "the least any middleware can do here (`RequestIdOnlyWSGI`: wraps `start_response`, appends `X-Request-ID`)",
    ),
    (
        "body",
        "the floor of a middleware that sees body failures (`RequestIdAndBodyWSGI`: the yardstick, plus the"
        " app's iterable passed on through a generator, with its `close()`)",
    ),
    ("wrapped", "behind `WSGIProblemMiddleware(app, catalog=...)`"),
    ("installed", "installed in the app (`problemdetails.install(app, catalog=...)`; a Flask app only)"),
]


# -- the error path on Flask


class Raised(Exception):
    pass


def flask_app(view: Callable[[], Any], *, handlers: dict[type[Exception], Callable[[Any], Any]] | None = None) -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/zones", "zones", view)
    for cls, handler in (handlers or {}).items():
        app.register_error_handler(cls, handler)
    return app


def raises(exc_factory: Callable[[], Exception]) -> Callable[[], Any]:
    def view() -> Any:
        raise exc_factory()

    return view


def flask_floor() -> Response:
    return Response(FLOOR_BODY, 409, mimetype=JSON_MEDIA_TYPE)


def flask_peers() -> dict[str, WSGIApp]:
    import flask_problem_details  # type: ignore[import-not-found, unused-ignore]

    problem_details_app = flask_app(
        raises(
            lambda: flask_problem_details.ProblemDetailsError(
                flask_problem_details.ProblemDetails(status=409, title="Conflict", detail=DETAIL, type=Conflict.type)
            )
        )
    )
    flask_problem_details.configure_app(problem_details_app)
    return {
        FLOOR: flask_app(flask_floor),
        "Flask's exception path alone (an error handler returning the floor's bytes)": flask_app(
            raises(Raised), handlers={Raised: lambda exc: flask_floor()}
        ),
        OURS: WSGIProblemMiddleware(flask_app(raises(lambda: Conflict(DETAIL))), catalog=CATALOG),
        INSTALLED: install(flask_app(raises(lambda: Conflict(DETAIL))), catalog=CATALOG),
        FREE_ANSWER: free_answer(),
        "flask-problem-details": problem_details_app,
    }


FREE_ANSWER = "problemdetails' design with a free answer (its hook returns the floor's bytes) alone"


def free_answer() -> WSGIApp:
    """The typed problem raised through Flask's handler and the middleware, with nothing decided or built.

    What this design costs before any of its work (deciding the problem, instance, negotiation,
    request id, headers): the floor of `WSGIProblemMiddleware` on Flask. On DRF, the same is its
    exception handler returning the floor's bytes, behind the middleware.
    """
    app = flask_app(raises(lambda: Conflict(DETAIL)))
    wrapped = WSGIProblemMiddleware(app, catalog=CATALOG)
    app.error_handler_spec[None][None][Exception] = lambda exc: flask_floor()
    return wrapped


# -- the error path on Django REST framework


def configure_django() -> None:
    """One settings object for every Django contender, problemdetails' `EXCEPTION_HANDLER` in it (README)."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="a benchmark's key, not a secret",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=_urlconf("root", []),
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "drf_problems",
            "drf_standardized_errors",
        ],
        MIDDLEWARE=[],
        DATABASES={},
        REST_FRAMEWORK={
            "EXCEPTION_HANDLER": "problemdetails.drf_exception_handler",
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "UNAUTHENTICATED_USER": None,
        },
        LOGGING_CONFIG=None,
    )
    django.setup()


def _urlconf(name: str, urlpatterns: list[Any]) -> str:
    """A URLconf module of its own, importable by name as Django wants it."""
    module = types.ModuleType(f"benchmarks._bench_wsgi_urls_{name}")
    module.__dict__["urlpatterns"] = urlpatterns
    sys.modules[module.__name__] = module
    return module.__name__


def django_handler(name: str, view: Any, *more_patterns: Any) -> Any:
    """A Django WSGI handler of its own whose requests resolve `/zones` (and `more_patterns`) only."""
    from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
    from django.urls import path

    urlconf = _urlconf(name, [path("zones", view), *more_patterns])
    handler = WSGIHandler()
    handler.request_class = type("Request", (WSGIRequest,), {"urlconf": urlconf})
    return handler


def drf_view(get: Callable[[Any, Any], Any], exception_handler: Callable[..., Any] | None = None) -> Any:
    """An `APIView` whose GET is `get`; with `exception_handler`, that one rather than the setting's."""
    from rest_framework.views import APIView

    attributes: dict[str, Any] = {"get": get}
    if exception_handler is not None:
        attributes["get_exception_handler"] = lambda self: exception_handler
    view_class: Any = type("Zones", (APIView,), attributes)
    return view_class.as_view()


def drf_peers() -> dict[str, WSGIApp]:
    configure_django()
    import drf_problems.exceptions  # type: ignore[import-not-found, unused-ignore]
    import drf_standardized_errors.handler  # type: ignore[import-not-found, unused-ignore]
    from django.http import HttpResponse
    from django.urls import include, path
    from drf_problems.utils import register_exception  # type: ignore[import-not-found, unused-ignore]
    from rest_framework.exceptions import APIException

    class DRFConflict(APIException):
        """A 409 the DRF way, as the peers' docs raise them."""

        status_code = 409
        default_detail = "Conflict"
        default_code = "conflict"
        title = "Conflict"  # drf-problems' problem title

    register_exception(DRFConflict)  # drf-problems' registry (its problem-description endpoint)

    def floor(self: Any, request: Any) -> Any:
        return HttpResponse(FLOOR_BODY, status=409, content_type=JSON_MEDIA_TYPE)

    def raising(exc_factory: Callable[[], Exception]) -> Callable[[Any, Any], Any]:
        def get(self: Any, request: Any) -> Any:
            raise exc_factory()

        return get

    def pre_encoded_handler(exc: Exception, context: Any) -> Any:
        return HttpResponse(FLOOR_BODY, status=409, content_type=JSON_MEDIA_TYPE)

    peer_conflict = raising(lambda: DRFConflict(DETAIL))
    return {
        FLOOR: django_handler("floor", drf_view(floor)),
        "DRF's exception path alone (an exception handler returning the floor's bytes)": django_handler(
            "handler", drf_view(raising(Raised), pre_encoded_handler)
        ),
        OURS: WSGIProblemMiddleware(
            django_handler("ours", drf_view(raising(lambda: Conflict(DETAIL)))), catalog=CATALOG
        ),
        FREE_ANSWER: WSGIProblemMiddleware(
            django_handler("free_answer", drf_view(raising(lambda: Conflict(DETAIL)), pre_encoded_handler)),
            catalog=CATALOG,
        ),
        "problemdetails, the view raising DRF's `APIException` (409) instead": WSGIProblemMiddleware(
            django_handler("ours_api_exception", drf_view(peer_conflict)), catalog=CATALOG
        ),
        "drf-problems": django_handler(
            "drf_problems",
            drf_view(peer_conflict, drf_problems.exceptions.exception_handler),
            path("", include("drf_problems.urls")),  # its problem `type` is reversed from these
        ),
        "drf-standardized-errors": django_handler(
            "drf_standardized_errors",
            drf_view(peer_conflict, drf_standardized_errors.handler.exception_handler),
        ),
    }


def peers() -> dict[str, dict[str, WSGIApp]]:
    return {"Flask": flask_peers(), "Django REST framework": drf_peers()}


# -- the report


def run(repeat: int = 20) -> tuple[list[str], list[str]]:
    """Markdown rows and verdict lines."""
    logging.getLogger("problemdetails").setLevel(logging.WARNING)  # 4xx INFO lines are not what is measured
    # Django logs every 4xx response at WARNING, for every contender alike (with LOGGING_CONFIG=None
    # it would reach stderr through logging's last resort): not what is measured either.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    rows: list[str] = []
    verdicts: list[str] = []

    for label, apps in happy_apps().items():
        check(apps, 200)
        for key in ("least", "body", "wrapped", "installed"):
            if key in apps and "x-request-id" not in answer(apps[key])[1]:
                raise AssertionError(f"{label}, {key}: no X-Request-ID")
        # Many short rounds, spread over seconds: the machine's slow spells outlast a few rounds. A trivial
        # app's request takes a microsecond: more of them per round, for the clock's sake.
        trivial_app = label.startswith("a trivial")
        times = measure(apps, 200, requests=2000 if trivial_app else 200, repeat=(5 if trivial_app else 3) * repeat)
        bare, least, body, wrapped = times["bare"], times["least"], times["body"], times["wrapped"]
        rows += [
            "",
            f"**Happy path: {label} (200)**",
            "",
            "| app | time per request | ratio to bare | ratio to the yardstick |",
            "|---|---:|---:|---:|",
            *(
                f"| {row_label} | {times[key] * 1e6:,.2f} µs | {times[key] / bare:.3f}x | {times[key] / least:.3f}x |"
                for key, row_label in HAPPY_ROWS
                if key in times
            ),
        ]
        ratio = wrapped / least
        verdicts.append(
            f"Happy path, {label}: `WSGIProblemMiddleware` at {ratio:.3f}x the yardstick `RequestIdOnlyWSGI` "
            f"(target ≤ 1.05x): **{'met' if ratio <= 1.05 else 'NOT met'}**; "
            f"{(wrapped - bare) * 1e6:.2f} µs over the bare app, the yardstick {(least - bare) * 1e6:.2f} µs. "
            f"The floor of any middleware that passes the body on (as PEP 3333's logged mid-body failure needs) "
            f"is {body / least:.3f}x the yardstick; ours is {wrapped / body:.3f}x that floor."
            + (
                f" Installed in the app (`problemdetails.install(app, ...)`): {times['installed'] / least:.3f}x "
                f"the yardstick, {(times['installed'] - bare) * 1e6:.2f} µs over the bare app."
                if "installed" in times
                else ""
            )
        )
        print(
            f"happy path, {label}: bare {bare * 1e6:.2f} µs, least {least * 1e6:.2f} µs, "
            f"wrapped {wrapped * 1e6:.2f} µs, {ratio:.3f}x the yardstick",
            flush=True,
        )

    for framework, apps in peers().items():
        media_types = check(apps, 409)
        # Many short rounds: each contender gets more chances to meet a quiet moment of the machine.
        times = measure(apps, 409, requests=200, repeat=2 * repeat)
        base = times[FLOOR]
        ours = times[OURS] - base
        rows += [
            "",
            f"**Error path on {framework}: a view raising a 409**",
            "",
            "| contender | answers | time per request | above the floor (error-handling cost) "
            "| cost ratio to problemdetails |",
            "|---|---|---:|---:|---:|",
        ]
        for name, seconds in times.items():
            cost = seconds - base
            cost_ratio = "" if name == FLOOR or " alone " in name else f"{cost / ours:.2f}x"
            rows.append(
                f"| {name} | 409 `{media_types[name]}` | {seconds * 1e6:,.1f} µs | {cost * 1e6:,.1f} µs "
                f"| {cost_ratio} |"
            )
            print(f"{framework:22} {name[:40]:40} {seconds * 1e6:8.1f} µs  cost {cost * 1e6:7.1f} µs", flush=True)
        peer_names = [
            name for name in times if name != FLOOR and " alone " not in name and "problemdetails" not in name
        ]
        closest = min(peer_names, key=lambda name: times[name])
        if INSTALLED in times:
            installed_cost = times[INSTALLED] - base
            peer_ratio = (times[closest] - base) / installed_cost
            time_ratio = times[closest] / times[INSTALLED]
            verdicts.append(
                f"{framework} 409 installed (`problemdetails.install(app, ...)`): {closest}'s error-handling cost is "
                f"{peer_ratio:.2f}x ours (target ≥ 2x): **{'met' if peer_ratio >= 2 else 'NOT met'}**; its whole "
                f"request takes {time_ratio:.2f}x ours. Ours installed costs {installed_cost * 1e6:.1f} µs above "
                f"the floor, the wrapper {ours * 1e6:.1f} µs."
            )
        worst_peer = (times[closest] - base) / ours
        verdicts.append(
            f"{framework}: every peer's error-handling cost is at least {worst_peer:.2f}x problemdetails' "
            f"(the closest: {closest}; target 2x): **{'met' if worst_peer >= 2 else 'NOT met'}**. "
            f"problemdetails answers at {times[OURS] / base:.2f}x the floor's time, "
            f"{ours * 1e6:.1f} µs above it."
            + (
                f" Its design with a free answer costs {(times[FREE_ANSWER] - base) * 1e6:.1f} µs; a 2x target"
                f" leaves {(times[closest] - base) / 2 * 1e6:.1f} µs."
                if FREE_ANSWER in times
                else ""
            )
        )
    return rows, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows, verdicts = run(args.repeat)
    print("\n".join([*rows, "", *verdicts]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
