"""The doc site: a static page per slug, so every problem's `type` URI resolves.

RFC 9457 §4: "A problem type URI SHOULD resolve to HTML documentation that
explains how to resolve the problem." `render_site` turns a catalog into the
site's files, in memory and deterministic (same catalog and theme, same
bytes); `write_site` puts them in a folder without ever leaving it
half-written; the middleware serves the same files under `docs_path`.

Layout of a site (every link in it is relative, so it can live under any path):

    index.html            every slug grouped by status class, an `#<slug>` anchor each
    retry.html            the retry strategy: each slug's `retry` advice in one table
    <slug>/index.html     the page `base_uri + slug` resolves to
    <slug>/schema.json    JSON Schema of the problem's body
    <alias>/index.html    a former slug (`aliases`): a page pointing, and redirecting, to the new one
    catalog.json          the whole catalog, its translations too (`Catalog.from_json` reads it back)
    openapi.json          OpenAPI 3.1 components: a schema and a response per slug (`x-translations`)
    assets/               the theme's static files
    <lang>/...            with translations: each language's pages (the default's too), laid out as
                          the root's; the root stays in the default language and is `x-default`
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import msgspec
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from problemdetails._catalog import Catalog
from problemdetails._exceptions import SiteError
from problemdetails._openapi import openapi_document, pretty_json
from problemdetails._problem import Problem
from problemdetails._schema import DIALECT, problem_schema
from problemdetails._site_text import Words, language_name, site_text
from problemdetails._spec import MemberSpec, ProblemSpec
from problemdetails._status import status_phrase
from problemdetails._wire import encode_json

__all__ = ["MARKER", "default_theme", "forget_themes", "read_site", "render_site", "write_site"]

# A built site carries this file, so `write_site` only ever replaces a folder it made;
# after its first line, it lists the files of the build, one per line.
MARKER = ".problemdetails-site"
_MARKER_HEADER = "a problemdetails doc site; `problemdetails build` replaces this folder\n"

# Raw HTML in the catalog is escaped, never passed through; markdown-it also
# refuses `javascript:`, `vbscript:`, `file:` and `data:` links.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

# Code points HTML5 forbids in a document (controls other than whitespace, and
# noncharacters, WHATWG HTML §13.2.3.5): catalog text carrying them is shown
# with U+FFFD instead, so every page parses without errors.
_NOT_IN_HTML = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
_NOT_IN_HTML_ASTRAL = re.compile(
    "[" + "".join(f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0x10000, 0x110000, 0x10000)) + "]"
)


def _html_text(page: str) -> bytes:
    page = _NOT_IN_HTML.sub("\ufffd", page)
    if not page.isascii() and max(page) > "\uffff":  # the astral class is slow: only when needed
        page = _NOT_IN_HTML_ASTRAL.sub("\ufffd", page)
    return page.encode()


# Text without these characters has no inline Markdown in it: it renders as itself.
_INLINE_SYNTAX = re.compile(r"[\\`*_\[\]<>&!~\n]|https?:")


def inline_markdown(text: str) -> Markup:
    """One line of catalog Markdown (a member description) as HTML; raw HTML is escaped."""
    if _INLINE_SYNTAX.search(text) is None:
        return escape(text)
    return Markup(_markdown.renderInline(text))


# A paragraph can only be one line of inline text that starts no block: a heading (#), quote (>),
# list item (-, +, 1.) or thematic break, and that no whitespace around it could turn into code.
_BLOCK_START = re.compile(r"[\s#>+=|\-0-9]")


def block_markdown(text: str) -> Markup:
    """A catalog Markdown field (a description, a resolution) as HTML; raw HTML is escaped.

    Most resolutions are one plain sentence: that is a paragraph of itself,
    written here exactly as markdown-it writes it (a property test holds
    the two together), without its parser's time.
    """
    line = text.removesuffix("\n")
    plain = _INLINE_SYNTAX.search(line) is None and _BLOCK_START.match(line) is None and "\r" not in line
    if plain and line and line == line.strip() and "\0" not in line:
        return Markup("<p>" + line.replace('"', "&quot;") + "</p>\n")
    return Markup(_markdown.render(text))


def fill(text: str, **parts: object) -> Markup:
    """A site text with `{placeholders}` (`ui.use_instead`), escaped, its parts put in: markup kept, text escaped."""
    return Markup(escape(text)).format(**parts)


def searchable(text: str) -> str:
    """What the index's filter matches typed words against: lowercase, accents dropped (`dépassé` -> `depasse`).

    The theme's script folds what is typed the same way, so `depasse` finds `Quota dépassé`.
    """
    text = text.lower()
    if text.isascii():
        return text
    return "".join(char for char in unicodedata.normalize("NFD", text) if unicodedata.category(char) != "Mn")


def default_theme() -> Path:
    """The bundled theme: inside the installed package, or `site/` in a source checkout."""
    packaged = Path(__file__).parent / "site"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "site"


@dataclass(frozen=True)
class _Theme:
    environment: jinja2.Environment
    assets: dict[str, bytes] = field(default_factory=dict)


@lru_cache(maxsize=8)
def _theme(folder: Path | None) -> _Theme:
    """A theme folder (`templates/`, `static/`) over the bundled one: its files win, the rest fall back."""
    folders = [folder, default_theme()] if folder is not None else [default_theme()]
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(f / "templates") for f in folders]),
        autoescape=jinja2.select_autoescape(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # not a stat of every template per page: `forget_themes()` starts afresh
    )
    environment.filters["markdown"] = block_markdown
    environment.filters["inline_markdown"] = inline_markdown
    environment.filters["fill"] = fill
    assets: dict[str, bytes] = {}
    for theme in reversed(folders):
        static = theme / "static"
        for path in sorted(static.rglob("*")) if static.is_dir() else ():
            if path.is_file():
                assets[path.relative_to(static).as_posix()] = path.read_bytes()
    return _Theme(environment, assets)


# -- one language's pages --------------------------------------------------------

# The texts of a problem a translation may carry, as the pages show them.
_TEXTS = ("title", "summary", "description", "resolution")


_IN_PAGE_LANGUAGE = Markup("")  # an element in the page's own language says nothing more


class _Langs(dict[str, Markup]):
    """A page's ` lang="en"` attributes by text (`title`, `member:limit`): only those that fell back are in it."""

    def __missing__(self, text: str) -> Markup:
        return _IN_PAGE_LANGUAGE


