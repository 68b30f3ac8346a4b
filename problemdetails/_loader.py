"""The catalog loader: YAML files read and validated into the catalog model (`_spec.py`).

`Catalog.load` runs it. Loading never stops at the first mistake: every
finding is collected with its `file:line:col`, and only a catalog without
errors is returned. The checks follow RFC 9457 where it has something to say
(absolute type URIs, §3.1.1; extension member names, §3.2 and §4) and
DESIGN.md elsewhere.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec

from problemdetails._grammar import LANGUAGE_TAG
from problemdetails._grpc_codes import CODES, valid_reason
from problemdetails._member_types import URI_REFERENCE, TypeSyntaxError, is_uri_reference, parse_type
from problemdetails._shapes import Findings, byte_mark, did_you_mean, explain, locate, read_struct
from problemdetails._spec import (
    NCNAME,
    RESERVED_NAMES,
    STANDARD_MEMBERS,
    CatalogInfo,
    Deprecation,
    Example,
    MemberSpec,
    ProblemSpec,
    Retry,
    Translation,
    class_name,
    default_retry,
    takes_framework_errors,
    unfillable,
)
from problemdetails._templates import MAX_WIDTH, render_template, renders_bounded, template_fields, too_wide
from problemdetails._translations import TranslationReader
from problemdetails._yaml import Mark, YamlError, YMap, YNode, YScalar, YSeq, read_yaml

__all__ = [
    "TYPE_SCHEMES",
    "URI_REFERENCE_RE",
    "URI_SCHEME",
    "Loader",
    "PathArg",
    "Source",
    "TranslationSource",
    "source",
    "translation_sources",
    "uncarried",
]

PathArg = str | os.PathLike[str]

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# RFC 9110 §5.1: field-name = token
FIELD_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
URI_REFERENCE_RE = re.compile(URI_REFERENCE)
# The schemes a catalog's type URIs may have. http(s) URLs resolve to the doc
# site (RFC 9457 §4: a type URI "SHOULD resolve to HTML documentation"); `tag:`
# (RFC 4151) and `urn:` name a type without resolving, and are never linked.
TYPE_SCHEMES = ("http:", "https:", "tag:", "urn:")
# The statuses framework validation errors are sent with: 422 (FastAPI, Django Ninja, Starlette
# apps), 400 (DRF, Litestar, Falcon). Their items go out as `errors` (RFC 9457 §3's example member).
# The keys a catalog file may have at its top.
_TOP_LEVEL = ("catalog", "problems", "translations")
_VALIDATION_STATUSES = (400, 422)
# The status a problem is built with while its missing status is reported: its children are still checked.
_UNKNOWN_STATUS = 0
# C0 controls other than tab and line breaks, DEL, and lone surrogates.
_UNCARRIED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


# The YAML shapes, as msgspec Structs: their fields are the allowed keys, and
# msgspec converts each value (one field at a time, so every error is found).
class _HeaderIn(msgspec.Struct):
    name: str
    base_uri: str
    version: str | None = None
    language: str = "en"
    framework_errors: dict[str, str] = {}
    domain: str | None = None


class _EntryIn(msgspec.Struct):
    title: str
    status: int | None = None
    summary: str = ""
    description: str = ""
    resolution: str = ""
    extends: str | None = None
    retry: Retry | None = None
    detail: str | None = None
    headers: list[str] = []
    members: dict[str, Any] = {}
    examples: list[dict[str, Any]] = []
    since: str | None = None
    deprecated: dict[str, Any] | None = None
    aliases: list[str] = []
    grpc: str | None = None


class _MemberIn(msgspec.Struct):
    type: str
    description: str = ""
    required: bool | None = None


class _ExampleIn(msgspec.Struct):
    detail: str | None = None
    instance: str | None = None
    members: dict[str, Any] = {}


class _DeprecatedIn(msgspec.Struct):
    since: str
    replaced_by: str | None = None


@dataclass
class _Entry:
    """A problem entry as read, with the marks needed to report on it later."""

    slug: str
    path: str
    mark: Mark  # of the slug key
    node: YMap
    values: dict[str, Any]
    failed: set[str]  # keys whose values were reported as bad
    members: list[MemberSpec] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # members already reported: no follow-on findings
    # Its ancestry is not known (an unknown parent, a cycle): any member name may be inherited.
    open: bool = False


@dataclass(frozen=True)
class Source:
    """Where a problem (or the header) is written: what `diff` points its annotations at."""

    path: str
    line: int  # of the slug key (the `catalog` key for the header)
    column: int
    keys: Mapping[str, Mark]  # the mark of each key's value: `status`, `extends`, `base_uri`...
    members: Mapping[str, Mark] = field(default_factory=dict)  # each member's name
    aliases: Mapping[str, Mark] = field(default_factory=dict)  # each former slug's list item


def source(path: str, mark: Mark, node: YMap) -> Source:
    keys = {key: value.mark for key, (_, value) in node.entries.items()}
    members = node.entries.get("members", (None, None))[1]
    aliases = node.entries.get("aliases", (None, None))[1]
    return Source(
        path,
        mark.line,
        mark.column,
        keys,
        {name: key for name, (key, _) in members.entries.items()} if isinstance(members, YMap) else {},
        {
            item.value: item.mark
            for item in (aliases.items if isinstance(aliases, YSeq) else [])
            if isinstance(item, YScalar) and isinstance(item.value, str)
        },
    )


def uncarried(text: str) -> str | None:
    """Why `text` cannot be in a catalog (a character no output can carry), or None when it can."""
    bad = _UNCARRIED.search(text)
    if bad is None:
        return None
    kind = "a lone surrogate" if "\ud800" <= bad[0] <= "\udfff" else "a control character"
    return f"U+{ord(bad[0]):04X} is {kind}, which no output can carry"


@dataclass(frozen=True)
class TranslationSource:
    """Where one language's translations are written, for `diff` as `Source` is for a problem."""

    language: Source  # the `translations:` mapping of the first file naming the language
    problems: Mapping[str, Source]  # each translated problem's entry, by slug
    validation: Mapping[str, tuple[str, Mark]]  # each validation message's file and value, by item code

    def relocated(self, where: Callable[[str], str]) -> TranslationSource:
        """The same places in the files `where` maps these to (a copy read from git -> the repository's own)."""
        return TranslationSource(
            replace(self.language, path=where(self.language.path)),
            {slug: replace(place, path=where(place.path)) for slug, place in self.problems.items()},
            {code: (where(path), mark) for code, (path, mark) in self.validation.items()},
        )


