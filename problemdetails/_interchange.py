"""Translation interchange: a catalog's texts out to translators' tools as PO or XLIFF, and their work back in.

`problemdetails i18n export` writes one unit per text of every problem, in
catalog order: the default language's text as the source, a context that names
the slug and the field (`quota-exceeded.title`,
`quota-exceeded.members.limit.description`), and the language's current
translation as the target, so exporting again keeps the work done. Weblate,
Crowdin, Poedit and the like read and write these files; translate-toolkit (the
`i18n` extra) reads and writes them here.

`problemdetails i18n import` reads such a file back into the language's
translation file. Units marked fuzzy or as needing review, and empty ones, are
not translations and are left out; a text the file has no unit for keeps its
translation. Everything is checked first, every finding at the unit's
`file:line:col`, and nothing is written unless all of it fits: a context the
catalog does not have, a `detail` whose placeholders differ from the default
language's (the translation reader's own rule), a character no output can carry.

Validation messages (a translation's `validation:` key) have no default-language
text: the item codes are the framework's. The codes some translation of the
catalog already has are exported with the code as their source (`validation:missing`);
their messages come back in on import, beside the file's others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from problemdetails._catalog import Catalog
from problemdetails._exceptions import Finding
from problemdetails._grammar import LANGUAGE_TAG
from problemdetails._loader import uncarried
from problemdetails._shapes import Findings, did_you_mean
from problemdetails._spec import ProblemSpec, Translation
from problemdetails._templates import renders_bounded, template_fields
from problemdetails._translations import detail_refusal
from problemdetails._yaml import Mark, YamlError, YMap, read_yaml

__all__ = ["FORMATS", "Imported", "export_texts", "import_texts"]

Format = Literal["po", "xliff"]
FORMATS: tuple[Format, ...] = ("po", "xliff")
# How `import` tells the format of a file: by its name, as the tools name them.
_SUFFIXES: dict[str, Format] = {".po": "po", ".xlf": "xliff", ".xliff": "xliff"}

_INSTALL = "pip install 'problemdetails[i18n]'"
# The texts of a problem, in the order a translation file lists them.
_FIELDS = ("title", "summary", "description", "resolution", "detail")
_MARKDOWN = ("description", "resolution")
# Not a slug (slugs are lowercase letters, digits and '-'): a code cannot pass for a problem's text.
_VALIDATION = "validation:"


def _toolkit() -> tuple[Any, Any]:
    """translate-toolkit's PO and XLIFF stores (the `i18n` extra), or an ImportError that says what to install."""
    try:
        from translate.storage import pypo, xliff
    except ImportError:
        raise ImportError(
            f"`problemdetails i18n` reads and writes PO and XLIFF with translate-toolkit: {_INSTALL}"
        ) from None
    return pypo, xliff


@dataclass(frozen=True)
class _Text:
    """One text to translate: where it goes, the default language's words, and what the translator must know."""

    context: str
    source: str
    note: str | None
    slug: str | None  # None for a validation message
    field: str  # `title`, ..., `detail`, `members.<name>`, or a validation code


def _order(catalog: Catalog) -> list[str]:
    """The slugs as the catalog's files list them (sorted for a catalog not read from YAML)."""
    written = [slug for slug in catalog._sources if slug in catalog.problems]
    return written + [slug for slug in catalog.problems if slug not in catalog._sources]


def _texts(catalog: Catalog) -> Iterator[_Text]:
    """Every text of the catalog to translate, in catalog order, then the validation messages by code."""
    for slug in _order(catalog):
        spec = catalog.problems[slug]
        for field in _FIELDS:
            value: str | None = getattr(spec, field)
            if value:
                yield _Text(f"{slug}.{field}", value, _note(spec, field), slug, field)
        for member in spec.members:
            if member.description:
                context = f"{slug}.members.{member.name}.description"
                yield _Text(context, member.description, None, slug, "members." + member.name)
    codes: dict[str, set[str]] = {}
    for translation in catalog.translations.values():
        for code, message in translation.validation.items():
            codes.setdefault(code, set()).update(template_fields(message) or ())
    for code, fields in sorted(codes.items()):
        shown = ", ".join("{" + name + "}" for name in sorted(fields))
        note = f"The message of validation items whose code is {code!r}: there is no text in the default language." + (
            f" Other languages use the item's parameters {shown}." if shown else ""
        )
        yield _Text(_VALIDATION + code, code, note, None, code)


