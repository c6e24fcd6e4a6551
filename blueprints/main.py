"""Home, language switch and health check."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, make_response, redirect, request
from sqlalchemy import text

from extensions import db
from rules.text import locales
from web.page_cache import cached_for_visitors
from web.rendering import render_page

bp = Blueprint("main", __name__)


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never another host or scheme.

    Control characters are refused: CR/LF cannot go in a Location header (a 500), and browsers
    drop tabs and newlines from URLs, so "/\t/evil.example" would become "//evil.example".
    """
    if not target or any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in target) or len(target) > 2000:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


@bp.get("/")
@cached_for_visitors
def home():
    """The landing page: what this is and where to start."""
    return render_page("main/home.html")


@bp.get("/lang/<choice>")
def set_language(choice: str):
    """Remember the chosen language in a cookie and go back where the traveller was.

    A plain link: it changes no data, only the visitor's own preference, and works without JavaScript.
    """
    if choice not in locales.LOCALES:
        abort(404)
    response = make_response(redirect(safe_next(request.args.get("next")), code=303))
    response.set_cookie(
        locales.COOKIE, choice, max_age=365 * 24 * 3600, samesite="Lax", httponly=True, secure=request.is_secure
    )
    return response


@bp.get("/healthz")
def healthz():
    """200 when the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not healthy", not a 500 page
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}
