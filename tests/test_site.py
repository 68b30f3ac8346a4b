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
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi

from problemdetails import Catalog, decode_json, encode_json
from problemdetails._cli import main
from problemdetails._exceptions import SiteError
from problemdetails._site import MARKER, _markdown, block_markdown, read_site, render_site, write_site
from tests.conftest import BUNDLED, HEADER, ROOT, WriteCatalog
from tests.test_properties import PROPERTY, catalogs, load, problem_for

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


def test_pages_are_valid_html5_with_landmarks_and_ordered_headings(site: dict[str, bytes]) -> None:
    for name, text in pages(site).items():
        assert_valid_html5(text)
        for landmark in ("<header", "<main", "<footer", '<nav aria-label="Site">', '<html lang="en">'):
            assert landmark in text, (name, landmark)
        levels = [int(level) for level in re.findall(r"<h([1-6])[ >]", text)]
        assert levels[0] == 1, name
        assert levels.count(1) == 1, name
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), (name, levels)


def test_no_broken_internal_links(site: dict[str, bytes]) -> None:
    assert assert_links_resolve(site) > 19 * 5


def test_pages_are_small_and_load_nothing_from_outside(site: dict[str, bytes]) -> None:
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


def test_hostile_catalog_text_renders_inert(write: WriteCatalog) -> None:
    files = render_site(Catalog.load(write(HOSTILE)))
    for name, text in pages(files).items():
        assert_valid_html5(text)
        page = parse(text)
        for tag, attribute, value in page.attributes:
            assert not attribute.startswith("on"), (name, tag, attribute)
            assert tag not in ("img", "iframe"), (name, tag)
            if tag == "script":
                assert (attribute, value) in (("src", "../assets/site.js"), ("src", "assets/site.js"), ("defer", None))
            if attribute == "href":
                assert not (value or "").lower().startswith("javascript:"), name
        assert text.count("<script") == 1, name
    # The text is still there for the reader, escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in files["evil/index.html"].decode()
    assert "</code></pre><script>alert(8)" in example_bodies(files["evil/index.html"].decode())[0]


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


# -- build: options, theme, safety --------------------------------------------


def test_build_base_url_rebases_pages_and_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    assert main(["build", str(BUNDLED), "--out", str(out), "--base-url", "https://docs.example.org/errors/"]) == 0
    assert capsys.readouterr().out == f"wrote {out}/ (19 problem pages, 45 files)\n"
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
    catalog = Catalog.load(write(HEADER + "problems:\n" + entries))
    pools: list[int] = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def pool(workers: int, **options: Any) -> Any:
        pools.append(workers)
        return real_pool(workers, **options)

    monkeypatch.setattr(_site, "ProcessPoolExecutor", pool)
    # The suite's own threads (servers, pools) would make the build keep to one process, as it should.
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert render_site(catalog, workers=2) == render_site(catalog)
    assert pools == [2]  # the first build forked


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
