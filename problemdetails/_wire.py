"""The wire format: problems to and from `application/problem+json`, and what every format shares.

JSON follows RFC 9457 §3 with the members in the order DESIGN.md pins
(`type`, `title`, `status`, `detail`, `instance`, `code`, `request_id`, `trace_id`, then
extensions at the top level). `application/problem+xml` is `_xml.py`'s; it builds
its problems with `build` here, as the JSON decoder does.

Decoding is lenient where the RFC demands it: "If a member's value type does
not match the specified type, the member MUST be ignored" (§3.1), and clients
"MUST ignore any such extensions that they don't recognize" (§3.2); both
kinds of member are kept aside in `problem.extensions` rather than lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import msgspec

from problemdetails._exceptions import DecodeError
from problemdetails._grammar import MAX_DELAY_SECONDS, delay_seconds, is_http_date
from problemdetails._member_types import is_uri_reference
from problemdetails._problem import Problem, _Member

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog

__all__ = [
    "JSON_MEDIA_TYPE",
    "Mismatch",
    "build",
    "decode_json",
    "encode_json",
    "encode_wire",
    "retry_after_field",
    "scrub_surrogates",
    "typed_by_type",
    "utf8",
]

JSON_MEDIA_TYPE = "application/problem+json"

_json_encoder = msgspec.json.Encoder()
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def encode_wire(wire: msgspec.Struct) -> bytes:
    """Encode a problem's wire Struct (see `Problem._wire`) as problem+json bytes."""
    try:
        return _json_encoder.encode(wire)
    except UnicodeEncodeError:  # a lone surrogate in some str: not encodable as UTF-8
        return _json_encoder.encode(scrub_surrogates(msgspec.to_builtins(wire)))


def encode_json(problem: Problem) -> bytes:
    """Encode a problem as `application/problem+json` bytes.

    ```python
    body = encode_json(catalog["conflict"]("name+type already exists"))
    # b'{"type":"https://errors.example.com/conflict","title":"Conflict","status":409,...}'
    ```
    """
    try:
        return _json_encoder.encode(problem.to_dict() if problem.extensions else problem._wire)
    except UnicodeEncodeError:  # a lone surrogate in some str: not encodable as UTF-8
        return _json_encoder.encode(scrub_surrogates(problem.to_dict()))


# A lone surrogate (text decoded with `surrogateescape`, or JSON's "\ud800") has
# no UTF-8 form: every representation sends U+FFFD in its place, as JSON does.
_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(value: Any) -> Any:
    """JSON-able `value` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [scrub_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {scrub_surrogates(key): scrub_surrogates(item) for key, item in value.items()}
    return value


def utf8(text: str) -> bytes:
    """`text` as UTF-8, with U+FFFD for each lone surrogate."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode()


class Mismatch(Exception):
    """A member's value does not have the shape its type needs."""