def translation_sources(parts: Sequence[tuple[str, YNode]]) -> dict[str, TranslationSource]:
    """Where each language's texts are written, by language as the catalog names it (its first spelling).

    Read from a loaded catalog's `translations:` parts, so from well-formed ones; a
    language spans any number of files, and the first place of a text is its place.
    """
    found: dict[str, tuple[Source, dict[str, Source], dict[str, tuple[str, Mark]]]] = {}
    spelt: dict[str, str] = {}  # BCP 47 tags are case-insensitive: `fr-ca` is `fr-CA`
    for path, node in parts:
        language = node.entries.get("language") if isinstance(node, YMap) else None
        if not isinstance(node, YMap) or language is None or not isinstance(language[1].plain(), str):
            continue
        tag = spelt.setdefault(str(language[1].plain()).lower(), str(language[1].plain()))
        _, problems, validation = found.setdefault(tag, (source(path, language[0], node), {}, {}))
        entries = node.entries.get("problems", (None, None))[1]
        for slug, (mark, entry) in (entries.entries if isinstance(entries, YMap) else {}).items():
            if isinstance(entry, YMap):
                problems.setdefault(slug, source(path, mark, entry))
        messages = node.entries.get("validation", (None, None))[1]
        for code, (_, message) in (messages.entries if isinstance(messages, YMap) else {}).items():
            validation.setdefault(code, (path, message.mark))
    return {tag: TranslationSource(*places) for tag, places in found.items()}


def _field_findings(name: str, spec: str | None, names: set[str], entry: _Entry) -> list[str]:
    """What is wrong with one `{name:spec}` field of a problem's detail template (to follow "detail template")."""
    found: list[str] = []
    if name == "" or name.isdigit():
        found.append(f"field {{{name}}} must name a member, like {{limit}}")
    elif name not in names and name not in entry.broken and not entry.open:
        known = ", ".join(sorted(names)) or "none"
        found.append(f"names unknown member {name!r}{did_you_mean(name, sorted(names))}; members: {known}")
    if spec and "{" in spec:
        found.append("format specs cannot nest fields")
    elif spec and too_wide(spec):
        # `{limit:>2000000000}` would allocate gigabytes on every raise.
        found.append(f"field {{{name}:{spec}}}: widths and precisions are at most {MAX_WIDTH}")
    return found


def _refused_base_uri(base: str) -> str | None:
    """Why `base` cannot be a catalog's `base_uri`, or None when it can."""
    # RFC 9457 §3.1.1: "it is RECOMMENDED that absolute URIs be used in 'type'"
    absolute = URI_SCHEME.match(base) and URI_REFERENCE_RE.match(base)
    if not absolute or (base.lower().startswith(("http:", "https:")) and "//" not in base):
        return f"base_uri must be an absolute URI (RFC 9457 §3.1.1), not {base!r}"
    if not base.lower().startswith(TYPE_SCHEMES):
        return (
            f"base_uri must be an http(s) URL, or a tag: or urn: name, not {base!r} "
            "(the HTML error page and the doc site link type URIs: another scheme could run script when clicked)"
        )
    if base[-1] not in "/#:=":
        return (
            f"base_uri must end with '/', '#', ':' or '=' so that base_uri + slug reads right "
            f"(this one gives {base + 'conflict'!r})"
        )
    return None