_NO_FALLBACK = _Langs()


@dataclass(frozen=True)
class _Tree:
    """One language's pages: the folder they are in ("" for the site root) and what they are written with.

    `specs` are the catalog's problems with this language's texts; what the
    translation leaves out stays in the default language, and `fallback` names
    it (`title`, `member:limit`, by slug), so its element says so with `lang`
    (WCAG 2.x 3.1.2, language of parts).
    """

    language: str
    folder: str
    default: str
    languages: tuple[str, ...]  # every language of the site, for `hreflang`; empty for a catalog without any
    ui: Words
    specs: Mapping[str, ProblemSpec]
    fallback: Mapping[str, frozenset[str]]
    retry: Mapping[str, tuple[str, Markup]]

    def lang_of(self, slug: str, text: str) -> Markup:
        """` lang="en"` for an element whose text (`title`, `member:limit`) fell back to the default language."""
        if self.fallback and text in self.fallback.get(slug, ()):
            return Markup(' lang="{}"').format(self.default)
        return _IN_PAGE_LANGUAGE

    def context(self, path: str) -> dict[str, Any]:
        """What every template sees on the page at `path` of this language (`gone/`, `retry.html`, "")."""
        depth = path.count("/")
        root = "../" * (depth + self.folder.count("/"))
        # Each language's page at a fixed address, `<lang>/<path>` (the root's language too: under
        # `docs_path` the root answers in the language asked for, and a choice must stick).
        alternates = [
            _Alternate(tag, language_name(tag), f"{root}{tag}/{path}", tag == self.language) for tag in self.languages
        ]
        return {
            "root": root,
            "home": "../" * depth,
            "language": self.language,
            "ui": self.ui,
            "alternates": alternates,
            "x_default": root + path or "./",
            "lang_of": self.lang_of,
        }


