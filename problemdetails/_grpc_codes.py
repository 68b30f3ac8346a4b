"""gRPC's words for a catalog's problems: `google.rpc.Code` names, the code a status maps to, a slug's reason.

Plain tables, with nothing of grpcio imported: the loader checks a catalog's
`grpc:` keys against them, the doc site shows them, and the interceptors and
`decode_grpc` (`_grpc_status.py`) build and read `google.rpc.Status` with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from problemdetails._problem import Problem

__all__ = ["CODES", "STATUS_OF_CODE", "code_for_status", "code_of", "domain_of", "grpc_code", "reason", "valid_reason"]

# google/rpc/code.proto: every canonical code by name, with its number.
CODES: dict[str, int] = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}

# DESIGN.md's table (google/rpc/code.proto's "HTTP Mapping" comments): the code a problem
# of a status takes when its catalog names none.
_CODE_OF_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    416: "OUT_OF_RANGE",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# The other way, for a Status without details: the HTTP status each code's problem has
# (code.proto's mapping; UNKNOWN and DATA_LOSS are server errors, OK is none).
STATUS_OF_CODE: dict[str, int] = {
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}


def code_for_status(status: int) -> str:
    """The `google.rpc.Code` name a problem of `status` takes by default."""
    return _CODE_OF_STATUS.get(status) or ("FAILED_PRECONDITION" if status < 500 else "INTERNAL")


def grpc_code(status: int, named: str | None) -> str:
    """A problem's code: the one its catalog names (`grpc:`, inherited), else its status's."""
    return named or code_for_status(status)


def code_of(problem: Problem) -> str:
    """The code `problem` answers a gRPC call with: its catalog's (`grpc:`, inherited), else its status's."""
    spec = problem.spec
    return grpc_code(problem.status, spec.grpc if spec is not None else None)


def reason(slug: str) -> str:
    """The `ErrorInfo.reason` of a slug: UPPER_SNAKE (`quota-exceeded` -> `QUOTA_EXCEEDED`)."""
    return slug.upper().replace("-", "_")


def valid_reason(slug: str) -> bool:
    """AIP-193: a reason is `[A-Z][A-Z0-9_]+[A-Z0-9]`, at most 63 characters; every slug's form fits but its length."""
    return 3 <= len(slug) <= 63


def domain_of(named: str | None, base_uri: str) -> str:
    """The `ErrorInfo.domain`: the header's `domain:`, else the host of `base_uri`."""
    return named or urlsplit(base_uri).hostname or base_uri
