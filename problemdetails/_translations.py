"""Translations: a catalog's texts in more languages, read from its `translations:` files.

A translation file sits beside the catalog's own files (a folder loads both):

```yaml
translations:
  language: fr                        # BCP 47
  problems:
    quota-exceeded:
      title: Quota dépassé
      detail: "{current} {resource} utilisés sur {limit}"   # the default language's placeholders
      members:
        limit: {description: Le plafond de l'offre.}
  validation:                          # validation items' messages, by their `code`
    string_too_short: "Au moins {min_length} caractères."
```

Checked once the catalog's problems are known, every finding with its
`file:line:col`: an unknown slug or member is an error, and so is a `detail`
whose placeholders differ from the default language's (a client's `current`
must fill the French text as it fills the English one); what a language leaves
untranslated is a warning, one per language and text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from problemdetails._grammar import LANGUAGE_TAG
from problemdetails._shapes import Findings, did_you_mean, read_struct
from problemdetails._spec import CatalogInfo, ProblemSpec, TranslatedMember, TranslatedProblem, Translation
from problemdetails._templates import renders_bounded, template_fields
from problemdetails._yaml import Mark, YMap, YNode

__all__ = ["TranslationReader", "detail_refusal"]


class _TranslationIn(msgspec.Struct):
    language: str
    problems: dict[str, Any] = {}
    validation: dict[str, str] = {}


class _TranslatedIn(msgspec.Struct):
    title: str | None = None
    summary: str | None = None
    description: str | None = None
    resolution: str | None = None
    detail: str | None = None
    members: dict[str, Any] = {}


class _TranslatedMemberIn(msgspec.Struct):
    description: str | None = None


# The texts of a problem a translation carries, checked for what each language left out.
_TEXTS = ("title", "summary", "description", "resolution", "detail")  # `detail` last


class TranslationReader:
    """The `translations:` parts of a catalog's files, read as the loader meets them and checked at the end."""

    def __init__(self, findings: Findings) -> None:
        self.findings = findings
        self.parts: list[tuple[str, YNode]] = []
        # The files that hold each language's translations, by language, once checked.
        self.files: dict[str, tuple[str, ...]] = {}

    def read(self, path: str, node: YNode) -> None:
        """A file's `translations:` value, kept for `check` (its problems are not all known yet)."""
        self.parts.append((path, node))

    def check(self, info: CatalogInfo, specs: Mapping[str, ProblemSpec]) -> dict[str, Translation]:
        """Every translation, checked against the catalog's problems, by language (sorted)."""
        languages: dict[str, _Language] = {}
        for path, node in self.parts:
            self._part(path, node, info, specs, languages)
        for language in languages.values():
            self._warn_missing(language, specs)
        self.files = {language.tag: tuple(dict.fromkeys(language.paths)) for language in languages.values()}
        return {
            language.tag: Translation(language=language.tag, problems=language.problems, validation=language.validation)
            for language in sorted(languages.values(), key=lambda language: language.tag)
        }

    def _part(
        self,
        path: str,
        node: YNode,
        info: CatalogInfo,
        specs: Mapping[str, ProblemSpec],
        languages: dict[str, _Language],
    ) -> None:
        """One file's `translations:`, into its language's (a language may span several files)."""
        values = read_struct(node, _TranslationIn, "translation", path, self.findings)
        if values is None or not isinstance(node, YMap):
            return
        tag: str = values["language"]
        mark = node.entries["language"][1].mark
        if not LANGUAGE_TAG.match(tag):
            self.findings.error(path, mark, f"translation language {tag!r} is not a BCP 47 language tag")
            return
        if tag.lower() == info.language.lower():
            self.findings.error(path, mark, f"translation into {tag!r}, the catalog's own language")
            return
        clash = _folder_clash((tag, info.language) if not languages else (tag,), specs)
        if clash is not None:
            self.findings.error(path, mark, clash)
            return
        language = languages.setdefault(tag.lower(), _Language(tag, path, mark))
        language.paths.append(path)
        problems = node.entries.get("problems")
        if problems is not None and isinstance(problems[1], YMap):
            for slug, (slug_mark, problem) in problems[1].entries.items():
                self._problem(language, path, slug, slug_mark, problem, specs)
        validation = node.entries.get("validation")
        if validation is not None and isinstance(validation[1], YMap):
            self._validation(language, path, validation[1], values["validation"])

    def _problem(
        self, language: _Language, path: str, slug: str, mark: Mark, node: YNode, specs: Mapping[str, ProblemSpec]
    ) -> None:
        where = f"translation {language.tag!r}"
        spec = self._translatable(language, path, slug, mark, specs)
        failed: set[str] = set()  # reported as wrong here: not again as missing (`_warn_missing`)
        values = read_struct(node, _TranslatedIn, f"{where} of problem {slug!r}", path, self.findings, failed)
        if spec is None or values is None or not isinstance(node, YMap):
            return
        detail = values["detail"]
        if detail is not None and not self._detail_fits(path, node.entries["detail"][1].mark, where, spec, detail):
            detail = None
            failed.add("detail")
        language.failed.update((slug, text) for text in failed)
        if "members" in failed:  # not a mapping: reported once, not again as each member's missing description
            language.failed.update((f"{slug}.{member.name}", "description") for member in spec.members)
        members = {}
        if values["members"] and isinstance(node.entries["members"][1], YMap):
            members = self._members(language, path, spec, node.entries["members"][1])
        texts = {name: values[name] for name in _TEXTS[:-1]}  # all but `detail`, checked above
        language.problems[slug] = TranslatedProblem(**texts, detail=detail, members=members)

    def _translatable(
        self, language: _Language, path: str, slug: str, mark: Mark, specs: Mapping[str, ProblemSpec]
    ) -> ProblemSpec | None:
        """The problem `slug` names, translated here first; None after an error (unknown, or translated twice)."""
        where = f"translation {language.tag!r}"
        spec = specs.get(slug)
        if spec is None:
            self.findings.error(path, mark, f"{where}: unknown problem {slug!r}{did_you_mean(slug, specs)}")
            return None
        if slug in language.places:
            first_path, first = language.places[slug]
            message = f"{where}: problem {slug!r} is translated twice (first at {first_path}:{first.line})"
            self.findings.error(path, mark, message)
            return None
        language.places[slug] = (path, mark)
        return spec

    def _detail_fits(self, path: str, mark: Mark, where: str, spec: ProblemSpec, detail: str) -> bool:
        refused = detail_refusal(spec, detail)
        if refused is not None:
            self.findings.error(path, mark, f"{where}: {refused}")
        return refused is None

    def _members(self, language: _Language, path: str, spec: ProblemSpec, node: YMap) -> dict[str, TranslatedMember]:
        where = f"translation {language.tag!r}"
        names = {member.name for member in spec.members}
        members = {}
        for name, (mark, member) in node.entries.items():
            if name not in names:
                message = f"{where}: problem {spec.slug!r} has no member {name!r}{did_you_mean(name, sorted(names))}"
                self.findings.error(path, mark, message)
                continue
            failed: set[str] = set()
            values = read_struct(
                member, _TranslatedMemberIn, f"{where} of member {name!r}", path, self.findings, failed
            )
            if values is None or "description" in failed:  # reported here: not again as missing
                language.failed.add((f"{spec.slug}.{name}", "description"))
            if values is not None:
                members[name] = TranslatedMember(description=values["description"])
        return members

    def _validation(self, language: _Language, path: str, node: YMap, messages: dict[str, str]) -> None:
        for code, message in messages.items():
            if not renders_bounded(message):
                mark = node.entries[code][1].mark
                self.findings.error(
                    path, mark, f"translation {language.tag!r}: message for {code!r} does not parse, or is too wide"
                )
                continue
            language.validation[code] = message

    def _warn_missing(self, language: _Language, specs: Mapping[str, ProblemSpec]) -> None:
        """One warning per text a language leaves untranslated, naming the problems (`check --strict` fails)."""
        for text in _TEXTS:
            missing = [
                slug
                for slug, spec in specs.items()
                if getattr(spec, text)
                and getattr(language.problems.get(slug), text, None) is None
                and (slug, text) not in language.failed
            ]
            if missing:
                self.findings.warning(
                    language.path,
                    language.mark,
                    f"translation {language.tag!r} has no {text} for {_listed(missing)}",
                )
        descriptions = _missing_descriptions(language, specs)
        if descriptions:
            message = f"translation {language.tag!r} has no description for members {_listed(descriptions)}"
            self.findings.warning(language.path, language.mark, message)