def _note(spec: ProblemSpec, field: str) -> str | None:
    if field == "detail":
        fields = sorted(template_fields(spec.detail or "") or ())
        kept = ", ".join("{" + name + "}" for name in fields)
        said = [f"keep its placeholders {kept} (the problem's members fill them)"] if kept else []
        return "The problem's detail template: " + "; ".join([*said, "write a literal brace as {{ or }}."])
    return "Markdown: keep its `code`, links and list markup." if field in _MARKDOWN else None


def _translated(translation: Translation | None, text: _Text) -> str | None:
    """The language's current translation of `text`, if it has one."""
    if translation is None:
        return None
    if text.slug is None:
        return translation.validation.get(text.field)
    problem = translation.problems.get(text.slug)
    if problem is None:
        return None
    if text.field.startswith("members."):
        member = problem.members.get(text.field.removeprefix("members."))
        return member.description if member is not None else None
    value: str | None = getattr(problem, text.field)
    return value


def _language(catalog: Catalog, tag: str) -> str:
    """The catalog's spelling of a language to translate into; ValueError for one it cannot take."""
    if not LANGUAGE_TAG.match(tag):
        raise ValueError(f"{tag!r} is not a BCP 47 language tag (like fr or pt-BR)")
    if tag.lower() == catalog.language.lower():
        raise ValueError(f"{tag!r} is the catalog's own language: its texts are the source")
    return next((known for known in catalog.translations if known.lower() == tag.lower()), tag)


# -- export ----------------------------------------------------------------------


def export_texts(catalog: Catalog, language: str, format: Format) -> bytes:
    """The catalog's texts to translate into `language`, as a PO or XLIFF file (byte-identical for the same catalog).

    Raises ValueError for a language the catalog cannot be translated into.
    """
    tag = _language(catalog, language)
    translation = catalog.translations.get(tag)
    texts = [(text, _translated(translation, text)) for text in _texts(catalog)]
    return _po(catalog, tag, texts) if format == "po" else _xliff(catalog, tag, texts)


def _po(catalog: Catalog, tag: str, texts: list[tuple[_Text, str | None]]) -> bytes:
    pypo, _ = _toolkit()
    store = pypo.pofile()
    project = f"{catalog.name} {catalog.version}" if catalog.version else catalog.name
    store.updateheader(add=True, project_id_version=project, language=tag, x_generator="problemdetails")
    # What translate-toolkit fills in for a new file and gettext's tools fill in again: the dates (the
    # same catalog must give the same bytes) and the placeholders of the translator's name and team.
    unset = ("pot_creation_date", "po_revision_date", "last_translator", "language_team", "report_msgid_bugs_to")
    store.updateheader(**dict.fromkeys(unset))
    for text, target in texts:
        unit = store.addsourceunit(text.source)
        unit.setcontext(text.context)
        if text.note:
            unit.addnote(text.note, origin="developer")  # `#.`: a comment for translators
        if target:
            unit.target = target
    data: bytes = bytes(store)
    return data


def _xliff(catalog: Catalog, tag: str, texts: list[tuple[_Text, str | None]]) -> bytes:
    _, xliff = _toolkit()
    store = xliff.xlifffile(sourcelanguage=catalog.language, targetlanguage=tag)
    for text, target in texts:
        unit = store.addsourceunit(text.source, filename=catalog.name, createifmissing=True)
        unit.setid(text.context)
        # XLIFF 1.2 §2.5.3 (`resname`): "Resource name - Resource name or identifier of a item"; the
        # tools show it as the unit's key, and `import` reads it before the `id`.
        unit.xmlelement.set("resname", text.context)
        if text.note:
            unit.addnote(text.note, origin="developer")
        if target:
            unit.target = target
    data: bytes = bytes(store)
    return data


