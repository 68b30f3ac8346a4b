"""The Flask and Quart extension: `ProblemDetails`, installed the way pallets' extensions are.

```python
from problemdetails.flask import ProblemDetails

app = Flask(__name__)
ProblemDetails(app, catalog=catalog)
```

or, in an app factory, one extension for every app it makes:

```python
problem_details = ProblemDetails(catalog=catalog)


def create_app() -> Flask:
    app = Flask(__name__)
    problem_details.init_app(app)
    return app
```

It is what `problemdetails.install(app, catalog=catalog)` does for a Flask or
Quart app.
"""

from __future__ import annotations

from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._handovers import framework_of
from problemdetails._handovers.flask import Flask

__all__ = ["ProblemDetails"]


class ProblemDetails:
    """Every error of a Flask or Quart app answered with an RFC 9457 problem, by the app object itself.

    The options are `ProblemMiddleware`'s (`exception_map`, `debug`,
    `docs_path`, `instance`, `logger`, ...). `init_app` puts the middleware
    where the framework keeps middleware (Flask's `app.wsgi_app`, Quart's
    `app.asgi_app`) and hooks the app's error handling, so whatever runs the
    app object answers with problems: `flask run`, `quart run`,
    `app.test_client()` and any server. It registers itself as
    `app.extensions["problemdetails"]`; installing twice in one app is a
    `RuntimeError`.

    - The app's own error handlers keep running: a handler for a status or a
      narrower class wins (Flask's lookup), and an `@app.errorhandler(Exception)`
      registered before gets every crash (an exception that is not a problem,
      a mapped one or an HTTP error); one registered after takes everything,
      as Flask's lookup says. A problem a handler returns is sent as is;
      another error page it returns is replaced by its status's problem,
      keeping a short message as `detail`.
    - Each crash is logged once, by the middleware (Flask's own
      "Exception on ..." record is dropped).
    - In debug mode (`app.debug`), a browser's crash gets the framework's own
      debug page: werkzeug's debugger under `flask run --debug`, Quart's
      traceback page. API clients still get the problem.
    """

    def __init__(self, app: Any = None, *, catalog: Catalog, **options: Any) -> None:
        self.catalog = catalog
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        """Install into `app` (a `flask.Flask` or `quart.Quart`): what an app factory calls."""
        found = framework_of(app)
        if found is None or found[1] is not app or not isinstance(found[0], Flask):
            raise TypeError(f"ProblemDetails takes a Flask or Quart app, not {type(app).__qualname__}")
        found[0].extend(app, self, {"catalog": self.catalog, **self.options})
