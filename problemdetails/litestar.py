"""Litestar's way in: `Litestar(..., plugins=[ProblemDetailsPlugin(catalog=catalog)])`.

```python
from problemdetails.litestar import ProblemDetailsPlugin

app = Litestar(route_handlers=[...], plugins=[ProblemDetailsPlugin(catalog=catalog)])
```

The app object alone then answers every error with a problem: under any
server, under `litestar run`, and in `litestar.testing.TestClient(app)`. It is
the same as `problemdetails.install(app, catalog=catalog)` on a built app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from problemdetails._catalog import Catalog
from problemdetails._handovers.litestar import chain_layers, plugged

try:
    from litestar.plugins import InitPluginProtocol, ReceiveRoutePlugin
except ImportError as _missing:  # pragma: no cover - the plugin is for Litestar apps only
    raise ImportError("problemdetails.litestar needs Litestar: pip install litestar") from _missing

if TYPE_CHECKING:
    from litestar.config.app import AppConfig
    from litestar.routes import BaseRoute

__all__ = ["ProblemDetailsPlugin"]


class ProblemDetailsPlugin(InitPluginProtocol, ReceiveRoutePlugin):
    """A Litestar plugin that makes every error of the app an RFC 9457 problem.

    The options are `ProblemMiddleware`'s (`exception_map`, `debug`,
    `docs_path`, `profile`, `instance`, `logger`, `enrich` ...):

    ```python
    app = Litestar(
        route_handlers=[...],
        plugins=[ProblemDetailsPlugin(catalog=catalog, exception_map={ZoneLocked: "zone-locked"})],
    )
    ```

    It keeps the exception handlers you register: one for a status or a
    narrower class still answers (its page rewritten as a problem, keeping
    its message), and an `Exception` handler of yours still runs for every
    crash. With `Litestar(debug=True)`, a browser gets Litestar's debug page
    for a crash; API clients still get problem+json. List it once, and do
    not also call `problemdetails.install()` on the app (either raises
    `RuntimeError`); a `ProblemMiddleware` around the app, as a guard for
    what fails outside it, is fine.
    """

    __slots__ = ("options",)

    def __init__(self, *, catalog: Catalog, **options: Any) -> None:
        self.options: dict[str, Any] = {"catalog": catalog, **options}

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Put the request layer in front of every route, and the hand-over in the exception handlers."""
        return plugged(app_config, self.options)  # type: ignore[no-any-return]

    def receive_route(self, route: BaseRoute) -> None:
        """Chain to the catch-all handlers a router, controller or route handler of the app registers."""
        chain_layers(route)