# -- import ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    context: str
    source: str
    target: str
    line: int
    settled: bool  # not marked fuzzy, nor as needing translation or review


@dataclass(frozen=True)
class _Read:
    language: str | None
    line: int  # of the header that names the language
    units: list[_Unit]


@dataclass(frozen=True)
class Imported:
    """A translated file read in: the translation file to write and its new text."""

    language: str
    path: Path
    text: str
    created: bool  # a new file, where the catalog had none for the language
    texts: int  # translated texts the file holds
    left_out: int  # units not taken: fuzzy, needing review, or empty


def import_texts(file: Path, catalog: Catalog, paths: Sequence[str]) -> tuple[Imported | None, list[Finding]]:
    """Read a translated PO or XLIFF file against `catalog` (loaded from `paths`).

    Returns the translation file to write, or None when something is wrong, and
    every finding (warnings too) at its `file:line:col`.
    """
    findings = Findings()
    where = str(file)
    format = _SUFFIXES.get(file.suffix.lower())
    if format is None:
        findings.file_error(where, "a translated file is named .po, .xlf or .xliff: its name says its format")
        return None, findings.items
    try:
        data = file.read_bytes()
    except OSError as error:
        findings.file_error(where, f"cannot read: {error.strerror}")
        return None, findings.items
    read = _read(data, format, where, findings)
    if read is None:
        return None, findings.items
    tag = _header_language(catalog, read, where, findings)
    known = {text.context: text for text in _texts(catalog)}
    taken: dict[str, str] = {}
    lines: dict[str, int] = {}
    left_out = 0
    for unit in read.units:
        text = known.get(unit.context)
        mark = Mark(unit.line, 1)
        if text is None:
            message = f"unknown context {unit.context!r}{did_you_mean(unit.context, known)}"
            findings.error(where, mark, message + ": this catalog has no such text")
            continue
        if unit.context in lines:
            findings.error(where, mark, f"{unit.context!r} is translated twice (first at line {lines[unit.context]})")
            continue
        lines[unit.context] = unit.line
        if not unit.settled or not unit.target:
            left_out += 1
            continue
        if unit.source != text.source:
            findings.warning(where, mark, f"{unit.context!r}: the catalog's text changed since this file was made")
        refused = _refusal(catalog, text, unit.target)
        if refused is not None:
            findings.error(where, mark, f"{unit.context!r}: {refused}")
            continue
        taken[unit.context] = unit.target
    if read.units and not lines:
        findings.error(where, Mark(read.line, 1), "no unit names a text of this catalog: is it another catalog's?")
    if tag is None or findings.has_errors():
        return None, findings.items
    # A text the file has a unit for is that unit's (or none, when it is left out); any other keeps
    # the translation it had (a file exported before the text was, say).
    existing = catalog.translations.get(tag)
    texts = [
        (text, taken.get(context) if context in lines else _translated(existing, text))
        for context, text in known.items()
    ]
    kept: list[tuple[_Text, str]] = [(text, value) for text, value in texts if value]
    if not kept:
        # A language with no text would still be offered: `Content-Language` on default-language words.
        findings.error(where, Mark(read.line, 1), f"no unit is translated: {tag!r} would have no text at all")
        return None, findings.items
    target = _translation_file(catalog, tag, paths, where, findings)
    if target is None:
        return None, findings.items
    path, created = target
    validation = {text.field: value for text, value in kept if text.slug is None}
    comments = "" if created else _leading_comments(path.read_text(encoding="utf-8"))
    written = comments + _yaml_text(tag, _problems(kept), dict(sorted(validation.items())))
    return Imported(tag, path, written, created, len(kept), left_out), findings.items


