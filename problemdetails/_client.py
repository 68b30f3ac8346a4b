"""Reading problems on the client side: decode, raise, retry.

What the example APIs (`examples/`) ask of their clients is the contract here:
branch on the (status, code) pair, log the request id, do not retry 4xx
blindly, honour `Retry-After`.
Nothing in this module makes a network request.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from problemdetails._context import current_request_id, header, serving
from problemdetails._exceptions import DecodeError
from problemdetails._grammar import LANGUAGE_TAG, delay_seconds, forwarded_traceparent, forwarded_tracestate
from problemdetails._problem import Problem, Received
from problemdetails._spec import default_retry
from problemdetails._wire import JSON_MEDIA_TYPE, decode_json, scrub_surrogates
from problemdetails._xml import decode_xml

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog
    from problemdetails._profiles import WireProfile

__all__ = [
    "RetryPolicy",
    "async_problem_hook",
    "async_propagation_hook",
    "decode",
    "parse_retry_after",
    "problem_hook",
    "problem_of_members",
    "propagation_hook",
    "raise_for_problem",
]

_JSON = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_XML = re.compile(r"^(?:application|text)/(?:[\w.+-]+\+)?xml$")
_TEXT_DETAIL_LIMIT = 1000
# RFC 9110 §9.2.2: methods whose repetition has the same effect as one request.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


def decode(
    response: Any,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    *,
    catalog: Catalog | None = None,
    profile: WireProfile | None = None,
    url: str | None = None,
    method: str | None = None,
) -> Problem:
    """Decode an error response into a problem, whatever its body.

    Pass an `httpx.Response` (or anything with `status_code`, `headers` and
    `content`), or the parts: `decode(status, headers, body)`.

    - `application/problem+json` and `+xml` (any parameters, any case) become
      the catalog's typed class when `code` (or, failing that, `type`) is known,
      else a generic `Problem`; unknown codes are never an error.
    - The HTTP status is authoritative over the body's `status` member.
    - Other bodies fall back sensibly: JSON objects are read as problems
      (a legacy `{"detail": "..."}` keeps its detail), plain text becomes the
      detail, HTML and empty bodies give the status alone.
    - With a `profile` (a `WireProfile`), a JSON body in that legacy shape is
      read as the problem it stands for; a body without a code becomes the
      catalog's problem for the status.
    - `problem.received` keeps the exchange: headers, URL, the parsed
      `Retry-After` (`problem.retry_after`) and the raw response
      (`problem.response`); `request_id` falls back to `X-Request-ID`.

    Raises `DecodeError` only for a status that is not an error (below 400).
    """
    raw = None
    if isinstance(response, int):
        status = response
    else:
        raw = response
        status = int(response.status_code)
        headers = response.headers
        body = response.content
        request_url, request_method = _request_of(response)
        url, method = url or request_url, method or request_method
    if status < 400:
        raise DecodeError(f"status {status} is not an error response")
    lowered = {str(name).lower(): str(value) for name, value in (headers or {}).items()}
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    problem = _read(status, lowered.get("content-type", ""), content, catalog, url, profile)
    if problem.request_id is None and lowered.get("x-request-id"):
        problem.request_id = lowered["x-request-id"]
    retry_after = parse_retry_after(lowered["retry-after"]) if "retry-after" in lowered else None
    problem.received = Received(
        status=status,
        headers=lowered,
        url=url,
        method=method,
        retry_after=retry_after,
        response=raw,
        language=_content_language(lowered.get("content-language", "")),
    )
    return problem


def _content_language(value: str) -> str | None:
    """The first language tag of a `Content-Language` (RFC 9110 §8.5: a list of them), if it is one."""
    first = value.partition(",")[0].strip()
    return first if LANGUAGE_TAG.match(first) else None


def _request_of(response: Any) -> tuple[str | None, str | None]:
    """The URL and method of the request a response answers, when it knows them."""
    try:
        request = response.request
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError for a response built by hand
        return None, None
    return (str(request.url), request.method) if request is not None else (None, None)


def _read(
    status: int, content_type: str, body: bytes, catalog: Catalog | None, url: str | None, profile: WireProfile | None
) -> Problem:
    media = content_type.split(";", 1)[0].strip().lower()
    if body.strip():
        if profile is not None and _JSON.match(media) and media != JSON_MEDIA_TYPE:
            legacy = _read_legacy(status, body, catalog, profile)
            if legacy is not None:
                return legacy
        try:
            if _JSON.match(media) or (not media and body.lstrip()[:1] == b"{"):
                return decode_json(body, catalog=catalog, status=status, base_url=url)
            if _XML.match(media):
                return decode_xml(body, catalog=catalog, status=status, base_url=url)
        except DecodeError:
            pass  # not the document it claims to be: fall back to the status alone
        if media == "text/plain":
            text = body.decode("utf-8", "replace").strip()[:_TEXT_DETAIL_LIMIT]
            return Problem._from_wire({"status": status, "detail": text}, {}, {})
    return Problem._from_wire({"status": status}, {}, {})


def _read_legacy(status: int, body: bytes, catalog: Catalog | None, profile: WireProfile) -> Problem | None:
    try:
        members = profile.read(status, msgspec.json.decode(body), catalog)
    except (msgspec.DecodeError, RecursionError):
        return None
    return problem_of_members(status, members, catalog) if members is not None else None


def problem_of_members(status: int, members: dict[str, Any], catalog: Catalog | None) -> Problem:
    """The problem another shape's members stand for (a legacy body's, a gRPC Status's), decoded as problem+json."""
    if catalog is not None:
        if "code" not in members and (code := _code_for_status(catalog, status)) is not None:
            members = {**members, "code": code}  # the shape has no code: the status says what it is
        spec = catalog.problems.get(members.get("code"))  # type: ignore[arg-type]
        if spec is not None and members.get("detail") == spec.title:
            members = {name: value for name, value in members.items() if name != "detail"}  # the title stood in
    document = {**members, "status": status}
    try:
        body = msgspec.json.encode(document)
    except UnicodeEncodeError:  # a lone surrogate in some text: U+FFFD, as problem+json sends it
        body = msgspec.json.encode(scrub_surrogates(document))
    return decode_json(body, catalog=catalog, status=status)


