"""The member type language of the catalog, parsed once into a small type model.

A catalog declares extension members with types such as `int`, `list[error]`,
`dict[str, int]`, `enum[zones, records]` or `uri | None`. `parse_type` turns
that text into a tree of `MemberType` nodes; each node knows its runtime
annotation (what msgspec validates and converts against) and its Python source
spelling (what the generated module writes). The other targets (JSON Schema and
OpenAPI, TypeScript, problem+xml) walk the same tree, and read what each scalar
is for them from one table, `SCALARS`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "SCALARS",
    "DictOf",
    "EnumOf",
    "ErrorItem",
    "ListOf",
    "MemberType",
    "Nullable",
    "ParamValue",
    "Scalar",
    "ScalarFacts",
    "TypeSyntaxError",
    "is_error_list",
    "is_uri_reference",
    "must_be_present",
    "parse_type",
]

# RFC 3986 §4.1: URI-reference = URI / relative-ref, spelled out component by
# component (brackets only around an IP literal, one `#`, `%` + two hex digits,
# no colon in the first segment of a relative path).
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|{_PCT})"
_SEGMENT_NC = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=@]|{_PCT})"
_AUTHORITY = (
    rf"(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|{_PCT})*@)?"
    rf"(?:\[[0-9A-Fa-f:.vV\-_~!$&'()*+,;=]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|{_PCT})*)"
    r"(?::[0-9]*)?"
)
_PATH_ABEMPTY = rf"(?:/{_PCHAR}*)*"
_TAIL = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
URI_REFERENCE = (
    rf"^(?:[A-Za-z][A-Za-z0-9+.\-]*:(?://{_AUTHORITY}{_PATH_ABEMPTY}|/?(?:{_PCHAR}+{_PATH_ABEMPTY})?)"
    rf"|//{_AUTHORITY}{_PATH_ABEMPTY}|/(?:{_PCHAR}+{_PATH_ABEMPTY})?|{_SEGMENT_NC}+{_PATH_ABEMPTY}|){_TAIL}\Z"
)
_URI_REFERENCE = re.compile(URI_REFERENCE)
# The usual case, a request path, checked with one character class (much
# faster than the full grammar); anything else takes the full check.
_SIMPLE_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@][A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?")


def is_uri_reference(text: str) -> bool:
    """True if `text` is an RFC 3986 URI-reference."""
    return _SIMPLE_PATH.fullmatch(text) is not None or _URI_REFERENCE.match(text) is not None


# JSON has no NaN or Infinity (RFC 8259 §6); a finite bound rejects both.
FiniteFloat = Annotated[float, msgspec.Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
# A 64-bit signed int: what msgspec checks and encodes (RFC 7493 §2.2 advises
# ±(2^53 - 1) where JavaScript reads it). A larger one would make every response
# of the problem fail, so it fails at construction instead.
WireInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Uri = Annotated[str, msgspec.Meta(pattern=URI_REFERENCE)]
# RFC 3339 §5.6 timestamps carry an offset: a naive datetime would be ambiguous on the wire.
AwareDatetime = Annotated[dt.datetime, msgspec.Meta(tz=True)]


# A validation rule's parameter, as a framework states it (`{"min_length": 3}`): a JSON scalar.
ParamValue = str | bool | WireInt | FiniteFloat


class ErrorItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"in_": "in"}):
    """One item of a validation problem's `errors` list (the built-in `error` member type).

    Body fields are located with `pointer`, a JSON Pointer in URI-fragment form
    as in the RFC 9457 §3 example (`"#/profile/color"`); everything else with
    `parameter` and `in_` (`"query"`, `"path"`, `"header"` or `"cookie"`, sent
    on the wire as `in`). `code` optionally names the failed rule, and `params`
    its parameters (`{"min_length": 3}`), so that a client can write its own
    message and a translation can fill its template with them.
    """

    detail: str
    pointer: Annotated[str, msgspec.Meta(pattern=r"^#(?:/[^/]*)*$")] | None = None
    parameter: str | None = None
    in_: Literal["query", "path", "header", "cookie"] | None = None
    code: str | None = None
    params: dict[str, ParamValue] | None = None


class TypeSyntaxError(ValueError):
    """A member type string does not parse; `offset` is where, from 0."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class MemberType:
    """A node of the parsed member type."""

    def annotation(self) -> Any:
        """The runtime type msgspec validates against."""
        raise NotImplementedError

    def source(self) -> str:
        """The annotation as Python source (for the generated module)."""
        raise NotImplementedError

    def nullable(self) -> bool:
        return False


