"""`install(app, ...)`: the whole pinned behaviour inside a framework's app object, put where it keeps middleware.

A wrapper outside the app (`ProblemMiddleware(app)`) is not what the
framework's own tools run: its test client, its dev server and its CLI take
the app object. `install` hooks the framework's error handling and puts the
request layer (ids, negotiation, rendered error pages) inside the app, the way
that framework installs things, so all of them answer with problems.
"""

from __future__ import annotations

from typing import Any, TypeVar

from problemdetails._catalog import Catalog
from problemdetails._handovers import framework_of

__all__ = ["install"]

App = TypeVar("App")


def install(app: App, *, catalog: Catalog, **options: Any) -> App:
    """Install problem details inside a framework's app object, and return the app.

    The options are `ProblemMiddleware`'s. Afterwards the app object alone
    answers every error with a problem: under a production server, the
    framework's dev server and CLI, and its test client.

    ```python
    app = problemdetails.install(Flask(__name__), catalog=catalog)
    ```

    Each framework's own convention does the same (see the README's
    framework sections). A `ProblemMiddleware` or `WSGIProblemMiddleware`
    around an installed app guards what fails outside it; each request is
    still decided and logged once.
    """
    found = framework_of(app)
    if found is None or found[1] is not app:
        raise TypeError(
            f"problemdetails.install() takes a framework's application object, not {type(app).__qualname__}: "
            "wrap any other ASGI or WSGI app with ProblemMiddleware or WSGIProblemMiddleware"
        )
    framework, _ = found
    framework.embed(app, {"catalog": catalog, **options})
    return app