def _refused_member_name(name: str) -> str | None:
    """Why `name` cannot be a member's name (to follow "problem 'x': member 'y'"), or None when it can."""
    if name in STANDARD_MEMBERS:
        return f" collides with the standard member {name!r}"
    if name in RESERVED_NAMES:
        return f": {RESERVED_NAMES[name]}"
    if not name.isascii() and NCNAME.match(name):
        # XML parsers disagree on which non-ASCII letters XML 1.0 allows in names
        # (expat follows the 4th edition), and Python folds NFKC-equal ones together.
        return " is not ASCII: problem+xml and Python names need ASCII member names"
    if not NCNAME.match(name):
        # RFC 9457 §3.2: "To be used in the XML format ... they will need to
        # conform to the Name rule in Section 2.3 of [XML]."
        return " is not an XML name (RFC 9457 §3.2), so it cannot be sent as problem+xml"
    return None


def _member_name_advice(name: str) -> str | None:
    """What RFC 9457 §4 advises against in a usable member name, if anything."""
    # RFC 9457 §4: names "SHOULD start with a letter (ALPHA) and SHOULD comprise
    # characters from ALPHA, DIGIT, and '_' ... and they SHOULD be three characters or longer."
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        return " should start with a letter and use only letters, digits and '_' (RFC 9457 §4)"
    if len(name) < 3:
        return " should be three characters or longer (RFC 9457 §4)"
    return None


