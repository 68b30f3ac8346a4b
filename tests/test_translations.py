"""Translations: read with the catalog, checked at `file:line:col`, and answered in the language asked for."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from problemdetails import (
    Catalog,
    CatalogError,
    EnvelopeProfile,
    ErrorItem,
    Problem,
    ProblemMiddleware,
    WSGIProblemMiddleware,
)
from tests.asgi import call
from tests.conftest import BUNDLED, HEADER, WriteCatalog
from tests.wsgi import serve

PROBLEMS = """\
problems:
  quota-exceeded:
    status: 402
    title: Quota exceeded
    summary: The plan's quota is used up.
    detail: "{current} of {limit} used"
    members:
      limit: {type: int, description: The cap.}
      current: int
  gone: {status: 410, title: Gone}
"""

FRENCH = """\
translations:
  language: fr
  problems:
    quota-exceeded:
      title: Quota dépassé
      summary: Le quota de l'offre est épuisé.
      detail: "{current} utilisés sur {limit}"
      members:
        limit: {description: Le plafond.}
    gone: {title: Supprimée}
"""


def findings(path: Path, *, strict: bool = False) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        Catalog.load(path, strict=strict)
    return [str(finding) for finding in caught.value.findings]


@pytest.fixture
def translated(write: WriteCatalog) -> Catalog:
    write(HEADER + PROBLEMS, "errors.yaml")
    return Catalog.load(write(FRENCH, "translations/fr.yaml").parent.parent)


def test_translations_load_with_the_catalog(translated: Catalog) -> None:
    assert translated.languages == ("en", "fr")
    french = translated.translations["fr"]
    assert french.problems["quota-exceeded"].title == "Quota dépassé"
    assert french.problems["quota-exceeded"].members["limit"].description == "Le plafond."
    assert not translated.warnings  # everything the default language has is translated
    assert Catalog.from_json(translated.to_json()) == translated  # catalog.json and `gen` carry them
    assert translated.rebased("https://api.example.com/errors/").translations == translated.translations


def test_a_catalog_without_translations_serializes_as_before(write: WriteCatalog) -> None:
    catalog = Catalog.load(write(HEADER + PROBLEMS))
    assert catalog.languages == ("en",)
    assert b"translations" not in catalog.to_json()


# Each kind of mistake, with where it is written.
MISTAKES = [
    ("    gnoe: {title: Supprimée}\n", "4:5", "translation 'fr': unknown problem 'gnoe' (did you mean 'gone'?)"),
    (
        "    gone: {title: Supprimée, titre: x}\n",
        "4:30",
        "unknown key 'titre' in translation 'fr' of problem 'gone' (did you mean 'title'?)",
    ),
    (
        "    quota-exceeded:\n      members:\n        limt: {description: x}\n",
        "6:9",
        "translation 'fr': problem 'quota-exceeded' has no member 'limt' (did you mean 'limit'?)",
    ),
    (
        '    quota-exceeded: {detail: "{current} utilisés"}\n',
        "4:30",
        "translation 'fr': detail template of 'quota-exceeded' lacks {limit} ('{current} of {limit} used')",
    ),
    (
        '    quota-exceeded: {detail: "{current} sur {limit} {resource}"}\n',
        "4:30",
        "detail template of 'quota-exceeded' has {resource} the default language's has not",
    ),
    (
        '    gone: {detail: "Supprimée"}\n',
        "4:20",
        "translation 'fr': problem 'gone' has no detail template to translate",
    ),
]


@pytest.mark.parametrize(("entry", "where", "message"), MISTAKES)
def test_translation_mistakes_are_errors_where_they_stand(
    write: WriteCatalog, entry: str, where: str, message: str
) -> None:
    write(HEADER + PROBLEMS, "errors.yaml")
    path = write("translations:\n  language: fr\n  problems:\n" + entry, "fr.yaml")
    (finding,) = [line for line in findings(path.parent) if ": error: " in line]
    assert finding.startswith(f"{path}:{where}: error: ")  # the slug, key or value that is wrong
    assert message in finding


def test_a_wrong_translation_is_not_also_reported_missing(write: WriteCatalog) -> None:
    """As the loader does for a misspelt key: one finding per mistake."""
    write(HEADER + PROBLEMS, "errors.yaml")
    entry = '    quota-exceeded: {title: [Quota], detail: "{current}"}\n    gone: {title: Supprimée}\n'
    path = write("translations:\n  language: fr\n  problems:\n" + entry, "fr.yaml")
    found = findings(path.parent)
    assert [line.split(": ", 2)[1] for line in found].count("error") == 2  # the title's type, the placeholders
    assert not [line for line in found if "has no title" in line or "has no detail" in line]
    assert [line for line in found if "has no summary for quota-exceeded" in line]  # what is missing still is


@pytest.mark.parametrize(
    ("members", "where", "message"),
    [
        ("{limit: {description: [Le, plafond]}}", "6:38", "of member 'limit': description: expected `str | null`"),
        ("{limit: {descripton: Le plafond.}}", "6:25", "unknown key 'descripton' in translation 'fr' of member"),
        ("{limit: [Le plafond.]}", "6:24", "of member 'limit' must be a mapping, not list"),
        ("[limit]", "6:16", "of problem 'quota-exceeded': members: expected a mapping, got a list"),
    ],
)
def test_a_wrong_member_description_is_one_finding(write: WriteCatalog, members: str, where: str, message: str) -> None:
    """Not also a warning that the member's description is missing."""
    write(HEADER + PROBLEMS, "errors.yaml")
    # Everything else translated: the member's description is the only mistake, and the only finding.
    entry = f"    quota-exceeded:\n      title: Quota dépassé\n      members: {members}\n"
    rest = '      summary: Épuisé.\n      detail: "{current} sur {limit}"\n    gone: {title: Supprimée}\n'
    path = write("translations:\n  language: fr\n  problems:\n" + entry + rest, "fr.yaml")
    (finding,) = findings(path.parent)
    assert finding.startswith(f"{path}:{where}: error: ")
    assert message in finding