def _read(data: bytes, format: Format, where: str, findings: Findings) -> _Read | None:
    """The file's units as the toolkit reads them; None (and a finding) when it cannot."""
    pypo, xliff = _toolkit()
    try:
        return _read_po(pypo, data) if format == "po" else _read_xliff(xliff, data)
    except Exception as error:  # whatever the toolkit raises on a file that is no PO or XLIFF
        line = _error_line(error)
        message = f"not a {'PO' if format == 'po' else 'XLIFF'} file the toolkit can read ({_said(error)})"
        if line is None:
            findings.file_error(where, message)
        else:
            findings.error(where, Mark(line, 1), message)
        return None


def _error_line(error: Exception) -> int | None:
    state = getattr(error, "parse_state", None)  # translate-toolkit's PoParseError
    line = getattr(state, "lineno", None) if state is not None else getattr(error, "lineno", None)  # lxml's
    return line if isinstance(line, int) and line >= 1 else None


def _said(error: Exception) -> str:
    said = str(error).strip().splitlines()
    return said[0][:200] if said else type(error).__name__


def _read_po(pypo: Any, data: bytes) -> _Read:
    store = pypo.pofile(data)
    header = store.header()
    line = (header.line_number or 1) if header is not None else 1
    units = [
        _Unit(
            str(unit.getcontext()),
            str(unit.source),
            str(unit.target or ""),
            unit.line_number or line,
            not unit.isfuzzy(),
        )
        for unit in store.units
        if not unit.isheader() and not unit.isobsolete()
    ]
    return _Read(store.gettargetlanguage() or None, line, units)


def _read_xliff(xliff: Any, data: bytes) -> _Read:
    store = xliff.xlifffile.parsestring(data)
    files = list(store.document.getroot().iterchildren(store.namespaced("file")))
    line = (files[0].sourceline or 1) if files else 1
    units = []
    for unit in store.units:
        element = unit.xmlelement
        context = element.get("resname") or str(unit.getid()).rpartition("\x04")[2]
        target = unit.getlanguageNode(lang=None, index=1)
        state = target.get("state") if target is not None else None
        # XLIFF 1.2 §2.5.4 (`state`): `new` and the `needs-...` states are work to do; `translated`,
        # `signed-off` and `final` (or no state said) are translations.
        settled = state is None or unit.get_state_n() >= unit.S_TRANSLATED
        units.append(_Unit(context, str(unit.source), str(unit.target or ""), element.sourceline or line, settled))
    return _Read(store.gettargetlanguage() or None, line, units)


def _header_language(catalog: Catalog, read: _Read, where: str, findings: Findings) -> str | None:
    """The language the file's header names, as the catalog spells it; None (and a finding) when it cannot."""
    mark = Mark(read.line, 1)
    if read.language is None:
        findings.error(where, mark, "the header names no language (PO `Language:`, XLIFF `target-language`)")
        return None
    # gettext names a language as a locale (`pt_BR`); the catalog as a BCP 47 tag (`pt-BR`).
    try:
        return _language(catalog, read.language.replace("_", "-"))
    except ValueError as error:
        findings.error(where, mark, f"the header's language: {error}")
        return None


def _refusal(catalog: Catalog, text: _Text, target: str) -> str | None:
    """Why `target` cannot be `text`'s translation, or None when it can."""
    refused = uncarried(target)
    if refused is not None:
        return refused
    if text.slug is None:
        return None if renders_bounded(target) else "the message does not parse as a template, or is too wide"
    if text.field == "detail":
        return detail_refusal(catalog.problems[text.slug], target)
    return None


