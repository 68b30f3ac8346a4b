"""What the commands (`problemdetails check|gen|build|serve|...`) tell the terminal about a catalog.

Shared by the command line and the `serve` preview, which reloads the catalog
on every change: findings go to stderr as `file:line:col: severity: message`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from problemdetails._catalog import Catalog
from problemdetails._exceptions import CatalogError, Finding

__all__ = ["load_catalog"]


def _report(findings: Sequence[Finding]) -> None:
    for finding in findings:
        print(finding, file=sys.stderr)


def load_catalog(
    paths: Sequence[str], *, strict: bool = False, base_url: str | None = None, show_warnings: bool = True
) -> Catalog | None:
    """Load a catalog, reporting findings on stderr (warnings unless `show_warnings=False`); None when broken."""
    try:
        catalog = Catalog.load(paths, strict=strict)
        if base_url is not None:
            catalog = catalog.rebased(base_url)
    except CatalogError as error:
        _report(error.findings)
        errors = sum(1 for finding in error.findings if finding.severity == "error")
        warnings = len(error.findings) - errors
        print(f"catalog has {errors} error(s) and {warnings} warning(s)", file=sys.stderr)
        return None
    except ValueError as error:  # a bad --base-url
        print(f"--base-url: {error}", file=sys.stderr)
        return None
    if show_warnings:
        _report(catalog.warnings)
    return catalog
