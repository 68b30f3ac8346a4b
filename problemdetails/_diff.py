"""`problemdetails diff OLD NEW`: what changed between two catalog versions, and whether it breaks clients.

Error codes are part of an API's contract. A change is *breaking* when code
written against the old catalog can stop working against the new one:

- a slug removed (retire it instead: keep it with `deprecated: {replaced_by: ...}`,
  so its page and type URI keep resolving), or its status changed;
- a slug renamed, even with the old one in the new one's `aliases`: the alias
  lets clients built from the *new* catalog read the old code (and the old page
  redirect), but a client built from the *old* catalog does not know the new
  code, so it gets a generic problem: update clients before servers;
- its parent (`extends`) changed: `except Parent` stops catching it;
- a member removed, retyped, or made required, or a new required member
  (code that raises the problem must now pass it);
- `base_uri` changed: every `type` URI changes.

Everything else is *compatible*: a new slug, a new optional member, a member
made optional, text edits, retry advice, headers, a deprecation, and what the
translations say (a text translated, edited or no longer translated, a new
language). A language removed is compatible too, but a *warning*: clients that
asked for it now get another one, the default language when none is closer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from problemdetails._catalog import Catalog
from problemdetails._loader import Source
from problemdetails._member_types import MemberType, Nullable, must_be_present
from problemdetails._spec import MemberSpec, ProblemSpec, TranslatedProblem, Translation
from problemdetails._yaml import Mark

__all__ = ["Change", "diff_catalogs"]


@dataclass(frozen=True)
class Change:
    """One difference between two catalogs: `kind` is a stable key (`status-changed`, ...).

    `path`, `line` and `column` say where the change is written: in the new
    catalog's YAML, at the changed key, member or entry; for a removed slug, the
    file it was in, without a line (the new catalog has none for it). None for
    a catalog not loaded from YAML.
    """

    kind: str
    slug: str  # "" for catalog-wide changes
    breaking: bool
    message: str
    # A compatible change clients may notice (a language removed): said so, never failing the run.
    warning: bool = False
    path: str | None = None
    line: int | None = None
    column: int | None = None
    # What the change is about, for `_located`: a key of the entry, or a member; in `language`'s translation
    # when there is one (there, `key` is a text of the entry, or a validation message's item code).
    key: str | None = None
    member: str | None = None
    language: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The change as `diff --format json` writes it: with `file`, `line` and `column` where known."""
        where = {"file": self.path, "line": self.line, "column": self.column}
        return {
            "kind": self.kind,
            "slug": self.slug,
            "breaking": self.breaking,
            "warning": self.warning,
            "message": self.message,
            **{key: value for key, value in where.items() if value is not None},
        }


def diff_catalogs(old: Catalog, new: Catalog) -> list[Change]:
    """Every change from `old` to `new`, breaking ones first, then by slug."""
    changes: list[Change] = []
    if old.base_uri != new.base_uri:
        message = f"base_uri changed from {old.base_uri} to {new.base_uri}: every type URI changes"
        changes.append(Change("base-uri-changed", "", True, message, key="base_uri"))
    for slug in sorted(old.problems.keys() - new.problems.keys()):
        if slug in new.aliases:
            renamed = new.aliases[slug]
            message = (
                f"{slug}: renamed to {renamed}; the alias protects one direction only: clients built from the new "
                f"catalog still read {slug}, and its page redirects, but clients built from the old catalog get "
                f"{renamed} as an unknown code (a generic problem): update them before the servers"
            )
            changes.append(Change("slug-renamed", slug, True, message))
        else:
            message = f"{slug}: removed (retire it with `deprecated`, or rename it with `aliases`)"
            changes.append(Change("slug-removed", slug, True, message))
    for slug in sorted(new.problems.keys() - old.problems.keys()):
        changes.append(Change("slug-added", slug, False, f"{slug}: added ({new.problems[slug].status})"))
    for slug in sorted(old.problems.keys() & new.problems.keys()):
        changes += _problem_changes(old.problems[slug], new.problems[slug])
    changes += _translation_changes(old, new)
    changes = [_located(change, old, new) for change in changes]
    return sorted(changes, key=lambda change: (not change.breaking, not change.warning, change.slug, change.kind))


