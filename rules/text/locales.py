"""The three languages: the one chosen with the switch, else the browser's first language we speak.

web.locale_choice reads the switch's cookie and Accept-Language from the request."""

from collections.abc import Iterable

from flask_babel import get_locale

LOCALES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
HTML_LANG = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}
COOKIE = "lang"
# Browser tags for Chinese name a region more often than a script.
_TRADITIONAL = ("zh-hant", "zh-hk", "zh-tw", "zh-mo")


def _from_tag(tag: str) -> str | None:
    tag = tag.lower().replace("_", "-")
    if tag.startswith(_TRADITIONAL):
        return "zh_Hant"
    if tag.startswith("zh"):
        return "zh_Hans"
    if tag.startswith("en"):
        return "en"
    return None


def choose(chosen: str | None, accepted_tags: Iterable[str]) -> str:
    """The locale for a reader who chose `chosen` (None: never chose) and whose browser accepts these
    language tags, best first."""
    if chosen in LOCALES:
        return chosen
    for tag in accepted_tags:
        locale = _from_tag(tag)
        if locale:
            return locale
    return "en"


def current() -> str:
    """The current locale as one of LOCALES' keys."""
    locale = get_locale()
    return str(locale) if locale and str(locale) in LOCALES else "en"


def localized_name(thing) -> str:
    """`thing.name_en` / `name_zh_hans` / `name_zh_hant` for the current locale."""
    return getattr(thing, "name_" + current().lower())
