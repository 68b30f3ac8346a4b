"""The doc site in a real headless browser: Debian's chromium, driven by Playwright.

The bundled catalog's site is built by the CLI and served by a plain static
file server on 127.0.0.1, as any static host would; its pages in every language
are checked as the default's are, and the language switcher and the middleware's
`docs_path` negotiation are driven by the browser too. Every test records the
browser's requests and console: nothing may leave the site, and nothing may
log an error. Screenshots land in build/test-artifacts/screenshots/.
axe-core checks every kind of page in the browser and the Nu HTML Checker (vnu)
checks the same files as HTML: both find nothing, so fixing one never breaks the other.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from problemdetails import Catalog, WSGIProblemMiddleware
from problemdetails._cli import main
from tests.conftest import BUNDLED, ROOT
from tests.test_site import HOSTILE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "build" / "test-artifacts" / "screenshots"
# Without these, chromium reaches for Google's services at start-up.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


# The kinds of page the bundled catalog has none of: a parent and its child, a retired
# problem, a renamed slug's redirect page, several examples of one problem.
FAMILY = """\
catalog:
  name: Family API
  base_uri: https://errors.example.com/
  version: 2.0.0
problems:
  forbidden: {status: 403, title: Forbidden, summary: Not allowed., headers: [Retry-After]}
  ip-not-allowed:
    extends: forbidden
    title: IP not allowed
    aliases: [ip-blocked]
    retry: after-change
    description: Your address is not on the zone's allow list.
    resolution: Ask an owner to add it.
    members:
      ip: {type: str, description: "The caller's `address`."}
      retry-at: {type: datetime, required: false}
    examples:
      - {members: {ip: 192.0.2.1}}
      - {detail: Blocked since noon., members: {ip: 2001:db8::1}}
  old-limit:
    status: 402
    title: Old limit
    since: 0.9.0
    deprecated: {since: 1.0.0, replaced_by: ip-not-allowed}
"""


# FAMILY in French, in part: what is left out is in English on the French pages, marked `lang="en"`.
FAMILY_FRENCH = """\
translations:
  language: fr
  problems:
    forbidden: {title: Interdit, summary: Non autorisé.}
    ip-not-allowed:
      title: IP non autorisée
      description: Votre adresse n'est pas sur la liste d'accès de la zone.
      members: {ip: {description: "L'`adresse` de l'appelant."}}
"""


@pytest.fixture(scope="module")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sites `build` writes for the bundled catalog (docs/errors/), FAMILY (with some French) and HOSTILE's text."""
    root = tmp_path_factory.mktemp("browser")
    # Hosted under a sub-path, as on a real host: every link must be relative.
    assert main(["build", str(BUNDLED), "--out", str(root / "docs" / "errors")]) == 0
    (root / "family-fr.yaml").write_text(FAMILY_FRENCH, encoding="utf-8")
    for name, text in (("family", FAMILY), ("hostile", HOSTILE)):
        (root / f"{name}.yaml").write_text(text, encoding="utf-8")
        more = [str(root / "family-fr.yaml")] if name == "family" else []
        assert main(["build", str(root / f"{name}.yaml"), *more, "--out", str(root / "docs" / name)]) == 0
    return root


@pytest.fixture(scope="module")
def docs_url(site_root: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site_root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/docs/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site_url(docs_url: str) -> str:
    return f"{docs_url}errors/"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET)
    yield browser
    browser.close()


