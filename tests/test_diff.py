"""`problemdetails diff`: each kind of change on a mutated copy of the bundled catalog."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from problemdetails import Catalog, Problem, decode_json, encode_json
from problemdetails._cli import main
from problemdetails._diff import diff_catalogs
from tests.conftest import BUNDLED, WriteCatalog

Problems = dict[str, Any]
Translations = dict[str, dict[str, Any]]  # each language's `translations:` mapping, by language


def problems_of(folder: Path) -> dict[str, dict[str, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yaml"))}


def mutated(
    tmp_path: Path,
    change: Callable[[dict[str, Any], Problems], None] = lambda header, problems: None,
    translate: Callable[[Translations], None] = lambda translations: None,
) -> Path:
    """A copy of the bundled catalog with `change(header, problems)` and `translate(translations)` applied to it."""
    documents = problems_of(BUNDLED)
    merged: Problems = {slug: entry for document in documents.values() for slug, entry in document["problems"].items()}
    header = documents["client-errors.yaml"]["catalog"]
    change(header, merged)
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "catalog.yaml").write_text(yaml.safe_dump({"catalog": header, "problems": merged}, allow_unicode=True))
    translations = {
        name[:-5]: document["translations"] for name, document in problems_of(BUNDLED / "translations").items()
    }
    for translation in translations.values():  # what is gone from the catalog is gone from its translations
        translation["problems"] = {
            slug: _without_gone_members(entry, slug, merged)
            for slug, entry in translation["problems"].items()
            if slug in merged
        }
    translate(translations)
    (folder / "translations").mkdir()
    for language, translation in translations.items():
        text = yaml.safe_dump({"translations": translation}, allow_unicode=True)
        (folder / "translations" / f"{language}.yaml").write_text(text)
    return folder


def _without_gone_members(entry: dict[str, Any], slug: str, problems: Problems) -> dict[str, Any]:
    members: set[str] = set()
    ancestor: str | None = slug
    while ancestor is not None:
        members |= set(problems[ancestor].get("members", {}))
        ancestor = problems[ancestor].get("extends")
    if "members" in entry:
        entry["members"] = {name: text for name, text in entry["members"].items() if name in members}
    return entry


def set_in(slug: str, *path: str, value: Any) -> Callable[[dict[str, Any], Problems], None]:
    def change(header: dict[str, Any], problems: Problems) -> None:
        target = problems[slug]
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value

    return change


def delete(slug: str, *path: str) -> Callable[[dict[str, Any], Problems], None]:
    def change(header: dict[str, Any], problems: Problems) -> None:
        if not path:
            del problems[slug]
            return
        target = problems[slug]
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        for example in problems[slug].get("examples", []):
            example.get("members", {}).pop(path[-1], None)

    return change


def add_slug(header: dict[str, Any], problems: Problems) -> None:
    problems["zone-locked"] = {"status": 423, "title": "Zone locked"}


def rebase(header: dict[str, Any], problems: Problems) -> None:
    header["base_uri"] = "https://problems.example.org/"


def required_member(header: dict[str, Any], problems: Problems) -> None:
    problems["gone"]["members"] = {"deleted_at": {"type": "datetime"}}
    problems["gone"]["examples"][0]["members"] = {"deleted_at": "2026-03-01T00:00:00Z"}


def rename(header: dict[str, Any], problems: Problems) -> None:
    problems["deleted"] = {**problems.pop("gone"), "aliases": ["gone"]}


CASES = [
    # (id, mutation, expected (kind, slug, breaking))
    ("slug removed", delete("gone"), ("slug-removed", "gone", True)),
    ("status changed", set_in("conflict", "status", value=422), ("status-changed", "conflict", True)),
    ("member removed", delete("conflict", "members", "conflicts"), ("member-removed", "conflict", True)),
    (
        "member retyped",
        set_in("quota-exceeded", "members", "resource", value={"type": "enum[zones, queries]", "required": False}),
        ("member-retyped", "quota-exceeded", True),
    ),
    (
        "member made required",
        set_in("quota-exceeded", "members", "resource", value={"type": "str"}),
        ("member-made-required", "quota-exceeded", True),
    ),
    ("required member added", required_member, ("required-member-added", "gone", True)),
    ("base_uri changed", rebase, ("base-uri-changed", "", True)),
    ("parent changed", set_in("gone", "extends", value="not-found"), ("parent-changed", "gone", True)),
    ("slug added", add_slug, ("slug-added", "zone-locked", False)),
    (
        "optional member added",
        set_in("gone", "members", value={"deleted_at": {"type": "datetime", "required": False}}),
        ("member-added", "gone", False),
    ),
    (
        "member made optional",
        set_in("quota-exceeded", "members", "limit", value={"type": "int | None"}),
        ("member-made-optional", "quota-exceeded", False),
    ),
    ("text edited", set_in("gone", "summary", value="It went away."), ("text-changed", "gone", False)),
    ("retry advice", set_in("gone", "retry", value="backoff"), ("retry-changed", "gone", False)),
    (
        "deprecated",
        set_in("gone", "deprecated", value={"since": "1.1.0", "replaced_by": "not-found"}),
        ("deprecated", "gone", False),
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_kind_of_change_is_classified(tmp_path: Path, mutation: Any, expected: tuple[str, str, bool]) -> None:
    new = Catalog.load(mutated(tmp_path, mutation))
    changes = diff_catalogs(Catalog.load(BUNDLED), new)
    assert [(change.kind, change.slug, change.breaking) for change in changes] == [expected]


# Where each change of CASES is written: the text its line and column start at in the new catalog.
WRITTEN_AT = {
    "slug removed": None,  # not in the new catalog: its old file, without a line
    "status changed": "422",
    "member removed": "{}",  # the problem's `members`, now without it
    "member retyped": "resource:",
    "member made required": "resource:",
    "required member added": "deleted_at:",
    "base_uri changed": "https://problems.example.org/",
    "parent changed": "not-found",
    "slug added": "zone-locked:",
    "optional member added": "deleted_at:",
    "member made optional": "limit:",
    "text edited": "It went away.",
    "retry advice": "backoff",
    "deprecated": "replaced_by: not-found",
}


@pytest.mark.parametrize(
    ("mutation", "at"), [(case[1], WRITTEN_AT[case[0]]) for case in CASES], ids=[case[0] for case in CASES]
)
def test_each_change_points_at_where_it_is_written(tmp_path: Path, mutation: Any, at: str | None) -> None:
    folder = mutated(tmp_path, mutation)
    (change,) = diff_catalogs(Catalog.load(BUNDLED), Catalog.load(folder))
    if at is None:
        assert (change.path, change.line, change.column) == (str(BUNDLED / "client-errors.yaml"), None, None)
        return
    assert change.path == str(folder / "catalog.yaml")
    assert change.line is not None
    assert change.column is not None
    line = Path(change.path).read_text().splitlines()[change.line - 1]
    assert line[change.column - 1 :].startswith(at)


def test_an_inherited_members_change_points_at_the_ancestor_declaring_it(write: WriteCatalog) -> None:
    text = (
        "catalog: {name: T, base_uri: 'https://e.example/'}\nproblems:\n  conflict:\n    status: 409\n"
        "    title: Conflict\n    members:\n      ids: {type: 'list[str]'}\n"
        "  order-conflict: {extends: conflict, title: Order conflict}\n"
    )
    old = write(text, name="old.yaml")
    new = write(text.replace("list[str]", "list[int]"), name="new.yaml")
    changes = diff_catalogs(Catalog.load(old), Catalog.load(new))
    assert [(c.kind, c.slug, c.path, c.line, c.column) for c in changes] == [
        ("member-retyped", "conflict", str(new), 7, 7),
        ("member-retyped", "order-conflict", str(new), 7, 7),
    ]


def in_translation(language: str, *path: str, value: Any = None) -> Callable[[Translations], None]:
    """Set the text at `path` in `language`'s translation to `value`; None deletes it."""

    def translate(translations: Translations) -> None:
        target = translations[language]
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return translate


