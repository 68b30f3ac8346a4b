"""The doc site: pages, links, schemas, OpenAPI, safety and the atomic build."""

from __future__ import annotations

import concurrent.futures
import contextlib
import html
import io
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import html5lib
import httpx
import jsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from openapi_spec_validator import validate as validate_openapi

from problemdetails import Catalog, decode_json, encode_json
from problemdetails._cli import main
from problemdetails._exceptions import SiteError
from problemdetails._site import (
    MARKER,
    _markdown,
    block_markdown,
    inline_markdown,
    read_site,
    render_site,
    searchable,
    write_site,
)
from problemdetails._site_text import language_name, site_text
from tests.conftest import BUNDLED, HEADER, ROOT, WriteCatalog
from tests.test_properties import CATALOG_TEXT, PROPERTY, catalogs, load, problem_for

FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


@pytest.fixture(scope="module")
def site() -> dict[str, bytes]:
    return render_site(Catalog.load(BUNDLED))


def pages(files: dict[str, bytes]) -> dict[str, str]:
    return {name: data.decode() for name, data in files.items() if name.endswith(".html")}


class _Anchors(HTMLParser):
    """Every id, and every href/src, of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            self.attributes.append((tag, name, value))
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value is not None:
                self.links.append(value)


def parse(text: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(text)
    return parser


def assert_valid_html5(text: str) -> None:
    """html5lib in strict mode raises on any HTML5 parse error."""
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


def assert_links_resolve(files: dict[str, bytes]) -> int:
    """Crawl every href and src from every page: each must name a file of the site, and its #fragment an id there."""
    parsed = {name: parse(text) for name, text in pages(files).items()}
    checked = 0
    for name, page in parsed.items():
        for link in page.links:
            if link.startswith("data:"):
                continue
            assert not urlsplit(link).scheme, f"{name}: link leaves the site: {link}"
            target = urlsplit(urljoin(f"http://site/{name}", link))
            path = unquote(target.path).removeprefix("/")
            path = path + "index.html" if path == "" or path.endswith("/") else path
            assert path in files, f"{name}: broken link {link}"
            if target.fragment:
                assert target.fragment in parsed[path].ids, f"{name}: {link} names no id in {path}"
            checked += 1
    return checked


def example_bodies(page: str) -> list[str]:
    return [html.unescape(body) for body in re.findall(r'<code class="problem-json">(.*?)</code>', page, re.S)]


# -- the bundled catalog's site ---------------------------------------------


def test_every_slug_has_a_page_schema_and_index_entry(site: dict[str, bytes]) -> None:
    catalog = Catalog.load(BUNDLED)
    index = site["index.html"].decode()
    for slug in catalog:
        assert f"{slug}/index.html" in site
        assert f"{slug}/schema.json" in site
        assert f'<li id="{slug}"' in index
    assert {"catalog.json", "openapi.json", "assets/site.css", "assets/site.js", MARKER} <= site.keys()


def test_page_examples_decode_to_the_catalog_examples(site: dict[str, bytes]) -> None:
    catalog = Catalog.load(BUNDLED)
    for slug in catalog:
        shown = [
            decode_json(body.encode(), catalog=catalog) for body in example_bodies(site[f"{slug}/index.html"].decode())
        ]
        assert shown == catalog[slug].examples()
        assert shown, slug  # the bundled catalog documents an example for every slug


def language_of(name: str) -> str:
    """The language of the bundled site's page `name`: its folder's, else (the root) the default."""
    folder = name.partition("/")[0]
    return folder if folder in ("en", "fr", "de") else "en"


def test_pages_are_valid_html5_with_landmarks_and_ordered_headings(site: dict[str, bytes]) -> None:
    for name, text in pages(site).items():
        assert_valid_html5(text)
        language = language_of(name)
        site_nav = f'<nav aria-label="{site_text(language).site}">'
        for landmark in ("<header", "<main", "<footer", site_nav, f'<html lang="{language}">'):
            assert landmark in text, (name, landmark)
        levels = [int(level) for level in re.findall(r"<h([1-6])[ >]", text)]
        assert levels[0] == 1, name
        assert levels.count(1) == 1, name
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), (name, levels)


def test_no_broken_internal_links(site: dict[str, bytes]) -> None:
    assert assert_links_resolve(site) > 19 * 5


def test_pages_are_small_and_load_nothing_from_outside(site: dict[str, bytes]) -> None:
    """Every page of the bundled catalog, in every language (the root's, `en/`, `de/` and `fr/`)."""
    assert {language_of(name) for name in pages(site)} == {"en", "de", "fr"}
    for name, data in site.items():
        if name.endswith((".html", ".css", ".js")):
            assert len(data) < 50_000, name
            assert not re.search(rb"""(src|href)=["']?(https?:)?//""", data), name
            assert b"@import" not in data, name
            assert b"url(http" not in data, name


def test_schemas_validate_every_example_and_reject_other_codes(site: dict[str, bytes]) -> None:
    catalog = Catalog.load(BUNDLED)
    for slug in catalog:
        schema = json.loads(site[f"{slug}/schema.json"])
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
        assert schema["$id"] == f"https://errors.example.com/{slug}/schema.json"
        for problem in catalog[slug].examples():
            body = json.loads(encode_json(problem))
            validator.validate(body)
            assert not validator.is_valid({**body, "code": "something-else"})
            assert not validator.is_valid({**body, "status": 599})