class Watched:
    """A page whose requests, console errors and uncaught exceptions are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.problems: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.problems.append(str(error)))

    def assert_clean(self, site_url: str) -> None:
        assert self.problems == []
        outside = [url for url in self.requests if not url.startswith(site_url) and not url.startswith("data:")]
        assert outside == []
        assert self.requests, "the page made no requests at all: was it loaded?"


def open_page(browser: Browser, width: int, *, javascript: bool = True, scheme: str = "light") -> Watched:
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        java_script_enabled=javascript,
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    return Watched(context.new_page())


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


VISIBLE_ITEMS = "document.querySelectorAll('li[data-search]:not([hidden])').length"


@pytest.mark.parametrize(("width", "label"), [(1280, "desktop"), (390, "phone")])
def test_filter_to_one_slug_and_follow_it(browser: Browser, site_url: str, width: int, label: str) -> None:
    watched = open_page(browser, width)
    page = watched.page
    page.goto(site_url)
    shot(page, f"index-{label}")
    assert page.evaluate(VISIBLE_ITEMS) == 19
    search = page.get_by_label("Filter problem types")
    assert search.is_visible()
    search.fill("quota")  # quota-exceeded, and insufficient-storage whose summary names a quota
    assert page.evaluate(VISIBLE_ITEMS) == 2
    search.fill("quota 402")
    assert page.evaluate(VISIBLE_ITEMS) == 1
    assert page.locator("#_filter-count").text_content() == "1 of 19 problem types"
    assert page.url == f"{site_url}?q=quota+402"  # a filtered view can be shared
    assert page.locator("section.group:not([hidden])").count() == 1  # 5xx has no match and hides
    search.fill("503")
    assert page.locator("li[data-search]:not([hidden]) a").all_text_contents() == ["Service unavailable"]
    search.fill("quota 402")
    search.press("Enter")
    page.wait_for_url(f"{site_url}quota-exceeded/")
    assert page.locator("h1").text_content() == "Quota exceeded"
    assert page.locator(".facts").get_by_text("402 Payment Required").is_visible()
    shot(page, f"quota-exceeded-{label}")
    for path in ("", "quota-exceeded/", "unprocessable/"):
        page.goto(site_url + path)
        # Phones scroll tables and code inside their boxes, never the whole page sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    page.goto(f"{site_url}?q=gateway")  # the filter reads ?q= on load
    assert page.evaluate(VISIBLE_ITEMS) == 2
    watched.assert_clean(site_url)


def test_without_javascript_the_full_list_is_plain_html(browser: Browser, site_url: str) -> None:
    watched = open_page(browser, 1280, javascript=False)
    page = watched.page
    page.goto(site_url)
    assert page.locator("li[data-search]").count() == 19
    assert all(item.is_visible() for item in page.locator("li[data-search]").all())
    assert not page.locator("form.filter").is_visible()  # a filter that cannot work is not shown
    page.goto(f"{site_url}conflict/")
    assert page.locator("#_snippet-python").is_visible()
    assert not page.locator("button.copy").first.is_visible()
    shot(page, "conflict-no-javascript")
    watched.assert_clean(site_url)


CONTRAST = """
(selector) => {
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const rgba = (text) => text.match(/[\\d.]+/g).map(Number);
  const element = document.querySelector(selector);
  let background = element;
  const transparent = (node) => rgba(getComputedStyle(node).backgroundColor)[3] === 0;
  while (background && transparent(background)) background = background.parentElement;
  const fg = luminance(rgba(getComputedStyle(element).color));
  const bg = luminance(rgba(getComputedStyle(background || document.body).backgroundColor));
  return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa_in_both_color_schemes(browser: Browser, site_url: str, scheme: str) -> None:
    watched = open_page(browser, 1280, scheme=scheme)
    page = watched.page
    page.goto(f"{site_url}rate-limited/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(19, 20, 23)")
    for selector in (
        "h1",
        "main p",
        ".lede",
        ".crumbs a",
        ".facts dt",
        "pre code",
        "figcaption",
        "td code",
        ".colophon",
    ):
        ratio = page.evaluate(CONTRAST, selector)
        assert ratio >= 4.5, (scheme, selector, ratio)
    page.goto(site_url)
    for selector in (".status", ".retry", ".problems p", ".problems a", "#_filter"):
        ratio = page.evaluate(CONTRAST, selector)
        assert ratio >= 4.5, (scheme, selector, ratio)
    shot(page, f"index-{scheme}")
    watched.assert_clean(site_url)


def test_keyboard_skip_link_focus_ring_anchor_and_copy(browser: Browser, site_url: str) -> None:
    watched = open_page(browser, 1280)
    page = watched.page
    page.goto(f"{site_url}#conflict")  # dnswiz-style `.../errors#conflict` links
    assert page.evaluate("document.querySelector('li:target').id") == "conflict"
    page.goto(f"{site_url}gone/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    assert page.locator("a.skip").is_visible()  # it slides in when focused
    page.keyboard.press("Enter")
    # Playwright learns of the same-document navigation by an event: wait for it, bounded.
    page.wait_for_url(re.compile(r"#_main$"), timeout=5000)
    button = page.locator("button.copy").first
    button.click()
    # The label changes when the click handler's promise settles: wait for it (bounded), then read it.
    expect(button).to_have_text(re.compile(r"^(Copied|Selected)$"), timeout=5000)  # headless: no clipboard, it selects
    watched.assert_clean(site_url)


AXE = ROOT / "tests" / "tools" / "node_modules" / "axe-core" / "axe.min.js"
# Every kind of page: the index, the retry table, problems with members, validation items,
# response headers, a parent, a child with several examples, a retired one.
# In French and German too, and French left partly in English (FAMILY's).
PAGES = [
    "errors/",
    "errors/quota-exceeded/",
    "errors/unprocessable/",
    "errors/retry.html",
    "errors/conflict/",
    "errors/rate-limited/",
    "errors/fr/",
    "errors/fr/quota-exceeded/",
    "errors/fr/retry.html",
    "errors/de/unprocessable/",
    "errors/de/rate-limited/",
    "family/",
    "family/forbidden/",
    "family/ip-not-allowed/",
    "family/old-limit/",
    "family/fr/ip-not-allowed/",
    "family/fr/old-limit/",
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 375])
def test_axe_finds_nothing(browser: Browser, docs_url: str, width: int, scheme: str) -> None:
    """axe-core, every rule it runs by default (WCAG 2.x A/AA and best practices): no violation of any impact.

    Minor and moderate ones count too: `landmark-unique` (moderate) once stood on every problem page.
    """
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci --prefix tests/tools)")
    watched = open_page(browser, width, scheme=scheme)
    page = watched.page
    found: dict[str, list[str]] = {}
    for path in PAGES:
        page.goto(docs_url + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document)")
        assert result["passes"], path  # it did run its rules on this page
        violations = [
            f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:3]}"
            for violation in result["violations"]
        ]
        if violations:
            found[path] = violations
    assert found == {}
    watched.assert_clean(docs_url)