def without_german(translations: Translations) -> None:
    del translations["de"]


def with_italian(translations: Translations) -> None:
    translations["it"] = {"language": "it", "problems": {"gone": {"title": "Eliminato"}}}


TRANSLATION_CASES = [
    # (id, mutation, expected (kind, slug, breaking, warning), where it is written in the new catalog)
    ("language removed", without_german, ("language-removed", "", False, True), None),
    ("language added", with_italian, ("language-added", "", False, False), "it"),
    (
        "title edited",
        in_translation("fr", "problems", "quota-exceeded", "title", value="Quota atteint"),
        ("translation-changed", "quota-exceeded", False, False),
        "Quota atteint",
    ),
    (
        "detail no longer translated",
        in_translation("fr", "problems", "quota-exceeded", "detail"),
        ("translation-removed", "quota-exceeded", False, False),
        "quota-exceeded:",  # the entry, which has no `detail` any more
    ),
    (
        "member description edited",
        in_translation("de", "problems", "quota-exceeded", "members", "limit", value={"description": "Das Limit."}),
        ("translation-changed", "quota-exceeded", False, False),
        "limit:",
    ),
    (
        "member description no longer translated",
        in_translation("de", "problems", "quota-exceeded", "members", "limit"),
        ("translation-removed", "quota-exceeded", False, False),
        "current:",  # the entry's `members`, which start with the next one
    ),
    (
        "validation message translated",
        in_translation("fr", "validation", "value_error", value="Valeur refusée."),
        ("translation-added", "", False, False),
        "Valeur refusée.",
    ),
    (
        "validation message edited",
        in_translation("de", "validation", "missing", value="Pflichtfeld."),
        ("translation-changed", "", False, False),
        "Pflichtfeld.",
    ),
    (
        "validation message no longer translated",
        in_translation("de", "validation", "missing"),
        ("translation-removed", "", False, False),
        "de",  # the language's declaration
    ),
]


