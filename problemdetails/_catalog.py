"""The catalog: a validated, immutable set of problem types, and the classes it hands out.

`Catalog.load` reads YAML through the loader (`_loader.py`); `catalog[slug]` makes
(or finds) the problem class of a slug. The model it holds is `_spec.py`'s.
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from difflib import get_close_matches
from typing import Any, ClassVar

import msgspec

from problemdetails._exceptions import CatalogError, Finding, UnknownSlugError
from problemdetails._grpc_codes import domain_of, grpc_code
from problemdetails._loader import TYPE_SCHEMES, URI_REFERENCE_RE, URI_SCHEME, Loader, PathArg, Source, source
from problemdetails._problem import Problem, runtime_class
from problemdetails._spec import CatalogInfo, ProblemSpec, Translation, takes_framework_errors
from problemdetails._templates import MAX_WIDTH, renders_bounded

__all__ = ["Catalog"]


class Catalog:
    """A validated, immutable error catalog: the single source of truth.

    Load it from YAML, then look up a problem class by slug:

    ```python
    catalog = Catalog.load("catalog/")          # a file, a folder, or a list of paths
    Conflict = catalog["conflict"]              # KeyError for an unknown slug
    raise Conflict("record name+type already exists in zone")
    ```

    Iterating yields slugs in sorted order; `catalog.problems` maps slugs to
    their `ProblemSpec` (inheritance resolved) and `catalog.warnings` holds the
    non-fatal findings of loading.
    """

    def __init__(
        self,
        info: CatalogInfo,
        specs: Sequence[ProblemSpec],
        *,
        warnings: Sequence[Finding] = (),
        translations: Sequence[Translation] = (),
    ) -> None:
        self.info = info
        # The catalog's texts in more languages, by language (the default's are the problems' own).
        self.translations: Mapping[str, Translation] = types.MappingProxyType(
            {translation.language: translation for translation in sorted(translations, key=lambda t: t.language)}
        )
        # The languages a response may be in: the default first (`choose_language` falls back to it).
        self.languages: tuple[str, ...] = (info.language, *self.translations)
        self.problems: Mapping[str, ProblemSpec] = types.MappingProxyType(
            {spec.slug: spec for spec in sorted(specs, key=lambda s: s.slug)}
        )
        self.warnings: tuple[Finding, ...] = tuple(warnings)
        self._classes: dict[str, type[Problem]] = {}
        self._by_type = {spec.type: spec.slug for spec in specs}
        self._by_type.update({info.base_uri + alias: spec.slug for spec in specs for alias in spec.aliases})
        self.aliases: Mapping[str, str] = types.MappingProxyType(
            {alias: spec.slug for spec in specs for alias in spec.aliases}
        )
        # The JSON decoder's fast path (`_wire._Typed`) by type URI bytes, filled as used.
        self._decoders: dict[bytes, Any] = {}
        # The catalog this one was `rebased()` from: its classes are the bases of this one's.
        self.origin: Catalog | None = None
        # Where each slug (and, under "", the header) is written, for a catalog loaded from YAML.
        self._sources: dict[str, Source] = {}

    @classmethod
    def load(cls, paths: PathArg | Sequence[PathArg], *, strict: bool = False) -> Catalog:
        """Load and validate YAML: one file, a folder of `*.yaml`/`*.yml`, or several paths.

        Raises `CatalogError` with every finding when anything is wrong; with
        `strict=True`, warnings (RFC 9457 §4 naming SHOULDs, ...) count too.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        loader = Loader()
        loaded = loader.load(list(paths))
        findings = sorted(loader.findings.items, key=lambda f: (f.path, f.line or 0, f.column or 0))
        if loaded is None or (strict and findings):
            raise CatalogError(findings)
        catalog = cls(loaded[0], loaded[1], warnings=findings, translations=list(loader.translated.values()))
        catalog._sources = {slug: source(entry.path, entry.mark, entry.node) for slug, entry in loader.entries.items()}
        if loader.header is not None:
            path, node, _ = loader.header
            catalog._sources[""] = source(path, node.mark, node)
        return catalog

    def _relocate(self, where: Callable[[str], str]) -> None:
        """Name the files of the sources as `where` maps them: a copy read from git -> the repository's own."""
        self._sources = {slug: replace(source, path=where(source.path)) for slug, source in self._sources.items()}

    # -- the serialized form: catalog.json and the generated module embed it ----

    def to_json(self) -> bytes:
        """The catalog as canonical JSON: sorted, no timestamps, byte-identical for the same catalog."""
        document: dict[str, Any] = {"format": 1, "catalog": self.info, "problems": list(self.problems.values())}
        if self.translations:  # left out when there are none: the same bytes as before translations existed
            document["translations"] = list(self.translations.values())
        return msgspec.json.format(msgspec.json.encode(document), indent=1)

    @classmethod
    def from_json(cls, data: bytes | str) -> Catalog:
        """Rebuild a catalog from `to_json()` output (used by generated modules)."""
        document = msgspec.json.decode(data, type=_Document)
        if document.format != 1:
            raise ValueError(f"unsupported catalog format {document.format}")
        for spec in document.problems:
            # Not loaded from YAML, so not checked: a `{n:999999999}` would allocate a gigabyte on every raise.
            if spec.detail is not None and not renders_bounded(spec.detail):
                raise ValueError(
                    f"problem {spec.slug!r}: detail template {spec.detail!r} does not parse or has a width or "
                    f"precision above {MAX_WIDTH}"
                )
        for translation in document.translations:
            for slug, translated in translation.problems.items():
                if translated.detail is not None and not renders_bounded(translated.detail):
                    raise ValueError(
                        f"translation {translation.language!r} of {slug!r}: detail template {translated.detail!r} "
                        f"does not parse or has a width or precision above {MAX_WIDTH}"
                    )
        return cls(document.catalog, document.problems, translations=document.translations)

    def rebased(self, base_uri: str) -> Catalog:
        """The same catalog with another `base_uri`, so type URIs follow it.

        Useful per deployment: `catalog.rebased("https://api.staging.example/errors/")`
        makes type URIs point at pages a `ProblemMiddleware(docs_path="/errors/")`
        serves there. Its classes subclass the original catalog's (a generated
        module's too), and a `ProblemMiddleware` given the rebased catalog sends
        problems raised from the original classes with the rebased type URIs.
        """
        if not (
            URI_SCHEME.match(base_uri)
            and URI_REFERENCE_RE.match(base_uri)
            and base_uri.lower().startswith(TYPE_SCHEMES)
            and base_uri[-1:] in ("/", "#", ":", "=")
        ):
            raise ValueError(
                "base_uri must be an absolute URI (http, https, tag or urn) ending with '/', '#', ':' or '=', "
                f"not {base_uri!r}"
            )
        info = msgspec.structs.replace(self.info, base_uri=base_uri)
        specs = [msgspec.structs.replace(spec, type=base_uri + spec.slug) for spec in self.problems.values()]
        rebased = Catalog(info, specs, warnings=self.warnings, translations=list(self.translations.values()))
        rebased.origin = self.origin or self
        return rebased

    def localized(self, problem: Problem, language: str) -> Problem:
        """`problem` in one of the catalog's `languages`: its title, its catalog `detail` and its items, translated.

        What the translation leaves out stays in the default language; a problem
        this catalog does not know (a generic one, another catalog's) keeps its
        title and detail, and so do `type`, `code`, the members and a `detail`
        the app passed. Validation items (`errors`), whoever's problem they are
        on, take the translation's `validation` message for their `code`.
        """
        translation = self.translations.get(language)  # None for the default language
        if translation is None:
            return problem
        code = problem.code
        spec = self.problems.get(code) if code is not None else None
        # Title and detail only for this catalog's own problems: not a generic one, nor another catalog's.
        own = spec is not None and problem.spec is not None and problem.spec.type == spec.type
        translated = translation.problems.get(code) if own and code is not None else None
        if translated is None and not translation.validation:
            return problem
        title, detail = (translated.title, translated.detail) if translated is not None else (None, None)
        return problem._in_language(title, detail, translation.validation)

    # -- problem classes ---------------------------------------------------------

    def __getitem__(self, slug: str) -> type[Problem]:
        cls = self._classes.get(slug)
        if cls is None:
            spec = self.problems.get(slug)
            if spec is None:
                raise UnknownSlugError(slug, self._unknown(slug)) from None
            bases: tuple[type[Problem], ...] = (self[spec.extends],) if spec.extends else (Problem,)
            if self.origin is not None:
                # A rebased class is a kind of the original (a generated module's, say):
                # `except errors.OrderNotFound` catches it, whichever base URI it sends.
                bases = (self.origin[slug], *(bases if spec.extends else ()))
            cls = runtime_class(spec, bases)  # one that pickles (multiprocessing and task queues pickle exceptions)
            self._classes[slug] = cls
        return cls

    def _unknown(self, slug: object) -> str:
        """What `catalog[slug]` says of a slug it does not have: the slug it was renamed to, or the close ones."""
        message = f"no problem {slug!r} in catalog {self.name!r}"
        if not isinstance(slug, str):
            return message
        current = self.aliases.get(slug)
        if current is not None:
            return (
                f"{message}: it is a former slug of {current!r} (its `aliases`); look it up as "
                f"catalog[{current!r}], or a received code with catalog.by_code({slug!r})"
            )
        close = [repr(match) for match in get_close_matches(slug, list(self.problems), n=3, cutoff=0.6)]
        if not close:
            return message
        choices = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        return f"{message} (did you mean {choices}?)"

    def bind(self, *classes: type[Problem]) -> None:
        """Use these classes (from a generated module) for their slugs.

        Each must have been defined with `spec=` this catalog's spec for its
        slug; bind them before the first `catalog[slug]` lookup.
        """
        for cls in classes:
            if cls.spec is None or self.problems.get(cls.spec.slug) != cls.spec:
                raise ValueError(f"{cls.__name__} is not bound to a problem of this catalog")
            existing = self._classes.get(cls.spec.slug)
            if existing is not None and existing is not cls:
                raise ValueError(f"slug {cls.spec.slug!r} already has class {existing.__name__}")
            self._classes[cls.spec.slug] = cls

    def by_code(self, code: str) -> type[Problem] | None:
        """The class for a `code` a response carries: a slug, or a former slug listed in `aliases`."""
        slug = code if code in self.problems else self.aliases.get(code)
        return self[slug] if slug is not None else None

    def by_type(self, type_uri: str) -> type[Problem] | None:
        """The class whose `type` URI is `type_uri`, if any."""
        slug = self._by_type.get(type_uri)
        return self[slug] if slug is not None else None

    def __contains__(self, slug: object) -> bool:
        return slug in self.problems

    def __iter__(self) -> Iterator[str]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def base_uri(self) -> str:
        return self.info.base_uri

    @property
    def version(self) -> str | None:
        return self.info.version

    @property
    def language(self) -> str:
        return self.info.language

    @property
    def domain(self) -> str:
        """gRPC's `ErrorInfo.domain` for this catalog's problems: the header's `domain:`, else `base_uri`'s host."""
        return domain_of(self.info.domain, self.info.base_uri)

    def grpc_code(self, slug: str) -> str:
        """The `google.rpc.Code` name a problem answers gRPC calls with: its `grpc:` (inherited), else its status's."""
        spec = self.problems[slug]
        return grpc_code(spec.status, spec.grpc)

    @functools.cached_property
    def status_slugs(self) -> Mapping[int, str]:
        """Status -> the slug a framework error of that status becomes (a router 404, an `HTTPException`).

        The header's `framework_errors` names it; for a status it does not
        name, the first (by slug) root problem with that status that is not
        retired and needs no member a framework error cannot fill.
        """
        slugs: dict[int, str] = {}
        for slug, spec in self.problems.items():
            if takes_framework_errors(spec):
                slugs.setdefault(spec.status, slug)
        slugs.update(self.info.framework_errors)
        return types.MappingProxyType(slugs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Catalog):
            return NotImplemented
        return (
            self.info == other.info
            and dict(self.problems) == dict(other.problems)
            and dict(self.translations) == dict(other.translations)
        )

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"<Catalog {self.name!r}{version}: {len(self)} problems>"


class _Document(msgspec.Struct):
    format: int
    catalog: CatalogInfo
    problems: list[ProblemSpec]
    translations: list[Translation] = []
