"""The HTTP grammar the responder checks, each rule under the RFC it implements.

Everything a problem response sends comes from somewhere the middleware does
not control (the app, a framework exception, an upstream body, the request),
so every header and every logged value passes through these rules first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

__all__ = [
    "LANGUAGE_HEADER_LIMIT",
    "LANGUAGE_TAG",
    "MAX_DELAY_SECONDS",
    "REQUEST_ID_MAX_LENGTH",
    "REQUEST_ID_PATTERN",
    "TRACESTATE_MAX_LENGTH",
    "TRACESTATE_MAX_MEMBERS",
    "TRACE_ID_PATTERN",
    "delay_seconds",
    "field_name",
    "field_value",
    "forwarded_traceparent",
    "forwarded_tracestate",
    "is_http_date",
    "is_request_id",
    "is_request_id_text",
    "json_pointer",
    "language_ranges",
    "loggable",
    "traceparent_trace_id",
]

# RFC 9110 §5.1: field-name = token; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*"
#   / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. Lowercase here:
# HTTP/2 and ASGI want lowercase names.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
# RFC 9110 §5.5: field-value = *field-content, of VCHAR, SP, HTAB and obs-text.
# "Field values containing CR, LF, or NUL characters are invalid and dangerous":
# no control character at all gets through (no header injection, no smuggling).
_FIELD_VALUE = re.compile(rb"[\x20-\x7e\x80-\xff\t]*")
# RFC 9110 §5.6.7 HTTP-date, loosely: IMF-fixdate, RFC 850 or asctime.
_HTTP_DATE = re.compile(r"[A-Za-z]{3,9},? [0-9A-Za-z :\-]+(GMT|[0-9]{4})")
# RFC 9110 §10.2.3: delay-seconds = 1*DIGIT (a leading "-" is read as zero here).
_DELAY = re.compile(r"-?[0-9]+")

# RFC 5646 §2.1 (BCP 47), loosely: a language subtag, then subtags of letters and digits
# (`fr`, `pt-BR`, `zh-Hant-TW`, `de-CH-1996`); a catalog's and each translation's `language`.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
# RFC 9110 §12.5.4: Accept-Language = #( language-range [ weight ] ), where RFC 4647 §2.1:
#   language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*"; and RFC 9110 §12.4.2:
#   weight = OWS ";" OWS "q=" qvalue; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
_LANGUAGE_ITEM = re.compile(
    r"\s*(?P<range>[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*"
    r"(?:;\s*[qQ]=(?P<q>0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?\s*"
)
# A header longer than any browser sends is read this far: the negotiation costs the same whatever comes.
LANGUAGE_HEADER_LIMIT = 1024

# The `X-Request-ID` a client may send and have echoed: what the schemas and
# OpenAPI publish as the header's and the member's `pattern` and `maxLength`.
REQUEST_ID_MAX_LENGTH = 128
REQUEST_ID_PATTERN = "^[A-Za-z0-9._:/+=@-]{1,128}$"
# A bound `fullmatch`: the happy path calls it for every request that sends one.
is_request_id = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,128}").fullmatch
is_request_id_text = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}", re.ASCII).fullmatch  # a WSGI environ's `str`

# W3C Trace Context §3.2.2: traceparent = version "-" trace-id "-" parent-id "-" trace-flags,
# lowercase hex; version "ff" is invalid; "All bytes as zero ... is considered an invalid value"
# for trace-id and parent-id. A future version may append "-" and more (§3.2.4: parse what
# version 00 defines); version 00 itself is exactly 55 characters.
_TRACEPARENT = re.compile(
    r"(?!ff)(?P<version>[0-9a-f]{2})-(?!0{32})(?P<trace_id>[0-9a-f]{32})-(?!0{16})(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<more>-[\x21-\x7e]*)?",
    re.ASCII,
)
TRACE_ID_PATTERN = "^(?!0{32}$)[0-9a-f]{32}$"  # the `trace_id` member, as the schemas publish it

# W3C Trace Context (Level 1) §3.3.1: tracestate, the list a traceparent's vendors share.
#   §3.3.1.2    list = list-member 0*31( OWS "," OWS list-member )
#               list-member = (key "=" value) / OWS
#   §3.3.1.3.1  key = simple-key / multi-tenant-key
#               simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
#               multi-tenant-key = tenant-id "@" system-id
#               tenant-id = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
#               system-id = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
#   §3.3.1.3.2  value = 0*255(chr) nblk-chr ; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E ; chr = %x20 / nblk-chr
# One member, its surrounding OWS stripped (a value's trailing spaces are OWS, its leading ones are its own):
_TRACESTATE_MEMBER = re.compile(
    r"(?P<key>[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]",
    re.ASCII,
)
# §3.3.1.2: "There can be a maximum of 32 list-members in a list." §3.3.1.5: "Vendors SHOULD
# propagate at least 512 characters of a combined header. This length includes commas required to
# separate list items. But SHOULD NOT include optional white space (OWS) characters." A longer
# list is not forwarded at all (truncating it would pick which vendors' entries to lose).
TRACESTATE_MAX_MEMBERS = 32
TRACESTATE_MAX_LENGTH = 512

# RFC 9111 §1.2.2: a delta-seconds too large to represent: "the cache MUST
# consider the value to be 2147483648 (2^31)". Retry-After takes the same cap,
# so a 5,000-digit value is a number, not an error.
MAX_DELAY_SECONDS = 2**31

# Controls (C0, DEL, C1), the Unicode line and paragraph separators, and lone
# surrogates: what could start a forged log line or break a log file's encoding.
_UNLOGGABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def field_name(name: object) -> bytes | None:
    """A header name as ASGI sends it (lowercase bytes), or None when it is not a token."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    if not isinstance(name, str):
        return None
    lowered = name.lower()
    return lowered.encode() if _TOKEN.fullmatch(lowered) else None