@pytest.mark.parametrize(
    ("translate", "expected", "at"),
    [case[1:] for case in TRANSLATION_CASES],
    ids=[case[0] for case in TRANSLATION_CASES],
)
def test_translation_changes_are_compatible_and_point_at_where_they_are_written(
    tmp_path: Path, translate: Any, expected: tuple[str, str, bool, bool], at: str | None
) -> None:
    folder = mutated(tmp_path, translate=translate)
    (change,) = diff_catalogs(Catalog.load(BUNDLED), Catalog.load(folder))
    assert (change.kind, change.slug, change.breaking, change.warning) == expected
    if at is None:  # a language removed: the file it was in, without a line
        assert (change.path, change.line, change.column) == (str(BUNDLED / "translations" / "de.yaml"), None, None)
        return
    assert change.path is not None
    assert Path(change.path).parent == folder / "translations"
    assert change.line is not None
    assert change.column is not None
    line = Path(change.path).read_text().splitlines()[change.line - 1]
    assert line[change.column - 1 :].startswith(at)


def test_a_translation_change_names_the_language_and_the_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def translate(translations: Translations) -> None:
        without_german(translations)
        in_translation("fr", "problems", "quota-exceeded", "detail")(translations)
        in_translation("fr", "problems", "conflict", "members", "conflicts", value={"description": "Les doublons."})(
            translations
        )

    new = mutated(tmp_path, translate=translate)
    assert main(["diff", str(BUNDLED), str(new)]) == 0  # a warning is not breaking
    assert capsys.readouterr().out.splitlines() == [
        "warning   de: language removed: clients asking for it get the closest language left, else the default (en)",
        "ok        conflict: fr description of member conflicts edited",
        "ok        quota-exceeded: fr detail no longer translated",
        "3 change(s), 0 breaking, 1 warning(s)",
    ]
    assert main(["diff", str(new), str(BUNDLED)]) == 0  # the other way round
    assert capsys.readouterr().out.splitlines() == [
        "ok        de: language added",
        "ok        conflict: fr description of member conflicts edited",
        "ok        quota-exceeded: fr detail translated",
        "3 change(s), 0 breaking",
    ]
    assert main(["diff", str(BUNDLED), str(new), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["breaking"], report["warnings"]) == (0, 1)
    assert [(change["kind"], change["warning"]) for change in report["changes"]] == [
        ("language-removed", True),
        ("translation-changed", False),
        ("translation-removed", False),
    ]
    assert main(["diff", str(BUNDLED), str(new), "--format", "github"]) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith(
            f"::warning file={BUNDLED / 'translations' / 'de.yaml'},title=compatible change::de: language removed"
        )
    )


def test_a_problems_whole_translation_removed_is_each_of_its_texts(tmp_path: Path) -> None:
    new = mutated(tmp_path, translate=in_translation("de", "problems", "gone"))
    changes = diff_catalogs(Catalog.load(BUNDLED), Catalog.load(new))
    assert {(change.kind, change.slug) for change in changes} == {("translation-removed", "gone")}
    assert sorted(str(change.key) for change in changes) == ["description", "resolution", "summary", "title"]
    # No entry to point at: the language's declaration.
    assert {(change.path, change.line, change.column) for change in changes} == {
        (str(new / "translations" / "de.yaml"), _line_of(new / "translations" / "de.yaml", "  language: de"), 13)
    }