VNU = ROOT / "tests" / "tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# A page and a stylesheet the checker must flag, checked in the same run: proof that it ran
# and read both kinds of file.
CANARY_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>canary</title></head>
<body><h1 id="x">x</h1><pre tabindex="0" aria-labelledby="x">x</pre></body></html>
"""
CANARY_CSS = "p { colour: red; }\n"


def _site_path(url: str, site_root: Path) -> str:
    """`docs/errors/conflict/index.html` for vnu's `file:/.../docs/errors/conflict/index.html`."""
    return ("/" + url.removeprefix("file:").lstrip("/")).removeprefix(f"{site_root}/")


def test_vnu_finds_nothing_on_any_page(site_root: Path, tmp_path: Path) -> None:
    """The Nu HTML Checker (vnu) over every page and stylesheet of the sites: no error, warning or info.

    Run beside axe so that fixing one never breaks the other: `aria-labelledby` on `<pre>`, added
    for axe, was invalid HTML on every problem page.
    """
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: `make test` installs Debian's default-jre-headless")
    if not VNU.exists():
        pytest.fail(f"{VNU} is missing: `make test` installs it (npm ci --prefix tests/tools)")
    files = sorted(path for pattern in ("*.html", "*.css") for path in site_root.rglob(pattern))
    assert len([path for path in files if path.name == "index.html"]) >= 20 + 5 + 2  # with the alias page
    for language in ("en", "de", "fr"):  # every language's pages
        assert site_root / "docs" / "errors" / language / "quota-exceeded" / "index.html" in files
    assert site_root / "docs" / "family" / "fr" / "ip-blocked" / "index.html" in files
    assert {site_root / "docs" / site / "assets" / "site.css" for site in ("errors", "family", "hostile")} <= set(files)
    assert (site_root / "docs" / "family" / "ip-blocked" / "index.html") in files
    canaries = [tmp_path / "canary.html", tmp_path / "canary.css"]
    canaries[0].write_text(CANARY_HTML, encoding="utf-8")
    canaries[1].write_text(CANARY_CSS, encoding="utf-8")
    # One JVM for every file: it is slow to start.
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", "--also-check-css", *map(str, canaries + files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stderr or run.stdout)  # vnu writes its report to standard error
    messages = report["messages"]
    flagged = [message for message in messages if "/canary." in message.get("url", "")]
    assert sorted((message["url"].rsplit("/", 1)[1], message["type"]) for message in flagged) == [
        ("canary.css", "error"),
        ("canary.html", "error"),
    ], messages
    found = [
        f"{_site_path(message.get('url', ''), site_root)}:{message.get('lastLine')}: "
        f"{message['type']}{'/' + message['subType'] if 'subType' in message else ''}: {message['message']}"
        for message in messages
        if message not in flagged
    ]
    assert found == []