def test_schema_types_members_and_requires_what_is_required(site: dict[str, bytes]) -> None:
    schema = json.loads(site["quota-exceeded/schema.json"])
    assert schema["properties"]["limit"] == {"type": "integer", "description": "The plan's cap for this resource."}
    assert schema["required"] == ["type", "title", "status", "code", "limit", "current"]
    errors = json.loads(site["unprocessable/schema.json"])["properties"]["errors"]
    assert errors["type"] == "array"
    assert errors["items"]["required"] == ["detail"]


def test_catalog_json_round_trips(site: dict[str, bytes]) -> None:
    assert Catalog.from_json(site["catalog.json"]) == Catalog.load(BUNDLED)
    assert json.loads(site["catalog.json"])["format"] == 1


def test_openapi_components_validate_and_their_examples_fit_their_schemas(site: dict[str, bytes]) -> None:
    document = json.loads(site["openapi.json"])
    validate_openapi(document)
    assert document["openapi"] == "3.1.0"
    assert (document["info"]["title"], document["info"]["version"]) == ("Standard problems", "1.0.0")
    components = document["components"]
    assert len(components["schemas"]) == len(components["responses"]) == 19
    for name, response in components["responses"].items():
        media = response["content"]["application/problem+json"]
        assert media["schema"] == {"$ref": f"#/components/schemas/{name}"}
        validator = jsonschema.Draft202012Validator(components["schemas"][name], format_checker=FORMATS)
        assert media["examples"], name
        for example in media["examples"].values():
            validator.validate(example["value"])
    rate_limited = components["responses"]["RateLimited"]
    assert rate_limited["headers"]["Retry-After"]["required"] is False  # only when the delay is known
    assert "X-Request-ID" in rate_limited["headers"]
    assert components["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"]["required"] is True


def test_pages_say_how_to_retry_and_which_headers_are_sent(site: dict[str, bytes]) -> None:
    page = site["rate-limited/index.html"].decode()
    assert "Retry after the time the <code>Retry-After</code> header gives" in page
    assert "<code>Retry-After</code></td><td>How long to wait before retrying" in page
    assert "Retry with backoff" in site["bad-gateway/index.html"].decode()


def test_retry_strategy_table_follows_the_catalog(site: dict[str, bytes]) -> None:
    catalog = Catalog.load(BUNDLED)
    rows = re.findall(
        r'<tr><td>(\d{3})</td><td><a href="([a-z-]+)/">.*?</td><td>(.*?)</td>', site["retry.html"].decode()
    )
    assert [(int(status), slug) for status, slug, _ in rows] == sorted(
        (spec.status, slug) for slug, spec in catalog.problems.items()
    )
    advice = {"never": "Do not retry", "after-change": "Retry after a change", "backoff": "Retry with backoff"}
    advice["after-delay"] = "Retry after the delay"
    assert {slug: words for _, slug, words in rows} == {
        slug: advice[spec.retry] for slug, spec in catalog.problems.items()
    }


def test_python_snippets_run_against_the_example_responses(site: dict[str, bytes]) -> None:
    catalog = Catalog.load(BUNDLED)
    for slug in catalog:
        page = site[f"{slug}/index.html"].decode()
        (snippet,) = re.findall(r'<pre id="_snippet-python"[^>]*><code>(.*?)</code></pre>', page, re.S)
        for problem in catalog[slug].examples():
            response = httpx.Response(
                problem.status, headers={"content-type": "application/problem+json"}, content=encode_json(problem)
            )
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(html.unescape(snippet), {"response": response, "catalog": catalog})
            assert out.getvalue().startswith(problem.title), slug
            for value in list(problem.members.values())[:3]:
                assert str(value) in out.getvalue()


def test_site_is_byte_identical_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    for seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-m", "problemdetails", "build", str(BUNDLED), "--out", str(tmp_path / seed)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            capture_output=True,
        )
    assert read_site(tmp_path / "1") == read_site(tmp_path / "2") == render_site(Catalog.load(BUNDLED))


# -- languages -------------------------------------------------------------------