def _code_for_status(catalog: Catalog, status: int) -> str | None:
    """The slug a legacy body of `status` most likely stands for: the framework errors' one, else a root's."""
    return catalog.status_slugs.get(status) or next(
        (slug for slug, spec in catalog.problems.items() if spec.status == status and spec.extends is None), None
    )


def raise_for_problem(response: Any, *, catalog: Catalog | None = None, profile: WireProfile | None = None) -> Any:
    """Raise the (typed) problem of a 4xx/5xx response; return other responses unchanged.

    ```python
    try:
        raise_for_problem(httpx.post(url, json=zone), catalog=catalog)
    except QuotaExceeded as problem:
        print(problem.limit, problem.request_id)
    ```
    """
    if int(response.status_code) >= 400:
        raise decode(response, catalog=catalog, profile=profile)
    return response


def problem_hook(catalog: Catalog | None = None) -> Callable[[Any], None]:
    """An httpx response event hook that raises problems: `httpx.Client(event_hooks={"response": [hook]})`."""

    def hook(response: Any) -> None:
        if int(response.status_code) >= 400:
            response.read()
            raise decode(response, catalog=catalog)

    return hook


def async_problem_hook(catalog: Catalog | None = None) -> Callable[[Any], Any]:
    """The same hook for `httpx.AsyncClient`."""

    async def hook(response: Any) -> None:
        if int(response.status_code) >= 400:
            await response.aread()
            raise decode(response, catalog=catalog)

    return hook


def propagation_hook() -> Callable[[Any], None]:
    """An httpx request event hook that sends the current request's ids on to the service it calls.

    Inside a request a middleware serves, each outgoing request gets that
    request's `X-Request-ID`, and its trace context: OpenTelemetry's own
    headers when the app uses it (`traceparent`, `tracestate`, through the
    global propagator), else the incoming `traceparent` and `tracestate`
    (W3C Trace Context: a participant that does not trace passes them on).
    Only valid ones go on: a `traceparent` the middleware itself reads a
    trace id from (a later version sent as version 00), and with it a
    `tracestate` that follows the W3C list grammar, with at most 32 members
    and 512 characters (else none is sent). Whatever the incoming request's
    bytes, the hook never raises. Headers the request already has are left
    alone; outside a request, nothing is added. Both services' logs then
    share the ids.

    ```python
    client = httpx.Client(event_hooks={"request": [propagation_hook()], "response": [problem_hook(catalog)]})
    ```
    """

    def hook(request: Any) -> None:
        _propagate(request.headers)

    return hook


def async_propagation_hook() -> Callable[[Any], Any]:
    """The same hook for `httpx.AsyncClient`."""

    async def hook(request: Any) -> None:
        _propagate(request.headers)

    return hook


