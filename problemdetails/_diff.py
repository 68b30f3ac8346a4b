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

from dataclasses import dataclass

from problemdetails._catalog import Catalog
from problemdetails._member_types import MemberType, Nullable
from problemdetails._spec import MemberSpec, ProblemSpec

__all__ = ["Change", "diff_catalogs"]


@dataclass(frozen=True)
class Change:
    """One difference between two catalogs: `kind` is a stable key (`status-changed`, ...)."""

    kind: str
    slug: str  # "" for catalog-wide changes
    breaking: bool
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "slug": self.slug, "breaking": self.breaking, "message": self.message}


def diff_catalogs(old: Catalog, new: Catalog) -> list[Change]:
    """Every change from `old` to `new`, breaking ones first, then by slug."""
    changes: list[Change] = []
    if old.base_uri != new.base_uri:
        message = f"base_uri changed from {old.base_uri} to {new.base_uri}: every type URI changes"
        changes.append(Change("base-uri-changed", "", True, message))
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
    return sorted(changes, key=lambda change: (not change.breaking, change.slug, change.kind))


def _problem_changes(old: ProblemSpec, new: ProblemSpec) -> list[Change]:
    slug = old.slug
    changes: list[Change] = []
    if old.status != new.status:
        changes.append(Change("status-changed", slug, True, f"{slug}: status {old.status} -> {new.status}"))
    if old.extends != new.extends:
        message = f"{slug}: parent {old.extends or '(none)'} -> {new.extends or '(none)'}"
        changes.append(Change("parent-changed", slug, True, message))
    if new.deprecated is not None and old.deprecated is None:
        instead = f", replaced by {new.deprecated.replaced_by}" if new.deprecated.replaced_by else ""
        changes.append(Change("deprecated", slug, False, f"{slug}: deprecated since {new.deprecated.since}{instead}"))
    changes += _member_changes(slug, {m.name: m for m in old.members}, {m.name: m for m in new.members})
    for field in ("title", "summary", "description", "resolution", "detail"):
        if getattr(old, field) != getattr(new, field):
            changes.append(Change("text-changed", slug, False, f"{slug}: {field} edited"))
    if old.retry != new.retry:
        changes.append(Change("retry-changed", slug, False, f"{slug}: retry advice {old.retry} -> {new.retry}"))
    if {h.lower() for h in old.headers} != {h.lower() for h in new.headers}:
        message = f"{slug}: headers {', '.join(old.headers) or '(none)'} -> {', '.join(new.headers) or '(none)'}"
        changes.append(Change("headers-changed", slug, False, message))
    return changes


def _member_changes(slug: str, old: dict[str, MemberSpec], new: dict[str, MemberSpec]) -> list[Change]:
    changes: list[Change] = []
    for name in sorted(old.keys() - new.keys()):
        changes.append(Change("member-removed", slug, True, f"{slug}: member {name} removed"))
    for name in sorted(new.keys() - old.keys()):
        if _required(new[name]):
            changes.append(Change("required-member-added", slug, True, f"{slug}: new required member {name}"))
        else:
            changes.append(Change("member-added", slug, False, f"{slug}: new optional member {name}"))
    for name in sorted(old.keys() & new.keys()):
        before, after = old[name], new[name]
        if _bare(before.parsed) != _bare(after.parsed):
            message = f"{slug}: member {name} retyped {before.parsed} -> {after.parsed}"
            changes.append(Change("member-retyped", slug, True, message))
        elif _required(after) and not _required(before):
            changes.append(Change("member-made-required", slug, True, f"{slug}: member {name} made required"))
        elif _required(before) and not _required(after):
            changes.append(Change("member-made-optional", slug, False, f"{slug}: member {name} made optional"))
    return changes


def _bare(member_type: MemberType) -> MemberType:
    """`T | None` is `T` made optional: that is the `required` question, not a new type."""
    return member_type.inner if isinstance(member_type, Nullable) else member_type


def _required(member: MemberSpec) -> bool:
    return member.required and not member.parsed.nullable()
