"""Problems: the exceptions a service raises, one class per catalog slug.

`Problem` is the base. A catalogued class is bound to its `ProblemSpec` when
it is defined (`class Conflict(Problem, spec=...)`), which is how both the
classes a `Catalog` builds at runtime and those in a generated module get the
same behaviour and encode identically.

A msgspec Struct cannot also be an exception, so a problem *carries* its wire
form: each class owns a Struct type (`__problemdetails__.wire`, fields in the
pinned wire order) and every instance holds one, built and validated by a single
`msgspec.convert` at construction. Encoding is then one msgspec call, and
member attributes read straight from the Struct.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
import re
import sys
import threading
import types
import weakref
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec

from problemdetails._grammar import REQUEST_ID_PATTERN, is_request_id
from problemdetails._member_types import ErrorItem, MemberType, is_error_list, is_uri_reference, must_be_present
from problemdetails._spec import NCNAME, RESERVED_NAMES, STANDARD_MEMBERS, ProblemSpec, default_retry
from problemdetails._status import status_phrase
from problemdetails._templates import Template, class_template, render, render_template

__all__ = ["ClassData", "Problem", "Received"]

_STANDARD = frozenset(STANDARD_MEMBERS)
_Status = Annotated[int, msgspec.Meta(ge=100, le=599)]


class _GenericWire(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The wire form of an uncatalogued problem (extension members travel beside it)."""

    type: str
    title: str
    status: _Status
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    request_id: str | None = None
    trace_id: str | None = None


class _Member:
    """A member as the class uses it: wire name, Python name, parsed type."""

    __slots__ = ("annotation", "attribute", "must_be_present", "name", "required", "type")

    def __init__(self, name: str, attribute: str, type: MemberType, required: bool) -> None:
        self.name = name
        # Interned like the names in source code: msgspec matches a keyword to a field
        # by identity first (a member read from YAML otherwise costs string compares).
        self.attribute = sys.intern(attribute)
        self.type = type
        self.annotation = type.annotation()
        self.required = required
        self.must_be_present = must_be_present(required, type)


class ClassData:
    """What a problem class compiles from its spec, once, under `cls.__problemdetails__`.

    Built here and nowhere else: when a class is bound to a spec (`Problem.__init_subclass__`),
    and once, by `generic()`, for the generic `Problem`. Raising, encoding and answering read it.
    """

    __slots__ = (
        "attributes",
        "fixed",
        "item_lists",
        "members",
        "prototype",
        "renamed",
        "required",
        "sets_headers",
        "template",
        "wire",
    )

    wire: type[msgspec.Struct]  # the class's wire Struct type, fields in the pinned wire order
    members: tuple[_Member, ...]  # the typed extension members, in catalog order
    renamed: dict[str, str]  # Python attribute -> wire name, where they differ
    attributes: frozenset[str]  # the members' Python names
    required: tuple[_Member, ...]
    fixed: dict[str, Any]  # the fixed values (type, title, status, code) by wire name
    prototype: Any  # the wire Struct with no occurrence values: every raise starts from a copy of it
    template: Template | None  # the compiled `detail` template
    # Whether a response of this class may carry headers beyond the fixed ones: the
    # catalog's, `WWW-Authenticate` on a 401 and `Allow` on a 405 (RFC 9110 §15.5.2,
    # §15.5.6). Always true for a generic problem: any status is possible.
    sets_headers: bool
    item_lists: tuple[str, ...]  # the members that hold validation items (`list[error]`), by Python name

    @classmethod
    def generic(cls) -> ClassData:
        """The generic problem's: any status, and members travel as extensions."""
        data = cls.__new__(cls)
        data.wire, data.members, data.renamed, data.attributes, data.required = _GenericWire, (), {}, frozenset(), ()
        data.fixed, data.prototype, data.template, data.sets_headers = {}, None, None, True
        data.item_lists = ()
        return data

    def __init__(self, spec: ProblemSpec) -> None:
        members = tuple(
            _Member(member.name, member.attribute, member.parsed, member.required) for member in spec.members
        )
        self.members = members
        self.renamed = {m.attribute: m.name for m in members if m.attribute != m.name}
        self.attributes = frozenset(member.attribute for member in members)
        self.item_lists = tuple(member.attribute for member in members if is_error_list(member.type))
        self.required = tuple(member for member in members if member.required)
        self.wire = _wire_struct(spec.class_name, members)
        self.sets_headers = bool(spec.headers) or spec.status in (401, 405)
        self.fixed = {"type": spec.type, "title": spec.title, "status": spec.status, "code": spec.slug}
        # Every raise starts from this (a C-level copy beats a seven-keyword build).
        self.prototype = self.wire(**self.fixed)
        names = {member.name: member.attribute for member in members}
        self.template = class_template(spec.detail, names) if spec.detail is not None else None


