"""Falcon (WSGI and ASGI), each app wrapped in one line.

```python
wsgi_app = WSGIProblemMiddleware(falcon.App(), catalog=CATALOG)
asgi_app = ProblemMiddleware(falcon.asgi.App(), catalog=CATALOG)
```

and the same app with problem details inside it, `installed_wsgi_app` and
`installed_asgi_app`: `problemdetails.install(falcon.App(), catalog=CATALOG)`.
"""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from falcon.media.validators import jsonschema

from examples.frameworks.common import (
    CATALOG,
    EXCEPTION_MAP,
    SECRET,
    ZoneLocked,
    async_chunks,
    chunks,
    conflict,
    forbidden,
    gone,
)
from problemdetails import ProblemMiddleware, WSGIProblemMiddleware, install


class Ok:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}


class Conflict:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise conflict()

    on_head = on_get


class Invitation:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise gone()


class Crash:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise RuntimeError(SECRET)


class Mapped:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise ZoneLocked("zone z1 is locked")


class HTTPErrorResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPTooManyRequests(retry_after=7)


ACCOUNT = {
    "type": "object",
    "required": ["name", "profile"],
    "properties": {
        "name": {"type": "string", "maxLength": 10},
        "profile": {"type": "object", "properties": {"color": {"type": "string"}}},
    },
}


class Validate:
    @jsonschema.validate(req_schema=ACCOUNT)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}


class AsyncValidate:
    @jsonschema.validate(req_schema=ACCOUNT)
    async def on_post(self, req: Any, resp: Any) -> None:
        resp.media = {"ok": True}


class Stream:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "application/octet-stream"
        resp.stream = chunks()


class Gateway:
    """A Falcon middleware component."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path == "/from-middleware":
            raise forbidden()


def _async(resource: Any) -> Any:
    """The same resource for `falcon.asgi.App`, whose responders are coroutines."""

    class Async:
        async def on_get(self, req: Any, resp: Any) -> None:
            if isinstance(resource, Stream):
                resp.content_type = "application/octet-stream"
                resp.stream = async_chunks()
                return
            resource.on_get(req, resp)

        on_head = on_get if hasattr(resource, "on_head") else None

    return Async()


class AsyncGateway:
    async def process_request(self, req: Any, resp: Any) -> None:
        Gateway().process_request(req, resp)


ROUTES = {
    "/ok": Ok(),
    "/conflict": Conflict(),
    "/class": Invitation(),
    "/crash": Crash(),
    "/mapped": Mapped(),
    "/http-error": HTTPErrorResource(),
    "/stream": Stream(),
}

falcon_wsgi = falcon.App(middleware=[Gateway()])
falcon_asgi = falcon.asgi.App(middleware=[AsyncGateway()])
for route, resource in ROUTES.items():
    falcon_wsgi.add_route(route, resource)
    falcon_asgi.add_route(route, _async(resource))
falcon_wsgi.add_route("/validate", Validate())
falcon_asgi.add_route("/validate", AsyncValidate())

wsgi_app = WSGIProblemMiddleware(falcon_wsgi, catalog=CATALOG, exception_map=EXCEPTION_MAP)
asgi_app = ProblemMiddleware(falcon_asgi, catalog=CATALOG, exception_map=EXCEPTION_MAP)


def _installed(app: Any) -> Any:
    """The same routes in `app`, with problem details installed inside it (the app object alone answers)."""
    asgi = isinstance(app, falcon.asgi.App)
    for route, resource in ROUTES.items():
        app.add_route(route, _async(resource) if asgi else resource)
    app.add_route("/validate", AsyncValidate() if asgi else Validate())
    return install(app, catalog=CATALOG, exception_map=EXCEPTION_MAP)


# Installed inside the app: what `falcon.testing.TestClient(app)`, wsgiref's server and
# any WSGI or ASGI server run as they are.
installed_wsgi_app = _installed(falcon.App(middleware=[Gateway()]))
installed_asgi_app = _installed(falcon.asgi.App(middleware=[AsyncGateway()]))
