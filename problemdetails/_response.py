"""The HTTP response for a problem: negotiation, headers and body.

RFC 9457 §3 lets the server answer `application/problem+json` "even though
the client did not list it in Accept", so an error response is never a 406:
negotiation only chooses between problem+json (the default), problem+xml
(Appendix B) and an HTML page for browsers (Appendix C's script embedding).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from functools import lru_cache

from problemdetails._grammar import LANGUAGE_HEADER_LIMIT, language_ranges
from problemdetails._problem import Problem
from problemdetails._wire import encode_json, utf8
from problemdetails._xml import encode_xml

__all__ = [
    "HTML_MEDIA_TYPE",
    "asks_for_problem_json",
    "choose_language",
    "choose_media_type",
    "json_document",
    "render",
]

HTML_MEDIA_TYPE = "text/html; charset=utf-8"

# Media ranges a client may send, and the representation each one asks for.
_KINDS = {
    "application/problem+json": "json",
    "application/json": "json",
    "application/problem+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
_ORDER = {"json": 0, "xml": 1, "html": 2}  # tie-break: JSON first, then XML, then HTML


@lru_cache(maxsize=512)  # clients send the same few Accept values again and again
def choose_media_type(accept: bytes) -> str:
    """`json`, `xml` or `html` for an `Accept` header value (RFC 9110 §12.5.1 q-values)."""
    if not accept or accept in (b"*/*", b"application/json", b"application/problem+json"):
        return "json"
    best = {"json": 0.0, "xml": 0.0, "html": 0.0}
    wildcard = 0.0
    for media, quality in _media_ranges(accept):
        if media in _KINDS:
            kind = _KINDS[media]
            best[kind] = max(best[kind], quality)
        elif media in ("*/*", "application/*"):
            wildcard = max(wildcard, quality)
    best["json"] = max(best["json"], wildcard)  # JSON is what a wildcard gets
    kind, quality = max(best.items(), key=lambda entry: (entry[1], -_ORDER[entry[0]]))
    return kind if quality > 0 else "json"  # never 406 for an error: fall back to JSON


@lru_cache(maxsize=512)
def asks_for_problem_json(accept: bytes) -> bool:
    """True when `Accept` names `application/problem+json` (with q > 0): a client that knows RFC 9457."""
    return any(media == "application/problem+json" and quality > 0 for media, quality in _media_ranges(accept))


def choose_language(accept_language: str, languages: tuple[str, ...]) -> str:
    """The language of `languages` (the catalog's, default first) to answer an `Accept-Language` value in.

    RFC 9110 §12.5.4 with RFC 4647 §3.4 "Lookup": the ranges by q-value, highest
    first (in header order on a tie); each range, then each shorter prefix of it
    (`fr-CA` -> `fr`), against the languages; `*` is the default. Ranges with
    q=0 rule their languages out. Nothing matches: the default. Never a 406
    for an error, and never an exception, whatever the header.
    """
    if len(languages) == 1 or not accept_language:
        return languages[0]
    # Cached per header value, read so far only: the cache's memory has a bound, whatever clients send.
    return _lookup(accept_language[:LANGUAGE_HEADER_LIMIT], languages)


@lru_cache(maxsize=1024)
def _lookup(accept_language: str, languages: tuple[str, ...]) -> str:
    ranges = language_ranges(accept_language)
    refused = {tag for tag, quality in ranges if quality == 0}
    # Lowercase tag -> the catalog's spelling, the default first, but for those refused.
    available = {language.lower(): language for language in languages if language.lower() not in refused}
    for tag, _ in sorted([entry for entry in ranges if entry[1] > 0], key=lambda entry: -entry[1]):
        found = next(iter(available.values()), None) if tag == "*" else _looked_up(tag, available)
        if found is not None:
            return found
    return languages[0]


def _looked_up(tag: str, available: Mapping[str, str]) -> str | None:
    """RFC 4647 §3.4: the range, then each shorter prefix of it (`fr-CA` -> `fr`), among the languages."""
    while tag:
        if tag in available:
            return available[tag]
        tag = tag.rpartition("-")[0]
        if tag[-2:-1] == "-":  # a single-character subtag (`x-`, an extension) goes with the one after it
            tag = tag[:-2]
    return None


def _media_ranges(accept: bytes) -> list[tuple[str, float]]:
    """Each media range of an `Accept` value with its q-value (RFC 9110 §12.5.1), lowercased."""
    ranges = []
    for item in accept.decode("latin-1").split(","):
        media, _, parameters = item.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        ranges.append((media.strip().lower(), quality))
    return ranges


_PAGE = """<!doctype html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {title}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1b1b1b; }}
@media (prefers-color-scheme: dark) {{ body {{ background: #121212; color: #eaeaea; }} a {{ color: #8ab4f8; }} }}
code {{ font-family: ui-monospace, monospace; }}
</style>
<script type="application/problem+json">{json}</script>
</head>
<body>
<main>
<h1>{title}</h1>
<p>HTTP {status}{code}</p>
{detail}{type}{request_id}</main>
</body>
</html>
"""


# Type URIs a browser may follow: http(s), and relative references (no scheme),
# which resolve against the page's own URL. Never `javascript:`, `data:` and the
# like (a gateway may relay an upstream's `type`), and never `about:blank`,
# which documents nothing.
_LINKABLE = re.compile(r"(?i)https?:|[^:/?#]*(?:[/?#]|$)")


def _type_line(type_uri: str) -> str:
    if type_uri == "about:blank":
        return ""
    if _LINKABLE.match(type_uri):
        return f'<p><a href="{html.escape(type_uri)}">What this problem means and how to resolve it</a></p>\n'
    return f"<p>Problem type: <code>{html.escape(type_uri)}</code></p>\n"  # a tag: or urn: name, not a link


def _html(problem: Problem, body: bytes, language: str) -> bytes:
    # Inside <script>, only "</script" (and "<!--") can end the element early;
    # escaping every "<" as \\u003c keeps the JSON identical once parsed.
    embedded = body.decode().replace("<", "\\u003c")
    escape = html.escape
    page = _PAGE.format(
        language=escape(language),
        status=problem.status,
        title=escape(problem.title),
        json=embedded,
        code=f" · <code>{escape(problem.code)}</code>" if problem.code else "",
        detail=f"<p>{escape(problem.detail)}</p>\n" if problem.detail else "",
        type=_type_line(problem.type),
        request_id=f"<p>Request id: <code>{escape(problem.request_id)}</code></p>\n" if problem.request_id else "",
    )
    return utf8(page)


def render(problem: Problem, kind: str, *, language: str = "en") -> tuple[bytes, bytes]:
    """The body and `Content-Type` for `problem` in the negotiated representation."""
    if kind == "xml":
        return encode_xml(problem), b"application/problem+xml"
    body = encode_json(problem)
    if kind == "html":
        return _html(problem, body, language), HTML_MEDIA_TYPE.encode()
    return body, b"application/problem+json"


def json_document(body: bytes) -> object:
    """A JSON error body (FastAPI's `{"detail": ...}`, Litestar's `{"detail", "extra"}`), or None."""
    try:
        return json.loads(body)
    except ValueError:
        return None