def field_value(value: object) -> bytes | None:
    """A header value as bytes, or None when it has a control character (or is not text or a number)."""
    if isinstance(value, str):
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:  # no octets to send: HTTP field values are bytes (RFC 9110 §5.5)
            return None
    elif isinstance(value, int) and not isinstance(value, bool):
        value = b"%d" % value
    if not isinstance(value, bytes):
        return None
    value = value.strip(b" \t")  # RFC 9110 §5.5: no leading or trailing whitespace
    return value if _FIELD_VALUE.fullmatch(value) else None


def is_http_date(text: str) -> bool:
    return _HTTP_DATE.fullmatch(text) is not None


def delay_seconds(text: str) -> int | None:
    """The delay-seconds of a `Retry-After` value (capped, never negative), or None if it is not one."""
    text = text.strip()
    if _DELAY.fullmatch(text) is None:
        return None
    if text.startswith("-"):
        return 0
    digits = text.lstrip("0")
    # More than ten digits is past the cap anyway, and never parsed (Python's int()
    # refuses strings of over 4,300 digits).
    return MAX_DELAY_SECONDS if len(digits) > 10 else min(int(digits or "0"), MAX_DELAY_SECONDS)


def _traceparent(value: str) -> re.Match[str] | None:
    found = _TRACEPARENT.fullmatch(value.strip(" \t"))
    if found is None or (found["version"] == "00" and found["more"] is not None):
        return None
    return found


def traceparent_trace_id(value: str) -> str | None:
    """The trace-id of a valid W3C `traceparent` header value, else None."""
    found = _traceparent(value)
    return found["trace_id"] if found is not None else None


def forwarded_traceparent(value: str) -> str | None:
    """A valid W3C `traceparent` as a participant passes it on (version 00), else None.

    W3C Trace Context §3.2.4: a later version's fields beyond version 00's are
    not read, and vendors "MUST use these fields to construct the new
    `traceparent` field according to the highest version of the specification
    known to the implementation", with only the `sampled` flag (§3.2.2.5:
    other flags are reserved, "Vendors MUST set those to zero").
    """
    found = _traceparent(value)
    if found is None:
        return None
    if found["version"] == "00":
        return found[0]
    return f"00-{found['trace_id']}-{found['parent_id']}-{int(found['flags'], 16) & 1:02x}"


def forwarded_tracestate(value: str) -> str | None:
    """A W3C `tracestate` by its list grammar and limits, as it is passed on (no OWS, no empty members); else None.

    `value` is the request's tracestate field lines combined with commas
    (§3.3.1: "they MUST be combined into a single header"). None, and nothing
    forwarded, for a list that breaks the grammar anywhere, has more than 32
    list-members, repeats a key (§3.3.1.4: "Only one entry per key is
    allowed") or is longer than 512 characters, or for an empty one
    (§3.3.1: vendors "SHOULD avoid sending" it).
    """
    members = value.split(",", TRACESTATE_MAX_MEMBERS)  # one more than allowed is enough to refuse
    if len(members) > TRACESTATE_MAX_MEMBERS:
        return None
    kept: list[str] = []
    keys: set[str] = set()
    for member in members:
        member = member.strip(" \t")
        if not member:
            continue  # an empty (or OWS) list-member: allowed, and not passed on
        found = _TRACESTATE_MEMBER.fullmatch(member)
        if found is None or found["key"] in keys:
            return None
        keys.add(found["key"])
        kept.append(member)
    forwarded = ",".join(kept)
    return forwarded if 0 < len(forwarded) <= TRACESTATE_MAX_LENGTH else None


def loggable(text: str) -> str:
    """`text` with control characters escaped (`\\n` as `\\x0a`): one logged value, one log line."""
    if text.isprintable():  # the common case, checked in C
        return text
    return _UNLOGGABLE.sub(
        lambda match: f"\\x{ord(match[0]):02x}" if ord(match[0]) < 256 else f"\\u{ord(match[0]):04x}", text
    )


# RFC 6901 (JSON Pointer) §3 and §6 (its URI fragment identifier representation).
def json_pointer(path: Iterable[object]) -> str:
    """A JSON Pointer in URI-fragment form for a location path: `["profile", "color"]` -> `#/profile/color`."""
    # RFC 6901 §3 escapes, then §6's URI fragment form (as in RFC 9457 §3's example).
    segments = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return "#" + "".join("/" + quote(segment, safe="!$&'()*+,;=:@-._~") for segment in segments)


def language_ranges(value: str) -> list[tuple[str, float]]:
    """The well-formed language ranges of an `Accept-Language` value, lowercased, with their q-values.

    A malformed item is skipped, not the whole header (RFC 9110 §5.6.1 lists
    are read leniently); a `q` of 0 is kept: it says "not this one".
    """
    ranges = []
    for item in value[:LANGUAGE_HEADER_LIMIT].split(","):
        match = _LANGUAGE_ITEM.fullmatch(item)
        if match is not None:
            quality = match["q"]
            ranges.append((match["range"].lower(), 1.0 if quality is None else float(quality)))
    return ranges