@dataclass(frozen=True)
class _Alternate:
    """The same page in one language: its tag, its name in that language, the link, and whether it is this one."""

    tag: str
    name: str
    href: str
    current: bool


def _trees(catalog: Catalog) -> list[_Tree]:
    """The site's languages: the default at the root, then, with translations, every language in its folder."""
    languages = catalog.languages if len(catalog.languages) > 1 else ()
    trees = [_tree(catalog, catalog.language, "", languages)]
    trees += [_tree(catalog, language, f"{language}/", languages) for language in languages]
    return trees


def _tree(catalog: Catalog, language: str, folder: str, languages: tuple[str, ...]) -> _Tree:
    ui = site_text(language)
    retry = {
        retry: (ui[f"retry.{retry}"], inline_markdown(ui[f"retry.{retry}.advice"]))
        for retry in ("never", "after-change", "backoff", "after-delay")
    }
    specs, fallback = _translated(catalog, language)
    return _Tree(language, folder, catalog.language, languages, ui, specs, fallback, retry)


def _translated(catalog: Catalog, language: str) -> tuple[Mapping[str, ProblemSpec], Mapping[str, frozenset[str]]]:
    """The catalog's problems in `language`, and by slug the texts left in the default language."""
    translation = catalog.translations.get(language)
    if translation is None:  # the default language
        return catalog.problems, {}
    specs: dict[str, ProblemSpec] = {}
    fallback: dict[str, frozenset[str]] = {}
    for slug, spec in catalog.problems.items():
        translated = translation.problems.get(slug)
        texts: dict[str, Any] = {}
        missing: set[str] = set()
        for text in _TEXTS:
            theirs = getattr(translated, text, None)
            if theirs is not None:
                texts[text] = theirs
            elif getattr(spec, text):
                missing.add(text)
        members: list[MemberSpec] = []
        for member in spec.members:
            # A member's description: this problem's translation of it, else that of the problem declaring it.
            found = [translation.problems.get(owner) for owner in (slug, member.declared_by)]
            descriptions = [one.members[member.name].description for one in found if one and member.name in one.members]
            description = next((text for text in descriptions if text is not None), None)
            if description is not None:
                member = msgspec.structs.replace(member, description=description)
            elif member.description:
                missing.add(f"member:{member.name}")
            members.append(member)
        specs[slug] = msgspec.structs.replace(spec, **texts, members=tuple(members))
        if missing:
            fallback[slug] = frozenset(missing)
    return specs, fallback


# -- rendering -------------------------------------------------------------------


def render_site(catalog: Catalog, *, theme: Path | None = None, workers: int = 1) -> dict[str, bytes]:
    """Every file of the catalog's doc site, by relative path: deterministic, nothing written.

    With translations, every language's pages are in a folder of its tag (the
    default language's too, `en/`), and the root holds the default language's
    again: the page a static host serves for `base_uri + slug`, and `x-default`.
    `workers` > 1 renders the problem pages of a large catalog in that many
    forked processes (the CLI's `build` does, in a process of its own; a server
    rendering its site keeps to one). The files are the same either way.
    Raises `SiteError` when the theme fails (a template error, an undefined name,
    an exception in a template's expression), naming the template and line, or
    when a worker dies.
    """
    built = _theme(theme.resolve() if theme is not None else None)
    files: dict[str, bytes] = {}
    files.update({f"assets/{name}": data for name, data in built.assets.items()})
    trees = _trees(catalog)
    examples = {slug: catalog[slug].examples() for slug in catalog.problems}
    pages = {tree.folder: _tree_pages(catalog, tree, examples) for tree in trees}
    try:
        files.update(_problem_pages(built, catalog, [page for tree in trees for page in pages[tree.folder]], workers))
        for tree in trees:
            files.update(_tree_files(built, catalog, tree, pages[tree.folder]))
    except Exception as error:
        finding = _theme_error(error)
        if finding is None:
            raise
        raise finding from error
    files.update(_data_files(catalog))
    return _with_marker(files)