def test_a_languages_tag_is_compared_without_case(tmp_path: Path) -> None:
    """BCP 47 tags are case-insensitive, and so is `Accept-Language`: `FR` is `fr`."""
    new = mutated(tmp_path, translate=in_translation("fr", "language", value="FR"))
    assert diff_catalogs(Catalog.load(BUNDLED), Catalog.load(new)) == []


def test_an_added_problems_translations_are_part_of_its_being_added(tmp_path: Path) -> None:
    def translate(translations: Translations) -> None:
        translations["fr"]["problems"]["zone-locked"] = {"title": "Zone verrouillée"}

    new = mutated(tmp_path, add_slug, translate)
    changes = diff_catalogs(Catalog.load(BUNDLED), Catalog.load(new))
    assert [(change.kind, change.slug) for change in changes] == [("slug-added", "zone-locked")]


def test_no_changes_and_the_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(BUNDLED), str(BUNDLED)]) == 0
    assert capsys.readouterr().out == "0 change(s), 0 breaking\n"
    breaking = mutated(tmp_path, set_in("conflict", "status", value=422))
    assert main(["diff", str(BUNDLED), str(breaking)]) == 1
    assert capsys.readouterr().out == "BREAKING  conflict: status 409 -> 422\n1 change(s), 1 breaking\n"
    assert main(["diff", str(BUNDLED), str(breaking), "--allow-breaking"]) == 0