@pytest.mark.parametrize(
    ("language", "message"),
    [("fr_FR", "translation language 'fr_FR' is not a BCP 47 language tag"), ("EN", "the catalog's own language")],
)
def test_a_translation_names_a_valid_other_language(write: WriteCatalog, language: str, message: str) -> None:
    write(HEADER + PROBLEMS, "errors.yaml")
    path = write(f"translations:\n  language: {language}\n", "other.yaml")
    (finding,) = findings(path.parent)
    assert finding.startswith(f"{path}:2:13: error:")
    assert message in finding


@pytest.mark.parametrize(
    ("problem", "language", "message"),
    [  # slugs are 3 characters or more (gRPC's ErrorInfo.reason): three-letter languages (ISO 639-2) may clash
        ("  haw: {status: 400, title: Haw}\n", "haw", "language 'haw' is also problem 'haw'"),
        ("  lost: {status: 404, title: Lost, aliases: [pt-br]}\n", "pt-BR", "language 'pt-BR' is also a former slug"),
        (
            "  fil: {status: 400, title: Fil}\n",
            "fr",
            "language 'fil' is also problem 'fil'",
        ),  # the default's folder too
    ],
)
def test_a_language_cannot_share_its_site_folder_with_a_page(
    write: WriteCatalog, problem: str, language: str, message: str
) -> None:
    """The doc site puts each language's pages in `<lang>/`, where a slug's (or former slug's) page would be."""
    header = HEADER + "  language: fil\n" if "fil" in problem else HEADER
    write(header + PROBLEMS + problem, "errors.yaml")
    path = write(f"translations:\n  language: {language}\n", "other.yaml")
    (finding,) = [line for line in findings(path.parent) if ": error: " in line]
    assert finding.startswith(f"{path}:2:13: error: {message}")
    assert "the doc site keeps each language's pages in a folder" in finding


def test_a_problem_translated_twice_names_both_places(write: WriteCatalog) -> None:
    write(HEADER + PROBLEMS, "errors.yaml")
    write(FRENCH, "fr.yaml")
    second = write("translations:\n  language: fr\n  problems:\n    gone: {title: Partie}\n", "more-fr.yaml")
    (finding,) = findings(second.parent)
    assert finding.startswith(f"{second}:4:5: error: translation 'fr': problem 'gone' is translated twice")
    assert "fr.yaml:10" in finding