def _files(paths: Sequence[PathArg], findings: Findings) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                findings.file_error(str(path), "folder holds no .yaml or .yml catalog files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            # As given (`catalogs/`), and where that is from here: a relative path is
            # the usual mistake (run from another folder).
            findings.file_error(os.fspath(given), f"no such file or folder ({path.resolve()})")
    return files


class Loader:
    def __init__(self) -> None:
        self.findings = Findings()
        self.header: tuple[str, YMap, dict[str, Any]] | None = None
        self.entries: dict[str, _Entry] = {}
        self.translations = TranslationReader(self.findings)
        self.translated: dict[str, Translation] = {}  # by language, once loaded

    def load(self, paths: Sequence[PathArg]) -> tuple[CatalogInfo, list[ProblemSpec]] | None:
        for path in _files(paths, self.findings):
            self.read_file(path)
        if self.header is None and not self.findings.has_errors():
            where = str(Path(paths[0])) if paths else "<no paths>"
            self.findings.file_error(where, "no `catalog:` header (name, base_uri) in any file")
        # A broken header (or none) is one finding among the others: the problems are
        # still checked through, so one run reports everything.
        info = self.check_header() if self.header is not None else None
        specs = self.resolve(info)
        if info is not None:
            self.translated = self.translations.check(info, {spec.slug: spec for spec in specs})
        if self.findings.has_errors() or info is None:
            return None
        return info, specs

    def read_file(self, file: Path) -> None:
        path = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:  # `start` is the offset in the file: it is decoded whole
            mark = byte_mark(file.read_bytes(), error.start)
            self.findings.error(path, mark, f"not UTF-8 text ({error.reason} at byte {error.start})")
            return
        except OSError as error:
            self.findings.file_error(path, f"cannot read: {error.strerror}")
            return
        try:
            root = read_yaml(text)
        except YamlError as error:
            self.findings.error(path, error.mark, error.message)
            return
        if root is None:
            self.findings.warning(path, Mark(1, 1), "empty catalog file")
            return
        if not isinstance(root, YMap):
            self.findings.error(
                path, root.mark, f"a catalog file is a mapping with `catalog` and `problems`, not {root.kind()}"
            )
            return
        self.check_text(path, root)
        for key, (mark, node) in root.entries.items():
            if key == "catalog":
                self.read_header(path, node)
            elif key == "problems":
                self.read_problems(path, node)
            elif key == "translations":
                self.translations.read(path, node)
            else:
                message = f"unknown top-level key {key!r}{did_you_mean(key, _TOP_LEVEL)}"
                self.findings.error(path, mark, message + "; known: " + ", ".join(_TOP_LEVEL))

    def check_text(self, path: str, node: YNode) -> None:
        """Every string of the file (keys too) must be text every output can carry.

        A NUL makes `gen` write a module Python cannot import, a lone surrogate
        (YAML's "\\ud800") has no UTF-8 form: both are errors where they stand.
        """
        stack = [node]
        while stack:  # not recursive: a deeply nested file must not overflow the stack
            current = stack.pop()
            texts: list[tuple[Mark, str]] = []
            if isinstance(current, YScalar) and isinstance(current.value, str):
                texts.append((current.mark, current.value))
            elif isinstance(current, YSeq):
                stack.extend(current.items)
            elif isinstance(current, YMap):
                for key, (mark, child) in current.entries.items():
                    texts.append((mark, key))
                    stack.append(child)
            for mark, text in texts:
                refused = uncarried(text)
                if refused is not None:
                    self.findings.error(path, mark, refused)

    def read_header(self, path: str, node: YNode) -> None:
        values = read_struct(node, _HeaderIn, "catalog header", path, self.findings)
        if values is None or not isinstance(node, YMap):
            return
        if self.header is None:
            self.header = (path, node, values)
            return
        first_path, first_node, first_values = self.header
        if values != first_values:
            differing = sorted(
                key for key in values.keys() | first_values.keys() if values.get(key) != first_values.get(key)
            )
            self.findings.error(
                path,
                node.mark,
                f"catalog header differs from the one at {first_path}:{first_node.mark.line} "
                f"in {', '.join(differing)}; headers in several files must be identical",
            )

    def check_header(self) -> CatalogInfo | None:
        assert self.header is not None
        path, node, values = self.header
        ok = True

        def where(key: str) -> Mark:
            return node.entries[key][1].mark if key in node.entries else node.mark

        refused = _refused_base_uri(values["base_uri"])
        if refused is not None:
            self.findings.error(path, where("base_uri"), refused)
            ok = False
        if not LANGUAGE_TAG.match(values["language"]):
            self.findings.error(
                path,
                where("language"),
                f"language must be a BCP 47 tag such as 'en' or 'pt-BR', not {values['language']!r}",
            )
            ok = False
        if not values["name"].strip():
            self.findings.error(path, where("name"), "catalog name must not be empty")
            ok = False
        named: dict[int, str] = {}
        for status, slug in values.pop("framework_errors", {}).items():
            if status.isdigit() and 400 <= int(status) <= 599:
                named[int(status)] = slug
            else:
                entries = node.entries["framework_errors"][1]
                mark = entries.entries[status][0] if isinstance(entries, YMap) else where("framework_errors")
                self.findings.error(path, mark, f"framework_errors: {status!r} is not a status from 400 to 599")
                ok = False
        return CatalogInfo(**values, framework_errors=named) if ok else None

    def check_framework_errors(self, info: CatalogInfo, specs: Mapping[str, ProblemSpec]) -> None:
        """The slug each framework error status takes is explicit and can be built from a status alone."""
        self.check_named_framework_errors(info, specs)
        shared = self.warn_shared_statuses(info, specs)
        self.warn_undeclared_errors(info, specs, shared)

    def check_named_framework_errors(self, info: CatalogInfo, specs: Mapping[str, ProblemSpec]) -> None:
        """Each slug the header's `framework_errors` names exists, has that status, and a status alone builds it."""
        assert self.header is not None
        path, node = self.header[0], self.header[1]
        field = node.entries.get("framework_errors")
        for status, slug in info.framework_errors.items():
            mark = field[1].entries[str(status)][1].mark if field and isinstance(field[1], YMap) else node.mark
            spec = specs.get(slug)
            where = f"framework_errors: {status}: {slug!r}"
            if spec is None:
                hint = did_you_mean(slug, specs) if slug not in self.entries else " (it has errors of its own)"
                self.findings.error(path, mark, f"{where} is not a slug of the catalog{hint}")
            elif spec.status != status:
                self.findings.error(path, mark, f"{where} has status {spec.status}, not {status}")
            elif spec.deprecated is not None:
                self.findings.error(path, mark, f"{where} is retired; name the slug that replaces it")
            elif required := unfillable(spec):
                self.findings.error(
                    path,
                    mark,
                    f"{where} requires members ({', '.join(required)}) that a framework error cannot fill",
                )

    def warn_shared_statuses(self, info: CatalogInfo, specs: Mapping[str, ProblemSpec]) -> dict[int, list[str]]:
        """Root problems a framework error could become, by status; a status the header leaves to a choice is warned."""
        shared: dict[int, list[str]] = {}
        for slug, spec in sorted(specs.items()):
            if spec.status not in info.framework_errors and takes_framework_errors(spec):
                shared.setdefault(spec.status, []).append(slug)
        for status, slugs in sorted(shared.items()):
            if len(slugs) > 1:
                entry = self.entries[slugs[1]]
                self.findings.warning(
                    entry.path,
                    entry.mark,
                    f"root problems {', '.join(map(repr, slugs))} all have status {status}; framework errors "
                    f"of that status take {slugs[0]!r}: name the one you mean in the header's framework_errors",
                )
        return shared

    def warn_undeclared_errors(
        self, info: CatalogInfo, specs: Mapping[str, ProblemSpec], shared: dict[int, list[str]]
    ) -> None:
        """The problem validation failures land on declares `errors`, or a warning says they go out undeclared."""
        # DESIGN.md "Frameworks": validation items are never lost; when the problem a validation
        # failure lands on declares no `errors`, they go out as `errors` all the same, and check says so.
        for status in _VALIDATION_STATUSES:
            target = info.framework_errors.get(status) or next(iter(shared.get(status, [])), None)
            chosen = specs.get(target) if target is not None else None
            if chosen is None or chosen.status != status or target not in self.entries:
                continue  # no slug takes them (they are `about:blank`), or the named one is reported above
            if any(member.name == "errors" for member in chosen.members):  # its own, or inherited
                continue
            entry = self.entries[target]
            self.findings.warning(
                entry.path,
                entry.mark,
                f"problem {target!r} takes the framework's {status} validation errors but declares no `errors` "
                "member: their items are sent as an undeclared `errors`; declare "
                'errors: {type: "list[error]", required: false}',
            )

    def read_problems(self, path: str, node: YNode) -> None:
        if not isinstance(node, YMap):
            self.findings.error(path, node.mark, f"problems must be a mapping of slug to problem, not {node.kind()}")
            return
        for slug, (mark, entry_node) in node.entries.items():
            if not SLUG.match(slug):
                self.findings.error(
                    path, mark, f"slug {slug!r} must be lowercase words joined by '-' (^[a-z][a-z0-9]*(-[a-z0-9]+)*$)"
                )
            elif not valid_reason(slug):
                # Google AIP-193: gRPC's `ErrorInfo.reason` (the slug in UPPER_SNAKE) is 3 to 63 characters.
                self.findings.error(
                    path, mark, f"slug {slug!r} must be 3 to 63 characters long: gRPC sends it as ErrorInfo.reason"
                )
            if slug in self.entries:
                first = self.entries[slug]
                self.findings.error(
                    path,
                    mark,
                    f"duplicate slug {slug!r}, first defined at {first.path}:{first.mark.line}:{first.mark.column}",
                )
                continue
            failed: set[str] = set()
            # Partial: a problem missing its title (or with `titel:`) is still checked
            # through and through, and its children still find their parent.
            values = read_struct(entry_node, _EntryIn, f"problem {slug!r}", path, self.findings, failed, partial=True)
            if values is not None and isinstance(entry_node, YMap):
                values["title"] = values["title"] or ""
                self.entries[slug] = _Entry(slug, path, mark, entry_node, values, failed)
                self.check_entry(self.entries[slug])

    def value_mark(self, entry: _Entry, key: str) -> Mark:
        return entry.node.entries[key][1].mark if key in entry.node.entries else entry.mark

    def check_entry(self, entry: _Entry) -> None:
        values, path, slug = entry.values, entry.path, entry.slug
        status = values["status"]
        if status is not None and not 400 <= status <= 599:
            self.findings.error(
                path,
                self.value_mark(entry, "status"),
                f"problem {slug!r}: status {status} is not a 4xx or 5xx error status (400..599)",
            )
        code = values["grpc"]
        if code == "OK":  # google/rpc/code.proto: "Not an error; returned on success"
            self.findings.error(
                path,
                self.value_mark(entry, "grpc"),
                f"problem {slug!r}: grpc 'OK' is the code of a success, not of a problem",
            )
        elif code is not None and code not in CODES:
            close = did_you_mean(code.upper(), [name for name in CODES if name != "OK"])
            self.findings.error(
                path,
                self.value_mark(entry, "grpc"),
                f"problem {slug!r}: grpc {code!r} is no google.rpc.Code name{close}",
            )
        if "title" not in entry.failed and not values["title"].strip():
            self.findings.error(path, self.value_mark(entry, "title"), f"problem {slug!r}: title must not be empty")
        seen: dict[str, str] = {}
        for index, header in enumerate(values["headers"]):
            mark = _item_mark(entry.node, "headers", index)
            if not FIELD_NAME.match(header):
                self.findings.error(
                    path, mark, f"problem {slug!r}: {header!r} is not an HTTP field name (RFC 9110 §5.1)"
                )
            elif header.lower() in seen:
                self.findings.error(path, mark, f"problem {slug!r}: header {header!r} is listed twice")
            seen[header.lower()] = header
        if "members" in entry.node.entries and "members" not in entry.failed:
            self.read_members(entry, entry.node.entries["members"][1])

    def read_members(self, entry: _Entry, node: YNode) -> None:
        path, slug = entry.path, entry.slug
        assert isinstance(node, YMap)  # _EntryIn.members is a dict
        for name, (mark, member_node) in node.entries.items():
            where = f"problem {slug!r}: member {name!r}"
            refused = _refused_member_name(name)
            if refused is not None:
                self.findings.error(path, mark, where + refused)
                entry.broken.add(name)
                continue
            advice = _member_name_advice(name)
            if advice is not None:
                self.findings.warning(path, mark, where + advice)
            member = self.read_member(entry, name, member_node, where)
            if member is None:
                entry.broken.add(name)
            else:
                entry.members.append(member)

    def read_member(self, entry: _Entry, name: str, node: YNode, where: str) -> MemberSpec | None:
        """One member's declaration: a type alone, or `{type, description, required}`; None when it is broken."""
        if isinstance(node, YScalar) and isinstance(node.value, str):
            declared: dict[str, Any] | None = {"type": node.value, "description": "", "required": None}
        else:
            declared = read_struct(node, _MemberIn, where, entry.path, self.findings)
        if declared is None:
            return None
        type_node = node.entries["type"][1] if isinstance(node, YMap) else node
        try:
            parsed = parse_type(declared["type"])
        except TypeSyntaxError as error:
            column = type_node.mark.column + error.offset + (0 if getattr(type_node, "plain_style", True) else 1)
            self.findings.error(entry.path, Mark(type_node.mark.line, column), f"{where}: {error}")
            return None
        required = declared["required"] if declared["required"] is not None else not parsed.nullable()
        return MemberSpec(
            name=name, type=str(parsed), description=declared["description"], required=required, declared_by=entry.slug
        )

    # -- the whole catalog: extends, inheritance, templates, examples ---------------

    def resolve(self, info: CatalogInfo | None) -> list[ProblemSpec]:
        """Every problem checked and built, whatever else is broken; the specs of those with a known status.

        Nothing is skipped because something else failed (a parent, the header):
        a problem whose parent has errors of its own is checked against what is
        known of it, and one whose ancestry is unknown (an unknown parent, a
        cycle) against its own declarations.
        """
        order = self.check_extends()
        specs: dict[str, ProblemSpec] = {}
        unknown_status: set[str] = set()  # built with a stand-in status (its missing status is reported)
        class_names: dict[str, str] = {}
        for slug in order:
            entry = self.entries[slug]
            name = class_name(slug)
            if name in class_names:
                self.findings.error(
                    entry.path, entry.mark, f"slug {slug!r} and {class_names[name]!r} both become class {name}"
                )
            class_names[name] = slug
            parent = self.parent_of(entry, specs)
            status_known = entry.values["extends"] not in unknown_status
            spec = self.build_spec(entry, parent, info, parent_status_known=status_known)
            if spec is not None:
                specs[slug] = spec
                if spec.status == _UNKNOWN_STATUS:
                    unknown_status.add(slug)
        specs = {slug: spec for slug, spec in specs.items() if slug not in unknown_status}
        self.check_replacements(order)
        self.check_aliases()
        if info is not None:
            self.check_framework_errors(info, specs)
        return [specs[slug] for slug in sorted(specs)]

    def parent_of(self, entry: _Entry, specs: Mapping[str, ProblemSpec]) -> ProblemSpec | None:
        """The parent's spec, when it was built; a child of an unknown or open parent is open itself."""
        parent_slug = entry.values["extends"]
        if parent_slug is None:
            return None
        parent = specs.get(parent_slug)
        if parent is None or self.entries[parent_slug].open:
            entry.open = True
        else:
            # A member the parent's own check refused is reported there, not again in each child.
            entry.broken |= self.entries[parent_slug].broken
        return parent

    def check_replacements(self, order: list[str]) -> None:
        """A retired problem's `replaced_by` names another slug of the catalog."""
        for slug in order:
            entry = self.entries[slug]
            deprecated = entry.values["deprecated"]
            replacement = deprecated.get("replaced_by") if deprecated is not None else None
            if replacement is not None and (replacement == slug or replacement not in self.entries):
                hint = " (it is this problem)" if replacement == slug else did_you_mean(replacement, self.entries)
                self.findings.error(
                    entry.path,
                    entry.node.entries["deprecated"][1].mark,
                    f"problem {slug!r}: replaced_by {replacement!r} is not another slug of the catalog{hint}",
                )

    def check_aliases(self) -> None:
        """Aliases are former slugs: slug syntax, and none may name a current slug or another alias."""
        owners: dict[str, str] = {}
        for slug, entry in sorted(self.entries.items()):
            for index, alias in enumerate(entry.values["aliases"]):
                mark = _item_mark(entry.node, "aliases", index)
                if not SLUG.match(alias):
                    self.findings.error(entry.path, mark, f"problem {slug!r}: alias {alias!r} is not a slug")
                elif alias in self.entries:
                    self.findings.error(entry.path, mark, f"problem {slug!r}: alias {alias!r} is a current slug")
                elif alias in owners:
                    self.findings.error(
                        entry.path, mark, f"problem {slug!r}: alias {alias!r} is already an alias of {owners[alias]!r}"
                    )
                owners.setdefault(alias, slug)

    def check_extends(self) -> list[str]:
        """Every slug, each parent before its children (but in a cycle); reports unknown parents and cycles."""
        order: list[str] = []
        state: dict[str, str] = {}  # slug -> "visiting" | "done"

        def visit(slug: str, chain: list[str]) -> bool:
            if state.get(slug) == "done":
                return True
            entry = self.entries[slug]
            parent = entry.values["extends"]
            if state.get(slug) == "visiting":
                cycle = " -> ".join([*chain[chain.index(slug) :], slug])
                self.findings.error(entry.path, self.value_mark(entry, "extends"), f"extends cycle: {cycle}")
                return False
            state[slug] = "visiting"
            ok = True
            if parent is not None:
                if parent not in self.entries:
                    others = [other for other in self.entries if other != slug]
                    self.findings.error(
                        entry.path,
                        self.value_mark(entry, "extends"),
                        f"problem {slug!r} extends unknown slug {parent!r}{did_you_mean(parent, others)}",
                    )
                    ok = False
                else:
                    ok = visit(parent, [*chain, slug])
            state[slug] = "done"
            order.append(slug)
            return ok

        for slug in sorted(self.entries):
            visit(slug, [])
        return order

    def build_spec(
        self, entry: _Entry, parent: ProblemSpec | None, info: CatalogInfo | None, *, parent_status_known: bool = True
    ) -> ProblemSpec | None:
        """Check one problem against its parent's spec and build its own; None only when it has no status at all.

        With a broken header (`info` None) the spec is built all the same, so
        that its children are checked; a problem whose status is missing (and
        reported) gets `_UNKNOWN_STATUS` for the same reason.
        """
        values, slug = entry.values, entry.slug
        status = self.status_of(entry, parent, parent_status_known=parent_status_known)
        members = self.merge_members(entry, parent)
        template = values["detail"] if values["detail"] is not None else (parent.detail if parent else None)
        if values["detail"] is not None:
            self.check_template(entry, values["detail"], {member.name for member in members})
        headers = list(parent.headers) if parent else []
        headers += [h for h in values["headers"] if h.lower() not in {p.lower() for p in headers}]
        deprecated = self.read_deprecated(entry)
        examples = self.read_examples(entry, members, template)
        if status is None:
            if values["extends"] is not None and not entry.open:
                return None  # a child of a problem without status: it has none to inherit either
            status = _UNKNOWN_STATUS
        retry = values["retry"] or (parent.retry if parent else default_retry(status))
        return ProblemSpec(
            slug=slug,
            type=(info.base_uri if info is not None else "") + slug,
            status=status,
            title=values["title"],
            summary=values["summary"],
            description=values["description"],
            resolution=values["resolution"],
            extends=values["extends"],
            retry=retry,
            detail=template,
            headers=tuple(headers),
            members=tuple(members),
            examples=tuple(examples),
            since=values["since"],
            deprecated=deprecated,
            aliases=tuple(values["aliases"]),
            grpc=values["grpc"] or (parent.grpc if parent else None),
        )

    def status_of(self, entry: _Entry, parent: ProblemSpec | None, *, parent_status_known: bool) -> int | None:
        """The problem's status, its own or inherited (None when neither is known), checked against its parent's."""
        values, path, slug = entry.values, entry.path, entry.slug
        status = values["status"] if values["status"] is not None else (parent.status if parent else None)
        if parent is not None and not parent_status_known and values["status"] is None:
            status = None  # the parent's own status is missing: nothing to inherit
        if status is None and values["extends"] is None and "status" not in entry.failed:
            self.findings.error(
                path,
                entry.mark,
                f"problem {slug!r} is missing required key 'status' (only a child inherits its parent's)",
            )
        if parent is not None and parent_status_known and status is not None and status // 100 != parent.status // 100:
            self.findings.error(
                path,
                self.value_mark(entry, "status"),
                f"problem {slug!r} has status {status} but extends {parent.slug!r} ({parent.status}): "
                "a child must stay in its parent's status class, "
                "or `except` on the parent would catch the wrong errors",
            )
        return status

    def merge_members(self, entry: _Entry, parent: ProblemSpec | None) -> list[MemberSpec]:
        """The parent's members, then the problem's own: a name (or Python attribute) taken twice is reported."""
        path, slug = entry.path, entry.slug
        members = list(parent.members) if parent else []
        inherited = {member.name: member.declared_by for member in members}
        attributes = {member.attribute: member.name for member in members}
        for member in entry.members:
            members_node = entry.node.entries["members"][1]
            assert isinstance(members_node, YMap)
            where = members_node.entries[member.name][0]
            if member.name in inherited:
                self.findings.error(
                    path,
                    where,
                    f"problem {slug!r}: member {member.name!r} is already declared by {inherited[member.name]!r}",
                )
                continue
            if member.attribute in attributes:
                self.findings.error(
                    path,
                    where,
                    f"problem {slug!r}: members {member.name!r} and {attributes[member.attribute]!r} "
                    f"both become Python attribute {member.attribute!r}",
                )
                continue
            attributes[member.attribute] = member.name
            members.append(member)
        return members

    def check_template(self, entry: _Entry, template: str, names: set[str]) -> None:
        mark = self.value_mark(entry, "detail")
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            self.findings.error(
                entry.path,
                mark,
                f"problem {entry.slug!r}: detail template: {error} (write {{{{ and }}}} for literal braces)",
            )
            return
        for _, name, spec, _ in parsed:
            if name is not None:
                for message in _field_findings(name, spec, names, entry):
                    self.findings.error(entry.path, mark, f"problem {entry.slug!r}: detail template {message}")

    def read_deprecated(self, entry: _Entry) -> Deprecation | None:
        if entry.values["deprecated"] is None:
            return None
        node = entry.node.entries["deprecated"][1]
        values = read_struct(node, _DeprecatedIn, f"problem {entry.slug!r}: deprecated", entry.path, self.findings)
        return Deprecation(**values) if values is not None else None

    def read_examples(self, entry: _Entry, members: list[MemberSpec], template: str | None) -> list[Example]:
        if "examples" not in entry.node.entries or "examples" in entry.failed:
            return []
        seq = entry.node.entries["examples"][1]
        assert isinstance(seq, YSeq)
        by_name = {member.name: member for member in members}
        examples: list[Example] = []
        for index, node in enumerate(seq.items):
            where = f"problem {entry.slug!r}: example {index + 1}"
            values = read_struct(node, _ExampleIn, where, entry.path, self.findings)
            if values is None:
                continue
            assert isinstance(node, YMap)
            instance = values["instance"]
            if instance is not None and not is_uri_reference(instance):
                self.findings.error(
                    entry.path, node.entries["instance"][1].mark, f"{where}: instance must be a URI reference"
                )
            converted = self.example_members(entry, node, where, values["members"], by_name)
            for member in members:
                if member.required and member.name not in values["members"]:
                    self.findings.error(entry.path, node.mark, f"{where} lacks required member {member.name!r}")
            if values["detail"] is None and template is not None:
                self.check_example_detail(entry, node, where, template, converted)
            examples.append(Example(detail=values["detail"], instance=values["instance"], members=values["members"]))
        return examples

    def example_members(
        self, entry: _Entry, node: YMap, where: str, given: dict[str, Any], by_name: dict[str, MemberSpec]
    ) -> dict[str, Any]:
        """An example's member values, converted as the class converts them; an unknown or unfit one is reported."""
        converted: dict[str, Any] = {}
        for name, value in given.items():
            member_nodes = node.entries["members"][1]
            assert isinstance(member_nodes, YMap)  # `given` came from a mapping
            key_mark, value_node = member_nodes.entries[name]
            if name in entry.broken or (name not in by_name and entry.open):
                continue
            if name not in by_name:
                self.findings.error(
                    entry.path, key_mark, f"{where}: unknown member {name!r}{did_you_mean(name, by_name)}"
                )
                continue
            member = by_name[name]
            try:
                # The converted value (a datetime for `datetime`), as the template sees it at run time.
                converted[name] = msgspec.convert(value, member.parsed.annotation())
            except msgspec.ValidationError as error:
                self.findings.error(
                    entry.path,
                    locate(value_node, error),
                    f"{where}: member {name!r} does not fit {member.type}: {explain(error)}",
                )
        return converted

    def check_example_detail(
        self, entry: _Entry, node: YMap, where: str, template: str, converted: dict[str, Any]
    ) -> None:
        """An example without its own `detail` must render the template, when it gives every member it names."""
        # An unbounded template (reported where it is declared, maybe on a parent)
        # is never rendered: one example would allocate what its width asks for.
        if not renders_bounded(template):
            return
        named = template_fields(template)
        if named is not None and named <= converted.keys() and render_template(template, converted) is None:
            self.findings.error(
                entry.path,
                node.mark,
                f"{where}: the detail template cannot render these member values (check its format specs)",
            )


def _item_mark(node: YMap, key: str, index: int) -> Mark:
    seq = node.entries[key][1]
    return seq.items[index].mark if isinstance(seq, YSeq) and index < len(seq.items) else seq.mark