def _tree_pages(catalog: Catalog, tree: _Tree, examples: Mapping[str, list[Problem]]) -> list[_Page]:
    children: dict[str, list[ProblemSpec]] = {}
    for spec in tree.specs.values():
        if spec.extends is not None:
            children.setdefault(spec.extends, []).append(spec)
    return [
        _page(catalog, tree, spec, children.get(spec.slug, []), examples[spec.slug]) for spec in tree.specs.values()
    ]


def _tree_files(built: _Theme, catalog: Catalog, tree: _Tree, pages: list[_Page]) -> dict[str, bytes]:
    """A language's index, retry table and renamed slugs' pages, by relative path."""
    template = built.environment.get_template
    classes = {4: tree.ui["client_errors"], 5: tree.ui["server_errors"]}
    groups = [
        {"key": f"{key}xx", "title": f"{key}xx {classes.get(key, tree.ui['errors'])}", "pages": members}
        for key, members in sorted(_by_class(pages).items())
    ]
    top = {"catalog": catalog, "groups": groups}
    files = {
        f"{tree.folder}index.html": _html_text(template("index.html").render(**tree.context(""), **top)),
        f"{tree.folder}retry.html": _html_text(template("retry.html").render(**tree.context("retry.html"), **top)),
    }
    for alias, slug in catalog.aliases.items():
        page = template("alias.html").render(
            **tree.context(f"{alias}/"), catalog=catalog, alias=alias, spec=tree.specs[slug]
        )
        files[f"{tree.folder}{alias}/index.html"] = _html_text(page)
    return files


def _data_files(catalog: Catalog) -> dict[str, bytes]:
    """The files for machines: each problem's JSON Schema, `catalog.json` and `openapi.json`."""
    files: dict[str, bytes] = {}
    for slug, spec in catalog.problems.items():
        # JSON Schema 2020-12 §8.2.1: an `$id` carries no fragment (a `base_uri` ending in "#" makes one).
        identity = {"$id": f"{spec.type}/schema.json"} if "#" not in spec.type else {}
        schema = {"$schema": DIALECT, **identity, **problem_schema(spec)}
        files[f"{slug}/schema.json"] = pretty_json(schema)
    files["catalog.json"] = catalog.to_json() + b"\n"
    files["openapi.json"] = pretty_json(openapi_document(catalog))
    return files


# Below this many pages, forking costs more than it saves (measured with `make bench`'s catalogs).
PARALLEL_PAGES = 400


