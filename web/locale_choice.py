"""The reader's language for this request: the switch's cookie, else the browser's Accept-Language."""

from flask import has_request_context, request

from rules.text import locales


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    if not has_request_context():  # jobs and commands: the caller forces the traveller's locale
        return "en"
    accepted = (tag for tag, _quality in request.accept_languages)
    return locales.choose(request.cookies.get(locales.COOKIE), accepted)