LANGUAGES = ("en", "de", "fr")  # the bundled catalog's, the default first
ALTERNATE = re.compile(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">')
SWITCHER = re.compile(r'<nav class="languages" aria-label="([^"]+)">(.*?)</nav>', re.S)
SWITCH = re.compile(r'<a href="([^"]+)" hreflang="([^"]+)" lang="([^"]+)"( aria-current="true")?>([^<]+)</a>')


def resolve(name: str, href: str) -> str:
    """The site file a link on page `name` leads to (`../fr/gone/` from `gone/index.html`: `fr/gone/index.html`)."""
    path = unquote(urlsplit(urljoin(f"http://site/{name}", href)).path).removeprefix("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


def test_every_language_has_the_roots_pages_in_the_same_layout(site: dict[str, bytes]) -> None:
    root = {name for name in pages(site) if name.partition("/")[0] not in LANGUAGES}
    assert len(root) == 19 + 2  # the problem pages, the index and the retry table
    for language in LANGUAGES:
        inside = {name.removeprefix(f"{language}/") for name in pages(site) if name.startswith(f"{language}/")}
        assert inside == root, language
    assert len(pages(site)) == len(root) * 4


def test_every_page_names_each_language_and_x_default_and_each_one_exists(site: dict[str, bytes]) -> None:
    """hreflang (HTML `link rel=alternate`): every page of a set names every page of it, itself and x-default too."""
    for name, text in pages(site).items():
        folder = name.partition("/")[0]
        path = name.removeprefix(f"{folder}/") if folder in LANGUAGES else name
        alternates = ALTERNATE.findall(text)
        assert [tag for tag, _ in alternates] == [*LANGUAGES, "x-default"], name
        named = {tag: resolve(name, href) for tag, href in alternates}
        assert named == {**{language: f"{language}/{path}" for language in LANGUAGES}, "x-default": path}
        for tag, target in named.items():
            assert f'<html lang="{"en" if tag == "x-default" else tag}">' in site[target].decode(), (name, tag)
            # Reciprocal: the page it names names the same set.
            assert {other: resolve(target, href) for other, href in ALTERNATE.findall(site[target].decode())} == named


def test_the_language_switcher_links_every_language_by_its_own_name(site: dict[str, bytes]) -> None:
    for name, text in pages(site).items():
        language = language_of(name)
        ((label, switcher),) = SWITCHER.findall(text)
        assert label == site_text(language).languages
        links = SWITCH.findall(switcher)
        assert [(tag, lang, shown) for _, tag, lang, _, shown in links] == [
            ("en", "en", "English"),
            ("de", "de", "Deutsch"),
            ("fr", "fr", "Français"),
        ]
        assert [tag for _, tag, _, current, _ in links if current] == [language], name  # this page's language
        # Each link leads to the page its `hreflang` alternate names: the same page, in that language.
        assert [resolve(name, href) for href, *_ in links] == [resolve(name, h) for _, h in ALTERNATE.findall(text)][:3]


@pytest.mark.parametrize("language", ["fr", "de"])
def test_pages_in_a_language_carry_its_texts(site: dict[str, bytes], language: str) -> None:
    catalog = Catalog.load(BUNDLED)
    translation = catalog.translations[language]
    words = site_text(language)
    for slug in catalog:
        page = site[f"{language}/{slug}/index.html"].decode()
        translated = translation.problems[slug]
        assert translated.title is not None
        assert translated.summary is not None
        assert f"<h1>{escape(translated.title)}</h1>" in page
        assert f'<p class="lede">{escape(translated.summary)}</p>' in page
        for member in translated.members.values():
            assert member.description is not None
            assert str(inline_markdown(member.description)) in page
        assert f'<h2 id="_resolve">{escape(words.resolve)}</h2>' in page
        # The examples are what a client asking for this language receives.
        shown = [json.loads(body) for body in example_bodies(page)]
        assert shown == [json.loads(encode_json(catalog.localized(p, language))) for p in catalog[slug].examples()]
        assert [body["title"] for body in shown] == [translated.title] * len(shown)
        # Nothing is left in English (the translations are complete), so nothing says it is.
        assert ' lang="en"' not in page.replace('hreflang="en" lang="en"', "")
    index = site[f"{language}/index.html"].decode()
    assert f'<label for="_filter">{escape(words.filter_label)}</label>' in index
    retry = site[f"{language}/retry.html"].decode()
    assert f'<h1 id="_retry">{escape(words.retry_strategy)}</h1>' in retry


def test_the_filter_index_is_in_each_language_without_accents(site: dict[str, bytes]) -> None:
    """Each language's index filters on its own words; typed without accents, they still match."""
    assert searchable("Quota DÉPASSÉ, Überschritten") == "quota depasse, uberschritten"
    assert 'data-search="quota-exceeded 402 quota depasse ' in site["fr/index.html"].decode()
    assert 'data-search="quota-exceeded 402 kontingent uberschritten ' in site["de/index.html"].decode()
    assert 'data-search="quota-exceeded 402 quota exceeded ' in site["en/index.html"].decode()


LEFT_IN_ENGLISH = (
    HEADER
    + """problems:
  forbidden:
    status: 403
    title: Forbidden
    summary: Not allowed.
    description: Your key lacks the scope.
    resolution: Ask an owner.
    members: {scope: {type: str, description: The scope needed.}}
  ip-not-allowed: {extends: forbidden, title: IP not allowed, summary: Not from there.}
  gone: {status: 410, title: Gone, aliases: [deleted]}
"""
)
FRENCH_IN_PART = """translations:
  language: fr
  problems:
    forbidden:
      title: Interdit
      members: {scope: {description: La portée requise.}}
    ip-not-allowed: {summary: Pas depuis là.}
"""


def test_untranslated_texts_stay_in_the_default_language_and_say_so(write: WriteCatalog) -> None:
    """WCAG 2.x 3.1.2 (language of parts): what falls back to English is marked `lang="en"` on a French page."""
    write(LEFT_IN_ENGLISH, "errors.yaml")
    catalog = Catalog.load(write(FRENCH_IN_PART, "fr.yaml").parent)
    files = render_site(catalog)
    forbidden = files["fr/forbidden/index.html"].decode()
    assert "<h1>Interdit</h1>" in forbidden
    assert '<p class="lede" lang="en">Not allowed.</p>' in forbidden
    assert '<div lang="en">\n<p>Your key lacks the scope.</p>\n\n</div>' in forbidden
    assert '<div lang="en">\n<p>Ask an owner.</p>\n\n</div>' in forbidden
    assert "<td>La portée requise.</td>" in forbidden
    child = files["fr/ip-not-allowed/index.html"].decode()
    assert '<h1 lang="en">IP not allowed</h1>' in child
    assert '<p class="lede">Pas depuis là.</p>' in child
    assert '&rsaquo; <a href="../forbidden/">Interdit</a>' in child  # the parent, in French
    assert "<td>La portée requise.</td>" in child  # inherited: the parent's translation of it
    index = files["fr/index.html"].decode()
    assert '<a href="gone/" lang="en">Gone</a>' in index
    assert '<a href="forbidden/">Interdit</a>' in index
    assert '<p lang="en">Not allowed.</p>' in index
    renamed = files["fr/deleted/index.html"].decode()
    assert '<meta http-equiv="refresh" content="0; url=../gone/">' in renamed
    assert "<h1><code>deleted</code> s&#39;appelle désormais <code>gone</code></h1>" in renamed
    english = files["en/forbidden/index.html"].decode()
    assert english.count(' lang="en"') == 2  # the page's own (`<html>`) and the switcher's link to English
    for text in pages(files).values():
        assert_valid_html5(text)
    assert_links_resolve(files)


def test_a_catalog_without_translations_has_one_language_and_no_switcher(write: WriteCatalog) -> None:
    files = render_site(Catalog.load(write(FAMILY)))
    assert not [name for name in files if name.startswith("en/")]
    for text in pages(files).values():
        assert '<html lang="en">' in text
        assert "hreflang" not in text
        assert 'class="languages"' not in text
    assert "Content-Language" not in files["ip-not-allowed/index.html"].decode()


def test_a_language_the_site_has_no_words_for_gets_english_ones(write: WriteCatalog) -> None:
    write(HEADER + "problems:\n  gone: {status: 410, title: Gone}\n", "errors.yaml")
    translation = write("translations:\n  language: pt-BR\n  problems: {gone: {title: Removido}}\n", "pt.yaml")
    catalog = Catalog.load(translation.parent)
    files = render_site(catalog)
    page = files["pt-BR/gone/index.html"].decode()
    assert '<html lang="pt-BR">' in page
    assert "<h1>Removido</h1>" in page
    assert '<h2 id="_retrying">Retrying</h2>' in page
    assert '<a href="../../pt-BR/gone/" hreflang="pt-BR" lang="pt-BR" aria-current="true">Português (BR)</a>' in page
    assert (site_text("fr-CA").skip, site_text("de-AT").skip, site_text("es").skip) == (
        "Aller au contenu",
        "Zum Inhalt springen",
        "Skip to content",
    )
    assert (language_name("fr"), language_name("zh-Hant"), language_name("tlh")) == ("Français", "中文 (Hant)", "tlh")


def test_machine_readable_files_carry_every_language(site: dict[str, bytes]) -> None:
    """Once, at the root: catalog.json's `translations`, openapi.json's `x-translations`."""
    assert [part["language"] for part in json.loads(site["catalog.json"])["translations"]] == ["de", "fr"]
    assert not [name for name in site if name.endswith(".json") and name.partition("/")[0] in LANGUAGES]
    document = json.loads(site["openapi.json"])
    validate_openapi(document)
    assert document["info"]["x-languages"] == list(LANGUAGES)
    schema = document["components"]["schemas"]["QuotaExceeded"]
    assert schema["x-translations"]["fr"]["title"] == "Quota dépassé"
    assert schema["x-translations"]["de"]["properties"]["limit"] == {
        "description": "Die Grenze des Tarifs für diese Ressource."
    }
    assert list(schema["x-translations"]["fr"]["properties"]) == ["limit", "current", "resource"]  # the schema's order
    response = document["components"]["responses"]["QuotaExceeded"]
    assert response["x-translations"]["fr"]["description"] == (
        "Quota dépassé: Le quota de votre offre pour cette ressource est épuisé."
    )


# -- catalogs with more going on ----------------------------------------------

FAMILY = (
    HEADER
    + """\
problems:
  forbidden: {status: 403, title: Forbidden, summary: Not allowed.}
  ip-not-allowed:
    extends: forbidden
    title: IP not allowed
    members: {ip: {type: str, description: "The caller's `address`."}, retry-at: {type: datetime, required: false}}
    examples: [{members: {ip: 192.0.2.1}}]
  old-limit:
    status: 402
    title: Old limit
    since: 0.9.0
    deprecated: {since: 1.0.0, replaced_by: ip-not-allowed}
"""
)


def test_family_and_retired_pages(write: WriteCatalog) -> None:
    files = render_site(Catalog.load(write(FAMILY)))
    child = files["ip-not-allowed/index.html"].decode()
    assert 'A kind of <a href="../forbidden/">Forbidden</a>' in child
    assert '&rsaquo; <a href="../forbidden/">Forbidden</a>' in child  # the breadcrumb
    assert "The caller's <code>address</code>." in child  # member descriptions are Markdown
    assert 'problem["retry-at"]' in html.unescape(child)  # TypeScript needs brackets for it
    parent = files["forbidden/index.html"].decode()
    assert '<li><a href="../ip-not-allowed/">IP not allowed</a>' in parent
    retired = files["old-limit/index.html"].decode()
    assert "<strong>Retired</strong> in version 1.0.0" in retired
    assert 'Use <a href="../ip-not-allowed/"><code>ip-not-allowed</code></a> instead.' in retired
    assert '<li id="old-limit" data-search="old-limit 402 old limit " class="retired">' in files["index.html"].decode()
    assert json.loads(files["old-limit/schema.json"])["deprecated"] is True
    assert_links_resolve(files)


def test_renamed_slugs_keep_a_page_that_redirects(write: WriteCatalog) -> None:
    files = render_site(
        Catalog.load(write(HEADER + "problems:\n  gone: {status: 410, title: Gone, aliases: [deleted]}\n"))
    )
    page = files["deleted/index.html"].decode()
    assert '<meta http-equiv="refresh" content="0; url=../gone/">' in page
    assert '<link rel="canonical" href="../gone/">' in page
    assert "<h1><code>deleted</code> is now <code>gone</code></h1>" in page
    assert '<span id="deleted" class="alias">formerly <code>deleted</code></span>' in files["index.html"].decode()
    assert_valid_html5(page)
    assert_links_resolve(files)


HOSTILE = """\
catalog:
  name: 'Evil <script>alert("name")</script>'
  base_uri: 'https://errors.example.com/'
problems:
  evil:
    status: 400
    title: '<script>alert(1)</script>'
    summary: '"onmouseover=alert(2) x="'
    description: |
      <img src=x onerror=alert(3)> and <script>alert(4)</script>

      [click](javascript:alert(5)) "onmouseover=alert(6)
    resolution: '<iframe src="https://evil.example"></iframe>'
    members:
      note: {type: str, required: false, description: '"><script>alert(7)</script>'}
    examples:
      - {detail: '</code></pre><script>alert(8)</script>', members: {note: '"onmouseover=alert(9)'}}
"""


HOSTILE_FRENCH = """\
translations:
  language: fr
  problems:
    evil:
      title: '<script>alert("fr")</script>'
      summary: '"onmouseover=alert(11) x="'
      description: '<img src=x onerror=alert(12)> [clic](javascript:alert(13))'
      members: {note: {description: '"><script>alert(14)</script>'}}
"""
SCRIPTS = ("../../assets/site.js", "../assets/site.js", "assets/site.js")


def test_hostile_catalog_text_renders_inert(write: WriteCatalog) -> None:
    """In every language: a translation's text is the catalog's, escaped the same."""
    write(HOSTILE, "errors.yaml")
    files = render_site(Catalog.load(write(HOSTILE_FRENCH, "fr.yaml").parent))
    assert "fr/evil/index.html" in files
    for name, text in pages(files).items():
        assert_valid_html5(text)
        page = parse(text)
        for tag, attribute, value in page.attributes:
            assert not attribute.startswith("on"), (name, tag, attribute)
            assert tag not in ("img", "iframe"), (name, tag)
            if tag == "script":
                assert (attribute, value) in (*(("src", script) for script in SCRIPTS), ("defer", None))
            if attribute == "href":
                assert not (value or "").lower().startswith("javascript:"), name
        assert text.count("<script") == 1, name
    # The text is still there for the reader, escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in files["evil/index.html"].decode()
    assert "</code></pre><script>alert(8)" in example_bodies(files["evil/index.html"].decode())[0]
    assert "<h1>&lt;script&gt;alert(&#34;fr&#34;)&lt;/script&gt;</h1>" in files["fr/evil/index.html"].decode()


@PROPERTY
@given(document=catalogs(), data=st.data())
def test_generated_catalogs_build_valid_sites_whose_schemas_fit_what_is_sent(
    document: dict[str, Any], data: st.DataObject
) -> None:
    catalog = load(document)
    files = render_site(catalog)
    for text in pages(files).values():
        assert_valid_html5(text)
    assert_links_resolve(files)
    assert Catalog.from_json(files["catalog.json"]) == catalog
    problem = problem_for(data, catalog, st.text(max_size=8))
    schema = json.loads(files[f"{problem.code}/schema.json"])
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(json.loads(encode_json(problem)))


@PROPERTY
@given(document=catalogs(), data=st.data())
def test_generated_translations_build_sites_whose_languages_all_link_up(
    document: dict[str, Any], data: st.DataObject
) -> None:
    """Whatever a translation holds (some problems, some texts, any characters): every page of every
    language is valid HTML5, names every language's version of itself and x-default, and every link resolves."""
    language = data.draw(st.sampled_from(["fr", "de", "qaa", "pt-BR"]))  # `qaa`: one the site has no words for
    assume(language.lower() not in document["problems"])
    translated = data.draw(st.lists(st.sampled_from(sorted(document["problems"])), unique=True))
    texts = st.dictionaries(st.sampled_from(["title", "summary", "description", "resolution"]), CATALOG_TEXT)
    problems = {slug: data.draw(texts) for slug in translated}
    catalog = load({**document, "translations": {"language": language, "problems": problems}})
    assert catalog.languages == ("en", language)
    files = render_site(catalog)
    for name, text in pages(files).items():
        assert_valid_html5(text)
        named = {tag: resolve(name, href) for tag, href in ALTERNATE.findall(text)}
        assert list(named) == ["en", language, "x-default"], name
        assert all(target in files for target in named.values()), name
    assert_links_resolve(files)
    assert Catalog.from_json(files["catalog.json"]) == catalog


# -- build: options, theme, safety --------------------------------------------


def test_build_base_url_rebases_pages_and_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    assert main(["build", str(BUNDLED), "--out", str(out), "--base-url", "https://docs.example.org/errors/"]) == 0
    # 19 pages, an index and a retry table at the root, and in en/, de/ and fr/; schemas, data, assets, marker.
    assert capsys.readouterr().out == f"wrote {out}/ (19 problem pages in 3 languages, 108 files)\n"
    assert "<code>https://docs.example.org/errors/gone</code>" in (out / "gone" / "index.html").read_text()
    assert json.loads((out / "gone" / "schema.json").read_text())["properties"]["type"]["const"] == (
        "https://docs.example.org/errors/gone"
    )
    assert main(["build", str(BUNDLED), "--out", str(out), "--base-url", "relative/"]) == 1
    assert "--base-url: base_uri must be an absolute URI" in capsys.readouterr().err


def test_fragment_type_uris_give_schemas_without_id() -> None:
    files = render_site(Catalog.load(BUNDLED).rebased("https://dnswiz.example/errors#"))
    schema = json.loads(files["gone/schema.json"])
    assert "$id" not in schema
    assert schema["properties"]["type"]["const"] == "https://dnswiz.example/errors#gone"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_build_check_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    assert main(["build", str(BUNDLED), "--out", str(out), "--check"]) == 1
    assert main(["build", str(BUNDLED), "--out", str(out)]) == 0
    assert main(["build", str(BUNDLED), "--out", str(out), "--check"]) == 0
    (out / "gone" / "index.html").write_text("edited by hand")
    capsys.readouterr()
    assert main(["build", str(BUNDLED), "--out", str(out), "--check"]) == 1
    assert capsys.readouterr().err == f"{out} is stale (1 file(s) differ, first gone/index.html): rebuild it\n"


def test_a_theme_overrides_templates_and_assets(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir()
    (theme / "templates" / "problem.html").write_text(
        '{% extends "base.html" %}{% block title %}{{ p.spec.title }}{% endblock %}'
        "{% block main %}<h1>Custom {{ p.spec.slug }}</h1>{% endblock %}"
    )
    (theme / "static" / "site.css").write_text("body { color: rebeccapurple; }")
    (theme / "static" / "logo.svg").write_text("<svg/>")
    files = render_site(Catalog.load(BUNDLED), theme=theme)
    assert "<h1>Custom gone</h1>" in files["gone/index.html"].decode()
    assert files["assets/site.css"] == b"body { color: rebeccapurple; }"
    assert files["assets/logo.svg"] == b"<svg/>"
    assert files["assets/site.js"] == (ROOT / "site" / "static" / "site.js").read_bytes()  # not overridden: bundled
    assert '<form class="filter"' in files["index.html"].decode()  # not overridden: bundled


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_missing_theme_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(BUNDLED), "--out", str(tmp_path / "site"), "--theme", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"--theme {tmp_path / 'nope'}: no such folder (it holds templates/ and static/)\n"
    assert not (tmp_path / "site").exists()
    assert main(["serve", str(BUNDLED), "--port", "0", "--theme", str(tmp_path / "nope")]) == 1


def test_failed_builds_leave_the_previous_site_untouched(
    tmp_path: Path, write: WriteCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "site"
    assert main(["build", str(BUNDLED), "--out", str(out)]) == 0
    before = snapshot(out)
    broken = write(HEADER + "problems:\n  gone: {stauts: 410, title: Gone}\n", name="broken.yaml")
    capsys.readouterr()
    assert main(["build", str(broken), "--out", str(out)]) == 1
    assert "broken.yaml:6:10: error: unknown key 'stauts'" in capsys.readouterr().err
    theme = tmp_path / "theme" / "templates"
    theme.mkdir(parents=True)
    (theme / "index.html").write_text("{{ no_such_name }}")
    assert main(["build", str(BUNDLED), "--out", str(out), "--theme", str(theme.parent)]) == 1
    assert f"{theme / 'index.html'}:1: theme error: 'no_such_name' is undefined" in capsys.readouterr().err
    (theme / "index.html").write_text("{% if %}")
    assert main(["build", str(BUNDLED), "--out", str(out), "--theme", str(theme.parent)]) == 1
    assert "index.html:1: theme error:" in capsys.readouterr().err
    assert snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["site"]  # no temporary folders left behind


def test_a_write_that_fails_midway_keeps_the_old_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"
    files = render_site(Catalog.load(BUNDLED))
    write_site(files, out)
    before = snapshot(out)
    written = 0
    real = Path.write_bytes

    def failing(self: Path, data: bytes) -> int:
        nonlocal written
        written += 1
        if written == 10:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(OSError, match="No space left"):
        write_site({**files, "extra.html": b"x"}, out)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_build_refuses_to_replace_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(SiteError, match="refusing to replace a folder that is not a problemdetails site"):
        write_site(render_site(Catalog.load(BUNDLED)), precious)
    assert main(["build", str(BUNDLED), "--out", str(precious)]) == 1
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    write_site({"index.html": b"ok"}, tmp_path / "empty")  # an empty folder is fine
    listing = b"a problemdetails doc site; `problemdetails build` replaces this folder\nindex.html\n"
    assert read_site(tmp_path / "empty") == {MARKER: listing, "index.html": b"ok"}
    with pytest.raises(SiteError, match="not a site built by"):
        read_site(precious)


def test_openapi_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", str(BUNDLED)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert main(["openapi", str(BUNDLED), "--out", str(tmp_path / "problems.json")]) == 0
    assert json.loads((tmp_path / "problems.json").read_text()) == printed
    assert printed == json.loads(render_site(Catalog.load(BUNDLED))["openapi.json"])
    assert main(["openapi", str(BUNDLED), "--base-url", "https://api.example/e/"]) == 0
    assert "https://api.example/e/gone" in capsys.readouterr().out


def test_the_wheel_ships_the_theme(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("problemdetails-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for theme_file in sorted((ROOT / "site").rglob("*")):
        if theme_file.is_file():
            assert f"problemdetails/site/{theme_file.relative_to(ROOT / 'site').as_posix()}" in names


def test_a_rebuild_keeps_files_the_build_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "site"
    files = render_site(Catalog.load(BUNDLED))
    write_site(files, out)
    (out / "CNAME").write_text("errors.example.com\n")
    (out / ".git").write_text("gitdir: /srv/repo/.git/worktrees/site\n")  # a git worktree
    (out / "gone" / "notes.txt").write_text("mine")
    (out / "index.html").write_text("edited by hand")  # the build's own name: the build wins
    write_site(files, out)
    assert (out / "CNAME").read_text() == "errors.example.com\n"
    assert (out / ".git").read_text().startswith("gitdir:")
    assert (out / "gone" / "notes.txt").read_text() == "mine"
    assert (out / "index.html").read_bytes() == files["index.html"]
    assert read_site(out) == files  # what is served is still only the build's


def test_a_marker_that_is_no_regular_file_of_ours_marks_nothing(tmp_path: Path) -> None:
    files = render_site(Catalog.load(BUNDLED))
    for make in ("symlink", "folder", "foreign"):
        out = tmp_path / make
        out.mkdir()
        (out / "precious.txt").write_text("keep me")
        if make == "symlink":
            real = tmp_path / f"{make}-marker"
            real.write_bytes(files[MARKER])
            (out / MARKER).symlink_to(real)
        elif make == "folder":
            (out / MARKER).mkdir()
        else:
            (out / MARKER).write_text("something else\n")
        with pytest.raises(SiteError, match="refusing to replace a folder that is not a problemdetails site"):
            write_site(files, out)
        assert (out / "precious.txt").read_text() == "keep me"


def test_folders_a_killed_build_left_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "site"
    (tmp_path / ".site.new-abc123").mkdir()
    (tmp_path / ".site.old-def456" / "site").mkdir(parents=True)
    write_site(render_site(Catalog.load(BUNDLED)), out)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]


@pytest.mark.parametrize("atomic", [True, False], ids=["renameat2", "two-renames"])
def test_the_swap_never_leaves_out_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, atomic: bool) -> None:
    out = tmp_path / "site"
    files = render_site(Catalog.load(BUNDLED))
    write_site(files, out)
    seen: list[bool] = []
    real = os.replace

    def watching(source: Any, target: Any) -> None:
        real(source, target)
        seen.append(out.is_dir())  # between the renames, `out` would be missing

    if not atomic:
        monkeypatch.setattr(sys, "platform", "another-os")
    monkeypatch.setattr(os, "replace", watching)
    write_site({**files, "extra.html": b"x"}, out)
    assert read_site(out)["extra.html"] == b"x"
    if atomic:
        assert seen == []  # one renameat2 exchange: no rename at all
    else:
        assert seen == [False, True, True]  # out is gone for a moment: SIGINT and SIGTERM are held then


def test_sigterm_during_the_two_renames_waits_for_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held for the whole process: another thread alive (a server's, a pool's) does not take it meanwhile."""
    import threading

    done = threading.Event()
    other = threading.Thread(target=done.wait, daemon=True)
    other.start()
    out = tmp_path / "site"
    files = render_site(Catalog.load(BUNDLED))
    write_site(files, out)
    real = os.replace
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: received.append(number))

    def interrupted(source: Any, target: Any) -> None:
        real(source, target)
        if not out.exists():
            os.kill(os.getpid(), signal.SIGTERM)  # arrives between the two renames
            assert received == []  # held: not handled yet

    monkeypatch.setattr(sys, "platform", "another-os")
    monkeypatch.setattr(os, "replace", interrupted)
    try:
        write_site({**files, "extra.html": b"x"}, out)
    finally:
        signal.signal(signal.SIGTERM, previous)
        done.set()
    assert received == [signal.SIGTERM]  # delivered once both renames were done
    assert read_site(out)["extra.html"] == b"x"


AJV_SCRIPT = ROOT / "tests" / "tools" / "validate-schemas.js"


def test_ajv_accepts_every_body_against_its_schema(tmp_path: Path) -> None:
    """ajv (JSON Schema 2020-12, strict, formats on) reads the site's schemas as jsonschema does."""
    if not (ROOT / "tests" / "tools" / "node_modules" / "ajv").exists():
        pytest.fail("ajv is missing: `make test` installs it (npm ci --prefix tests/tools)")
    catalog = Catalog.load(BUNDLED)
    files = render_site(catalog)
    cases = []
    for slug in catalog:
        schema = json.loads(files[f"{slug}/schema.json"])
        for example in catalog[slug].examples():
            cases.append({"schema": schema, "body": json.loads(encode_json(example))})
        minimal = catalog[slug]() if not catalog[slug].__problemdetails__.required else None
        if minimal is not None:
            cases.append({"schema": schema, "body": json.loads(encode_json(minimal))})
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, str(AJV_SCRIPT), str(tmp_path / "cases.json")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(cases) > len(catalog)
    wrong = [{"schema": cases[0]["schema"], "body": {**cases[0]["body"], "code": "not-this-one"}}]
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    rejected = subprocess.run([node, str(AJV_SCRIPT), str(tmp_path / "wrong.json")], capture_output=True, text=True)
    assert rejected.returncode == 1, rejected.stdout  # the check can fail: `code` is a `const`


def test_a_rebuild_over_an_older_versions_site_keeps_nothing_stale(tmp_path: Path) -> None:
    # Before markers listed files, a site's marker held only its first line: then no file is known to be foreign.
    out = tmp_path / "site"
    out.mkdir()
    (out / MARKER).write_text("a problemdetails doc site; `problemdetails build` replaces this folder\n")
    (out / "retired-slug").mkdir()
    (out / "retired-slug" / "index.html").write_text("an old page")
    files = render_site(Catalog.load(BUNDLED))
    write_site(files, out)
    assert not (out / "retired-slug").exists()
    assert read_site(out) == files


def test_a_large_catalog_renders_the_same_in_forked_workers(
    write: WriteCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`problemdetails build` renders a large catalog's pages on every core: the same files as one process."""
    import threading

    from problemdetails import _site

    entries = "".join(
        f"  pp{number}: {{status: {400 + number % 100}, title: P{number}, description: '**{number}**'}}\n"
        for number in range(_site.PARALLEL_PAGES + 1)
    )
    write(HEADER + "problems:\n" + entries)
    french = "".join(f"    pp{number}: {{title: P{number} en français}}\n" for number in range(0, 400, 7))
    catalog = Catalog.load(write("translations:\n  language: fr\n  problems:\n" + french, "fr.yaml").parent)
    pools: list[int] = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def pool(workers: int, **options: Any) -> Any:
        pools.append(workers)
        return real_pool(workers, **options)

    monkeypatch.setattr(_site, "ProcessPoolExecutor", pool)
    # The suite's own threads (servers, pools) would make the build keep to one process, as it should.
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    forked = render_site(catalog, workers=2)
    assert forked == render_site(catalog)
    assert pools == [2]  # the first build forked
    assert "<h1>P7 en français</h1>" in forked["fr/pp7/index.html"].decode()  # every language's pages, forked too


# Characters that start or end Markdown syntax, whitespace of every kind, and plain letters.
_MARKDOWN_TEXT = st.text(
    alphabet=st.sampled_from(list("aZ9 .,;:'\"()/?%$@#>+-=|1)\\`*_[]<>&!~\n\r\t\0\u00a0\u2028\u3000é"))
)


@settings(max_examples=2000, deadline=None)
@given(text=_MARKDOWN_TEXT | st.text())
def test_block_markdown_is_markdown_it(text: str) -> None:
    # The plain-paragraph shortcut must write what markdown-it writes, byte for byte.
    assert block_markdown(text) == _markdown.render(text)


def test_block_markdown_shortcut_taken_for_a_plain_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    sentence = 'Fetch the "zone" again, apply the change, and retry once.\n'
    expected = _markdown.render(sentence)
    monkeypatch.setattr("problemdetails._site._markdown", None)  # the parser is not consulted
    assert (
        block_markdown(sentence)
        == expected
        == "<p>Fetch the &quot;zone&quot; again, apply the change, and retry once.</p>\n"
    )


def _large_catalog(write: WriteCatalog) -> Path:
    """More pages than `PARALLEL_PAGES`, so `build` forks: a root per status and children (no warnings)."""
    from problemdetails import _site

    # 400 and 422 take framework validation errors: they declare `errors`, or `check` warns.
    errors = ", members: {errors: {type: 'list[error]', required: false}}"
    roots = "".join(
        f"  r{status}: {{status: {status}, title: R{status}{errors if status in (400, 422) else ''}}}\n"
        for status in range(400, 600)
    )
    count = _site.PARALLEL_PAGES + 1 - 200
    children = "".join(
        f"  cc{number}: {{extends: r{400 + number % 200}, title: C{number}}}\n" for number in range(count)
    )
    return write(HEADER + "problems:\n" + roots + children, name="large.yaml")


@pytest.mark.parametrize(
    ("template", "line"),
    [
        pytest.param("<p>{{ p.slug }}</p>\n{{ p.no_such_thing }}\n", 2, id="render-error"),
        pytest.param("<p>{{ p.slug }}</p>\n\n{% if %}\n", 3, id="syntax-error"),
        pytest.param("<p>{{ p.slug }}</p>\n\n\n{{ 1 // 0 }}\n", 4, id="python-error"),
    ],
)
def test_a_theme_error_is_the_same_finding_whatever_the_worker_count(
    tmp_path: Path, write: WriteCatalog, template: str, line: int
) -> None:
    catalog = _large_catalog(write)
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "problem.html").write_text(template)
    errors: dict[str, str] = {}
    command = [sys.executable, "-m", "problemdetails", "build", str(catalog), "--out", str(tmp_path / "site")]
    for jobs in ([], ["--jobs", "1"], ["--jobs", "2"], ["--jobs", "3"]):
        result = subprocess.run(
            [*command, "--theme", str(theme), *jobs],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 1
        assert result.stdout == ""
        errors[" ".join(jobs) or "default"] = result.stderr
    assert len(set(errors.values())) == 1, errors
    (message,) = errors["--jobs 1"].splitlines()
    assert message.startswith(f"{theme / 'templates' / 'problem.html'}:{line}: theme error: ")
    assert not (tmp_path / "site").exists()


def test_a_worker_that_dies_is_a_one_line_error_and_the_site_stays(
    tmp_path: Path, write: WriteCatalog, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    from problemdetails import _site

    catalog = _large_catalog(write)
    out = tmp_path / "site"
    assert main(["build", str(catalog), "--out", str(out), "--jobs", "1"]) == 0
    before = snapshot(out)
    capsys.readouterr()
    parent = os.getpid()
    html_text = _site._html_text

    def dying(page: str) -> bytes:
        if os.getpid() != parent:
            os._exit(3)  # a worker killed mid-page (the OOM killer, a segfault in an extension)
        return html_text(page)

    monkeypatch.setattr(_site, "_html_text", dying)
    # The suite's own threads (servers, pools) would make the build keep to one process.
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert main(["build", str(catalog), "--out", str(out), "--jobs", "2"]) == 1
    out_text, err = capsys.readouterr()
    assert out_text == ""
    (message,) = err.splitlines()
    assert message.startswith("a worker rendering the problem pages stopped abruptly")
    assert "Traceback" not in err
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == []
