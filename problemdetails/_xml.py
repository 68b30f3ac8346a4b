"""`application/problem+xml`: problems to and from RFC 9457 Appendix B's XML.

The `urn:ietf:rfc:7807` namespace and only that namespace, arrays as `<i>`
items. A decoded document becomes builtins shaped by the member types, then a
problem by the same road as JSON (`_wire.build`), so decoding is lenient in the
same places (RFC 9457 §3.1, §3.2).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from xml.parsers import expat

import msgspec

from problemdetails._exceptions import DecodeError
from problemdetails._member_types import SCALARS, DictOf, EnumOf, ListOf, MemberType, Nullable, Scalar
from problemdetails._problem import Problem, _Member
from problemdetails._spec import STANDARD_MEMBERS
from problemdetails._wire import Mismatch, build, typed_by_type

if TYPE_CHECKING:
    from problemdetails._catalog import Catalog

__all__ = ["XML_MEDIA_TYPE", "XML_NAMESPACE", "decode_xml", "encode_xml"]

XML_MEDIA_TYPE = "application/problem+xml"
XML_NAMESPACE = "urn:ietf:rfc:7807"

# XML 1.0 §2.2 Char: anything else cannot appear in a document, not even as a
# character reference, so it is replaced with U+FFFD (the one lossy case).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Element names stay ASCII: parsers disagree on which non-ASCII letters XML 1.0
# allows in names (expat follows the 4th edition), so others go in `key`.
_ELEMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


# Element text that needs neither replacing nor escaping (the usual member value): kept as it is.
_PLAIN_TEXT = re.compile("[\t\n\x20-\x25\x27-\x3b\x3d\x3f-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def _is_plain(text: str) -> bool:
    """True if `text` is element text as it stands: no markup character, nothing to replace."""
    if text.isascii() and text.isprintable():  # the usual value: C-level scans, no regex
        return "&" not in text and "<" not in text and ">" not in text
    return _PLAIN_TEXT.fullmatch(text) is not None


def _xml_text(value: str, table: dict[int, str]) -> str:
    if table is _TEXT_ESCAPES and _is_plain(value):
        return value
    return _NOT_XML_CHAR.sub("\ufffd", value).translate(table)


@functools.lru_cache(maxsize=1024)  # member names repeat: each is checked once
def _is_element_name(name: str) -> bool:
    # `i` marks array items and `_` keyed elements (and their text): a key of either name is keyed too.
    return name not in ("i", "_") and _ELEMENT_NAME.match(name) is not None


def encode_xml(problem: Problem) -> bytes:
    """Encode a problem as `application/problem+xml` (RFC 9457 Appendix B).

    Objects become child elements, arrays `<i>` items. A key that cannot be an
    element name (or is `i`, which marks arrays, or `_`) is written as
    `<_ key="...">`, so every key survives the round trip; such an element
    holds its text in an inner `<_>`, as Appendix B's schema lets an element
    have attributes and elements, or text, not both. A `None` list item is
    `<i nil="true"/>`, so the items keep their places.
    """
    body = problem.to_dict()
    flat = _flat_template(problem.__problemdetails__.members, tuple(body))
    if flat is not None:
        template, texts = flat
        values = tuple(body.values())
        # One scan of all the texts (numbers need none): if no text needs escaping, the template filled in is it.
        if _is_plain("".join(texts(values))):
            return (template % values).encode()
    return _xml_document(body)


def _xml_document(body: dict[str, Any]) -> bytes:
    """Any problem's members written element by element (what a filled-in template equals)."""
    parts = [_XML_HEAD]
    for name, value in body.items():
        _xml_element(parts, name, value)
    parts.append(_XML_TAIL)
    return "".join(parts).encode()


_XML_HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<problem xmlns="{XML_NAMESPACE}">'
_XML_TAIL = "</problem>\n"


def _written_as(kind: MemberType) -> str | None:
    """How `%s` writes a value of this type as `_xml_element` does: "text", "number", or None when it does not."""
    if isinstance(kind, EnumOf):
        return "text"
    return SCALARS[kind.name].xml if isinstance(kind, Scalar) else None