def _problem_pages(built: _Theme, catalog: Catalog, pages: list[_Page], workers: int) -> dict[str, bytes]:
    """Each problem's page, by relative path, in catalog order; in forked processes for a large catalog."""
    forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    if workers <= 1 or len(pages) < PARALLEL_PAGES or not forkable:  # a forked thread's locks could deadlock
        return dict(_pages_html(built, catalog, pages))
    # Forked, the workers share the theme, catalog and pages built here: only each chunk's
    # bounds go to them, and the bytes they render come back.
    global _forked
    _forked = (built, catalog, pages)
    chunk = -(-len(pages) // workers)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            rendered = list(pool.map(_render_chunk, range(0, len(pages), chunk), [chunk] * workers))
    except BrokenProcessPool as error:
        # A worker killed (the OOM killer, a signal, a crash in an extension) says nothing
        # of why: name what happened and how to see the cause, never the pool's traceback.
        raise SiteError(
            f"a worker rendering the problem pages stopped abruptly (killed, or out of memory?), one of "
            f"{workers}: nothing was written; with one worker (`build --jobs 1`) they render in this process"
        ) from error
    finally:
        _forked = None
    return {path: html for part in rendered for path, html in part}


# What a forked worker renders from: set by `_problem_pages` just before it forks.
_forked: tuple[_Theme, Catalog, list[_Page]] | None = None


def _render_chunk(start: int, count: int) -> list[tuple[str, bytes]]:
    assert _forked is not None
    built, catalog, pages = _forked
    return _pages_html(built, catalog, pages[start : start + count])


def _pages_html(built: _Theme, catalog: Catalog, pages: list[_Page]) -> list[tuple[str, bytes]]:
    # The finding is made here, in the process that rendered: a forked worker sends back
    # the exception without its traceback, and with it the template line it names.
    try:
        template = built.environment.get_template("problem.html")
        return [
            (
                f"{page.tree.folder}{page.slug}/index.html",
                _html_text(template.render(**page.tree.context(f"{page.slug}/"), catalog=catalog, p=page)),
            )
            for page in pages
        ]
    except Exception as error:
        finding = _theme_error(error)
        if finding is None:
            raise
        raise finding from error


def _with_marker(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """`files` and the marker that lists them: what `read_site` reads back, and all it reads."""
    names = sorted(name for name in files if name != MARKER)
    marker = (_MARKER_HEADER + "".join(f"{name}\n" for name in names)).encode()
    return {MARKER: marker, **{name: files[name] for name in names}}


def _theme_error(error: Exception) -> SiteError | None:
    """The one-line finding for an exception a theme's template raised; None for any other exception.

    A template runs the theme's code: `{{ 1 // 0 }}` raises `ZeroDivisionError` from
    the template's line, and is a theme error as much as an undefined name is.
    """
    where = _template_location(error)
    if isinstance(error, jinja2.TemplateError):
        return SiteError(f"{where}theme error: {error}")
    if where:
        return SiteError(f"{where}theme error: {type(error).__name__}: {error}")
    return None


def _template_location(error: Exception) -> str:
    """`template:line: ` of a theme error: a syntax error carries it, a render error's traceback has it.

    Jinja rewrites the traceback of an error raised while rendering so that its
    frames name the template file and line; the innermost such frame is the place.
    """
    if isinstance(error, jinja2.TemplateSyntaxError):
        return f"{error.filename or error.name}:{error.lineno}: "
    where = ""
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".jinja", ".j2")):
            where = f"{filename}:{traceback.tb_lineno}: "
        traceback = traceback.tb_next
    return where


def forget_themes() -> None:
    """Drop the cached themes, so the next render reads the theme folders again (`serve` after an edit)."""
    _theme.cache_clear()


@dataclass(frozen=True)
class _Page:
    """What the page templates read about one problem type, in one language (`spec` holds its texts)."""

    tree: _Tree
    slug: str
    spec: ProblemSpec
    phrase: str
    retry: tuple[str, Markup]
    headers: list[tuple[str, str]]
    examples: list[str]
    ancestors: list[ProblemSpec]
    children: list[ProblemSpec]
    python: str
    typescript: str
    search: str
    caption: Markup  # an example's: its status line and headers
    lang: Mapping[str, Markup]  # ` lang="en"` on an element whose text is untranslated (`p.lang.title`)


def _page(
    catalog: Catalog, tree: _Tree, spec: ProblemSpec, children: list[ProblemSpec], examples: list[Problem]
) -> _Page:
    ancestors: list[ProblemSpec] = []
    parent = spec.extends
    while parent is not None:
        ancestors.insert(0, tree.specs[parent])
        parent = tree.specs[parent].extends
    if tree.language != catalog.language:  # what a client asking for this language receives
        examples = [catalog.localized(problem, tree.language) for problem in examples]
    return _Page(
        tree=tree,
        slug=spec.slug,
        spec=spec,
        phrase=status_phrase(spec.status),
        retry=tree.retry[spec.retry],
        headers=[(name, _meaning(tree.ui, name)) for name in spec.headers],
        examples=[msgspec.json.format(encode_json(problem), indent=2).decode() for problem in examples],
        ancestors=ancestors,
        children=children,
        python=_python_snippet(spec),
        typescript=_typescript_snippet(spec),
        search=searchable(" ".join((spec.slug, str(spec.status), spec.title, spec.summary))),
        caption=_caption(tree, spec.status),
        lang=_langs(tree, spec.slug),
    )