def _translation_file(
    catalog: Catalog, tag: str, paths: Sequence[str], where: str, findings: Findings
) -> tuple[Path, bool] | None:
    """The file that holds (or will hold) the language's translation, and whether it is new."""
    files = catalog._translation_files.get(tag, ())
    if len(files) > 1:
        listed = ", ".join(files)
        findings.file_error(where, f"the {tag!r} translation is spread over {listed}: merge them into one to import")
        return None
    if files:
        path = Path(files[0])
        try:
            root = read_yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YamlError) as error:
            findings.file_error(str(path), f"cannot read it again to write it: {error}")
            return None
        others = sorted(key for key in root.entries if key != "translations") if isinstance(root, YMap) else []
        if others:
            held = ", ".join(f"`{key}:`" for key in others)
            message = f"holds {held} beside `translations:`; move them to a file of their own to import"
            findings.file_error(str(path), message)
            return None
        return path, False
    first = Path(paths[0])
    path = (first if first.is_dir() else first.parent) / "translations" / f"{tag}.yaml"
    if path.exists():
        findings.file_error(
            str(path), f"exists, but is no {tag!r} translation of the catalog: import will not replace it"
        )
        return None
    return path, True


# -- the translation file --------------------------------------------------------


def _problems(taken: list[tuple[_Text, str]]) -> dict[str, dict[str, Any]]:
    """The translated texts as a translation file's `problems:`, in catalog order."""
    problems: dict[str, dict[str, Any]] = {}
    for text, target in taken:
        if text.slug is None:
            continue
        problem = problems.setdefault(text.slug, {})
        if text.field.startswith("members."):
            problem.setdefault("members", {})[text.field.removeprefix("members.")] = _Member(description=target)
        else:
            problem[text.field] = target
    return problems  # each problem's members last, after `detail`, as `_texts` gives them


class _Member(dict[str, str]):
    """A member's texts: on one line (`limit: {description: ...}`) unless a text has several."""


class _Dumper(yaml.SafeDumper):
    """A text of several lines as a literal block (`|`), as people write Markdown in YAML."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=_style(value))


def _style(value: str) -> str | None:
    """A literal block for Markdown's lines; escapes (double quotes) where YAML would read the text otherwise."""
    if _BREAKS.search(value) or (value.strip() == "" and value):
        # YAML 1.1 reads NEL, LS, PS and CR as line breaks (and folds them in quotes): only escapes keep them.
        return '"'
    if "\n" in value:
        # Not a text that ends in blank lines: its block (`|+`) would take in what follows it.
        # PyYAML falls back to quotes where a block cannot hold the text (trailing spaces, say).
        return '"' if value.endswith("\n\n") else "|"
    return None


def _member(dumper: yaml.SafeDumper, value: _Member) -> yaml.MappingNode:
    one_line = not any("\n" in text for text in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=one_line)


_BREAKS = re.compile("[\r\x85\u2028\u2029\ufeff]")
_Dumper.add_representer(str, _text)
_Dumper.add_representer(_Member, _member)


def _dump(value: Mapping[str, Any], indent: int) -> str:
    text = yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 30, indent=2)
    # Split at "\n" alone: the dumper escaped every other break a text may hold.
    return "\n".join(" " * indent + line if line else line for line in text.split("\n"))


def _yaml_text(tag: str, problems: Mapping[str, Mapping[str, Any]], validation: Mapping[str, str]) -> str:
    """The translation file: the language, its problems (a blank line between two), its validation messages."""
    parts = ["translations:\n", _dump({"language": tag}, 2)]
    if problems:
        parts.append("  problems:\n")
        parts.append("\n".join(_dump({slug: texts}, 4) for slug, texts in problems.items()))
    if validation:
        parts += ["\n" if problems else "", "  validation:\n", _dump(validation, 4)]
    return "".join(parts)


def _leading_comments(text: str) -> str:
    """The comment lines a translation file starts with (what it is, who keeps it): kept as they are."""
    kept = re.match(r"(?:[ \t]*(?:#[^\n]*)?\n)*", text)
    return kept[0].lstrip("\n") if kept else ""
