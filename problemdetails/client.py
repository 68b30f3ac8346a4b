"""Client side: decode any error response into a problem, raise it, and know when to retry.

```python
from problemdetails.client import decode, raise_for_problem, RetryPolicy
```

`DecodeError`, what `decode` raises for a status below 400, is here too: what
the client raises is imported from where the client is.
"""

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

__all__ = [
    "DecodeError",
    "Received",
    "RetryPolicy",
    "async_problem_hook",
    "async_propagation_hook",
    "decode",
    "parse_retry_after",
    "problem_hook",
    "propagation_hook",
    "raise_for_problem",
]