def _caption(tree: _Tree, status: int) -> Markup:
    """What an example's caption says: the status line, the media type and, with translations, the language."""
    headers = Markup("<code>Content-Type: application/problem+json</code>")
    if tree.languages:
        headers += Markup(", <code>Content-Language: {}</code>").format(tree.language)
    return fill(tree.ui.example_caption, status=status, phrase=status_phrase(status), content_type=headers)


def _langs(tree: _Tree, slug: str) -> Mapping[str, Markup]:
    fallback = tree.fallback.get(slug)
    if not fallback:
        return _NO_FALLBACK
    return _Langs({text: tree.lang_of(slug, text) for text in fallback})


def _meaning(ui: Words, header: str) -> str:
    """Why a problem sets a well-known header, in the page's language; nothing for another header."""
    try:
        return ui[f"header.{header.lower()}"]
    except KeyError:
        return ""


def _by_class(pages: list[_Page]) -> dict[int, list[_Page]]:
    groups: dict[int, list[_Page]] = {}
    for page in sorted(pages, key=lambda page: (page.spec.status, page.slug)):
        groups.setdefault(page.spec.status // 100, []).append(page)
    return groups


def _python_snippet(spec: ProblemSpec) -> str:
    shown = [member.attribute for member in spec.members[:3]]
    values = ", ".join(["problem.title", *(f"problem.{name}" for name in shown)])
    return (
        "from problemdetails.client import decode\n"
        "\n"
        "problem = decode(response, catalog=catalog)  # an httpx.Response\n"
        "match problem.code:\n"
        f'    case "{spec.slug}":\n'
        f"        print({values})\n"
    )


def _typescript_snippet(spec: ProblemSpec) -> str:
    shown = [
        f"problem.{member.name}"
        if member.name.isidentifier()
        else f"problem[{msgspec.json.encode(member.name).decode()}]"
        for member in spec.members[:3]
    ]
    values = ", ".join(["problem.title", *shown])
    return (
        'import { parseProblem } from "./problems";\n'
        "\n"
        "const problem = await parseProblem(response);  // a fetch Response\n"
        f'if (problem.code === "{spec.slug}") {{\n'
        f"  console.log({values});\n"
        "}\n"
    )


# -- writing and reading a built site ------------------------------------------


def write_site(files: Mapping[str, bytes], out: Path) -> None:
    """Write a rendered site to `out`, replacing a previous build there, or nothing at all.

    The files go to a fresh folder beside `out`, which then takes its place in
    one atomic exchange (Linux `renameat2`; elsewhere two renames with SIGINT
    and SIGTERM held off between them): whenever the process stops, `out` is
    the previous build or the new one. Files in `out` that the previous build
    did not write (a `CNAME`, a git worktree's `.git`) are kept. An existing
    `out` that is neither empty nor a previous build is refused, never deleted,
    and so is one whose marker is not a regular file. Folders a killed build
    left beside `out` are removed first.
    """
    out = out.absolute()
    files = _with_marker(files)
    previous = _previous_build(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in [*out.parent.glob(f".{out.name}.new-*"), *out.parent.glob(f".{out.name}.old-*")]:
        shutil.rmtree(stale, ignore_errors=True)  # a build stopped by kill -9
    fresh = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        folders = {fresh}
        for name, data in files.items():
            path = fresh / name
            if path.parent not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(path.parent)
            path.write_bytes(data)
        if previous:  # an older version's marker lists nothing: then nothing is known to be foreign
            _keep_foreign(out, fresh, previous, files)
        fresh.chmod(0o755)  # mkdtemp makes it private; a site is for publishing
        if previous is None:
            os.replace(fresh, out)
        else:
            _swap(fresh, out)  # `fresh` now holds the previous build
            shutil.rmtree(fresh)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


def _previous_build(out: Path) -> set[str] | None:
    """The files the build at `out` wrote, by its marker; None when `out` is missing or empty."""
    if out.is_symlink():
        raise SiteError(f"{out}: is a symlink; give the site folder itself")
    if not out.exists():
        return None
    if out.is_dir() and not any(out.iterdir()):
        return None
    marker = out / MARKER
    # A regular file that says what it is: a symlink or folder of that name marks nothing.
    if not (out.is_dir() and marker.is_file() and not marker.is_symlink()):
        raise SiteError(f"{out}: refusing to replace a folder that is not a problemdetails site (no {MARKER})")
    listed = _listing(marker.read_bytes())
    if listed is None:
        raise SiteError(f"{out}: refusing to replace a folder that is not a problemdetails site ({MARKER} is not ours)")
    return set(listed)


def _listing(marker: bytes) -> list[str] | None:
    """The files a marker lists; None when it is not a marker of ours (an older version's lists none)."""
    header, _, listing = marker.decode("utf-8", "replace").partition("\n")
    return listing.splitlines() if header + "\n" == _MARKER_HEADER else None


def _keep_foreign(out: Path, fresh: Path, previous: set[str], files: Mapping[str, bytes]) -> None:
    """Copy what the previous build did not write (a `CNAME`, `.git`) into the new one; the build's own names win."""
    for entry in sorted(out.rglob("*")):  # rglob does not descend into symlinked folders
        name = entry.relative_to(out).as_posix()
        if name in previous or name == MARKER or (entry.is_dir() and not entry.is_symlink()):
            continue
        target = fresh / name
        if name not in files and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(entry, target, follow_symlinks=False)


_RENAME_EXCHANGE = 2  # linux/fs.h


def _swap(fresh: Path, out: Path) -> None:
    """Exchange two folders' names, so that `out` is never missing, whenever the process stops."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = getattr(libc, "renameat2", None)
        at_cwd = -100  # AT_FDCWD: the paths are absolute anyway
        if renameat2 is not None and renameat2(at_cwd, bytes(fresh), at_cwd, bytes(out), _RENAME_EXCHANGE) == 0:
            return
    # No atomic exchange here (another OS, an old kernel or file system): two renames,
    # with Ctrl-C and SIGTERM held until both are done. They are caught by a handler
    # that only notes them, then raised again: a signal mask would hold them for this
    # thread alone, and the process's other threads (a server's, a pool's) would take them.
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    arrived: list[int] = []
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():  # only it may set handlers
        for held in (signal.SIGINT, signal.SIGTERM):
            previous[held] = signal.signal(held, lambda number, frame: arrived.append(number))
    try:
        os.replace(out, retired / "site")
        os.replace(fresh, out)
        os.replace(retired / "site", fresh)
    finally:
        for held, handler in previous.items():
            signal.signal(held, signal.SIG_DFL if handler is None else handler)
        shutil.rmtree(retired, ignore_errors=True)
        for caught in arrived:
            signal.raise_signal(caught)


def _listed_file(folder: Path, root: Path, name: str) -> bytes:
    """A file the marker lists, read only when a build could have written it there."""
    path = folder / name
    if not name or any(part in ("", ".", "..") or part.startswith(".") for part in name.split("/")):
        raise SiteError(f"{folder}: {MARKER} lists {name!r}, which no build writes")
    if not path.resolve().is_relative_to(root):
        raise SiteError(f"{path}: a symlink that leaves the site folder; refusing to serve it")
    if not path.is_file():
        raise SiteError(f"{path}: listed in {MARKER} but missing: rebuild the site")
    return path.read_bytes()


def read_site(folder: Path) -> dict[str, bytes]:
    """The files a build wrote to `folder` (its marker lists them), by relative path.

    Nothing else is read: not a file added beside them (`.env`, `.git/`), not a
    name with a dot segment, and not a file reached through a symlink that
    leaves the folder (`passwd.html -> /etc/passwd`); either of the last two is
    a `SiteError`, and so is a listed file that is missing.
    """
    marker = folder / MARKER
    if not marker.is_file():
        raise SiteError(f"{folder}: not a site built by `problemdetails build` (no {MARKER})")
    text = marker.read_bytes()
    names = _listing(text)
    if not names:
        raise SiteError(f"{folder}: {MARKER} lists no files (a build by an older version?): rebuild the site")
    root = folder.resolve()
    files: dict[str, bytes] = {}
    for name in names:
        if name != MARKER:
            files[name] = _listed_file(folder, root, name)
    files[MARKER] = text
    return dict(sorted(files.items()))