def _located(change: Change, old: Catalog, new: Catalog) -> Change:
    """`change` with the place it is written at, as precisely as the YAML says."""
    if change.language is not None:
        return _translation_located(change, old, new)
    if change.kind == "slug-removed":
        gone = old._sources.get(change.slug)
        return replace(change, path=gone.path) if gone is not None else change
    if change.kind == "slug-renamed":
        source = new._sources.get(new.aliases[change.slug])
        mark = source.aliases.get(change.slug) if source is not None else None
    elif change.member is not None:
        source, mark = _member_place(change.slug, change.member, new)
    else:
        source = new._sources.get(change.slug)  # "" is the header
        mark = source.keys.get(change.key) if source is not None and change.key is not None else None
    if source is None:
        return change
    line, column = (mark.line, mark.column) if mark is not None else (source.line, source.column)
    return replace(change, path=source.path, line=line, column=column)


def _member_place(slug: str, member: str, new: Catalog) -> tuple[Source | None, Mark | None]:
    """Where a member is declared: this problem, or the ancestor it inherits it from; once removed, `members`."""
    declared = {spec_member.name: spec_member.declared_by for spec_member in new.problems[slug].members}
    source = new._sources.get(declared.get(member, slug))
    mark = source.members.get(member) if source is not None else None
    if source is None or mark is None:  # removed: the problem's `members`, or the problem
        source = new._sources.get(slug)
        mark = source.keys.get("members") if source is not None else None
    return source, mark


def _problem_changes(old: ProblemSpec, new: ProblemSpec) -> list[Change]:
    members = _member_changes(old.slug, {m.name: m for m in old.members}, {m.name: m for m in new.members})
    return [*_identity_changes(old, new), *members, *_text_changes(old, new)]


def _identity_changes(old: ProblemSpec, new: ProblemSpec) -> list[Change]:
    """What the problem type is: its status, its parent, whether it is retired."""
    slug = old.slug
    changes: list[Change] = []
    if old.status != new.status:
        changes.append(
            Change("status-changed", slug, True, f"{slug}: status {old.status} -> {new.status}", key="status")
        )
    if old.extends != new.extends:
        message = f"{slug}: parent {old.extends or '(none)'} -> {new.extends or '(none)'}"
        changes.append(Change("parent-changed", slug, True, message, key="extends"))
    if new.deprecated is not None and old.deprecated is None:
        instead = f", replaced by {new.deprecated.replaced_by}" if new.deprecated.replaced_by else ""
        message = f"{slug}: deprecated since {new.deprecated.since}{instead}"
        changes.append(Change("deprecated", slug, False, message, key="deprecated"))
    return changes


def _text_changes(old: ProblemSpec, new: ProblemSpec) -> list[Change]:
    """What the problem tells people and clients: its texts, retry advice and headers (none of it breaks)."""
    slug = old.slug
    changes: list[Change] = []
    for field in ("title", "summary", "description", "resolution", "detail"):
        if getattr(old, field) != getattr(new, field):
            changes.append(Change("text-changed", slug, False, f"{slug}: {field} edited", key=field))
    if old.retry != new.retry:
        message = f"{slug}: retry advice {old.retry} -> {new.retry}"
        changes.append(Change("retry-changed", slug, False, message, key="retry"))
    if {h.lower() for h in old.headers} != {h.lower() for h in new.headers}:
        message = f"{slug}: headers {', '.join(old.headers) or '(none)'} -> {', '.join(new.headers) or '(none)'}"
        changes.append(Change("headers-changed", slug, False, message, key="headers"))
    return changes


def _member_changes(slug: str, old: dict[str, MemberSpec], new: dict[str, MemberSpec]) -> list[Change]:
    changes: list[Change] = []
    for name in sorted(old.keys() - new.keys()):
        changes.append(Change("member-removed", slug, True, f"{slug}: member {name} removed", member=name))
    for name in sorted(new.keys() - old.keys()):
        if _required(new[name]):
            message = f"{slug}: new required member {name}"
            changes.append(Change("required-member-added", slug, True, message, member=name))
        else:
            changes.append(Change("member-added", slug, False, f"{slug}: new optional member {name}", member=name))
    for name in sorted(old.keys() & new.keys()):
        before, after = old[name], new[name]
        if _bare(before.parsed) != _bare(after.parsed):
            message = f"{slug}: member {name} retyped {before.parsed} -> {after.parsed}"
            changes.append(Change("member-retyped", slug, True, message, member=name))
        elif _required(after) and not _required(before):
            message = f"{slug}: member {name} made required"
            changes.append(Change("member-made-required", slug, True, message, member=name))
        elif _required(before) and not _required(after):
            message = f"{slug}: member {name} made optional"
            changes.append(Change("member-made-optional", slug, False, message, member=name))
    return changes