@dataclass(frozen=True)
class Scalar(MemberType):
    name: str  # str int float bool uri datetime error

    def annotation(self) -> Any:
        return SCALARS[self.name].annotation

    def source(self) -> str:
        return SCALARS[self.name].python

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ListOf(MemberType):
    item: MemberType

    def annotation(self) -> Any:
        return list[self.item.annotation()]  # type: ignore[misc]

    def source(self) -> str:
        return f"list[{self.item.source()}]"

    def __str__(self) -> str:
        return f"list[{self.item}]"


@dataclass(frozen=True)
class DictOf(MemberType):
    value: MemberType

    def annotation(self) -> Any:
        return dict[str, self.value.annotation()]  # type: ignore[misc]

    def source(self) -> str:
        return f"dict[str, {self.value.source()}]"

    def __str__(self) -> str:
        return f"dict[str, {self.value}]"


@dataclass(frozen=True)
class EnumOf(MemberType):
    values: tuple[str, ...]

    def annotation(self) -> Any:
        return Literal[self.values]

    def source(self) -> str:
        return "_Literal[" + ", ".join(json.dumps(value, ensure_ascii=False) for value in self.values) + "]"

    def __str__(self) -> str:
        spelled = (value if _WORD.fullmatch(value) else repr(value) for value in self.values)
        return "enum[" + ", ".join(spelled) + "]"


@dataclass(frozen=True)
class Nullable(MemberType):
    inner: MemberType

    def annotation(self) -> Any:
        return self.inner.annotation() | None

    def source(self) -> str:
        return f"{self.inner.source()} | None"

    def nullable(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"{self.inner} | None"


def must_be_present(required: bool, member_type: MemberType) -> bool:
    """Whether every body of its problem type carries a member: required, and not `T | None`.

    No member is ever sent as null, so a required `T | None` member is left out
    when it is None: schemas, decoders and client types must not insist on it.
    """
    return required and not member_type.nullable()


@dataclass(frozen=True)
class ScalarFacts:
    """What one scalar member type is in each target the catalog is written to."""

    annotation: Any  # at run time: what msgspec validates and converts against
    python: str  # in the generated module (`datetime as _dt`, `problemdetails as _pd`)
    typescript: str  # in the generated TypeScript
    json_schema: Mapping[str, Any]  # in the published JSON Schemas and OpenAPI
    # How problem+xml writes a value with `%s`, when it writes it as `_xml_element` does:
    # as text (escaped if needs be), as a number (digits, a float's repr), or not at all.
    xml: Literal["text", "number"] | None


# One `error` item (`ErrorItem`) in JSON Schema.
_ERROR_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "One failed check: `pointer` for a body field, `parameter` and `in` for the rest;"
        " `code` names its rule, `params` the rule's parameters."
    ),
    "properties": {
        "detail": {"type": "string"},
        "pointer": {"type": "string", "pattern": "^#(?:/[^/]*)*$"},
        "parameter": {"type": "string"},
        "in": {"enum": ["query", "path", "header", "cookie"]},
        "code": {"type": "string"},
        "params": {
            "type": "object",
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        },
    },
    "required": ["detail"],
}

# The scalar member types, and what each is in every target: the one table the
# generators (Python, TypeScript, JSON Schema and OpenAPI) and the encoders share.
SCALARS: dict[str, ScalarFacts] = {
    "str": ScalarFacts(str, "str", "string", {"type": "string"}, "text"),
    "int": ScalarFacts(WireInt, "int", "number", {"type": "integer"}, "number"),
    "float": ScalarFacts(FiniteFloat, "float", "number", {"type": "number"}, "number"),
    "bool": ScalarFacts(bool, "bool", "boolean", {"type": "boolean"}, None),
    "uri": ScalarFacts(Uri, "str", "string", {"type": "string", "format": "uri-reference"}, "text"),
    "datetime": ScalarFacts(AwareDatetime, "_dt.datetime", "string", {"type": "string", "format": "date-time"}, "text"),
    "error": ScalarFacts(ErrorItem, "_pd.ErrorItem", "ErrorItem", _ERROR_ITEM_SCHEMA, None),
}