# -- languages -------------------------------------------------------------------


def test_the_language_switcher_works_without_javascript_and_by_keyboard(browser: Browser, site_url: str) -> None:
    watched = open_page(browser, 1280, javascript=False)
    page = watched.page
    page.goto(f"{site_url}quota-exceeded/")  # the root: English, and x-default
    switcher = page.get_by_role("navigation", name="Languages")
    assert switcher.get_by_role("link").all_text_contents() == ["English", "Deutsch", "Français"]
    assert switcher.get_by_role("link", name="English").get_attribute("aria-current") == "true"
    switcher.get_by_role("link", name="Français").click()
    page.wait_for_url(f"{site_url}fr/quota-exceeded/")
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.locator("h1").text_content() == "Quota dépassé"
    french = page.get_by_role("navigation", name="Langues")  # its label in the page's language
    assert french.get_by_role("link", name="Français").get_attribute("aria-current") == "true"
    assert french.get_by_role("link", name="English").get_attribute("aria-current") is None
    shot(page, "quota-exceeded-fr")
    # By keyboard: the skip link, then English, then Deutsch.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Deutsch"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site_url}de/quota-exceeded/")
    assert page.locator("h1").text_content() == "Kontingent überschritten"
    page.get_by_role("navigation", name="Sprachen").get_by_role("link", name="English").click()
    page.wait_for_url(f"{site_url}en/quota-exceeded/")
    assert page.locator("h1").text_content() == "Quota exceeded"
    # Within a language, its links stay in it.
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Retry strategy").click()
    page.wait_for_url(f"{site_url}en/retry.html")
    watched.assert_clean(site_url)


def test_the_french_index_filters_in_french_accents_or_not(browser: Browser, site_url: str) -> None:
    watched = open_page(browser, 390)
    page = watched.page
    page.goto(f"{site_url}fr/")
    search = page.get_by_label("Filtrer les types de problèmes")
    search.fill("depasse 402")  # typed without its accents
    assert page.locator("li[data-search]:not([hidden]) a").all_text_contents() == ["Quota dépassé"]
    assert page.locator("#_filter-count").text_content() == "1 sur 19 types de problèmes"
    search.press("Enter")
    page.wait_for_url(f"{site_url}fr/quota-exceeded/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the switcher wraps on a phone
    button = page.locator("button.copy").first
    assert button.text_content() == "Copier"
    button.click()
    expect(button).to_have_text(re.compile(r"^(Copié|Sélectionné)$"), timeout=5000)
    shot(page, "quota-exceeded-fr-phone")
    watched.assert_clean(site_url)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietWSGI(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _no_such_page(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b""]


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    """A service whose middleware serves the bundled catalog's site under `docs_path`, on 127.0.0.1."""
    catalog = Catalog.load(BUNDLED)
    app = WSGIProblemMiddleware(_no_such_page, catalog=catalog, docs_path="/errors/")
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietWSGI)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/errors/"
    server.shutdown()
    server.server_close()


def test_docs_path_opens_type_uris_in_the_browsers_language_and_keeps_a_choice(
    browser: Browser, service_url: str
) -> None:
    """A French browser following a `type` URI reads French; choosing English in the switcher stays English."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(f"{service_url}quota-exceeded")  # `base_uri + slug`, as a problem's `type` carries it
    assert page.url == f"{service_url}fr/quota-exceeded/"
    assert page.locator("h1").text_content() == "Quota dépassé"
    page.get_by_role("navigation", name="Langues").get_by_role("link", name="English").click()
    page.wait_for_url(f"{service_url}en/quota-exceeded/")
    assert page.locator("h1").text_content() == "Quota exceeded"
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Standard problems").click()
    page.wait_for_url(f"{service_url}en/")  # still English: a language's folder does not negotiate
    assert page.evaluate("document.documentElement.lang") == "en"
    german = browser.new_context(locale="de-DE")
    other = Watched(german.new_page())
    other.page.goto(service_url)
    assert other.page.url == f"{service_url}de/"
    assert other.page.locator("h2").first.text_content() == "4xx Fehler des Clients"
    english = browser.new_context(locale="en-US")
    third = Watched(english.new_page())
    third.page.goto(f"{service_url}conflict/")
    assert third.page.url == f"{service_url}conflict/"  # the default language: the root page itself
    assert third.page.locator("h1").text_content() == "Conflict"
    for seen in (watched, other, third):
        seen.assert_clean(service_url)
