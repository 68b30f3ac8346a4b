"""Pyramid: its own HTTP errors read as problems. The layer itself is `problemdetails/pyramid.py`'s include."""

from __future__ import annotations

from problemdetails._catalog import Catalog
from problemdetails._decider import problem_for_status
from problemdetails._handovers.base import Framework
from problemdetails._problem import Problem

__all__ = ["Pyramid"]


class Pyramid(Framework):
    module = "pyramid"
    apps = frozenset()  # installed by `config.include("problemdetails.pyramid")`, not `install`

    def problem(self, exc: Exception, catalog: Catalog) -> Problem | None:
        """A Pyramid `HTTPException` of 400 or more: its status's problem, with its headers (`Allow`...).

        Its `detail` is for the developer (Pyramid's own name views and
        predicates in it, and its debug pages show it), as Django's messages
        are: never the client's.
        """
        from pyramid.httpexceptions import HTTPException

        if not isinstance(exc, HTTPException) or exc.code < 400:
            return None
        problem = problem_for_status(catalog, exc.code)
        # `Allow`, `WWW-Authenticate`, `Retry-After`...: the responder drops what describes Pyramid's page.
        problem.headers.update(dict(exc.headers.items()))
        return problem
