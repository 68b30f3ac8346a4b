"""Client side: decode any error response into a problem, raise it, and know when to retry.

```python
from problemdetails.client import decode, raise_for_problem, RetryPolicy
```
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
from problemdetails._problem import Received

__all__ = [
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
