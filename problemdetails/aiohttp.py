"""aiohttp's convention: `web.Application(middlewares=[problemdetails.aiohttp.problem_middleware(catalog=...)])`.

See `_handovers/aiohttp.py` for what the middleware answers. `problemdetails.install(app, catalog=...)`
does the same and also hooks the app's `on_response_prepare`, so that a response a handler prepares
itself (a `StreamResponse`) carries `X-Request-ID` as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from problemdetails._catalog import Catalog
from problemdetails._handovers.aiohttp import Layer

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware

__all__ = ["problem_middleware"]


def problem_middleware(*, catalog: Catalog, **options: Any) -> Middleware:
    """An aiohttp middleware that answers every error of the app with its problem.

    The options are `ProblemMiddleware`'s (an `instance=` function gets the
    request's facts as an ASGI-like scope: `method`, `path`, `query_string`,
    `headers`). List it first, so that it sees what the app's other
    middlewares raise:

    ```python
    app = web.Application(middlewares=[problemdetails.aiohttp.problem_middleware(catalog=catalog)])
    ```
    """
    from problemdetails._transport import Transport

    return Layer(Transport(None, **options, catalog=catalog))
