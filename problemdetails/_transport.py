"""What both middlewares are built from: the responder, the doc site, and the framework's hand-over.

`ProblemMiddleware` (ASGI) and `WSGIProblemMiddleware` (WSGI) take the same
options and differ only in how they carry bytes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from problemdetails._catalog import Catalog
from problemdetails._docs_site import DocsSite
from problemdetails._handovers import FRAMEWORKS, HandOver, install
from problemdetails._profiles import WireProfile
from problemdetails._responder import ExceptionMap, Responder, request_path

__all__ = ["Transport"]


class Transport:
    """The options of a middleware, made into its responder, doc site and hand-over."""

    def _respond(self, exc: Exception, native: Any) -> Any:
        """The response a framework's handler may return at once for `exc` (ASGI only), or None."""
        return None

    def __init__(
        self,
        app: Any,
        *,
        catalog: Catalog,
        exception_map: ExceptionMap | None = None,
        debug: bool = False,
        www_authenticate: str = "Bearer",
        rewrite_error_responses: bool = True,
        docs_path: str | None = None,
        docs_dir: str | os.PathLike[str] | None = None,
        profile: WireProfile | None = None,
        instance: Callable[[Any], str | None] | None = request_path,
        logger: logging.Logger | None = None,
        integrate: bool = True,
    ) -> None:
        self.app = app
        self.catalog = catalog
        self.responder = Responder(
            catalog,
            exception_map=exception_map,
            debug=debug,
            www_authenticate=www_authenticate,
            profile=profile,
            instance=instance,
            logger=logger,
            frameworks=FRAMEWORKS,
        )
        self.rewrite_error_responses = rewrite_error_responses
        self.docs = DocsSite(catalog, docs_path, docs_dir) if docs_path is not None else None
        respond = self._respond if type(self)._respond is not Transport._respond else None
        self.handover = HandOver(self.responder, respond)
        self.framework = install(app, self.handover) if integrate else None