_WORD = re.compile(r"[A-Za-z0-9_.:+-]+")
_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z0-9_.:+-]+)|(?P<quoted>\"[^\"]*\"|'[^']*')|(?P<punct>[\[\],|]))")


@lru_cache(maxsize=1024)  # catalogs repeat a few types many times; the results are immutable
def is_error_list(member_type: object) -> bool:
    """The member holds validation items (`list[error]`), which a framework error can fill."""
    return isinstance(member_type, ListOf) and member_type.item == Scalar("error")


def parse_type(text: str) -> MemberType:
    """Parse a member type such as `list[dict[str, int]] | None`.

    Raises `TypeSyntaxError` with the offset of the offending token.
    """
    tokens: list[tuple[str, str, int]] = []  # (kind, text, offset)
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None:
            offset = len(text) - len(text[position:].lstrip())
            raise TypeSyntaxError(f"unexpected character {text[offset]!r} in member type", offset)
        kind = match.lastgroup or "word"
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    parser = _Parser(text, tokens)
    result = parser.union()
    if parser.index < len(tokens):
        raise TypeSyntaxError(f"unexpected {tokens[parser.index][1]!r} after the type", tokens[parser.index][2])
    return result


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str, int]]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def _peek(self) -> tuple[str, str, int]:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return ("end", "end of type", len(self.text))

    def _take(self, expected: str) -> tuple[str, str, int]:
        token = self._peek()
        if token[1] != expected:
            raise TypeSyntaxError(f"expected {expected!r}, found {token[1]!r}", token[2])
        self.index += 1
        return token

    def union(self, *, top: bool = True) -> MemberType:
        start = self._peek()[2]
        first = self.primary(allow_none=True)
        nullable = first is None
        inner = first
        while self._peek()[1] == "|":
            self.index += 1
            alternative = self.primary(allow_none=True)
            if alternative is None:
                nullable = True
            elif inner is None:
                inner = alternative
            else:
                raise TypeSyntaxError("only `T | None` unions are supported", self._peek()[2])
        if inner is None:
            raise TypeSyntaxError("`None` alone is not a member type", start)
        if nullable and not top:
            # A member is left out rather than sent as null; inside a list or dict
            # there is nothing to leave out, and problem+xml has no null.
            raise TypeSyntaxError("`| None` is only allowed on the whole member type", start)
        return Nullable(inner) if nullable else inner

    def primary(self, *, allow_none: bool = False) -> MemberType | None:
        kind, word, offset = self._peek()
        if kind != "word":
            raise TypeSyntaxError(f"expected a type, found {word!r}", offset)
        self.index += 1
        if word == "None" and allow_none:
            return None
        if word in SCALARS:
            return Scalar(word)
        if word == "list":
            self._take("[")
            item = self.union(top=False)
            self._take("]")
            return ListOf(item)
        if word == "dict":
            self._take("[")
            key = self._peek()
            if key[1] != "str":
                raise TypeSyntaxError("dict keys must be `str` (JSON object keys are strings)", key[2])
            self.index += 1
            self._take(",")
            value = self.union(top=False)
            self._take("]")
            return DictOf(value)
        if word == "enum":
            return self.enum()
        known = ", ".join([*SCALARS, "list[T]", "dict[str, T]", "enum[...]"])
        raise TypeSyntaxError(f"unknown type {word!r} (known: {known})", offset)

    def enum(self) -> MemberType:
        self._take("[")
        values: list[str] = []
        while True:
            kind, word, offset = self._peek()
            if kind == "quoted":
                word = word[1:-1]
            elif kind != "word":
                raise TypeSyntaxError(f"expected an enum value, found {word!r}", offset)
            if word in values:
                raise TypeSyntaxError(f"enum value {word!r} is repeated", offset)
            values.append(word)
            self.index += 1
            if self._peek()[1] == "]":
                self.index += 1
                return EnumOf(tuple(values))
            self._take(",")
