"""An httpx client that retries only when the catalog says it can help.

    with httpx.Client(base_url="https://api.example.com") as http:
        response = send_with_retries(http, http.build_request("GET", "/v1/zones"), catalog=catalog)

A 4xx that needs the request changed raises at once; a 429 waits for its
`Retry-After`; a 502 backs off with jitter; POSTs are not retried unless the
policy says so. Every attempt that fails is logged with its request id, as the
example APIs ask of their clients (`examples/`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from problemdetails import Catalog
from problemdetails.client import RetryPolicy, decode

log = logging.getLogger("retrying_client")


def send_with_retries(
    http: httpx.Client,
    request: httpx.Request,
    *,
    catalog: Catalog,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send `request`; on a problem, retry as `policy` advises, then raise the last problem."""
    policy = policy or RetryPolicy()
    attempt = 0
    while True:
        response = http.send(request)
        if response.status_code < 400:
            return response
        problem = decode(response, catalog=catalog)
        attempt += 1
        delay = policy.delay(problem, attempt)
        log.warning(
            "%s %s: %s %s (request id %s); %s",
            request.method,
            request.url.path,
            problem.status,
            problem.code or problem.title,
            problem.request_id,
            "giving up" if delay is None else f"retrying in {delay:.2f} s",
        )
        if delay is None:
            raise problem
        sleep(delay)
