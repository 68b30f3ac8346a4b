"""Service B, the users service: its 404 says more than its callers' clients should see.

uvicorn examples.services.users:app --port 8001
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.services.json_logs import configure
from problemdetails import Catalog, ProblemMiddleware

CATALOG = Catalog.load("catalog/")
log = logging.getLogger("users")


async def user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    log.info("looking up user %s", user_id)  # carries the request id and trace id (RequestContextFilter)
    if user_id != "1":
        raise CATALOG["not-found"](f"user {user_id} not in db shard 3 (10.0.0.5)")
    return JSONResponse({"id": user_id, "name": "Ada"})


async def rename(request: Request) -> Response:
    errors = [{"detail": "must not be empty", "pointer": "#/name"}]
    raise CATALOG["unprocessable"]("The user could not be renamed.", errors=errors)


configure("users")
app = ProblemMiddleware(
    Starlette(routes=[Route("/users/{user_id}", user), Route("/users/{user_id}/name", rename, methods=["PUT"])]),
    catalog=CATALOG,
)