def _bare(member_type: MemberType) -> MemberType:
    """`T | None` is `T` made optional: that is the `required` question, not a new type."""
    return member_type.inner if isinstance(member_type, Nullable) else member_type


def _required(member: MemberSpec) -> bool:
    return must_be_present(member.required, member.parsed)


# -- translations: what the catalog says in its other languages, never breaking -------


def _translation_changes(old: Catalog, new: Catalog) -> list[Change]:
    """Languages added and removed, and each text translated, edited or no longer translated.

    The texts of the problems and members both catalogs have (an added slug's are
    part of its being added, a removed member's of its removal); BCP 47 tags are
    compared without case, as requests' are.
    """
    before = {language.lower(): translation for language, translation in old.translations.items()}
    after = {language.lower(): translation for language, translation in new.translations.items()}
    changes: list[Change] = []
    for tag in sorted(before.keys() - after.keys()):
        language = before[tag].language
        message = (
            f"{language}: language removed: clients asking for it get the closest language left, "
            f"else the default ({new.language})"
        )
        changes.append(Change("language-removed", "", False, message, warning=True, language=language))
    for tag in sorted(after.keys() - before.keys()):
        language = after[tag].language
        message = f"{language}: language added"
        changes.append(Change("language-added", "", False, message, key="language", language=language))
    members = {  # by slug, sorted
        slug: sorted({m.name for m in old.problems[slug].members} & {m.name for m in new.problems[slug].members})
        for slug in sorted(old.problems.keys() & new.problems.keys())
    }
    for tag in sorted(before.keys() & after.keys()):
        changes += _language_changes(before[tag], after[tag], members)
    return changes


def _language_changes(old: Translation, new: Translation, members: dict[str, list[str]]) -> list[Change]:
    language = new.language
    changes: list[Change] = []
    for slug, names in members.items():
        was, now = old.problems.get(slug), new.problems.get(slug)
        for text in ("title", "summary", "description", "resolution", "detail"):
            what = (getattr(was, text, None), getattr(now, text, None))
            changes += _translated(language, slug, text, *what, key=text)
        for name in names:
            what = (_description(was, name), _description(now, name))
            changes += _translated(language, slug, f"description of member {name}", *what, member=name)
    for code in sorted(old.validation.keys() | new.validation.keys()):
        what = (old.validation.get(code), new.validation.get(code))
        changes += _translated(language, "", f"validation message {code}", *what, key=code)
    return changes


def _translated(
    language: str,
    slug: str,
    text: str,
    old: str | None,
    new: str | None,
    *,
    key: str | None = None,
    member: str | None = None,
) -> list[Change]:
    """One translated text's change, if it changed: added, edited, or no longer translated."""
    if old == new:
        return []
    about = f"{slug}: {language} {text}" if slug else f"{language} {text}"
    if old is None:
        kind, message = "translation-added", f"{about} translated"
    elif new is None:
        kind, message = "translation-removed", f"{about} no longer translated"
    else:
        kind, message = "translation-changed", f"{about} edited"
    return [Change(kind, slug, False, message, key=key, member=member, language=language)]


def _description(problem: TranslatedProblem | None, member: str) -> str | None:
    translated = problem.members.get(member) if problem is not None else None
    return translated.description if translated is not None else None


def _translation_located(change: Change, old: Catalog, new: Catalog) -> Change:
    """Where a translation's change is written in the new catalog; a removed language's, the file it was in."""
    assert change.language is not None
    if change.kind == "language-removed":
        gone = old._translation_sources.get(change.language)
        return replace(change, path=gone.language.path) if gone is not None else change
    places = new._translation_sources.get(change.language)
    if places is None:
        return change
    message = places.validation.get(change.key) if not change.slug and change.key is not None else None
    if message is not None:  # a validation message
        path, at = message
        return replace(change, path=path, line=at.line, column=at.column)
    entry = places.problems.get(change.slug)
    mark: Mark | None
    if entry is None:  # a language added, or a text no longer translated, entry and all: the language's `language`
        entry, mark = places.language, places.language.keys.get("language")
    elif change.member is not None:  # the member, else the entry's `members` (it was removed), else the entry
        mark = entry.members.get(change.member) or entry.keys.get("members")
    else:
        mark = entry.keys.get(change.key) if change.key is not None else None
    line, column = (mark.line, mark.column) if mark is not None else (entry.line, entry.column)
    return replace(change, path=entry.path, line=line, column=column)