def test_missing_translations_are_warnings_per_language_and_text(write: WriteCatalog) -> None:
    write(HEADER + PROBLEMS, "errors.yaml")
    path = write("translations:\n  language: de\n  problems:\n    gone: {title: Entfernt}\n", "de.yaml")
    catalog = Catalog.load(path.parent)
    assert [str(finding) for finding in catalog.warnings] == [
        f"{path}:2:13: warning: translation 'de' has no title for quota-exceeded",
        f"{path}:2:13: warning: translation 'de' has no summary for quota-exceeded",
        f"{path}:2:13: warning: translation 'de' has no detail for quota-exceeded",
        f"{path}:2:13: warning: translation 'de' has no description for members quota-exceeded.limit",
    ]
    assert len(findings(path.parent, strict=True)) == 4  # `check --strict` fails on them


def test_the_bundled_catalog_is_translated_into_french_and_german_completely() -> None:
    catalog = Catalog.load(BUNDLED, strict=True)
    assert catalog.languages == ("en", "de", "fr")
    for language in ("de", "fr"):
        assert set(catalog.translations[language].problems) == set(catalog)


# -- answered in the language asked for ------------------------------------------


@pytest.fixture
def app(translated: Catalog) -> ProblemMiddleware:
    async def raw(scope: dict[str, object], receive: object, send: object) -> None:
        if scope["path"] == "/own":
            raise translated["quota-exceeded"]("The app's own words.", limit=5, current=5)
        raise translated["quota-exceeded"](limit=5, current=5)

    return ProblemMiddleware(raw, catalog=translated)


@pytest.mark.parametrize(
    ("sent", "language", "title", "detail"),
    [
        ("fr-CA, en;q=0.5", "fr", "Quota dépassé", "5 utilisés sur 5"),
        ("de", "en", "Quota exceeded", "5 of 5 used"),  # no German: the default
        (None, "en", "Quota exceeded", "5 of 5 used"),
    ],
)
def test_problems_answer_in_the_language_asked_for(
    app: ProblemMiddleware, sent: str | None, language: str, title: str, detail: str
) -> None:
    exchange = call(app, headers={"accept-language": sent} if sent else {})
    assert exchange.headers["content-language"] == language
    assert exchange.headers["vary"] == "Accept, Accept-Language"
    body = exchange.json()
    assert (body["title"], body["detail"]) == (title, detail)
    # Never translated: the type, the code, the members.
    assert (body["type"], body["code"], body["limit"]) == (
        "https://errors.example.com/quota-exceeded",
        "quota-exceeded",
        5,
    )


def test_a_detail_the_app_passed_is_never_translated(app: ProblemMiddleware) -> None:
    body = call(app, path="/own", headers={"accept-language": "fr"}).json()
    assert (body["title"], body["detail"]) == ("Quota dépassé", "The app's own words.")


@pytest.mark.parametrize(
    ("accept", "shown"),
    [
        ("application/problem+xml", b"<title>Quota d\xc3\xa9pass\xc3\xa9</title>"),
        ("text/html", b'<html lang="fr">'),
    ],
)
def test_every_representation_is_localized(app: ProblemMiddleware, accept: str, shown: bytes) -> None:
    exchange = call(app, headers={"accept-language": "fr", "accept": accept})
    assert exchange.headers["content-language"] == "fr"
    assert shown in exchange.body
    assert "5 utilisés sur 5".encode() in exchange.body


def test_a_legacy_profile_carries_the_localized_message(translated: Catalog) -> None:
    async def raw(scope: dict[str, object], receive: object, send: object) -> None:
        raise translated["quota-exceeded"](limit=5, current=5)

    exchange = call(
        ProblemMiddleware(raw, catalog=translated, profile=EnvelopeProfile()), headers={"accept-language": "fr"}
    )
    assert exchange.headers["content-language"] == "fr"
    assert exchange.json()["message"] == "5 utilisés sur 5"