def test_json_and_github_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(header: dict[str, Any], problems: Problems) -> None:
        add_slug(header, problems)
        delete("gone")(header, problems)

    new = mutated(tmp_path, change)
    assert main(["diff", str(BUNDLED), str(new), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["breaking"] == 1
    assert [change["kind"] for change in report["changes"]] == ["slug-removed", "slug-added"]
    assert report["changes"][0]["file"] == str(BUNDLED / "client-errors.yaml")
    assert "line" not in report["changes"][0]
    line = _line_of(new / "catalog.yaml", "  zone-locked:")
    assert report["changes"][1] | {"message": ""} == {
        "kind": "slug-added",
        "slug": "zone-locked",
        "breaking": False,
        "warning": False,
        "message": "",
        "file": str(new / "catalog.yaml"),
        "line": line,
        "column": 3,
    }
    assert main(["diff", str(BUNDLED), str(new), "--format", "github"]) == 1
    # A removed slug has no line in the new catalog: the file it was in (here the old one's) is named.
    assert capsys.readouterr().out.splitlines() == [
        f"::error file={BUNDLED / 'client-errors.yaml'},title=breaking change::gone: removed "
        "(retire it with `deprecated`, or rename it with `aliases`)",
        f"::notice file={new / 'catalog.yaml'},line={_line_of(new / 'catalog.yaml', '  zone-locked:')},col=3,"
        "title=compatible change::zone-locked: added (423)",
    ]


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def test_github_annotations_point_at_each_changed_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.com")
    git("config", "user.name", "Test")
    folder = tmp_path / "errors"
    folder.mkdir()
    header = "catalog: {name: T, base_uri: 'https://e.example/'}\n"
    (folder / "a.yaml").write_text(header + "problems:\n  conflict:\n    status: 409\n    title: Conflict\n")
    (folder / "b.yaml").write_text(
        "problems:\n  locked: {status: 423, title: Locked}\n  teapot: {status: 418, title: Teapot}\n"
        "  old-name: {status: 404, title: Missing}\n"
    )
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    (folder / "a.yaml").write_text(
        header + "problems:\n  conflict:\n    status: 409\n    title: Conflict\n    members:\n"
        "      ids: {type: 'list[str]', required: false}\n"
    )
    (folder / "b.yaml").write_text(
        "problems:\n  locked: {status: 409, title: Locked}\n"
        "  new-name: {status: 404, title: Missing, aliases: [old-name]}\n"
        "  unavailable: {status: 503, title: Unavailable}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "main:errors/", "errors/", "--format", "github"]) == 1
    # Paths as the repository has them (the old side is read from git into a temporary folder).
    assert capsys.readouterr().out.splitlines() == [
        "::error file=errors/b.yaml,line=2,col=20,title=breaking change::locked: status 423 -> 409",
        "::error file=errors/b.yaml,line=3,col=53,title=breaking change::old-name: renamed to new-name; the alias "
        "protects one direction only: clients built from the new catalog still read old-name, and its page "
        "redirects, but clients built from the old catalog get new-name as an unknown code (a generic problem): "
        "update them before the servers",
        "::error file=errors/b.yaml,title=breaking change::teapot: removed (retire it with `deprecated`, or rename "
        "it with `aliases`)",
        "::notice file=errors/a.yaml,line=7,col=7,title=compatible change::conflict: new optional member ids",
        "::notice file=errors/b.yaml,line=3,col=3,title=compatible change::new-name: added (404)",
        "::notice file=errors/b.yaml,line=4,col=3,title=compatible change::unavailable: added (503)",
    ]


def test_github_annotations_escape_what_the_workflow_command_syntax_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "odd,name: 100%"
    folder.mkdir()
    old, new = folder / "old.yaml", folder / "new.yaml"
    old.write_text("catalog: {name: T, base_uri: 'https://e.example/'}\nproblems:\n  gone: {status: 404, title: G}\n")
    new.write_text(old.read_text().replace("404", "403"))
    assert main(["diff", str(old), str(new), "--format", "github"]) == 1
    escaped = str(new).replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
    assert capsys.readouterr().out == (
        f"::error file={escaped},line=3,col=18,title=breaking change::gone: status 404 -> 403\n"
    )


def test_git_revisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.com")
    git("config", "user.name", "Test")
    (tmp_path / "errors").mkdir()
    catalog = tmp_path / "errors" / "catalog.yaml"
    catalog.write_text(
        "catalog: {name: T, base_uri: 'https://e.example/'}\nproblems:\n  gone: {status: 410, title: Gone}\n"
    )
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    catalog.write_text(catalog.read_text().replace("410", "404"))
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "main:errors/", "errors/"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "BREAKING  gone: status 410 -> 404"
    assert main(["diff", "nosuchrev:errors/", "errors/"]) == 2
    assert "nosuchrev:errors/: cannot read it from git:" in capsys.readouterr().err


def test_git_revisions_bring_their_translations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both sides' translation files are read, the one from git too, and named as the repository has them."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "test@example.com")
    git("config", "user.name", "Test")
    (tmp_path / "errors" / "translations").mkdir(parents=True)
    (tmp_path / "errors" / "catalog.yaml").write_text(
        "catalog: {name: T, base_uri: 'https://e.example/'}\nproblems:\n  gone: {status: 410, title: Gone}\n"
    )
    french = tmp_path / "errors" / "translations" / "fr.yaml"
    french.write_text("translations:\n  language: fr\n  problems:\n    gone: {title: Supprimé}\n")
    german = tmp_path / "errors" / "translations" / "de.yaml"
    german.write_text("translations:\n  language: de\n  problems:\n    gone: {title: Entfernt}\n")
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    french.write_text(french.read_text().replace("Supprimé", "Disparu"))
    german.unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "main:errors/", "errors/", "--format", "github"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "::warning file=errors/translations/de.yaml,title=compatible change::de: language removed: clients asking "
        "for it get the closest language left, else the default (en)",
        "::notice file=errors/translations/fr.yaml,line=4,col=19,title=compatible change::gone: fr title edited",
    ]


def test_a_rename_with_an_alias_breaks_clients_built_from_the_old_catalog(tmp_path: Path) -> None:
    old, new = Catalog.load(BUNDLED), Catalog.load(mutated(tmp_path, rename))
    changes = diff_catalogs(old, new)
    assert [(change.kind, change.slug, change.breaking) for change in changes] == [
        ("slug-renamed", "gone", True),
        ("slug-added", "deleted", False),
    ]
    assert changes[0].message.startswith("gone: renamed to deleted; the alias protects one direction only")
    # The direction the alias protects: a new client reads an old server's body as the new class.
    old_body = encode_json(old["gone"]())
    assert type(decode_json(old_body, catalog=new)) is new["deleted"]
    # The other: an old client reads the new server's code as a generic problem.
    assert type(decode_json(encode_json(new["deleted"]()), catalog=old)) is Problem