@functools.lru_cache(maxsize=1024)  # a class sends few combinations of members
def _flat_template(declared: tuple[_Member, ...], names: tuple[str, ...]) -> tuple[str, Callable[[Any], Any]] | None:
    """How to write a problem of a class that declares these members and sends these: a template to fill
    in with `%`, and what picks the texts out of the values; None unless every member is text or a number."""
    members = {member.name: member for member in declared}
    texts: list[int] = []
    for position, name in enumerate(names):
        member = members.get(name)
        if member is None:
            if name not in STANDARD_MEMBERS:  # an extension: its value may be anything
                return None
            is_text = name != "status"
        else:
            kind = member.type
            if isinstance(kind, Nullable) and not member.required:  # sent only when it is not None
                kind = kind.inner
            written = _written_as(kind)
            if written is None:
                return None
            is_text = written == "text"
        if not _is_element_name(name):
            return None
        if is_text:
            texts.append(position)
    # `type` is always sent, so there is a text; of one, itemgetter returns that string, which joins to itself.
    template = _XML_HEAD + "".join(f"<{name}>%s</{name}>" for name in names) + _XML_TAIL
    return template, operator.itemgetter(*texts)


def _xml_element(parts: list[str], name: str, value: Any, *, item: bool = False) -> None:
    if value is None:
        if item:
            parts.append('<i nil="true"/>')
        return
    keyed = not item and not _is_element_name(name)
    if keyed:
        open_tag, close_tag = f'_ key="{_xml_text(name, _ATTRIBUTE_ESCAPES)}"', "_"
        if not isinstance(value, (dict, list)):  # text beside the `key` attribute breaks Appendix B's schema
            parts.append(f"<{open_tag}>")
            _xml_element(parts, "_", value, item=True)
            parts.append("</_>")
            return
    else:
        open_tag, close_tag = name, name
    kind = value.__class__  # the usual scalars first, by class: the members of most problems
    if kind is str:
        parts.append(f"<{open_tag}>{_xml_text(value, _TEXT_ESCAPES)}</{close_tag}>")
    elif kind is int or kind is float:
        parts.append(f"<{open_tag}>{value!r}</{close_tag}>")
    elif isinstance(value, dict):
        if not value:
            parts.append(f"<{open_tag}/>")
            return
        parts.append(f"<{open_tag}>")
        for key, item in value.items():
            _xml_element(parts, key, item)
        parts.append(f"</{close_tag}>")
    elif isinstance(value, list):
        if not value:
            parts.append(f"<{open_tag}/>")
            return
        parts.append(f"<{open_tag}>")
        for item in value:
            _xml_element(parts, "i", item, item=True)
        parts.append(f"</{close_tag}>")
    else:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            text = _xml_text(str(value), _TEXT_ESCAPES)
        parts.append(f"<{open_tag}>{text}</{close_tag}>")


class _Element:
    __slots__ = ("children", "key", "name", "namespace", "nil", "text")

    def __init__(self, namespace: str, name: str, key: str | None, nil: bool) -> None:
        self.namespace = namespace
        self.name = name
        self.key = key
        self.nil = nil
        self.children: list[_Element] = []
        self.text: list[str] = []

    @property
    def member(self) -> str:
        return self.key if self.name == "_" and self.key is not None else self.name


_MAX_XML_DEPTH = 64
# A problem has a handful of members; a body of more elements than this is no
# problem document, and reading it all would cost seconds and hundreds of MB.
_MAX_XML_ELEMENTS = 10_000


