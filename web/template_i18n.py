"""Translations in templates, looked up once per page instead of once per string.

Flask-Babel's template `_()` finds the request's domain, locale and catalogue on every call (a
few context lookups each, hundreds a page). A context processor hands each render `gettext` /
`ngettext` already bound to the page's catalogue, `STATE_NAMES` translated, and `current_locale` /
`localized_name` bound to its locale; template variables take precedence over the environment's
globals, so the templates are unchanged. Same behaviour as Jinja's i18n extension (newstyle):
autoescaped, then `%` formatted.
"""

from flask import Flask
from flask_babel import get_translations
from jinja2 import pass_context
from markupsafe import Markup

from rules.ordering import order_states
from rules.text import locales


def _bound(translations) -> dict:
    @pass_context
    def gettext(context, string: str, **variables) -> str:
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables  # always, as Jinja's i18n extension does (so %% reads %)

    @pass_context
    def ngettext(context, singular: str, plural: str, num: int, **variables) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"gettext": gettext, "ngettext": ngettext}


def nowrap(value) -> Markup:
    """`value` (a number, amount or date put into a sentence) kept on one line: `x|nowrap`."""
    return Markup('<span class="nowrap">{}</span>').format(value)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["nowrap"] = nowrap
    per_catalogue: dict[int, dict] = {}  # id(catalogue) -> its bound functions (a handful, kept)

    @app.context_processor
    def bound_translations() -> dict:
        translations = get_translations()
        functions = per_catalogue.get(id(translations))
        if functions is None or functions["catalogue"] is not translations:
            functions = per_catalogue[id(translations)] = {
                "catalogue": translations,
                **_bound(translations),
                # Lazy strings translate on every use: this table is used per order on a page.
                "STATE_NAMES": {state: str(name) for state, name in order_states.STATE_NAMES.items()},
            }
        locale = locales.current()
        suffix = "name_" + locale.lower()
        return {
            "gettext": functions["gettext"],
            "ngettext": functions["ngettext"],
            "STATE_NAMES": functions["STATE_NAMES"],
            "current_locale": lambda: locale,
            "localized_name": lambda thing: getattr(thing, suffix),
        }