def decode_json(
    body: bytes | str, *, catalog: Catalog | None = None, status: int | None = None, base_url: str | None = None
) -> Problem:
    """Decode `application/problem+json` into a problem.

    With a `catalog`, a known `code` (or, failing that, `type`) yields that
    slug's typed class; anything else yields a generic `Problem`. Unknown
    members and standard members of the wrong type are ignored for the
    problem's fields but kept in `problem.extensions`. `status`, when given,
    is the HTTP status and wins over the body's (RFC 9457 §3.1.2).

    Raises `DecodeError` when the body is not a JSON object or carries no
    usable status. A relative `type` is resolved against `base_url` (the
    response's URL) when one is given.
    """
    if catalog is not None:
        typed = _decode_typed(body, catalog)
        if typed is not None:
            return typed
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError) as error:
        raise DecodeError(f"not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise DecodeError(f"a problem is a JSON object, not {type(document).__name__}")

    def convert(member: _Member, value: Any) -> Any:
        try:
            return msgspec.convert(value, member.annotation)
        except msgspec.ValidationError:
            raise Mismatch from None

    return build(document, catalog, status, convert, base_url)


class _Head(msgspec.Struct):
    """Just enough of a body to pick the class; msgspec skips everything else."""

    code: Any = None


_head_decoder = msgspec.json.Decoder(_Head)


class _Typed:
    """How to decode one class's bodies straight into its wire Struct."""

    __slots__ = ("cls", "decoder", "required")

    def __init__(self, cls: type[Problem]) -> None:
        self.cls = cls
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(cls.__problemdetails__.wire)
        # Required members that may not be null: absent, they send a body to the lenient path.
        self.required = tuple(member.attribute for member in cls.__problemdetails__.members if member.must_be_present)

    def decode(self, body: bytes | str) -> Problem | None:
        try:
            wire = self.decoder.decode(body)
        except (msgspec.DecodeError, RecursionError):  # a ValidationError is a DecodeError
            return None
        return self.checked(wire)

    def checked(self, wire: Any) -> Problem | None:
        """The problem a decoded wire Struct is, or None when it is not one of this class."""
        cls = self.cls
        instance = wire.instance
        if wire.code != cls.code or wire.type != cls.type or (instance is not None and not is_uri_reference(instance)):
            return None
        for attribute in self.required:
            if getattr(wire, attribute) is None:
                return None
        # The type's identity comes from the catalog (a localized title does not change it).
        wire.title, wire.status = cls.title, cls.status
        # No `__init__`: the Struct is the checked problem.
        problem = cls.__new__(cls, cls.title if wire.detail is None else wire.detail)
        problem._wire, problem.headers, problem.extensions = wire, {}, {}
        return problem


def _typed_for(catalog: Catalog, cls: type[Problem]) -> _Typed:
    """The class's `_Typed`, kept by the catalog under its type URI (so it lives as long as the catalog)."""
    key = cls.type.encode()
    typed: _Typed | None = catalog._decoders.get(key)
    if typed is None:
        typed = catalog._decoders[key] = _Typed(cls)
    return typed


def typed_by_type(catalog: Catalog, type_uri: bytes) -> _Typed | None:
    """The `_Typed` of the class whose type URI a body names, if any (its checks confirm the guess)."""
    typed: _Typed | None = catalog._decoders.get(type_uri)
    if typed is None and (cls := catalog.by_type(type_uri.decode("utf-8", "replace"))) is not None:
        typed = _typed_for(catalog, cls)  # a former slug's type finds the new class: the check refuses it
    return typed


_TYPE_KEY = b'{"type":"'


def _decode_typed(body: bytes | str, catalog: Catalog) -> Problem | None:
    """The fast path: a well-formed body of a known code, decoded straight into its wire Struct.

    Anything unusual (a wrong type, an unknown member, a missing required
    member, an instance that is no URI reference) returns None, and the
    lenient path decides.
    """
    if isinstance(body, bytes) and body.startswith(_TYPE_KEY):
        # What this package's encoder writes: the type URI first, so one pass
        # decodes it (the Struct then confirms the guess).
        typed = typed_by_type(catalog, body[len(_TYPE_KEY) : body.find(b'"', len(_TYPE_KEY))])
        if typed is not None and (problem := typed.decode(body)) is not None:
            return problem
    try:
        head = _head_decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(head.code, str) or head.code not in catalog:
        return None
    return _typed_for(catalog, catalog[head.code]).decode(body)  # it checks the type too


def build(
    document: dict[str, Any],
    catalog: Catalog | None,
    status: int | None,
    convert: Callable[[_Member, Any], Any],
    base_url: str | None = None,
) -> Problem:
    """The problem a decoded document is: the catalog's class when its members fit, else a generic problem."""
    standard = _standard(document)
    taken = set(standard)  # members read from the body; the rest stay in `extensions`
    if base_url is not None:
        _resolve_type(standard, base_url)
    if status is not None:
        standard["status"] = status  # the HTTP status is authoritative (RFC 9457 §3.1.2)
    cls = _lookup(catalog, standard)
    if cls is not None:
        members = _typed_members(cls, document, convert)
        if members is not None:
            extensions = {name: value for name, value in document.items() if name not in taken | members.keys()}
            return cls._from_wire(standard, members, extensions)
    if "status" not in standard:
        if cls is None:
            raise DecodeError("the problem carries no status, and none was given")
        standard["status"] = cls.status
    extensions = {name: value for name, value in document.items() if name not in taken}
    return Problem._from_wire(standard, {}, extensions)


def _standard(document: dict[str, Any]) -> dict[str, Any]:
    """The standard members of a document (and `code`, `request_id`, `trace_id`) that have their types."""
    standard: dict[str, Any] = {}
    for name in ("type", "title", "detail", "instance", "code", "request_id", "trace_id"):
        if isinstance(value := document.get(name), str):
            standard[name] = value
    for name in ("type", "instance"):
        # RFC 9457 §3.1.1, §3.1.5: a string "containing a URI reference"; anything
        # else does not match the specified type and is ignored (§3.1).
        if name in standard and not is_uri_reference(standard[name]):
            del standard[name]
    body_status = document.get("status")
    if isinstance(body_status, int) and not isinstance(body_status, bool) and 100 <= body_status <= 599:
        standard["status"] = body_status
    return standard


def _resolve_type(standard: dict[str, Any], base_url: str) -> None:
    """RFC 9457 §3.1.1: a relative type "is resolved relative to the document's base URI"."""
    if "type" in standard and not _SCHEME.match(standard["type"]):
        try:
            standard["type"] = urljoin(base_url, standard["type"])
        except ValueError:  # `//[abc]/x`: an authority that is no host; §3.1 ignores a member of the wrong type
            del standard["type"]


def _typed_members(
    cls: type[Problem], document: dict[str, Any], convert: Callable[[_Member, Any], Any]
) -> dict[str, Any] | None:
    """The class's members in a document, converted; None when one that must be present is missing or unfit."""
    members: dict[str, Any] = {}
    fits = True
    for member in cls.__problemdetails__.members:
        if member.name in document:
            try:
                members[member.name] = convert(member, document[member.name])
                continue
            except Mismatch:
                pass  # RFC 9457 §3.1: a member of the wrong type is ignored
        if member.must_be_present:
            fits = False  # a required `T | None` member left out is None
    return members if fits else None


def _same_type(type_uri: str, cls: type[Problem]) -> bool:
    """The class's type, or the same slug under another base URI (`catalog.rebased(...)`, another environment).

    The `code` names the slug, and the type ends in it after a separator a
    `base_uri` ends with: `https://api.staging.example/errors/conflict` is the
    catalog's `conflict` wherever its pages are served.
    """
    if type_uri == cls.type:
        return True
    assert cls.code is not None
    return type_uri.endswith(cls.code) and type_uri[-len(cls.code) - 1 : -len(cls.code)] in ("/", "#", ":", "=")


def _lookup(catalog: Catalog | None, standard: dict[str, Any]) -> type[Problem] | None:
    if catalog is None:
        return None
    code, type_uri = standard.get("code"), standard.get("type")
    cls = catalog.by_code(code) if isinstance(code, str) else None
    if cls is not None and (type_uri is None or _same_type(type_uri, cls) or code in catalog.aliases):
        return cls
    return catalog.by_type(type_uri) if type_uri is not None else None


def retry_after_field(problem: Problem, given: bytes | None) -> bytes | None:
    """The `Retry-After` a problem's answer carries: delay-seconds or IMF-fixdate (RFC 9110 §10.2.3), else None.

    `given` is the field the problem or the app set, kept when valid (a delay
    never negative, at most 2^31 seconds); else the problem's `retry_after`
    member, when its type sends `Retry-After`. The HTTP responder sends it as
    the header, the gRPC status as `RetryInfo` (`_grpc_status.py`): one rule.
    """
    if given is not None:
        text = given.decode("latin-1")
        seconds = delay_seconds(text)
        if seconds is not None:
            return b"%d" % seconds
        return given if is_http_date(text.strip()) else None  # neither delay-seconds nor a date: drop it
    seconds = problem.members.get("retry_after")
    if isinstance(seconds, int) and problem.spec is not None and "retry-after" in map(str.lower, problem.spec.headers):
        return b"%d" % min(max(0, seconds), MAX_DELAY_SECONDS)
    return None
