"""The validated, immutable catalog model: what a loaded catalog *is*.

These frozen msgspec Structs are the data every other part reads: the problem
classes, the wire format, the generated module and (later) the doc site. They
hold inheritance already resolved, so readers never walk `extends` themselves.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Literal

import msgspec

from problemdetails._member_types import ListOf, MemberType, Scalar, parse_type

__all__ = [
    "NCNAME",
    "RESERVED_NAMES",
    "STANDARD_MEMBERS",
    "CatalogInfo",
    "Deprecation",
    "Example",
    "MemberSpec",
    "ProblemSpec",
    "Retry",
    "TranslatedMember",
    "TranslatedProblem",
    "Translation",
    "class_name",
    "default_retry",
    "takes_framework_errors",
    "unfillable",
]

Retry = Literal["never", "after-change", "backoff", "after-delay"]

# XML 1.0 §2.3 Name without ':' (an NCName), so members stay valid element names
# inside the urn:ietf:rfc:7807 namespace (RFC 9457 §3.2, Appendix B).
_NAME_START = (
    "A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
NCNAME = re.compile(f"^[{_NAME_START}][{_NAME_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*$")
# RFC 9457 §3.1 members, plus the three this framework puts on problems.
STANDARD_MEMBERS = ("type", "title", "status", "detail", "instance", "code", "request_id", "trace_id")
# Member names that break another ecosystem the catalog generates for.
RESERVED_NAMES = {
    "i": "'i' marks array items in problem+xml (RFC 9457 Appendix B): choose another name",
    **{
        name: f"{name!r} is a member of every JavaScript object: it breaks the generated TypeScript and JSON tools"
        for name in (
            "__proto__",
            "constructor",
            "prototype",
            "hasOwnProperty",
            "isPrototypeOf",
            "propertyIsEnumerable",
            "toLocaleString",
            "toString",
            "valueOf",
            "__defineGetter__",
            "__defineSetter__",
            "__lookupGetter__",
            "__lookupSetter__",
        )
    },
}

# Attribute names a Problem instance already uses; a member spelled like one
# gets a trailing underscore in Python (its wire name is unchanged).
_TAKEN_ATTRIBUTES = frozenset(
    {
        *STANDARD_MEMBERS,
        *("args", "with_traceback", "add_note", "headers", "extensions", "members", "spec", "to_dict"),
        *("received", "response", "retryable", "examples", "relayed", "with_members"),
    }
)


class CatalogInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The catalog header: `name`, `base_uri` (type URI = base_uri + slug), `version`, `language`, `domain`.

    `framework_errors` names, per status, the slug that framework errors of that
    status become (a router 404, an `HTTPException(422)`, a validation failure).
    """

    name: str
    base_uri: str
    version: str | None = None
    language: str = "en"
    framework_errors: dict[int, str] = {}
    domain: str | None = None  # gRPC's `ErrorInfo.domain`; the host of `base_uri` when None


class MemberSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One typed extension member (RFC 9457 §3.2) of a problem type."""

    name: str
    type: str
    description: str = ""
    required: bool = True
    declared_by: str = ""  # the slug that declared it; a parent's slug when inherited

    @property
    def parsed(self) -> MemberType:
        """The member type as a type model (parsed once, cached)."""
        return parse_type(self.type)

    @property
    def attribute(self) -> str:
        """The Python attribute and keyword name for this member."""
        return attribute_name(self.name)


class Example(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A documented occurrence: the `detail`, `instance` and member values it carries."""

    detail: str | None = None
    instance: str | None = None
    members: dict[str, Any] = {}


class Deprecation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A retired problem type: its page stays, pointing at `replaced_by`."""

    since: str
    replaced_by: str | None = None


class ProblemSpec(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One problem type of the catalog, with `extends` resolved.

    `status`, `retry`, `detail` (the template) and `headers` are inherited from
    the parent when a child leaves them out; `members` lists the parent's
    members first, then the child's own.
    """

    slug: str
    type: str
    status: int
    title: str
    summary: str = ""
    description: str = ""
    resolution: str = ""
    extends: str | None = None
    retry: Retry = "never"
    detail: str | None = None
    headers: tuple[str, ...] = ()
    members: tuple[MemberSpec, ...] = ()
    examples: tuple[Example, ...] = ()
    since: str | None = None
    deprecated: Deprecation | None = None
    aliases: tuple[str, ...] = ()  # former slugs: decoded as this type, their pages redirect here
    grpc: str | None = None  # the `google.rpc.Code` name it names or inherits; None: its status's

    @property
    def class_name(self) -> str:
        return class_name(self.slug)


class TranslatedMember(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A member's text in another language."""

    description: str | None = None


class TranslatedProblem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A problem's texts in another language; what is left out stays in the catalog's own language.

    `detail` is the catalog's `detail` template translated: the same placeholders.
    Never translated: the slug (`code`), the type URI, member names and values.
    """

    title: str | None = None
    summary: str | None = None
    description: str | None = None
    resolution: str | None = None
    detail: str | None = None
    members: dict[str, TranslatedMember] = {}


class Translation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A catalog's texts in one more language (a BCP 47 tag), from its `translations:` files.

    `validation` holds messages for validation items by their `code` (pydantic's
    `missing`, DRF's `required`), templates over the framework's parameters.
    """

    language: str
    problems: dict[str, TranslatedProblem] = {}
    validation: dict[str, str] = {}


def class_name(slug: str) -> str:
    """The CamelCase class name of a slug: `quota-exceeded` -> `QuotaExceeded`."""
    return "".join(part[:1].upper() + part[1:] for part in slug.split("-"))


def attribute_name(member: str) -> str:
    """The Python name of a member: `retry-at` -> `retry_at`, `from` -> `from_`, `_x` -> `m_x`."""
    name = re.sub(r"\W", "_", member)
    if name.startswith("_"):  # Problem keeps its internals under leading underscores
        name = "m" + name
    if keyword.iskeyword(name) or name in _TAKEN_ATTRIBUTES:
        name += "_"
    return name


def default_retry(status: int) -> Retry:
    """Retry advice for a status when the catalog gives none.

    RFC 9110: 408, 425, 429, 500, 502, 503 and 504 describe conditions that
    can pass; 429 and 503 come with `Retry-After` (§10.2.3). Other 4xx need
    the client to change something first.
    """
    if status in (429, 503):
        return "after-delay"
    if status in (408, 425, 500, 502, 504):
        return "backoff"
    if status in (410, 501, 505):
        return "never"
    return "after-change" if status < 500 else "backoff"


def unfillable(spec: ProblemSpec) -> list[str]:
    """The required members a framework error cannot fill: all but a list of validation items (`list[error]`)."""
    error_list = ListOf(Scalar("error"))
    return [member.name for member in spec.members if member.required and member.parsed != error_list]


def takes_framework_errors(spec: ProblemSpec) -> bool:
    """A root problem, not retired, that a status alone can build: what a framework error may become unnamed."""
    return spec.extends is None and spec.deprecated is None and not unfillable(spec)
