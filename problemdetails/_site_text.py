"""The doc site's own words, per language: headings, labels, retry advice, header meanings.

The catalog's texts come from the catalog and its translations; these are the
site's chrome around them ("How to resolve it", "Filter problem types"), so a
catalog's author translates only the catalog. English, French and German are
here; a page in another language gets the English chrome around its translated
texts, and a tag with a region or script finds its language (`fr-CA` -> `fr`).

Templates read them as `ui.<key>` (a `Words`); a text with `{placeholders}` is filled with
the `fill` filter, which escapes the text and keeps the parts' markup
(`{{ ui.use_instead | fill(slug=link) }}`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["UI_LANGUAGES", "Words", "language_name", "site_text"]

_ENGLISH = {
    "skip": "Skip to content",
    "site": "Site",
    "languages": "Languages",
    "version": "version {version}",
    "retry_strategy": "Retry strategy",
    "machine_readable": "Machine-readable:",
    "follows_rfc": "Error responses follow RFC 9457, Problem Details for HTTP APIs.",
    "index_title": "{name}: problem types",
    "index_lede": (
        "Every error this API returns is an {media_type} response whose {type} links to one of these pages. "
        "Clients match on {code}."
    ),
    "filter_label": "Filter problem types",
    "filter_placeholder": "code, title or status",
    "filter_count": "{shown} of {total} problem types",
    "client_errors": "Client errors",
    "server_errors": "Server errors",
    "errors": "Errors",
    "formerly": "formerly {alias}",
    "retired_badge": "retired",
    "breadcrumb": "Breadcrumb",
    "all_types": "All problem types",
    "retired_note": "{retired} in version {since}: servers no longer send it.",
    "retired": "Retired",
    "use_instead": "Use {slug} instead.",
    "status": "Status",
    "code": "Code",
    "type": "Type",
    "retry": "Retry",
    "since": "Since",
    "when": "When it happens",
    "resolve": "How to resolve it",
    "retrying": "Retrying",
    "headers": "Response headers",
    "header": "Header",
    "meaning": "Meaning",
    "members": "Extension members",
    "member": "Member",
    "always_present": "Always present",
    "yes": "yes",
    "no": "no",
    "example": "Example",
    "examples": "Examples",
    "example_caption": "HTTP {status} {phrase}, {content_type}",
    "related": "Related problem types",
    "kind_of": "A kind of {parent} ({slug}): clients that handle it handle this one too.",
    "more_specific": "More specific kinds:",
    "clients": "Handling it in a client",
    "copy": "Copy",
    "copied": "Copied",
    "selected": "Selected",
    "retry_lede": (
        "Whether a client should send a failed request again, per problem type. "
        "Generated from the catalog's {retry} advice."
    ),
    "problem_type": "Problem type",
    "retry_question": "Retry?",
    "what_to_do": "What to do",
    "alias_title": "{alias} is now {slug}",
    "alias_text": (
        "This problem type was renamed. Clients that still receive or match {alias} get the same problem: {link}."
    ),
    # The retry advice, in words and as what to do (Markdown: `Retry-After` is code).
    "retry.never": "Do not retry",
    "retry.never.advice": "The same request will not succeed: do not send it again.",
    "retry.after-change": "Retry after a change",
    "retry.after-change.advice": "Retry only after changing the request, the credentials or the resource's state.",
    "retry.backoff": "Retry with backoff",
    "retry.backoff.advice": "Retry with exponential backoff and jitter: the condition is usually transient.",
    "retry.after-delay": "Retry after the delay",
    "retry.after-delay.advice": "Retry after the time the `Retry-After` header gives, not before.",
    # Why a problem sets each well-known header (by its lowercase name).
    "header.allow": "The methods the resource supports (RFC 9110 §10.2.1).",
    "header.retry-after": "How long to wait before retrying: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).",
    "header.www-authenticate": "The authentication scheme and parameters to use (RFC 9110 §11.6.1).",
}

# French typography puts a no-break space before a colon and a question mark.
_FRENCH = {
    "skip": "Aller au contenu",
    "site": "Site",
    "languages": "Langues",
    "version": "version {version}",
    "retry_strategy": "Quand réessayer",
    "machine_readable": "Pour les machines\u00a0:",
    "follows_rfc": "Les réponses d'erreur suivent la RFC 9457, Problem Details for HTTP APIs.",
    "index_title": "{name}\u00a0: types de problèmes",
    "index_lede": (
        "Chaque erreur que renvoie cette API est une réponse {media_type} dont le {type} mène à l'une de ces pages. "
        "Les clients reconnaissent l'erreur à son {code}."
    ),
    "filter_label": "Filtrer les types de problèmes",
    "filter_placeholder": "code, titre ou statut",
    "filter_count": "{shown} sur {total} types de problèmes",
    "client_errors": "Erreurs du client",
    "server_errors": "Erreurs du serveur",
    "errors": "Erreurs",
    "formerly": "anciennement {alias}",
    "retired_badge": "retiré",
    "breadcrumb": "Fil d'Ariane",
    "all_types": "Tous les types de problèmes",
    "retired_note": "{retired} depuis la version {since}\u00a0: les serveurs ne l'envoient plus.",
    "retired": "Retiré",
    "use_instead": "Utilisez {slug} à la place.",
    "status": "Statut",
    "code": "Code",
    "type": "Type",
    "retry": "Nouvelle tentative",
    "since": "Depuis",
    "when": "Quand il survient",
    "resolve": "Comment le résoudre",
    "retrying": "Réessayer",
    "headers": "En-têtes de la réponse",
    "header": "En-tête",
    "meaning": "Signification",
    "members": "Membres d'extension",
    "member": "Membre",
    "always_present": "Toujours présent",
    "yes": "oui",
    "no": "non",
    "example": "Exemple",
    "examples": "Exemples",
    "example_caption": "HTTP {status} {phrase}, {content_type}",
    "related": "Types de problèmes apparentés",
    "kind_of": "Un cas particulier de {parent} ({slug})\u00a0: les clients qui le traitent traitent aussi celui-ci.",
    "more_specific": "Cas plus précis\u00a0:",
    "clients": "Le traiter dans un client",
    "copy": "Copier",
    "copied": "Copié",
    "selected": "Sélectionné",
    "retry_lede": (
        "S'il faut qu'un client renvoie une requête qui a échoué, par type de problème. "
        "Tiré des conseils {retry} du catalogue."
    ),
    "problem_type": "Type de problème",
    "retry_question": "Réessayer\u00a0?",
    "what_to_do": "Que faire",
    "alias_title": "{alias} s'appelle désormais {slug}",
    "alias_text": (
        "Ce type de problème a été renommé. Les clients qui reçoivent ou reconnaissent encore {alias} "
        "obtiennent le même problème\u00a0: {link}."
    ),
    "retry.never": "Ne pas réessayer",
    "retry.never.advice": "La même requête n'aboutira pas\u00a0: ne la renvoyez pas.",
    "retry.after-change": "Réessayer après un changement",
    "retry.after-change.advice": (
        "Ne réessayez qu'après avoir changé la requête, les identifiants ou l'état de la ressource."
    ),
    "retry.backoff": "Réessayer avec un délai croissant",
    "retry.backoff.advice": (
        "Réessayez avec un délai exponentiel et une part d'aléa\u00a0: la cause est en général passagère."
    ),
    "retry.after-delay": "Réessayer après le délai",
    "retry.after-delay.advice": "Réessayez après le délai que donne l'en-tête `Retry-After`, pas avant.",
    "header.allow": "Les méthodes que la ressource accepte (RFC 9110 §10.2.1).",
    "header.retry-after": (
        "Le délai à attendre avant de réessayer\u00a0: un nombre de secondes ou une date HTTP (RFC 9110 §10.2.3)."
    ),
    "header.www-authenticate": "Le schéma d'authentification et les paramètres à utiliser (RFC 9110 §11.6.1).",
}

_GERMAN = {
    "skip": "Zum Inhalt springen",
    "site": "Website",
    "languages": "Sprachen",
    "version": "Version {version}",
    "retry_strategy": "Wann wiederholen",
    "machine_readable": "Maschinenlesbar:",
    "follows_rfc": "Fehlerantworten folgen RFC 9457, Problem Details for HTTP APIs.",
    "index_title": "{name}: Problemtypen",
    "index_lede": (
        "Jeder Fehler, den diese API zurückgibt, ist eine {media_type}-Antwort, deren {type} auf eine dieser "
        "Seiten verweist. Clients erkennen den Fehler an seinem {code}."
    ),
    "filter_label": "Problemtypen filtern",
    "filter_placeholder": "Code, Titel oder Status",
    "filter_count": "{shown} von {total} Problemtypen",
    "client_errors": "Fehler des Clients",
    "server_errors": "Fehler des Servers",
    "errors": "Fehler",
    "formerly": "früher {alias}",
    "retired_badge": "eingestellt",
    "breadcrumb": "Pfad",
    "all_types": "Alle Problemtypen",
    "retired_note": "{retired} seit Version {since}: Server senden ihn nicht mehr.",
    "retired": "Eingestellt",
    "use_instead": "Verwenden Sie stattdessen {slug}.",
    "status": "Status",
    "code": "Code",
    "type": "Typ",
    "retry": "Wiederholen",
    "since": "Seit",
    "when": "Wann er auftritt",
    "resolve": "So beheben Sie ihn",
    "retrying": "Wiederholen",
    "headers": "Header der Antwort",
    "header": "Header",
    "meaning": "Bedeutung",
    "members": "Erweiterungsfelder",
    "member": "Feld",
    "always_present": "Immer vorhanden",
    "yes": "ja",
    "no": "nein",
    "example": "Beispiel",
    "examples": "Beispiele",
    "example_caption": "HTTP {status} {phrase}, {content_type}",
    "related": "Verwandte Problemtypen",
    "kind_of": "Eine Art von {parent} ({slug}): Clients, die jenen behandeln, behandeln auch diesen.",
    "more_specific": "Speziellere Arten:",
    "clients": "Behandlung im Client",
    "copy": "Kopieren",
    "copied": "Kopiert",
    "selected": "Markiert",
    "retry_lede": (
        "Ob ein Client eine fehlgeschlagene Anfrage erneut senden sollte, je Problemtyp. "
        "Erzeugt aus den {retry}-Angaben des Katalogs."
    ),
    "problem_type": "Problemtyp",
    "retry_question": "Wiederholen?",
    "what_to_do": "Was zu tun ist",
    "alias_title": "{alias} heißt jetzt {slug}",
    "alias_text": (
        "Dieser Problemtyp wurde umbenannt. Clients, die noch {alias} erhalten oder abfragen, "
        "bekommen dasselbe Problem: {link}."
    ),
    "retry.never": "Nicht wiederholen",
    "retry.never.advice": "Dieselbe Anfrage wird nicht gelingen: Senden Sie sie nicht erneut.",
    "retry.after-change": "Nach einer Änderung wiederholen",
    "retry.after-change.advice": (
        "Wiederholen Sie erst, nachdem Sie die Anfrage, die Zugangsdaten oder den Zustand der Ressource geändert haben."
    ),
    "retry.backoff": "Mit Backoff wiederholen",
    "retry.backoff.advice": (
        "Wiederholen Sie mit exponentiellem Backoff und Jitter: Die Ursache ist meist vorübergehend."
    ),
    "retry.after-delay": "Nach der Wartezeit wiederholen",
    "retry.after-delay.advice": "Wiederholen Sie nach der Zeit, die der Header `Retry-After` angibt, nicht früher.",
    "header.allow": "Die Methoden, die die Ressource unterstützt (RFC 9110 §10.2.1).",
    "header.retry-after": (
        "Wie lange vor einem erneuten Versuch zu warten ist: Sekunden oder ein HTTP-Datum (RFC 9110 §10.2.3)."
    ),
    "header.www-authenticate": "Das zu verwendende Authentifizierungsschema und seine Parameter (RFC 9110 §11.6.1).",
}


class Words:
    """The site's words in one language: `words.skip` in a template, `words["retry.never"]` in code.

    Each text is an attribute of its own (a template reads dozens per page), and
    only the texts are: no mapping methods that a key such as `copy` would hide.
    A key that is not there is an error, not a blank.
    """

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.__dict__.update(texts)

    def __getattr__(self, key: str) -> str:  # only for a key that is not there: mypy and pyright see `str`
        raise AttributeError(key)

    def __getitem__(self, key: str) -> str:
        text: str = self.__dict__[key]
        return text

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__


_WORDS = {
    "en": Words(MappingProxyType(_ENGLISH)),
    # Every language has every key: a text missing here would be English on an otherwise French page.
    "fr": Words(MappingProxyType({**_ENGLISH, **_FRENCH})),
    "de": Words(MappingProxyType({**_ENGLISH, **_GERMAN})),
}

# The languages the site's chrome is written in.
UI_LANGUAGES = tuple(_WORDS)

# Each language's name in itself, for the language switcher: a reader looks for their own.
_NAMES = {
    "ar": "العربية",
    "cs": "Čeština",
    "da": "Dansk",
    "de": "Deutsch",
    "el": "Ελληνικά",
    "en": "English",
    "es": "Español",
    "fi": "Suomi",
    "fr": "Français",
    "he": "עברית",
    "hi": "हिन्दी",
    "hu": "Magyar",
    "id": "Bahasa Indonesia",
    "it": "Italiano",
    "ja": "日本語",
    "ko": "한국어",
    "nb": "Norsk bokmål",
    "nl": "Nederlands",
    "pl": "Polski",
    "pt": "Português",
    "ro": "Română",
    "ru": "Русский",
    "sv": "Svenska",
    "tr": "Türkçe",
    "uk": "Українська",
    "vi": "Tiếng Việt",
    "zh": "中文",
}


def _prefixes(tag: str) -> list[str]:
    """`zh-Hant-TW` -> `zh-hant-tw`, `zh-hant`, `zh`: the tag, then each shorter prefix (RFC 4647 §3.4)."""
    parts = tag.lower().split("-")
    return ["-".join(parts[:end]) for end in range(len(parts), 0, -1)]


def site_text(language: str) -> Words:
    """The site's words for a page in `language`: its own when known (`fr-CA` finds `fr`), else English."""
    for prefix in _prefixes(language):
        if prefix in _WORDS:
            return _WORDS[prefix]
    return _WORDS["en"]


def language_name(tag: str) -> str:
    """How the language switcher names `tag`: in its own language, where a reader looks for it.

    `fr` is `Français`; a tag with more than a language keeps the rest beside it
    (`pt-BR`: `Português (BR)`); a language not known here is named by its tag.
    """
    primary, _, rest = tag.partition("-")
    name = _NAMES.get(primary.lower())
    if name is None:
        return tag
    return f"{name} ({rest})" if rest else name