@functools.lru_cache(maxsize=4096)  # one per class and language in use
def _translated_template(cls: type[Problem], detail: str) -> Template:
    """A class's `detail` template in another language, compiled as its own is (the same placeholders)."""
    names = {member.name: member.attribute for member in cls.__problemdetails__.members}
    compiled = class_template(detail, names)
    assert compiled is not None  # the loader checked it parses, with the default language's placeholders
    return compiled


def _items_in_language(items: object, messages: Mapping[str, str]) -> list[ErrorItem] | None:
    """Validation items with the messages their codes have in `messages`, or None when none of them changes."""
    if not isinstance(items, list):
        return None
    translated: list[ErrorItem] = []
    changed = False
    for item in items:
        message = messages.get(item.code) if isinstance(item, ErrorItem) and item.code is not None else None
        text = render_template(message, item.params or {}) if message is not None else None
        if text is not None:
            item = msgspec.structs.replace(item, detail=text)
            changed = True
        translated.append(item)
    return translated if changed else None


class Received(msgspec.Struct, frozen=True, kw_only=True):
    """How a client received a problem: the HTTP exchange around it, or the gRPC call.

    For a gRPC call (`decode_grpc`), `status` is the problem's, `headers` the
    call's text metadata, `retry_after` `RetryInfo`'s delay, `response` the
    `grpc.RpcError`, and `grpc_code` the name of the call's code (`"NOT_FOUND"`).
    """

    status: int
    headers: dict[str, str]
    url: str | None = None
    method: str | None = None
    retry_after: float | None = None  # seconds, from the Retry-After header (gRPC: RetryInfo)
    response: Any = None  # the original response object (e.g. an httpx.Response, a grpc.RpcError)
    language: str | None = None  # the language of its text, from Content-Language (its first tag)
    grpc_code: str | None = None  # the `google.rpc.Code` name a gRPC call ended with


_P = TypeVar("_P", bound="Problem")