def test_wsgi_answers_in_the_language_asked_for(translated: Catalog) -> None:
    def wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
        raise translated["gone"]()

    served = serve(WSGIProblemMiddleware(wsgi, catalog=translated), "GET", "/", {"Accept-Language": "fr"})
    assert (served.code, served.headers["content-language"], served.json()["title"]) == (410, "fr", "Supprimée")


def test_a_catalog_without_translations_sends_neither_header(write: WriteCatalog) -> None:
    catalog = Catalog.load(write(HEADER + PROBLEMS))

    async def raw(scope: dict[str, object], receive: object, send: object) -> None:
        raise catalog["gone"]()

    exchange = call(ProblemMiddleware(raw, catalog=catalog), headers={"accept-language": "fr"})
    assert "content-language" not in exchange.headers
    assert exchange.headers["vary"] == "Accept"


@given(sent=st.text(max_size=200))
def test_any_accept_language_answers(sent: str) -> None:
    exchange = call(_BUNDLED_APP, headers={"accept-language": sent.encode("latin-1", "replace").decode("latin-1")})
    assert exchange.status == 404
    assert exchange.headers["content-language"] in ("en", "de", "fr")


_BUNDLED = Catalog.load(BUNDLED)


async def _nothing(scope: dict[str, object], receive: object, send: object) -> None:
    raise _BUNDLED["not-found"]()


_BUNDLED_APP = ProblemMiddleware(_nothing, catalog=_BUNDLED)


MESSAGES = """\
  validation:
    string_too_short: "Au moins {min_length} caractères."
    missing: Obligatoire.
"""


@pytest.mark.parametrize(
    ("item", "shown"),
    [
        (
            ErrorItem(detail="too short", pointer="#/a", code="string_too_short", params={"min_length": 3}),
            "Au moins 3 caractères.",
        ),
        (ErrorItem(detail="Field required", pointer="#/b", code="missing"), "Obligatoire."),
        # Its params do not fill the message: the framework's text stays rather than a broken one.
        (ErrorItem(detail="too short", pointer="#/a", code="string_too_short"), "too short"),
        (ErrorItem(detail="no such rule", pointer="#/c", code="custom_rule"), "no such rule"),  # untranslated code
        (ErrorItem(detail="no code at all", parameter="q", in_="query"), "no code at all"),
    ],
)
@pytest.mark.parametrize("status", [422, 418])  # the catalog's problem (declaring `errors`), and `about:blank`
def test_validation_items_take_the_message_for_their_code(
    write: WriteCatalog, item: ErrorItem, shown: str, status: int
) -> None:
    write(HEADER + UNPROCESSABLE, "errors.yaml")
    catalog = Catalog.load(write(FRENCH_ITEMS, "translations/fr.yaml").parent.parent)

    async def raising(scope: dict[str, object], receive: object, send: object) -> None:
        raise Problem(status=status, errors=[item]) if status == 418 else catalog["unprocessable"](errors=[item])

    app = ProblemMiddleware(raising, catalog=catalog)
    (french,) = call(app, headers={"accept-language": "fr"}).json()["errors"]
    (english,) = call(app).json()["errors"]
    assert french == {**msgspec.to_builtins(item), "detail": shown}  # only the detail, and only where it can
    assert english == msgspec.to_builtins(item)  # the default language: as the framework said it


UNPROCESSABLE = """\
problems:
  unprocessable:
    status: 422
    title: Unprocessable
    members: {errors: {type: "list[error]"}}
"""
FRENCH_ITEMS = "translations:\n  language: fr\n  problems:\n    unprocessable: {title: Irrecevable}\n" + MESSAGES


def test_a_validation_message_that_does_not_parse_is_an_error_where_it_stands(write: WriteCatalog) -> None:
    write(HEADER + UNPROCESSABLE, "errors.yaml")
    path = write(FRENCH_ITEMS + '    too_long: "Au plus {max_length caractères."\n', "translations/fr.yaml")
    (finding,) = findings(path.parent.parent)
    assert finding == f"{path}:8:15: error: translation 'fr': message for 'too_long' does not parse, or is too wide"
