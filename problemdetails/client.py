"""Client side: decode any error response into a problem, raise it, and know when to retry.

```python
from problemdetails.client import decode, raise_for_problem, RetryPolicy
```

`DecodeError`, what `decode` raises for a status below 400, is here too: what
the client raises is imported from where the client is. The gRPC side
(`decode_grpc`, `ProblemClientInterceptor`, `async_problem_interceptors`) is
imported on first use, so this module imports without grpcio.
"""

from typing import TYPE_CHECKING, Any

from problemdetails._client import (
    RetryPolicy,
    async_problem_hook,
    async_propagation_hook,
    decode,
    parse_retry_after,
    problem_hook,
    propagation_hook,
    raise_for_problem,
)
from problemdetails._exceptions import DecodeError
from problemdetails._problem import Received

if TYPE_CHECKING:
    from problemdetails._grpc_client import ProblemClientInterceptor, async_problem_interceptors, decode_grpc

# The gRPC side, imported on first use: grpcio is the `grpc` extra.
_GRPC = frozenset({"ProblemClientInterceptor", "async_problem_interceptors", "decode_grpc"})


def __getattr__(name: str) -> Any:
    if name not in _GRPC:
        raise AttributeError(f"module 'problemdetails.client' has no attribute {name!r}")
    from problemdetails import _grpc_client

    value = getattr(_grpc_client, name)
    globals()[name] = value
    return value


__all__ = [
    "DecodeError",
    "ProblemClientInterceptor",
    "Received",
    "RetryPolicy",
    "async_problem_hook",
    "async_problem_interceptors",
    "async_propagation_hook",
    "decode",
    "decode_grpc",
    "parse_retry_after",
    "problem_hook",
    "propagation_hook",
    "raise_for_problem",
]