class Problem(Exception):
    """An RFC 9457 problem you can raise, match and encode.

    Catalogued problems come from a `Catalog` (`catalog["conflict"]`) or a
    generated module; their `type`, `title`, `status` and `code` are fixed by
    the catalog and you pass only the occurrence: `detail`, `instance` and the
    typed extension members.

    ```python
    Conflict = catalog["conflict"]
    try:
        raise Conflict("record name+type already exists in zone")
    except Problem as problem:
        assert (problem.status, problem.code) == (409, "conflict")
    ```

    `Problem` itself is the generic, uncatalogued problem:
    `Problem(status=503)` is `about:blank` with the status phrase as title
    (RFC 9457 §4.2.1), and any keyword becomes an extension member.
    """

    __match_args__ = ()
    # What every problem has lives in slots, not the instance `__dict__`: cheaper to
    # set on every raise (`make bench`). A generic problem's identity and `received`
    # still go in the `__dict__` every exception has.
    __slots__ = ("_wire", "extensions", "headers")

    spec: ClassVar[ProblemSpec | None] = None
    # What the class compiles from its spec once, read on every raise and response.
    __problemdetails__: ClassVar[ClassData] = ClassData.generic()

    # The problem type: class attributes on a catalogued class, instance
    # attributes on a generic problem.
    type: str
    title: str
    status: int
    code: str | None
    _wire: Any  # the Struct instance: the problem's wire form
    headers: dict[str, str]
    extensions: dict[str, Any]
    # How a client received this problem (set by `problemdetails.client.decode`).
    received: Received | None = None

    def __init_subclass__(cls, *, spec: ProblemSpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is None:
            return  # a plain subclass of a catalogued class inherits its binding
        cls.spec = spec
        # Class-level identity (`Conflict.status`), shadowing the instance properties.
        for name, value in (("type", spec.type), ("title", spec.title), ("status", spec.status), ("code", spec.slug)):
            setattr(cls, name, value)
        cls.__problemdetails__ = compiled = ClassData(spec)
        for member in compiled.members:
            setattr(cls, member.attribute, property(operator.attrgetter(f"_wire.{member.attribute}")))

    def __init__(
        self,
        detail: str | None = None,
        *,
        instance: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        title: str | None = None,
        type: str | None = None,
        code: str | None = None,
        **members: Any,
    ) -> None:
        cls = self.__class__
        # RFC 9457 §3.1.1 and §3.1.5: `type` and `instance` are URI references.
        if instance is not None and not _is_uri(instance):
            raise TypeError(f"{cls.__name__}(): instance must be a URI reference (percent-encode it), not {instance!r}")
        if type is not None and not _is_uri(type):
            raise TypeError(f"{cls.__name__}(): type must be a URI reference (percent-encode it), not {type!r}")
        if request_id is not None and not (
            isinstance(request_id, str) and request_id.isascii() and is_request_id(request_id.encode())
        ):
            # What `X-Request-ID` may carry, as the schemas publish it (`_grammar.REQUEST_ID_PATTERN`).
            raise TypeError(f"{cls.__name__}(): request_id must match {REQUEST_ID_PATTERN}, not {request_id!r}")
        self.headers = dict(headers) if headers else {}
        self.extensions = {}
        compiled = cls.__problemdetails__
        spec = cls.spec
        if spec is None:
            values = {"detail": detail, "instance": instance, "request_id": request_id}
            wire = _convert(cls.__name__, _generic_values(status, title, type, code, values), _GenericWire)
            self.type, self.title, self.status, self.code = wire.type, wire.title, wire.status, code
            self.extensions = _extensions(members)
        elif status is not None or title is not None or type is not None or code is not None:
            fixed = {"status": status, "title": title, "type": type, "code": code}
            given = ", ".join(name for name, value in fixed.items() if value is not None)
            raise TypeError(f"{cls.__name__}(): {given} is fixed by the catalog")
        elif (
            not members
            and not compiled.required
            and (detail is None or detail.__class__ is str)
            and (request_id is None or request_id.__class__ is str)
        ):
            # The common raise (`Conflict("...")`) has nothing to check: a C-level
            # copy of the class's prototype (`make bench` measures this path).
            wire = msgspec.structs.replace(compiled.prototype, detail=detail, instance=instance, request_id=request_id)
        else:
            wire = _validated(cls, members, {"detail": detail, "instance": instance, "request_id": request_id})
        if detail is None and compiled.template is not None:
            wire.detail = render(compiled.template, wire)
        self._wire = wire
        Exception.__init__(self, wire.title if wire.detail is None else wire.detail)

    @classmethod
    def _from_wire(cls, standard: dict[str, Any], members: dict[str, Any], extensions: dict[str, Any]) -> Problem:
        """Build a decoded problem: values already converted, unknown members kept aside."""
        problem = cls.__new__(cls)
        occurrence = {name: standard.get(name) for name in ("detail", "instance", "request_id", "trace_id")}
        if cls.spec is None:
            title = standard.get("title") or status_phrase(standard["status"])
            problem._wire = _GenericWire(
                type=standard.get("type", "about:blank"),
                title=title,
                status=standard["status"],
                code=standard.get("code"),
                **occurrence,
            )
            problem.type, problem.title = problem._wire.type, problem._wire.title
            problem.status, problem.code = problem._wire.status, problem._wire.code
        else:
            problem._wire = cls.__problemdetails__.wire(
                type=cls.type,
                title=cls.title,
                status=cls.status,
                code=cls.code,
                **occurrence,
                **{member.attribute: members.get(member.name) for member in cls.__problemdetails__.members},
            )
        problem.headers = {}
        problem.extensions = extensions
        Exception.__init__(problem, problem.detail if problem.detail is not None else problem.title)
        return problem

    @classmethod
    def examples(cls) -> list[Problem]:
        """The catalog's documented examples of this problem type, built and validated.

        The doc site shows each one encoded by the real encoder, so what a page
        shows is exactly what a client receives:

        ```python
        (example,) = catalog["quota-exceeded"].examples()
        assert example.limit == 50000
        ```
        """
        if cls.spec is None:
            return []
        return [
            cls(
                example.detail,
                instance=example.instance,
                **{
                    m.attribute: example.members[m.name]
                    for m in cls.__problemdetails__.members
                    if m.name in example.members
                },
            )
            for example in cls.spec.examples
        ]

    def _occurrence(self: _P, *, instance: str | None, request_id: str | None, trace_id: str | None = None) -> _P:
        """A copy for one response, with that request's `instance`, id and trace id.

        The raised object itself is never changed: the same instance may be
        raised by many requests at once.
        """
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone._wire = msgspec.structs.replace(self._wire, instance=instance, request_id=request_id, trace_id=trace_id)
        clone.headers, clone.extensions = self.headers, self.extensions
        Exception.__init__(clone, *self.args)
        return clone

    def _in_language(self, title: str | None, detail: str | None, messages: Mapping[str, str]) -> Problem:
        """A copy for a response in another language: its title, its catalog `detail` and its items, translated.

        A `detail` the app passed is its own and stays as it is; only a detail the
        catalog's template rendered is rendered again from the translated one
        (`detail`, with the same placeholders). None leaves a text as it is.
        Validation items (`errors`) take the message `messages` has for their
        `code`, filled with their `params`; an item whose code has none, or
        whose params do not fill it, keeps the framework's text.
        """
        compiled, wire = self.__problemdetails__, self._wire
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        # Only the catalog's text is translated: a detail the app passed differs from the template's.
        templated = detail is not None and compiled.template is not None and wire.detail is not None
        if templated and wire.detail == render(compiled.template, wire):  # type: ignore[arg-type]
            translated = render(_translated_template(type(self), detail), wire)  # type: ignore[arg-type]
            if translated is not None:
                changes["detail"] = translated
        extensions = self.extensions
        if messages:
            for attribute in compiled.item_lists:
                items = _items_in_language(getattr(wire, attribute), messages)
                if items is not None:
                    changes[attribute] = items
            items = _items_in_language(extensions.get("errors"), messages)
            if items is not None:
                extensions = {**extensions, "errors": items}
        if not changes and extensions is self.extensions:
            return self
        clone = self._occurrence(instance=wire.instance, request_id=wire.request_id, trace_id=wire.trace_id)
        clone._wire = msgspec.structs.replace(clone._wire, **changes)
        clone.extensions = extensions
        if title is not None:
            clone.title = title  # over the class's own (`Conflict.title`), for the pages and profiles that read it
        return clone

    def _rebound(self, cls: builtins.type[Problem]) -> Problem:
        """This occurrence as an instance of `cls`: its class in a `rebased()` catalog, a subclass of this one's."""
        wire = self._wire
        clone = self._occurrence(instance=wire.instance, request_id=wire.request_id, trace_id=wire.trace_id)
        clone.__class__ = cls
        clone._wire = msgspec.structs.replace(clone._wire, type=cls.type)
        return clone

    def with_members(self: _P, *, headers: Mapping[str, str] | None = None, **members: Any) -> _P:
        """A copy of this problem with more members and headers: what an `enrich` hook returns.

        A member the catalog declares for this problem type is checked as the
        constructor checks it (a `TypeError` naming the member and its type).
        Any other name becomes an extension member (RFC 9457 §3.2), which must be
        JSON-encodable and finite, and named as the catalog requires of member
        names: an XML name, not a standard member, not a reserved one. The
        problem itself is left as it is.

        ```python
        problem.with_members(tenant="acme", headers={"Link": '<https://status.example>; rel="help"'})
        ```
        """
        cls = self.__class__
        compiled = cls.__problemdetails__
        declared = {name: value for name, value in members.items() if name in compiled.attributes}
        extra = {name: value for name, value in members.items() if name not in compiled.attributes}
        for name in extra:
            if name in _STANDARD or name in RESERVED_NAMES or not (name.isascii() and NCNAME.match(name)):
                raise TypeError(f"{cls.__name__}.with_members(): {name!r} cannot be an extension member name")
        clone = self._occurrence(instance=self.instance, request_id=self.request_id, trace_id=self.trace_id)
        if declared:
            values = msgspec.structs.asdict(self._wire)
            values.update(declared)
            renamed = compiled.renamed
            values = {renamed.get(name, name): value for name, value in values.items()}
            clone._wire = _convert(f"{cls.__name__}.with_members", values, compiled.wire, declared)
        clone.extensions = {**self.extensions, **_extensions(extra)} if extra else self.extensions
        clone.headers = {**self.headers, **headers} if headers else self.headers
        return clone

    def relayed(self: _P) -> _P:
        """This problem, received from another service, passed on as this service's own answer.

        A problem that `problemdetails.client` decoded and that is raised
        unchanged leaves a middleware as a 502 (`bad-gateway`): the other
        service's 404 is this one's upstream failure, and its body may hold what
        this service's clients must not see (RFC 9457 §5). When passing it on is
        the intent (a gateway relaying a 422 and its `errors`), raise
        `problem.relayed()`: the same type, status, detail and members, with this
        request's `instance`, `request_id` and `trace_id` in place of the
        upstream's, and its `Retry-After`. The upstream's status, code and request
        id are still logged.

        ```python
        except Unprocessable as problem:
            raise problem.relayed() from None
        ```
        """
        clone = self._occurrence(instance=None, request_id=None, trace_id=None)
        received = self.received
        clone.received = None
        clone.headers = dict(self.headers)
        if received is not None and "retry-after" in received.headers:
            clone.headers["Retry-After"] = received.headers["retry-after"]
        clone.__dict__["_relayed"] = self  # what the record says it came from
        return clone

    def __reduce__(self) -> tuple[Any, ...]:
        # `BaseException.__reduce__` would call the class with `args` (the message,
        # not the members) and restore only the `__dict__`: rebuild from the parts.
        # The wire Struct goes by its values: its class is made at run time, not importable.
        fields = msgspec.structs.asdict(self._wire)
        return (_rebuild, (_class_ref(self.__class__), fields, self.headers, self.extensions, self.args, self.__dict__))

    # -- the occurrence members, read from (and partly written to) the wire form

    @property
    def detail(self) -> str | None:
        """What happened in this occurrence (RFC 9457 §3.1.4)."""
        value: str | None = self._wire.detail
        return value

    @property
    def instance(self) -> str | None:
        """A URI reference for this occurrence (RFC 9457 §3.1.5), e.g. the request path."""
        value: str | None = self._wire.instance
        return value

    @instance.setter
    def instance(self, value: str | None) -> None:
        if value is not None and not (isinstance(value, str) and is_uri_reference(value)):
            raise TypeError(f"instance must be a URI reference (percent-encode it), not {value!r}")
        self._wire.instance = value

    @property
    def request_id(self) -> str | None:
        """The request id, so a client can quote it to support."""
        value: str | None = self._wire.request_id
        return value

    @request_id.setter
    def request_id(self, value: str | None) -> None:
        self._wire.request_id = msgspec.convert(value, str | None)

    @property
    def trace_id(self) -> str | None:
        """The W3C trace id of the request that failed (32 hex digits), when the service traces.

        The middlewares set it from the active OpenTelemetry span, or from the
        request's `traceparent` header: the id to look the trace up by.
        """
        value: str | None = self._wire.trace_id
        return value

    @property
    def response(self) -> Any:
        """The HTTP response (or `grpc.RpcError`) this problem was decoded from (`problemdetails.client`), if any."""
        return self.received.response if self.received is not None else None

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before retrying, from a received `Retry-After` header (delay or HTTP date).

        A problem type with a `retry_after` member reads it from the body instead.
        """
        return self.received.retry_after if self.received is not None else None

    @property
    def retryable(self) -> bool:
        """Whether retrying can help: the catalog's `retry` advice is `backoff` or `after-delay`.

        Uncatalogued problems follow their status: only 408, 425, 429 and 5xx
        other than 501 and 505 are worth retrying.
        """
        advice = self.spec.retry if self.spec is not None else default_retry(self.status)
        return advice in ("backoff", "after-delay")

    @property
    def members(self) -> dict[str, Any]:
        """The typed extension members that are set, by wire name."""
        wire = self._wire
        return {
            member.name: value
            for member in self.__problemdetails__.members
            if (value := getattr(wire, member.attribute)) is not None
        }

    def to_dict(self) -> dict[str, Any]:
        """The problem as the JSON object it is sent as, members in wire order."""
        body: dict[str, Any] = msgspec.to_builtins(self._wire)
        if self.extensions:
            declared = {member.name for member in self.__problemdetails__.members}
            for name, value in msgspec.to_builtins(self.extensions).items():
                # Decoded members that were ignored (wrong type, RFC 9457 §3.1) stay
                # readable in `extensions` but are never sent on.
                if value is not None and name not in _STANDARD and name not in declared and name not in body:
                    body[name] = value
        return body

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Problem)
        return bool(self._wire == other._wire) and self.extensions == other.extensions

    def __hash__(self) -> int:
        # Equal problems share class, type and status; members may be unhashable.
        return hash((self.__class__, self.type, self.status))

    def __repr__(self) -> str:
        parts = [f"{name}={value!r}" for name, value in (("detail", self.detail), ("instance", self.instance))]
        if self.spec is None:
            parts[:0] = [f"status={self.status!r}", f"type={self.type!r}", f"title={self.title!r}"]
            if self.code is not None:
                parts.append(f"code={self.code!r}")
        parts += [
            f"{member.attribute}={getattr(self._wire, member.attribute)!r}"
            for member in self.__problemdetails__.members
        ]
        parts += [f"{name}={value!r}" for name, value in self.extensions.items()]
        shown = [part for part in parts if not part.endswith("=None")]
        return f"{self.__class__.__name__}({', '.join(shown)})"

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        detail = f": {self.detail}" if self.detail is not None else ""
        return f"{self.status} {self.title}{code}{detail}"


def _generic_values(
    status: int | None, title: str | None, type: str | None, code: str | None, values: dict[str, Any]
) -> dict[str, Any]:
    if status is None or isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise TypeError(f"Problem(): status must be an int from 100 to 599, not {status!r}")
    # RFC 9457 §4.2.1: for about:blank, "the title SHOULD be the same as the
    # recommended HTTP status phrase for that code".
    title = title if title is not None else status_phrase(status)
    return {
        "type": type if type is not None else "about:blank",
        "title": title,
        "status": status,
        "code": code,
        **values,
    }


def _extensions(members: dict[str, Any]) -> dict[str, Any]:
    for name, value in members.items():
        try:
            built = msgspec.to_builtins(value)
        except TypeError:
            raise TypeError(f"Problem(): member {name!r} is not JSON-encodable: {value!r}") from None
        if not _finite(built):
            raise TypeError(f"Problem(): member {name!r} must not hold NaN or Infinity (JSON has neither)")
    return dict(members)


def _is_uri(value: object) -> bool:
    return isinstance(value, str) and is_uri_reference(value)


def _validated(cls: type[Problem], given: dict[str, Any], occurrence: dict[str, Any]) -> Any:
    """The wire Struct for a construction with members, validated by msgspec in one call.

    The usual case (known members, the required ones given, values of their
    types) is one `msgspec.convert`. Anything it refuses goes the long way,
    which finds what is wrong and says so in a `TypeError` naming the member
    and its catalog type.
    """
    compiled = cls.__problemdetails__
    if not compiled.renamed:
        values = {**compiled.fixed, **given, **occurrence}
        wire: Any
        try:
            wire = msgspec.convert(values, compiled.wire)  # an unknown member is an unknown field
        except msgspec.ValidationError:
            wire = None
        # `trace_id` is a wire field but no member: it is set per response, never given.
        if wire is not None and wire.trace_id is None:
            for member in compiled.required:
                if given.get(member.attribute) is None:
                    break
            else:
                return wire
    values = _member_values(cls, given)
    values.update(occurrence)
    values.update(compiled.fixed)
    return _convert(cls.__name__, values, compiled.wire, given)


def _member_values(cls: type[Problem], given: dict[str, Any]) -> dict[str, Any]:
    """Check member names (unknown, missing) and key the values by wire name."""
    compiled = cls.__problemdetails__
    if not given.keys() <= compiled.attributes:
        unknown = sorted(given.keys() - compiled.attributes)[0]
        hint = get_close_matches(unknown, compiled.attributes, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise TypeError(f"{cls.__name__}() got an unexpected member {unknown!r}{suggestion}")
    for member in compiled.required:
        if given.get(member.attribute) is None and not (member.attribute in given and member.type.nullable()):
            raise TypeError(f"{cls.__name__}() missing required member {member.attribute!r}")
    renamed = compiled.renamed
    if not renamed:
        return given
    return {renamed.get(attribute, attribute): value for attribute, value in given.items()}


def _convert(
    owner: str, values: dict[str, Any], wire: type[msgspec.Struct], given: dict[str, Any] | None = None
) -> Any:
    """Validate everything in one msgspec call; turn its error into a TypeError naming the member."""
    try:
        return msgspec.convert(values, wire)
    except msgspec.ValidationError as error:
        found = re.search(r"^(.*) - at `\$\.([^.\[`]+)", str(error))
        reason, name = found.groups() if found else (str(error), "")
        member = _WIRE_MEMBERS.get(wire, {}).get(name)
        attribute = member.attribute if member else name
        value = (given or {}).get(attribute, values.get(name))
        if isinstance(value, float) and not math.isfinite(value):
            message = f"member {attribute!r} must be a finite number, not {value!r}"
        elif member is not None:
            message = f"member {attribute!r} must be {member.type}{_mismatch(reason, str(error))}"
        else:
            message = f"{name}: {reason[:1].lower()}{reason[1:]}"
        raise TypeError(f"{owner}(): {message}") from None


def _mismatch(reason: str, error: str) -> str:
    """What was wrong with a member's value, in the catalog's words rather than msgspec's.

    msgspec says "Expected `int | null`, got `str`": the `| null` is the wire
    Struct's default, not the catalog's type, so only what was given is kept.
    """
    where = re.search(r" - at `\$\.[^.\[`]+([.\[][^`]*)?`$", error)  # in a list item or dict value: `[0]`, `.key`
    at = f" (at {where[1]})" if where and where[1] else ""
    given = re.fullmatch(r"Expected `[^`]*`, got `([^`]*)`", reason)
    if given:
        return f", got {given[1]}{at}"
    return f"{at}: {reason.replace(' | null', '')}"


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(map(_finite, value))
    if isinstance(value, dict):
        return all(map(_finite, value.values()))
    return True


# Each wire Struct type's members by wire name, to explain conversion errors.
# Weak keys: a catalog loaded again (`serve` rebuilding) must not keep the old classes alive.
_WIRE_MEMBERS: weakref.WeakKeyDictionary[type[msgspec.Struct], dict[str, _Member]] = weakref.WeakKeyDictionary()


def _wire_struct(name: str, members: tuple[_Member, ...]) -> type[msgspec.Struct]:
    # Field order is the pinned wire order: the RFC 9457 members, `code`,
    # `request_id`, `trace_id`, then the extension members as the catalog declares them.
    fields: list[Any] = [
        ("type", str),
        ("title", str),
        ("status", int),
        ("detail", str | None, None),
        ("instance", str | None, None),
        ("code", str),
        ("request_id", str | None, None),
        ("trace_id", str | None, None),
    ]
    fields += [(member.attribute, member.annotation | None, None) for member in members]
    rename = {member.attribute: member.name for member in members if member.attribute != member.name}
    wire = msgspec.defstruct(
        f"{name}Wire",
        fields,
        kw_only=True,
        omit_defaults=True,
        rename=rename or None,
        module=__name__,
        # Decoding straight into the Struct is the fast path for well-formed bodies;
        # an unknown member sends a body to the lenient path, which keeps it.
        forbid_unknown_fields=True,
    )
    _WIRE_MEMBERS[wire] = {member.name: member for member in members}
    return wire


def _rebuild(
    cls: type[Problem] | _RuntimeClass,
    fields: dict[str, Any],
    headers: dict[str, str],
    extensions: dict[str, Any],
    args: tuple[Any, ...],
    state: dict[str, Any],
) -> Problem:
    """Unpickle (or copy) a problem: see `Problem.__reduce__`."""
    if isinstance(cls, _RuntimeClass):  # a copy: the reference was not pickled
        cls = cls.cls
    problem = cls.__new__(cls, *args)
    problem._wire, problem.headers, problem.extensions = cls.__problemdetails__.wire(**fields), headers, extensions
    problem.__dict__.update(state)
    return problem


# -- classes a catalog makes at run time, and how they pickle -------------------------
#
# pickle carries a class by its module and name, and `catalog["conflict"]` cannot go
# that way: its `__module__` is this module, where it was made, but no name here holds
# it. Such a class goes by what it is made of instead: its spec (as JSON) and its
# bases. Unpickling finds the class this process's catalog made from the same spec and
# bases, so `except Conflict` catches a problem raised in a worker process; when no
# catalog here has made it yet, unpickling makes it, and the catalog that looks the
# slug up later adopts that class.

RUNTIME_MODULE = __name__  # a module that exists: tracebacks and `repr` name it

_Key = tuple[bytes, tuple[type, ...]]
# Weak: a catalog dropped (and its classes) is not kept alive by being findable here.
_made: weakref.WeakValueDictionary[_Key, type[Problem]] = weakref.WeakValueDictionary()
_unpickled: weakref.WeakValueDictionary[_Key, type[Problem]] = weakref.WeakValueDictionary()
_classes_lock = threading.Lock()


def runtime_class(spec: ProblemSpec, bases: tuple[type[Problem], ...]) -> type[Problem]:
    """The problem class for `spec` over `bases`, as `Catalog.__getitem__` makes it: one a pickle can carry."""
    key = (msgspec.json.encode(spec), bases)
    with _classes_lock:
        # One class per spec and bases in a process: a catalog loaded twice (or in two places)
        # hands out the same classes, so a pickled problem unpickles as the class each of them
        # catches. A class holds nothing of its catalog but its spec, so sharing it is safe.
        cls = _made.get(key) or _unpickled.pop(key, None)
        if cls is None:
            cls = types.new_class(spec.class_name, bases, {"spec": spec})
            cls.__module__ = RUNTIME_MODULE
        _made[key] = cls
    return cls


def _unpickled_class(spec: bytes, bases: tuple[type[Problem], ...]) -> type[Problem]:
    """The class a pickled `_RuntimeClass` stands for, in this process: a catalog's, or one made now."""
    key = (spec, bases)
    with _classes_lock:
        cls = _made.get(key) or _unpickled.get(key)
        if cls is None:
            decoded = msgspec.json.decode(spec, type=ProblemSpec)
            cls = types.new_class(decoded.class_name, bases, {"spec": decoded})
            cls.__module__ = RUNTIME_MODULE
            _unpickled[key] = cls
    return cls


class _RuntimeClass:
    """A class a catalog made at run time, in a pickle: it unpickles as that class (see above)."""

    __slots__ = ("cls",)

    def __init__(self, cls: type[Problem]) -> None:
        self.cls = cls

    def __reduce__(self) -> tuple[Any, ...]:
        cls = self.cls
        assert cls.spec is not None  # only bound classes are made at run time
        return (_unpickled_class, (msgspec.json.encode(cls.spec), tuple(map(_class_ref, cls.__bases__))))


def _class_ref(cls: type) -> Any:
    """`cls` as a pickle can carry it: by name when it is importable, else as a `_RuntimeClass`."""
    # `Problem` is of this module too, but its spec is None: it pickles by name.
    return _RuntimeClass(cls) if cls.__module__ == RUNTIME_MODULE and cls.__dict__.get("spec") is not None else cls