def _parse_xml(body: bytes) -> _Element:
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[_Element] = []
    root: list[_Element] = []

    count = 0

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if len(stack) >= _MAX_XML_DEPTH:
            raise DecodeError("problem+xml nests too deeply")
        if count > _MAX_XML_ELEMENTS:
            raise DecodeError(f"problem+xml has more than {_MAX_XML_ELEMENTS} elements")
        namespace, _, local = name.rpartition(" ")
        element = _Element(namespace, local, attributes.get("key"), attributes.get("nil") == "true")
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    def end(name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text.append(data)

    def refuse_dtd(*args: object) -> None:
        # No DTDs, so no entity expansion ("billion laughs") and no external entities.
        raise DecodeError("problem+xml must not contain a DOCTYPE")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise DecodeError(f"not well-formed XML: {expat.ErrorString(error.code)}") from None
    except (ValueError, LookupError) as error:  # an encoding expat cannot read ("utf-7", "shift_jis", a typo)
        raise DecodeError(f"unreadable XML: {error}") from None
    if not root or root[0].namespace != XML_NAMESPACE or root[0].name != "problem":
        raise DecodeError(f'the root element is not <problem xmlns="{XML_NAMESPACE}">')
    return root[0]


def _xml_shape(element: _Element, type: MemberType | None) -> Any:
    """Builtins for an element: typed where the member type is known, inferred otherwise."""
    if isinstance(type, Nullable):
        type = type.inner
    if element.nil:
        return None
    children = [child for child in element.children if child.namespace == XML_NAMESPACE]
    if element.key is not None and len(children) == 1 and children[0].name == "_" and children[0].key is None:
        return _xml_shape(children[0], type)  # `<_ key="..."><_>text</_></_>`: a keyed scalar
    return _inferred_shape(element, children) if type is None else _typed_shape(element, children, type)


_ERROR = Scalar("error")  # a validation item: an object of its own keys


def _typed_shape(element: _Element, children: list[_Element], type: MemberType) -> Any:
    """Builtins for an element of a known member type; `Mismatch` when the element has another shape."""
    if isinstance(type, ListOf):
        if any(child.name != "i" for child in children):
            raise Mismatch
        return [_xml_shape(child, type.item) for child in children]
    if isinstance(type, DictOf) or type == _ERROR:
        value_type = type.value if isinstance(type, DictOf) else None
        return {child.member: _xml_shape(child, value_type) for child in children}
    if children:  # a scalar or enum: text only
        raise Mismatch
    return "".join(element.text)


def _inferred_shape(element: _Element, children: list[_Element]) -> Any:
    """Builtins for an element of no known type: its text, a list of `<i>` items, or an object."""
    if not children:
        return "".join(element.text)
    if all(child.name == "i" and child.key is None for child in children):
        return [_xml_shape(child, None) for child in children]
    return {child.member: _xml_shape(child, None) for child in children}


def decode_xml(
    body: bytes | str, *, catalog: Catalog | None = None, status: int | None = None, base_url: str | None = None
) -> Problem:
    """Decode `application/problem+xml` into a problem (see `decode_json`)."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if catalog is not None and (flat := _decode_flat_xml(body, catalog)) is not None:
        return flat
    return _decode_xml_tree(body, catalog, status, base_url)


def _decode_xml_tree(body: bytes, catalog: Catalog | None, status: int | None, base_url: str | None) -> Problem:
    """Any problem+xml document: parsed into elements, shaped by the member types, then built."""
    root = _parse_xml(body)
    document: dict[str, Any] = {}
    elements: dict[str, _Element] = {}
    for child in root.children:
        if child.namespace != XML_NAMESPACE or child.member in document:
            continue  # RFC 9457 Appendix B: only the one namespace
        elements[child.member] = child
        document[child.member] = _xml_shape(child, None)
    status_text = document.get("status")
    if isinstance(status_text, str) and re.fullmatch(r"\s*[0-9]{3}\s*", status_text):
        document["status"] = int(status_text.strip())

    def convert(member: _Member, _: Any) -> Any:
        try:
            shaped = _xml_shape(elements[member.name], member.type)
            return msgspec.convert(shaped, member.annotation, strict=False)
        except (Mismatch, msgspec.ValidationError):
            raise Mismatch from None

    return build(document, catalog, status, convert, base_url)


# What `encode_xml` writes for a problem whose members are all scalars and need no
# escaping (`_PLAIN_TEXT`: no `&`, `<`, `>`, nor a raw CR, which a parser would
# normalize, XML 1.0 §2.11). Any other document takes the parser.
_FLAT_MEMBER = f"<(?P<name>[A-Za-z_][A-Za-z0-9_.\\-]*)>({_PLAIN_TEXT.pattern})</(?P=name)>"
_FLAT_XML = re.compile(re.escape(_XML_HEAD) + f"((?:{_FLAT_MEMBER})*)" + re.escape(_XML_TAIL))


def _decode_flat_xml(body: bytes, catalog: Catalog) -> Problem | None:
    """The fast path: a flat document of a catalogued type, converted straight into its wire Struct.

    Element text converts as the parser's path converts it (msgspec, not
    strict); a document of any other shape, a duplicate element, or one the
    Struct or its checks refuse returns None, and the parser decides.
    """
    if body.count(b"<") > 2 * _MAX_XML_ELEMENTS:  # the parser's bound, before anything is built
        return None
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    whole = _FLAT_XML.fullmatch(text)
    if whole is None:
        return None
    # Matched, `<name>text</name>...` splits at `<` into `name>text` and `/name>` in turn,
    # and neither names nor texts hold `<` or `>`: names and texts alternate.
    names_and_texts = ">".join(whole.group(1).split("<")[1::2]).split(">")
    pairs = iter(names_and_texts)
    document = dict(zip(pairs, pairs, strict=False))  # an odd one out fails the count below
    type_uri = document.get("type")
    if 2 * len(document) != len(names_and_texts) or type_uri is None:
        return None
    typed = typed_by_type(catalog, type_uri.encode())
    if typed is None:
        return None
    try:
        wire = msgspec.convert(document, typed.cls.__problemdetails__.wire, strict=False)
    except msgspec.ValidationError:
        return None
    return typed.checked(wire)
