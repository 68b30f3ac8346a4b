"""Problems: the exceptions a service raises, one class per catalog slug.

`Problem` is the base. A catalogued class is bound to its `ProblemSpec` when
it is defined (`class Conflict(Problem, spec=...)`), which is how both the
classes a `Catalog` builds at runtime and those in a generated module get the
same behaviour and encode identically.

A msgspec Struct cannot also be an exception, so a problem *carries* its wire
form: each catalogued class owns a Struct type (`__wire__`) that the encoder
fills from the instance.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any, ClassVar

import msgspec

from problemdetails._member_types import URI_REFERENCE, MemberType
from problemdetails._spec import STANDARD_MEMBERS, ProblemSpec
from problemdetails._status import status_phrase

__all__ = ["Problem"]

_STANDARD = frozenset(STANDARD_MEMBERS)
_URI_REFERENCE = re.compile(URI_REFERENCE)


class _Member:
    """A member as the class uses it: wire name, Python name, parsed type."""

    __slots__ = ("annotation", "attribute", "name", "required", "type")

    def __init__(self, name: str, attribute: str, type: MemberType, required: bool) -> None:
        self.name = name
        self.attribute = attribute
        self.type = type
        self.annotation = type.annotation()
        self.required = required


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

    spec: ClassVar[ProblemSpec | None] = None
    __wire__: ClassVar[type[msgspec.Struct] | None] = None
    __members__: ClassVar[tuple[_Member, ...]] = ()

    type: str
    title: str
    status: int
    code: str | None
    detail: str | None
    instance: str | None
    request_id: str | None
    headers: dict[str, str]
    extensions: dict[str, Any]

    def __init_subclass__(cls, *, spec: ProblemSpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is None:
            return  # a plain subclass of a catalogued class inherits its binding
        cls.spec = spec
        cls.code = spec.slug
        cls.type = spec.type
        cls.title = spec.title
        cls.status = spec.status
        cls.__members__ = tuple(
            _Member(member.name, member.attribute, member.parsed, member.required) for member in spec.members
        )
        cls.__wire__ = _wire_struct(spec.class_name, cls.__members__)

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
        if detail is not None and not isinstance(detail, str):
            raise TypeError(f"{cls.__name__}(): detail must be a str, not {detail.__class__.__name__}")
        # RFC 9457 §3.1.5: "instance" is "a JSON string containing a URI reference".
        if instance is not None and not (isinstance(instance, str) and _URI_REFERENCE.match(instance)):
            raise TypeError(f"{cls.__name__}(): instance must be a URI reference (percent-encode it), not {instance!r}")
        if cls.spec is None:
            self._init_generic(status, title, type, code, members)
        else:
            fixed = {"status": status, "title": title, "type": type, "code": code}
            given = [name for name, value in fixed.items() if value is not None]
            if given:
                raise TypeError(f"{cls.__name__}(): {', '.join(given)} is fixed by the catalog")
            self._init_members(members)
            self.extensions = {}
            if detail is None and cls.spec.detail is not None:
                detail = render_template(cls.spec.detail, self.members)
        self.detail = detail
        self.instance = instance
        self.request_id = request_id
        self.headers = dict(headers) if headers else {}
        super().__init__(detail if detail is not None else self.title)

    def _init_generic(
        self, status: int | None, title: str | None, type: str | None, code: str | None, members: dict[str, Any]
    ) -> None:
        if status is None or isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise TypeError(f"Problem(): status must be an int from 100 to 599, not {status!r}")
        if type is not None and not (isinstance(type, str) and _URI_REFERENCE.match(type)):
            raise TypeError(f"Problem(): type must be a URI reference (RFC 9457 §3.1.1), not {type!r}")
        self.status = status
        self.type = type if type is not None else "about:blank"
        # RFC 9457 §4.2.1: for about:blank, "the title SHOULD be the same as the
        # recommended HTTP status phrase for that code".
        self.title = title if title is not None else status_phrase(status)
        self.code = code
        for name, value in members.items():
            try:
                built = msgspec.to_builtins(value)
            except TypeError:
                raise TypeError(f"Problem(): member {name!r} is not JSON-encodable: {value!r}") from None
            if not _finite(built):
                raise TypeError(f"Problem(): member {name!r} must not hold NaN or Infinity (JSON has neither)")
        self.extensions = dict(members)

    def _init_members(self, given: dict[str, Any]) -> None:
        cls = self.__class__
        by_attribute = {member.attribute: member for member in cls.__members__}
        for unknown in given.keys() - by_attribute.keys():
            hint = get_close_matches(unknown, by_attribute, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise TypeError(f"{cls.__name__}() got an unexpected member {unknown!r}{suggestion}")
        for member in cls.__members__:
            value = given.get(member.attribute)
            if value is not None:
                value = _check(cls.__name__, member, value)
            elif member.required and not (member.attribute in given and member.type.nullable()):
                raise TypeError(f"{cls.__name__}() missing required member {member.attribute!r}")
            setattr(self, member.attribute, value)

    @classmethod
    def _from_wire(cls, standard: dict[str, Any], members: dict[str, Any], extensions: dict[str, Any]) -> Problem:
        """Build a decoded problem: members already converted, unknown ones kept aside."""
        problem = cls.__new__(cls)
        if cls.spec is None:
            problem.status = standard["status"]
            problem.type = standard.get("type", "about:blank")
            problem.title = standard.get("title") or status_phrase(problem.status)
            problem.code = standard.get("code")
        for member in cls.__members__:
            setattr(problem, member.attribute, members.get(member.name))
        problem.detail = standard.get("detail")
        problem.instance = standard.get("instance")
        problem.request_id = standard.get("request_id")
        problem.headers = {}
        problem.extensions = extensions
        Exception.__init__(problem, problem.detail if problem.detail is not None else problem.title)
        return problem

    @property
    def members(self) -> dict[str, Any]:
        """The typed extension members that are set, by wire name."""
        return {
            member.name: value for member in self.__members__ if (value := getattr(self, member.attribute)) is not None
        }

    def to_dict(self) -> dict[str, Any]:
        """The problem as the JSON object it is sent as, members in wire order."""
        built: dict[str, Any] = msgspec.to_builtins(self._wire_object())
        return built

    def _wire_object(self) -> msgspec.Struct | dict[str, Any]:
        wire = self.__wire__
        if wire is not None and not self.extensions:
            return wire(
                type=self.type,
                title=self.title,
                status=self.status,
                detail=self.detail,
                instance=self.instance,
                code=self.code,
                request_id=self.request_id,
                **{member.attribute: getattr(self, member.attribute) for member in self.__members__},
            )
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        for name in ("detail", "instance", "code", "request_id"):
            if (value := getattr(self, name)) is not None:
                body[name] = value
        members = self.members
        body.update(members)
        declared = {member.name for member in self.__members__}
        for name, value in self.extensions.items():
            # Decoded members that were ignored (wrong type, RFC 9457 §3.1) stay
            # readable in `extensions` but are never sent on.
            if value is not None and name not in _STANDARD and name not in declared:
                body[name] = value
        return body

    def _state(self) -> tuple[Any, ...]:
        return (
            self.type,
            self.title,
            self.status,
            self.code,
            self.detail,
            self.instance,
            self.request_id,
            self.members,
            self.extensions,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Problem)
        return self._state() == other._state()

    def __hash__(self) -> int:
        # Equal problems share class, type and status; members may be unhashable.
        return hash((self.__class__, self.type, self.status))

    def __repr__(self) -> str:
        parts = [f"{name}={value!r}" for name, value in (("detail", self.detail), ("instance", self.instance))]
        if self.spec is None:
            parts[:0] = [f"status={self.status!r}", f"type={self.type!r}", f"title={self.title!r}"]
            if self.code is not None:
                parts.append(f"code={self.code!r}")
        parts += [f"{member.attribute}={getattr(self, member.attribute)!r}" for member in self.__members__]
        parts += [f"{name}={value!r}" for name, value in self.extensions.items()]
        shown = [part for part in parts if not part.endswith("=None")]
        return f"{self.__class__.__name__}({', '.join(shown)})"

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        detail = f": {self.detail}" if self.detail is not None else ""
        return f"{self.status} {self.title}{code}{detail}"


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(map(_finite, value))
    if isinstance(value, dict):
        return all(map(_finite, value.values()))
    return True


def _check(owner: str, member: _Member, value: Any) -> Any:
    try:
        return msgspec.convert(value, member.annotation)
    except msgspec.ValidationError as error:
        if isinstance(value, float) and not math.isfinite(value):
            reason = f"must be a finite number, not {value!r}"
        else:
            reason = f"must be {member.type}: {error}"
        raise TypeError(f"{owner}(): member {member.attribute!r} {reason}") from None


def _wire_struct(name: str, members: tuple[_Member, ...]) -> type[msgspec.Struct]:
    # Field order is the pinned wire order: the RFC 9457 members, `code`,
    # `request_id`, then the extension members as the catalog declares them.
    fields: list[Any] = [
        ("type", str),
        ("title", str),
        ("status", int),
        ("detail", str | None, None),
        ("instance", str | None, None),
        ("code", str),
        ("request_id", str | None, None),
    ]
    fields += [(member.attribute, member.annotation | None, None) for member in members]
    rename = {member.attribute: member.name for member in members if member.attribute != member.name}
    return msgspec.defstruct(
        f"{name}Wire", fields, kw_only=True, omit_defaults=True, rename=rename or None, module=__name__
    )


_formatter = string.Formatter()


def render_template(template: str, members: Mapping[str, Any]) -> str | None:
    """Render a `detail` template over member values, by wire name.

    The catalog's contract: a template renders only when every member it
    names is present; otherwise the problem has no template detail. Field
    names are looked up whole (`{retry-at}` is one member, not a subtraction).
    """
    pieces: list[str] = []
    for literal, field, spec, conversion in _formatter.parse(template):
        pieces.append(literal)
        if field is None:
            continue
        value = members.get(field)
        if value is None:
            return None
        try:
            if conversion:
                value = _formatter.convert_field(value, conversion)
            pieces.append(format(value, spec or ""))
        except (ValueError, TypeError):  # a format spec that does not fit this value
            return None
    return "".join(pieces)