def detail_refusal(spec: ProblemSpec, detail: str) -> str | None:
    """Why `detail` cannot translate `spec`'s `detail` template, or None when it can.

    It must have the default language's placeholders (a client's `current` must
    fill the French text as it fills the English one), and render bounded.
    """
    if spec.detail is None:
        return f"problem {spec.slug!r} has no detail template to translate"
    if not renders_bounded(detail):
        return f"detail template {detail!r} does not parse, or is too wide"
    own, theirs = template_fields(spec.detail) or set(), template_fields(detail) or set()
    if own == theirs:
        return None
    missing, extra = sorted(own - theirs), sorted(theirs - own)
    said = [f"lacks {', '.join(map(_placeholder, missing))}"] if missing else []
    said += [f"has {', '.join(map(_placeholder, extra))} the default language's has not"] if extra else []
    return f"detail template of {spec.slug!r} {' and '.join(said)} ({spec.detail!r})"


def _folder_clash(languages: tuple[str, ...], specs: Mapping[str, ProblemSpec]) -> str | None:
    """Why a language cannot have its doc-site folder (`fr/`): a slug or former slug of that name has its page there."""
    pages = {name.lower(): slug for slug, spec in specs.items() for name in (slug, *spec.aliases)}
    for language in languages:
        slug = pages.get(language.lower())
        if slug is not None:
            named = f"problem {slug!r}" if slug == language.lower() else f"a former slug of {slug!r}"
            return (
                f"language {language!r} is also {named}: the doc site keeps each language's pages in a folder "
                f"named after it ({language}/), where that page is; rename one"
            )
    return None


class _Language:
    """One language's translations as they are read, from however many files."""

    def __init__(self, tag: str, path: str, mark: Mark) -> None:
        self.tag, self.path, self.mark = tag, path, mark  # the first file naming it: where its warnings point
        self.problems: dict[str, TranslatedProblem] = {}
        self.places: dict[str, tuple[str, Mark]] = {}
        self.validation: dict[str, str] = {}
        # (slug, text) and (slug.member, "description") whose translation was an error
        self.failed: set[tuple[str, str]] = set()
        self.paths: list[str] = []  # every file naming it


def _missing_descriptions(language: _Language, specs: Mapping[str, ProblemSpec]) -> list[str]:
    """The members (`slug.member`) whose description the default language has and the language has not."""
    return [
        f"{slug}.{member.name}"
        for slug, spec in specs.items()
        for member in spec.members
        if member.description
        and _member_description(language.problems.get(slug), member.name) is None
        and (f"{slug}.{member.name}", "description") not in language.failed
    ]


def _member_description(problem: TranslatedProblem | None, name: str) -> str | None:
    member = problem.members.get(name) if problem is not None else None
    return member.description if member is not None else None


def _placeholder(name: str) -> str:
    return "{" + name + "}"


def _listed(names: list[str], shown: int = 8) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(sorted(names)[:shown]) + more