def _propagate(headers: Any) -> None:
    request_id = current_request_id()
    if request_id is not None and "x-request-id" not in headers:
        headers["X-Request-ID"] = request_id
    if "traceparent" in headers:
        return
    if "opentelemetry.trace" in sys.modules:  # the app traces: its context, as its propagator writes it
        from opentelemetry import propagate

        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if "traceparent" in carrier:
            headers.update(carrier)
            return
    native = serving.get()
    if native is None:
        return
    # Only what W3C Trace Context accepts goes on, so only printable ASCII does: anything else would
    # make httpx raise (header values are ASCII) or pass an invalid or unbounded header downstream.
    raw = header(native, "traceparent")
    traceparent = forwarded_traceparent(raw) if raw is not None else None
    if traceparent is None:
        return  # §3.3: "If the vendor failed to parse traceparent, it MUST NOT attempt to parse tracestate."
    headers["traceparent"] = traceparent
    raw = header(native, "tracestate", combined=True)  # §3.3.1: several fields "MUST be combined"
    tracestate = forwarded_tracestate(raw) if raw is not None else None
    if tracestate is not None and "tracestate" not in headers:
        headers["tracestate"] = tracestate


_HTTP_DATE_FORMATS = (
    "%a, %d %b %Y %H:%M:%S GMT",  # IMF-fixdate, the preferred form
    "%A, %d-%b-%y %H:%M:%S GMT",  # obsolete RFC 850
    "%a %b %d %H:%M:%S %Y",  # obsolete asctime (its day may be space-padded)
)


def parse_retry_after(value: str, *, now: dt.datetime | None = None) -> float | None:
    """Seconds from `now` until a `Retry-After` value (RFC 9110 §10.2.3), never negative; None if unreadable.

    Accepts delay-seconds and the three HTTP-date forms of RFC 9110 §5.6.7.
    Delays are capped at 2147483648 seconds (RFC 9111 §1.2.2), so a 400-digit
    value is still a number `time.sleep` takes.
    """
    text = value.strip()
    if text.isascii() and text.isdigit():  # "¹".isdigit() is True, but it is no delay-seconds
        return float(delay_seconds(text) or 0)
    now = now or dt.datetime.now(dt.timezone.utc)
    for form in _HTTP_DATE_FORMATS:
        try:
            when = dt.datetime.strptime(re.sub(r"\s+", " ", text), form).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
        if form == _HTTP_DATE_FORMATS[1] and when.year > now.year + 50:
            # RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century.
            when = when.replace(year=when.year - 100)
        return max(0.0, (when - now).total_seconds())
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Whether, and when, to retry a request that failed with a problem.

    Plug it into your retry loop: `policy.delay(problem, attempt)` is the number
    of seconds to wait before retry `attempt` (1 for the first retry), or None
    when retrying cannot help. It follows the catalog's `retry` advice for the
    slug (or the status, for uncatalogued problems):

    - `never`, `after-change`: no retry (a 4xx other than 408/425/429 only
      retries when the catalog says so);
    - `after-delay`: after `Retry-After` (or the body's `retry_after`); when
      neither is given, as `backoff`; never sooner than the server asked, and
      not at all if it asks for longer than `max_delay`;
    - `backoff`: exponential backoff with full jitter.

    Non-idempotent methods (POST, PATCH) are not retried unless
    `retry_non_idempotent=True` (use idempotency keys when you do).
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_non_idempotent: bool = False

    def delay(self, problem: Problem, attempt: int, *, method: str | None = None) -> float | None:
        if not self._may_retry(problem, attempt, method):
            return None
        advice = problem.spec.retry if problem.spec is not None else default_retry(problem.status)
        if advice in ("never", "after-change"):
            return None
        if advice == "after-delay":
            # The header first, then a `retry_after` member in the body.
            asked = problem.received.retry_after if problem.received is not None else None
            asked = asked if asked is not None else problem.retry_after
            if asked is not None:
                return float(asked) if asked <= self.max_delay else None
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def _may_retry(self, problem: Problem, attempt: int, method: str | None) -> bool:
        """Within the attempts, and a method that may be sent again (as received, unless `method` says)."""
        if attempt < 1 or attempt > self.attempts:
            return False
        method = method or (problem.received.method if problem.received is not None else None)
        return method is None or method.upper() in IDEMPOTENT or self.retry_non_idempotent
