"""Translators' tools (`_interchange.py`, `problemdetails i18n export|import`): PO and XLIFF out and back in.

A translator's edits are made with translate-toolkit, as a translation tool
would make them; what comes back is loaded with the catalog and served.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from translate.storage import pypo, xliff

import problemdetails
from problemdetails import Catalog
from problemdetails._cli import main
from problemdetails._interchange import export_texts, import_texts
from tests.conftest import BUNDLED

CATALOG = """\
catalog:
  name: Zones API
  base_uri: https://errors.example.com/
  version: 1.0.0
problems:
  quota-exceeded:
    status: 402
    title: Quota exceeded
    summary: Your plan's quota is used up.
    description: |
      Creating the resource would take the account over a limit of its plan.

      - `limit` is the cap.
    detail: "{current} of {limit} {resource} used"
    members:
      limit: {type: int, description: The plan's cap.}
      current: int
      resource: {type: str, description: "What is counted, `zones` say."}
  gone:
    status: 410
    title: Gone
    resolution: Stop asking.
"""

FRENCH = """\
# Kept by the French team.
translations:
  language: fr
  problems:
    quota-exceeded:
      title: Quota dépassé
      detail: "{current} {resource} utilisés sur {limit}"
  validation:
    missing: Ce champ est obligatoire.
"""

# The catalog's texts in catalog order (its file's, not the slugs' sorted), then the validation messages.
CONTEXTS = [
    "quota-exceeded.title",
    "quota-exceeded.summary",
    "quota-exceeded.description",
    "quota-exceeded.detail",
    "quota-exceeded.members.limit.description",
    "quota-exceeded.members.resource.description",
    "gone.title",
    "gone.resolution",
    "validation:missing",
]

# What a translator into `xx` writes, by context.
XX = {
    "quota-exceeded.title": "Xuota exxeeded",
    "quota-exceeded.summary": "Xour plan's xuota.",
    "quota-exceeded.description": "Xreating the resource.\n\n- `limit` is the xap.\n",
    "quota-exceeded.detail": "{limit}: {current} {resource} xused",
    "quota-exceeded.members.limit.description": "The xap.",
    "quota-exceeded.members.resource.description": "Xounted: `zones`, say.",
    "gone.title": "Xone",
    "gone.resolution": "Xtop.",
    "validation:missing": "Xissing.",
}

SUFFIX = {"po": ".po", "xliff": ".xlf"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A catalog folder with a French translation, as a team keeps one."""
    folder = tmp_path / "catalog"
    (folder / "translations").mkdir(parents=True)
    (folder / "zones.yaml").write_text(CATALOG, encoding="utf-8")
    (folder / "translations" / "fr.yaml").write_text(FRENCH, encoding="utf-8")
    return folder


def store_of(data: bytes, format: str) -> Any:
    return pypo.pofile(data) if format == "po" else xliff.xlifffile.parsestring(data)


def context_of(unit: Any, format: str) -> str:
    return str(unit.getcontext()) if format == "po" else str(unit.xmlelement.get("resname"))


def units_of(data: bytes, format: str) -> dict[str, Any]:
    return {context_of(unit, format): unit for unit in store_of(data, format).units if not unit.isheader()}


def translate(path: Path, format: str, targets: dict[str, str], edit: Callable[[str, Any], None] | None = None) -> None:
    """Fill targets as a translation tool does, through translate-toolkit; `edit` may change a unit further."""
    store = store_of(path.read_bytes(), format)
    for unit in store.units:
        if unit.isheader():
            continue
        context = context_of(unit, format)
        if context in targets:
            unit.target = targets[context]
        if edit is not None:
            edit(context, unit)
    path.write_bytes(bytes(store))


def export(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(["i18n", "export", *arguments])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def run_import(capsys: pytest.CaptureFixture[str], file: Path, folder: Path) -> tuple[int, str, str]:
    status = main(["i18n", "import", str(file), str(folder)])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def answered(catalog: Catalog, language: str) -> tuple[dict[str, Any], dict[bytes, bytes]]:
    """The JSON body and headers of a quota-exceeded answer to a request in `language`."""
    problem = catalog["quota-exceeded"](limit=10, current=10, resource="zones")
    request = problemdetails.Request(method="GET", path="/x", headers=[(b"accept-language", language.encode())])
    answer = problemdetails.Responder(catalog).answer(problem, request)
    return json.loads(answer.body), dict(answer.headers)


# -- export ----------------------------------------------------------------------


def test_export_po_has_a_unit_per_text_named_by_slug_and_field(project: Path) -> None:
    data = export_texts(Catalog.load(project), "de", "po")
    store = pypo.pofile(data)
    assert store.gettargetlanguage() == "de"
    units = [unit for unit in store.units if not unit.isheader()]
    assert [unit.getcontext() for unit in units] == CONTEXTS
    sources = {unit.getcontext(): unit.source for unit in units}
    assert sources["quota-exceeded.description"].startswith("Creating the resource would take")
    assert sources["quota-exceeded.members.limit.description"] == "The plan's cap."
    assert sources["validation:missing"] == "missing"  # no default-language text: the code
    notes = {unit.getcontext(): unit.getnotes("developer") for unit in units}
    assert "{current}, {limit}, {resource}" in notes["quota-exceeded.detail"]
    assert "Markdown" in notes["quota-exceeded.description"]
    assert all(not unit.target for unit in units)  # nothing translated into German yet


def test_export_xliff_names_both_languages_and_each_unit(project: Path) -> None:
    data = export_texts(Catalog.load(project), "de", "xliff")
    store = xliff.xlifffile.parsestring(data)
    assert (store.getsourcelanguage(), store.gettargetlanguage()) == ("en", "de")
    assert [unit.xmlelement.get("resname") for unit in store.units] == CONTEXTS
    assert [str(unit.getid()).rpartition("\x04")[2] for unit in store.units] == CONTEXTS


@pytest.mark.parametrize("format", ["po", "xliff"])
def test_export_is_byte_identical_for_the_same_catalog(
    format: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = export_texts(Catalog.load(project), "fr", format)  # type: ignore[arg-type]
    again = export_texts(Catalog.load(project), "fr", format)  # type: ignore[arg-type]
    assert first == again
    assert re.search(rb"Date|date=", first) is None  # no timestamp, in the PO header or as XLIFF's `date`
    out = tmp_path / f"fr{SUFFIX[format]}"
    status, printed, _ = export(capsys, "--format", format, "fr", str(project), "--out", str(out))
    assert (status, out.read_bytes()) == (0, first)
    assert printed == f"wrote {out} ({format}, en -> fr)\n"


def test_export_without_out_writes_standard_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, printed, _ = export(capsys, "fr", str(project))
    assert status == 0
    assert printed.encode() == export_texts(Catalog.load(project), "fr", "po")


@pytest.mark.parametrize("format", ["po", "xliff"])
def test_export_again_keeps_the_work_done(format: str, project: Path) -> None:
    units = units_of(export_texts(Catalog.load(project), "fr", format), format)  # type: ignore[arg-type]
    targets = {context: str(unit.target or "") for context, unit in units.items()}
    assert targets["quota-exceeded.title"] == "Quota dépassé"
    assert targets["quota-exceeded.detail"] == "{current} {resource} utilisés sur {limit}"
    assert targets["validation:missing"] == "Ce champ est obligatoire."
    assert targets["gone.title"] == ""  # not translated yet


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "is the catalog's own language"), ("fr_FR", "is not a BCP 47 language tag")],
)
def test_export_refuses_a_language_it_cannot_take(
    language: str, said: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, printed, error = export(capsys, language, str(project))
    assert (status, printed) == (1, "")
    assert said in error


def test_export_of_the_bundled_catalog_carries_its_french(capsys: pytest.CaptureFixture[str]) -> None:
    status, printed, _ = export(capsys, "fr", str(BUNDLED))
    assert status == 0
    french = yaml.safe_load((BUNDLED / "translations" / "fr.yaml").read_text(encoding="utf-8"))["translations"]
    written: dict[str, str] = {}
    for slug, texts in french["problems"].items():
        for field, text in texts.items():
            if field == "members":
                written |= {f"{slug}.members.{name}.description": m["description"] for name, m in text.items()}
            else:
                written[f"{slug}.{field}"] = text
    written |= {f"validation:{code}": message for code, message in french["validation"].items()}
    targets = {context: str(unit.target) for context, unit in units_of(printed.encode(), "po").items() if unit.target}
    assert len(written) > 90
    assert targets == written


# -- import ----------------------------------------------------------------------


@pytest.mark.parametrize("format", ["po", "xliff"])
def test_round_trip_into_a_new_language_is_served(
    format: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / f"xx{SUFFIX[format]}"
    assert export(capsys, "--format", format, "xx", str(project), "--out", str(file))[0] == 0
    translate(file, format, XX)
    status, printed, error = run_import(capsys, file, project)
    written = project / "translations" / "xx.yaml"
    assert (status, error) == (0, "")
    assert printed == f"wrote {written} (new file; xx: 9 text(s))\n"
    catalog = Catalog.load(project, strict=False)
    assert catalog.languages == ("en", "fr", "xx")
    translated = catalog.translations["xx"]
    assert translated.problems["quota-exceeded"].description == XX["quota-exceeded.description"]
    assert translated.problems["quota-exceeded"].members["resource"].description == "Xounted: `zones`, say."
    assert translated.problems["gone"].resolution == "Xtop."
    assert translated.validation == {"missing": "Xissing."}
    assert "description: |\n" in written.read_text(encoding="utf-8")  # Markdown as a block, as people write it
    body, headers = answered(catalog, "xx")
    assert (body["title"], body["detail"]) == ("Xuota exxeeded", "10: 10 zones xused")
    assert headers[b"content-language"] == b"xx"


@pytest.mark.parametrize("format", ["po", "xliff"])
def test_import_rewrites_the_languages_own_file_keeping_its_comments(
    format: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / f"fr{SUFFIX[format]}"
    file.write_bytes(export_texts(Catalog.load(project), "fr", format))  # type: ignore[arg-type]
    translate(file, format, {"gone.title": "Disparu", "quota-exceeded.detail": ""})
    status, printed, _ = run_import(capsys, file, project)
    french = project / "translations" / "fr.yaml"
    assert status == 0
    assert printed == f"wrote {french} (fr: 3 text(s), 6 left out (fuzzy, needing review, or empty))\n"
    text = french.read_text(encoding="utf-8")
    assert text.startswith("# Kept by the French team.\ntranslations:\n  language: fr\n")
    assert not list(french.parent.glob(".*.tmp"))  # the temporary file was renamed over it
    translation = Catalog.load(project).translations["fr"]
    assert translation.problems["gone"].title == "Disparu"
    assert translation.problems["quota-exceeded"].title == "Quota dépassé"
    assert translation.problems["quota-exceeded"].detail is None  # emptied: no translation any more
    assert translation.validation == {"missing": "Ce champ est obligatoire."}
    # Catalog order, as exported: quota-exceeded before gone.
    assert text.index("quota-exceeded:") < text.index("gone:")


def test_import_keeps_the_translations_of_texts_the_file_has_no_unit_for(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file made before the validation message was written, say: what it does not name stays.
    store = pypo.pofile(export_texts(Catalog.load(project), "fr", "po"))
    for unit in list(store.units):
        if unit.getcontext() in ("validation:missing", "quota-exceeded.title"):
            store.removeunit(unit)
    file = tmp_path / "fr.po"
    file.write_bytes(bytes(store))
    assert run_import(capsys, file, project)[0] == 0
    translation = Catalog.load(project).translations["fr"]
    assert translation.problems["quota-exceeded"].title == "Quota dépassé"
    assert translation.validation == {"missing": "Ce champ est obligatoire."}


def test_import_refuses_a_file_with_nothing_translated(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(project), "xx", "po"))  # as exported: every target empty
    status, _, error = run_import(capsys, file, project)
    assert status == 1
    assert error.splitlines()[0] == f"{file}:1:1: error: no unit is translated: 'xx' would have no text at all"
    assert not (project / "translations" / "xx.yaml").exists()


def test_import_refuses_a_file_of_another_catalog(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "fr.po"
    file.write_bytes(export_texts(Catalog.load(BUNDLED), "fr", "po"))
    for unit in (store := pypo.pofile(file.read_bytes())).units:
        if unit.getcontext().startswith(("quota-exceeded.", "gone.", "validation:")):
            unit.setcontext("x-" + unit.getcontext())
    file.write_bytes(bytes(store))
    before = (project / "translations" / "fr.yaml").read_bytes()
    status, _, error = run_import(capsys, file, project)
    assert status == 1
    assert f"{file}:1:1: error: no unit names a text of this catalog: is it another catalog's?" in error.splitlines()
    assert (project / "translations" / "fr.yaml").read_bytes() == before


def test_import_writes_the_same_file_again(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(project), "xx", "po"))
    translate(file, "po", XX)
    assert run_import(capsys, file, project)[0] == 0
    first = (project / "translations" / "xx.yaml").read_bytes()
    assert run_import(capsys, file, project)[0] == 0
    assert (project / "translations" / "xx.yaml").read_bytes() == first


def unit_line(data: bytes, format: str, context: str) -> int:
    """The line a unit starts at, read off the text: a PO entry's first line, XLIFF's `<trans-unit>`."""
    lines = data.decode().splitlines()
    if format == "xliff":
        return next(number for number, line in enumerate(lines, 1) if f'id="{context}"' in line)
    found = next(number for number, line in enumerate(lines, 1) if line == f'msgctxt "{context}"')
    while lines[found - 2].startswith("#"):  # the entry's comments are its first lines
        found -= 1
    return found


@pytest.mark.parametrize("format", ["po", "xliff"])
def test_import_refuses_a_detail_with_other_placeholders_and_writes_nothing(
    format: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / f"fr{SUFFIX[format]}"
    file.write_bytes(export_texts(Catalog.load(project), "fr", format))  # type: ignore[arg-type]
    translate(file, format, {"quota-exceeded.detail": "{current} sur {limite}", "gone.title": "Disparu"})
    before = (project / "translations" / "fr.yaml").read_bytes()
    status, printed, error = run_import(capsys, file, project)
    assert (status, printed) == (1, "")
    assert (project / "translations" / "fr.yaml").read_bytes() == before
    assert not list((project / "translations").glob(".*"))
    line = unit_line(file.read_bytes(), format, "quota-exceeded.detail")
    assert error.splitlines() == [
        f"{file}:{line}:1: error: 'quota-exceeded.detail': detail template of 'quota-exceeded' lacks {{limit}},"
        " {resource} and has {limite} the default language's has not ('{current} of {limit} {resource} used')",
        f"{file}: 1 error(s); no translation file was written",
    ]


@pytest.mark.parametrize("format", ["po", "xliff"])
def test_import_leaves_out_fuzzy_needing_review_and_empty_units(
    format: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / f"xx{SUFFIX[format]}"
    file.write_bytes(export_texts(Catalog.load(project), "xx", format))  # type: ignore[arg-type]

    def unsure(context: str, unit: Any) -> None:
        if context == "gone.title":
            unit.markfuzzy(True) if format == "po" else unit.markreviewneeded(True)

    translate(file, format, {"quota-exceeded.title": "Xuota", "gone.title": "Xone"}, unsure)
    assert units_of(file.read_bytes(), format)["gone.title"].target == "Xone"  # there, but not settled
    status, printed, _ = run_import(capsys, file, project)
    assert status == 0
    assert "xx: 1 text(s), 8 left out (fuzzy, needing review, or empty)" in printed
    translation = Catalog.load(project).translations["xx"]
    assert list(translation.problems) == ["quota-exceeded"]
    assert (translation.problems["quota-exceeded"].title, translation.problems["quota-exceeded"].summary) == (
        "Xuota",
        None,
    )


@pytest.mark.parametrize("format", ["po", "xliff"])
def test_import_reports_an_unknown_context_at_its_line(
    format: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_of(export_texts(Catalog.load(project), "xx", format), format)  # type: ignore[arg-type]
    unit = store.addsourceunit("Quota exceeded") if format == "po" else store.addsourceunit("Quota", "Zones API")
    if format == "po":
        unit.setcontext("quota-exceded.title")
    else:
        unit.setid("quota-exceded.title")
    unit.target = "Xuota"
    file = tmp_path / f"xx{SUFFIX[format]}"
    file.write_bytes(bytes(store))
    status, _, error = run_import(capsys, file, project)
    line = unit_line(file.read_bytes(), format, "quota-exceded.title")
    assert status == 1
    assert error.splitlines()[0] == (
        f"{file}:{line}:1: error: unknown context 'quota-exceded.title' (did you mean 'quota-exceeded.title'?):"
        " this catalog has no such text"
    )
    assert not (project / "translations" / "xx.yaml").exists()


def test_import_reports_a_character_no_output_can_carry(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(project), "xx", "po"))
    translate(file, "po", {"gone.title": "X\x07one"})
    status, _, error = run_import(capsys, file, project)
    assert status == 1
    assert "'gone.title': U+0007 is a control character, which no output can carry" in error


def test_import_warns_when_the_catalogs_text_changed(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(project), "xx", "po"))
    translate(file, "po", {"gone.title": "Xone"})
    (project / "zones.yaml").write_text(CATALOG.replace("title: Gone", "title: Gone for good"), encoding="utf-8")
    status, _, error = run_import(capsys, file, project)
    assert status == 0
    assert "warning: 'gone.title': the catalog's text changed since this file was made" in error
    assert Catalog.load(project).translations["xx"].problems["gone"].title == "Xone"


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("", "the header names no language (PO `Language:`, XLIFF `target-language`)"),
        ("Language: en\\n", "the header's language: 'en' is the catalog's own language: its texts are the source"),
        ("Language: sr@latin\\n", "the header's language: 'sr@latin' is not a BCP 47 language tag (like fr or pt-BR)"),
    ],
)
def test_import_needs_a_language_in_the_header(
    header: str, said: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "some.po"
    file.write_text(f'msgid ""\nmsgstr ""\n"{header}"\n\nmsgctxt "gone.title"\nmsgid "Gone"\nmsgstr "X"\n')
    status, _, error = run_import(capsys, file, project)
    assert status == 1
    assert error.splitlines()[0] == f"{file}:1:1: error: {said}"


def test_import_takes_a_gettext_locale_as_its_language(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "pt_BR.po"
    file.write_text('msgid ""\nmsgstr ""\n"Language: pt_BR\\n"\n\nmsgctxt "gone.title"\nmsgid "Gone"\nmsgstr "Ido"\n')
    assert run_import(capsys, file, project)[0] == 0
    assert Catalog.load(project).translations["pt-BR"].problems["gone"].title == "Ido"


def test_import_names_its_formats(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "fr.json"
    file.write_text("{}")
    status, _, error = run_import(capsys, file, project)
    assert status == 1
    assert (
        error.splitlines()[0]
        == f"{file}: error: a translated file is named .po, .xlf or .xliff: its name says its format"
    )


def test_import_refuses_a_language_spread_over_two_files(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    more = "translations:\n  language: fr\n  problems:\n    gone: {title: Disparu}\n"
    (project / "translations" / "fr-more.yaml").write_text(more, encoding="utf-8")
    file = tmp_path / "fr.po"
    file.write_bytes(export_texts(Catalog.load(project), "fr", "po"))
    status, _, error = run_import(capsys, file, project)
    assert status == 1
    both = f"{project / 'translations' / 'fr-more.yaml'}, {project / 'translations' / 'fr.yaml'}"
    assert (
        error.splitlines()[0]
        == f"{file}: error: the 'fr' translation is spread over {both}: merge them into one to import"
    )


def test_import_never_replaces_a_file_that_is_not_the_languages(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_file = project / "zones.yaml"
    (project / "translations" / "xx.yaml").write_text("# someone's notes\n", encoding="utf-8")
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(catalog_file), "xx", "po"))
    translate(file, "po", XX)
    status, _, error = run_import(capsys, file, catalog_file)
    assert status == 1
    assert "exists, but is no 'xx' translation of the catalog: import will not replace it" in error
    assert (project / "translations" / "xx.yaml").read_text(encoding="utf-8") == "# someone's notes\n"


def test_import_says_where_a_new_file_must_be_loaded_from(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_file = project / "zones.yaml"
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(catalog_file), "xx", "po"))
    translate(file, "po", XX)
    status, _, error = run_import(capsys, file, catalog_file)
    written = project / "translations" / "xx.yaml"
    assert status == 0
    assert error == f"load {written} with the catalog: it is in none of the paths given\n"
    assert Catalog.load([catalog_file, written]).translations["xx"].problems["gone"].title == "Xone"


def test_i18n_without_translate_toolkit_says_what_to_install(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "translate.storage", None)  # as if it were not installed
    status, printed, error = export(capsys, "fr", str(project))
    assert (status, printed) == (1, "")
    assert error.endswith("translate-toolkit: pip install 'problemdetails[i18n]'\n")


# -- properties ------------------------------------------------------------------

GARBAGE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GARBAGE
@given(
    data=st.one_of(
        st.binary(),
        st.text().map(str.encode),
        st.sampled_from([b"", b'msgid ""\nmsgstr ""\n', b"<xliff/>", b'<xliff version="1.2"><file/></xliff>']),
    ),
    suffix=st.sampled_from([".po", ".xlf", ".xliff"]),
)
def test_import_of_any_bytes_gives_findings_not_a_traceback(bundled: Catalog, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / f"any{suffix}"
        file.write_bytes(data)
        imported, findings = import_texts(file, bundled, [str(BUNDLED)])
    assert imported is None
    assert [finding for finding in findings if finding.severity == "error"]


# Text a translator may type: what a catalog and XML 1.0 can carry (no control characters but tab, LF and CR).
TEXT = st.text(
    st.characters(blacklist_categories=["Cs"]).filter(
        lambda c: c in "\t\n\r" or not ("\x00" <= c <= "\x1f" or c in "\x7f\ufffe\uffff")
    ),
    min_size=1,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT, description=TEXT, member=TEXT, format=st.sampled_from(["po", "xliff"]))
def test_any_translated_text_loads_back_as_it_was_typed(title: str, description: str, member: str, format: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "catalog").mkdir()
        (root / "catalog" / "zones.yaml").write_text(CATALOG, encoding="utf-8")
        catalog = Catalog.load(root / "catalog")
        file = root / f"xx{SUFFIX[format]}"
        file.write_bytes(export_texts(catalog, "xx", format))  # type: ignore[arg-type]
        targets = {
            "quota-exceeded.title": title,
            "quota-exceeded.description": description,
            "quota-exceeded.members.limit.description": member,
        }
        translate(file, format, targets)
        typed = {context: str(unit.target) for context, unit in units_of(file.read_bytes(), format).items()}
        imported, findings = import_texts(file, catalog, [str(root / "catalog")])
        assert imported is not None, [str(finding) for finding in findings]
        imported.path.parent.mkdir()
        imported.path.write_text(imported.text, encoding="utf-8")
        translation = Catalog.load(root / "catalog").translations["xx"].problems["quota-exceeded"]
    # What the file carries is what the catalog now holds.
    assert translation.title == typed["quota-exceeded.title"]
    assert translation.description == typed["quota-exceeded.description"]
    assert translation.members["limit"].description == typed["quota-exceeded.members.limit.description"]


def test_written_yaml_is_plain_to_read(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(project), "xx", "po"))
    translate(file, "po", XX)
    assert run_import(capsys, file, project)[0] == 0
    assert (project / "translations" / "xx.yaml").read_text(encoding="utf-8") == textwrap.dedent(
        """\
        translations:
          language: xx
          problems:
            quota-exceeded:
              title: Xuota exxeeded
              summary: Xour plan's xuota.
              description: |
                Xreating the resource.

                - `limit` is the xap.
              detail: '{limit}: {current} {resource} xused'
              members:
                limit: {description: The xap.}
                resource: {description: 'Xounted: `zones`, say.'}

            gone:
              title: Xone
              resolution: Xtop.

          validation:
            missing: Xissing.
        """
    )


def test_the_guides_excerpt_is_what_export_prints(capsys: pytest.CaptureFixture[str]) -> None:
    page = (BUNDLED.parent / "docs" / "languages.md").read_text(encoding="utf-8")
    (excerpt,) = re.findall(r"^```po\n(.*?)^```", page, re.S | re.M)
    status, printed, _ = export(capsys, "--format", "po", "de", str(BUNDLED))
    assert status == 0
    assert excerpt in printed


@pytest.mark.parametrize(("language", "format"), [("fr", "po"), ("de", "xliff")])
def test_the_bundled_translations_come_back_as_they_were(
    language: str, format: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(BUNDLED, folder)
    file = tmp_path / f"{language}{SUFFIX[format]}"
    assert export(capsys, "--format", format, language, str(folder), "--out", str(file))[0] == 0
    status, printed, error = run_import(capsys, file, folder)
    assert (status, error) == (0, "")
    assert printed.startswith(f"wrote {folder / 'translations' / f'{language}.yaml'} ({language}: ")
    assert Catalog.load(folder, strict=True).translations == Catalog.load(BUNDLED).translations


def test_import_leaves_a_file_that_holds_more_than_translations_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    together = CATALOG + "translations:\n  language: fr\n  problems:\n    gone: {title: Disparu}\n"
    (folder / "zones.yaml").write_text(together, encoding="utf-8")
    file = tmp_path / "fr.po"
    file.write_bytes(export_texts(Catalog.load(folder), "fr", "po"))
    translate(file, "po", {"gone.title": "Parti"})
    status, _, error = run_import(capsys, file, folder)
    assert status == 1
    assert error.splitlines()[0] == (
        f"{folder / 'zones.yaml'}: error: holds `catalog:`, `problems:` beside `translations:`;"
        " move them to a file of their own to import"
    )
    assert (folder / "zones.yaml").read_text(encoding="utf-8") == together


def test_import_reports_a_unit_given_twice(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "xx.po"
    file.write_bytes(export_texts(Catalog.load(project), "xx", "po"))
    translate(file, "po", XX)
    data = file.read_text(encoding="utf-8")
    file.write_text(data + '\nmsgctxt "gone.title"\nmsgid "Gone"\nmsgstr "Xone again"\n', encoding="utf-8")
    status, _, error = run_import(capsys, file, project)
    first, again = unit_line(data.encode(), "po", "gone.title"), len(data.splitlines()) + 2
    assert status == 1
    assert error.splitlines()[0] == f"{file}:{again}:1: error: 'gone.title' is translated twice (first at line {first})"


def test_import_of_a_missing_file_says_so(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "nowhere.po"
    status, _, error = run_import(capsys, file, project)
    assert status == 1
    assert error.splitlines()[0] == f"{file}: error: cannot read: No such file or directory"
