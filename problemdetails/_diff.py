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
made optional, text edits, retry advice, headers, a deprecation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from problemdetails._catalog import Catalog
from problemdetails._loader import Source
from problemdetails._member_types import MemberType, Nullable, must_be_present
from problemdetails._spec import MemberSpec, ProblemSpec
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
    path: str | None = None
    line: int | None = None
    column: int | None = None
    # What the change is about, for `_located`: a key of the entry, or a member.
    key: str | None = None
    member: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The change as `diff --format json` writes it: with `file`, `line` and `column` where known."""
        where = {"file": self.path, "line": self.line, "column": self.column}
        return {
            "kind": self.kind,
            "slug": self.slug,
            "breaking": self.breaking,
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
    changes = [_located(change, old, new) for change in changes]
    return sorted(changes, key=lambda change: (not change.breaking, change.slug, change.kind))


def _located(change: Change, old: Catalog, new: Catalog) -> Change:
    """`change` with the place it is written at, as precisely as the YAML says."""
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
