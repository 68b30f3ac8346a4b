"""Code using the generated module (`errors.py`, from `problemdetails gen catalog/`): mypy and pyright strict.

`make check` type-checks both files; `tests/test_codegen.py` keeps `errors.py` in step with
`catalog/` (`problemdetails gen --check`).
"""

from __future__ import annotations

import problemdetails as pd
from examples.typed_module.errors import CATALOG, Conflict, QuotaExceeded, RateLimited, Unprocessable


def quota(used: int) -> QuotaExceeded:
    return QuotaExceeded(limit=50, current=used, resource="zones")


def describe(problem: pd.Problem) -> str:
    match problem:
        case QuotaExceeded(limit=limit, current=current):
            return f"{current} of {limit}"
        case RateLimited() if problem.retry_after is not None:
            return f"retry in {problem.retry_after:.0f} s"
        case Conflict(conflicts=[first, *_]):
            return f"conflicts with {first}"
        case Unprocessable(errors=[item, *_]):
            return item.pointer or item.detail
        case _:
            return problem.title


def limit_of(problem: QuotaExceeded) -> int:
    return problem.limit


assert CATALOG["quota-exceeded"] is QuotaExceeded
