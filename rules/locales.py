"""The three languages: chosen by the switch (a cookie), else from the browser's Accept-Language."""

from flask import has_request_context, request
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


def select_locale() -> str:
    if not has_request_context():  # jobs and commands: the caller forces the traveller's locale
        return "en"
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    for tag, _quality in request.accept_languages:
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
