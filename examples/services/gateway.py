"""Service A, the gateway: it traces, calls the users service, and answers its own clients.

    USERS_URL=http://127.0.0.1:8001 uvicorn examples.services.gateway:app --port 8000

- The httpx client sends this request's `X-Request-ID` and trace context on
  (`propagation_hook`), and raises the users service's problems
  (`problem_hook`): both services' logs share the ids.
- A users-service problem that is not caught leaves as this service's 502,
  with nothing of the users service's body; `GET /users/{id}` lets it.
- `PUT /users/{id}/name` relays the users service's 422 on purpose.
"""

from __future__ import annotations

import os

import httpx
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.services.json_logs import configure
from problemdetails import Catalog, ProblemMiddleware
from problemdetails.client import async_problem_hook, async_propagation_hook

CATALOG = Catalog.load("catalog/")
USERS = os.environ.get("USERS_URL", "http://127.0.0.1:8001")
Unprocessable = CATALOG["unprocessable"]

trace.set_tracer_provider(TracerProvider())  # a real SDK: spans record (add an exporter to send them)
users = httpx.AsyncClient(
    base_url=USERS,
    event_hooks={"request": [async_propagation_hook()], "response": [async_problem_hook(CATALOG)]},
)


async def user(request: Request) -> Response:
    found = await users.get(f"/users/{request.path_params['user_id']}")  # its 404 is our upstream failure
    return JSONResponse(found.json())


async def rename(request: Request) -> Response:
    try:
        await users.put(f"/users/{request.path_params['user_id']}/name", content=await request.body())
    except Unprocessable as problem:
        raise problem.relayed() from None  # the client's own mistake: pass it on, with our ids
    return Response(status_code=204)


configure("gateway")
routes = [Route("/users/{user_id}", user), Route("/users/{user_id}/name", rename, methods=["PUT"])]
# The OpenTelemetry middleware outermost: its server span is active when a problem is decided.
app = OpenTelemetryMiddleware(ProblemMiddleware(Starlette(routes=routes), catalog=CATALOG))
