"""The framework's own exceptions.

Definition-time errors (a catalog that does not load, a doc site that cannot be
built) are kept apart from runtime ones (a response body that cannot be read as
a problem):

    ProblemDetailsError
     │   definition time: before a request is served
     ├── CatalogError      a catalog failed to load or validate; carries every Finding
     ├── SiteError         the doc site cannot be built, written or served from its folder
     │   run time: while requests and responses flow
     ├── DecodeError       bytes handed to a decoder are not a problem document
     └── UnknownSlugError  `catalog[slug]` for a slug the catalog lacks (also a KeyError)

The problems your service raises are not in this tree: they derive from
`Problem` (see `_problem.py`), because they are your API's errors, not ours.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["CatalogError", "DecodeError", "Finding", "ProblemDetailsError", "SiteError", "UnknownSlugError"]


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong (or suspicious) in a catalog, at a place in a file.

    `str(finding)` is the familiar compiler form, `file:line:col: message`,
    which editors and CI logs turn into links. Lines and columns count from 1.
    A finding about a path as a whole (missing, unreadable, holding no catalog)
    has no line and column (`None`), and reads `file: message`.
    """

    path: str
    line: int | None
    column: int | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.severity}: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


class ProblemDetailsError(Exception):
    """Base class of every error the framework itself raises."""


class CatalogError(ProblemDetailsError):
    """A catalog could not be loaded: `findings` holds every problem found, in file order.

    Loading never stops at the first finding, so one run shows you everything
    to fix:

    ```python
    try:
        Catalog.load("catalog/")
    except CatalogError as error:
        for finding in error.findings:
            print(finding)      # catalog/http.yaml:12:5: error: unknown key 'stauts' ...
    ```
    """

    def __init__(self, findings: list[Finding] | tuple[Finding, ...]) -> None:
        self.findings: tuple[Finding, ...] = tuple(findings)
        errors = sum(1 for finding in self.findings if finding.severity == "error")
        summary = f"catalog has {errors} error(s)"
        super().__init__("\n".join([summary, *map(str, self.findings)]))


class SiteError(ProblemDetailsError):
    """The site cannot be built or written: a theme error, or an `--out` folder this tool did not make."""


class DecodeError(ProblemDetailsError):
    """The bytes handed to a decoder are not a problem document (not JSON/XML, not an object)."""


class UnknownSlugError(ProblemDetailsError, KeyError):
    """`catalog[slug]` for a slug the catalog does not have: a `KeyError` that says what it has.

    `except KeyError` catches it and `error.args[0]` is the slug, as for any
    mapping; its text names the close slugs, or the slug a former one became:

    ```python
    catalog["order-conflic"]
    # UnknownSlugError: no problem 'order-conflic' in catalog 'Orders' (did you mean 'order-conflict'?)
    ```
    """

    def __init__(self, slug: object, message: str) -> None:
        super().__init__(slug)
        self.slug = slug
        self.message = message

    def __str__(self) -> str:
        # KeyError's own `str` is the repr of the key: the message is the point here.
        return self.message

    def __reduce__(self) -> tuple[type[UnknownSlugError], tuple[object, str]]:
        return (type(self), (self.slug, self.message))
